#include "cli/common.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

namespace corvee::cli {

void addConnectOption(CLI::App& command, std::string& endpoint) {
  const char* from_env = std::getenv("CORVEE_BROKER");
  endpoint = from_env != nullptr && *from_env != '\0' ? from_env : "tcp://127.0.0.1:7600";
  command.add_option("--connect", endpoint, "broker endpoint, tcp://HOST:PORT (default: $CORVEE_BROKER or "
                                            "tcp://127.0.0.1:7600)");
}

void setUpLogging(const std::string& level) {
  auto logger = spdlog::get("corvee");
  if (!logger) {
    logger = spdlog::stderr_color_mt("corvee");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
  }
  logger->set_level(spdlog::level::from_str(level));
}

void printError(const std::string& message) { std::cerr << "corvee: " << message << std::endl; }

}  // namespace corvee::cli
