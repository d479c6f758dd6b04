#include "cli/common.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <iostream>

#include "cli/validators.h"
#include "corvee/errors.h"
#include "corvee/logging.h"

namespace corvee::cli {

int exitCodeFor(const Status& status) {
  if (status.code() == errc::kBadRequest) return kExitUsage;
  if (status.code() == errc::kNotFound) return kExitJobFailed;
  return kExitUnavailable;
}

void addConnectOption(CLI::App& command, std::string& endpoint) {
  endpoint = "tcp://127.0.0.1:7600";
  // Through CLI11's envname, so that a value from the environment is checked like a typed one.
  command
      .add_option("--connect", endpoint,
                  "broker endpoint, tcp://HOST:PORT (default: $CORVEE_BROKER or tcp://127.0.0.1:7600)")
      ->envname("CORVEE_BROKER")
      ->check(cli::endpoint("(from --connect, or else $CORVEE_BROKER)"));
}

void addConnectTimeoutOption(CLI::App& command, std::uint64_t& milliseconds) {
  // 0 would give up before the first connection could complete. The top (~49 days) is the bound of
  // the job time limits too, far from overflowing a deadline computed from it.
  command.add_option("--connect-timeout-ms", milliseconds, "how long to try reaching the broker, in ms")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(1, UINT32_MAX));
}

void setUpLogging(const std::string& level) {
  auto logger = spdlog::get("corvee");
  if (!logger) {
    logger = spdlog::stderr_color_mt("corvee");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
  }
  spdlog::level::level_enum parsed = spdlog::level::from_str(level);
  logger->set_level(parsed);
  // The client and worker libraries log through their own logger (to stderr by default): the
  // same level for them.
  switch (parsed) {
    case spdlog::level::trace: setLogLevel(LogLevel::kTrace); break;
    case spdlog::level::debug: setLogLevel(LogLevel::kDebug); break;
    case spdlog::level::info: setLogLevel(LogLevel::kInfo); break;
    case spdlog::level::warn: setLogLevel(LogLevel::kWarn); break;
    case spdlog::level::off: setLogLevel(LogLevel::kOff); break;
    default: setLogLevel(LogLevel::kError); break;
  }
}

void printError(const std::string& message) { std::cerr << "corvee: " << message << std::endl; }

}  // namespace corvee::cli
