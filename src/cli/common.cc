#include "cli/common.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string_view>
#include <cstdlib>
#include <iostream>

#include "cli/validators.h"
#include "corvee/errors.h"
#include "corvee/logging.h"
#include "protocol/utf8.h"

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

void addTokenOption(CLI::App& command, std::string& token) {
  command
      .add_option("--token", token,
                  "the token a broker run with --auth-tokens requires (default: $CORVEE_TOKEN, which keeps it "
                  "out of the process list)")
      ->envname("CORVEE_TOKEN");
}

void addTlsPeerOptions(CLI::App& command, std::string& ca_file, std::string& cert_file, std::string& key_file) {
  command
      .add_option("--tls-ca", ca_file,
                  "speak TLS to the broker and trust its certificate if this CA (PEM) signed it and it names the "
                  "--connect host")
      ->envname("CORVEE_TLS_CA");
  command
      .add_option("--tls-cert", cert_file,
                  "this peer's certificate (PEM), for a broker that requires one (--tls-client-ca); with --tls-key")
      ->envname("CORVEE_TLS_CERT");
  command.add_option("--tls-key", key_file, "the private key of --tls-cert (PEM)")->envname("CORVEE_TLS_KEY");
}

void addTlsBrokerOptions(CLI::App& command, std::string& cert_file, std::string& key_file,
                         std::string& client_ca_file) {
  command
      .add_option("--tls-cert", cert_file,
                  "serve the wire protocol and the HTTP API over TLS only (1.2 and later) with this certificate "
                  "(PEM, then any intermediates); with --tls-key")
      ->envname("CORVEE_BROKER_TLS_CERT");
  command.add_option("--tls-key", key_file, "the private key of --tls-cert (PEM)")->envname("CORVEE_BROKER_TLS_KEY");
  command
      .add_option("--tls-client-ca", client_ca_file,
                  "mutual TLS: every peer must present a certificate this CA (PEM) signed")
      ->envname("CORVEE_BROKER_TLS_CLIENT_CA");
}

void addConnectTimeoutOption(CLI::App& command, std::uint64_t& milliseconds) {
  // 0 would give up before the first connection could complete. The top (~49 days) is the bound of
  // the job time limits too, far from overflowing a deadline computed from it.
  command.add_option("--connect-timeout-ms", milliseconds, "how long to try reaching the broker, in ms")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(1, UINT32_MAX));
}

void addEnvironmentNames(CLI::App& command, const std::vector<std::string>& only) {
  for (CLI::Option* option : command.get_options()) {
    if (option->get_lnames().empty() || !option->get_envname().empty()) continue;
    const std::string& name = option->get_lnames().front();
    if (name == "help" || name == "config") continue;
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    std::string variable = "CORVEE_";
    for (char c : name) variable += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    option->envname(variable);
  }
}

std::string environmentSourceOf(const CLI::App& app, const std::string& message, int argc, char** argv) {
  if (message.rfind("--", 0) != 0) return "";
  std::string flag = message.substr(0, message.find(':'));
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == flag || arg.rfind(flag + "=", 0) == 0) return "";
  }
  for (const CLI::App* sub : app.get_subcommands()) {
    const CLI::Option* option = sub->get_option_no_throw(flag);
    if (option == nullptr || option->get_envname().empty()) continue;
    const char* value = std::getenv(option->get_envname().c_str());
    if (value != nullptr && *value != '\0') return option->get_envname();
  }
  return "";
}

void addConfigOption(CLI::App& command, std::string& path) {
  command.add_option("--config", path,
                     "read options from this TOML file: `data-dir = \"/var/lib/corvee\"`, one per line; "
                     "flags and environment variables win over it")
      ->check(CLI::ExistingFile);
}

void applyConfigFile(CLI::App& command, const std::string& path) {
  if (path.empty()) return;
  CLI::ConfigTOML format;
  std::vector<CLI::ConfigItem> items;
  try {
    items = format.from_file(path);
  } catch (const CLI::Error& e) {
    throw CLI::FileError(path + ": " + e.what());
  }
  for (const CLI::ConfigItem& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // a section's start or end
    if (!item.parents.empty()) {
      // [SUBCOMMAND] sections: this command's keys, others' are theirs.
      if (item.parents.size() != 1 || item.parents.front() != command.get_name()) continue;
    }
    CLI::Option* option = command.get_option_no_throw("--" + item.name);
    if (option == nullptr || item.name == "config" || item.name == "help") {
      throw CLI::ConfigError(path + ": unknown key " + item.fullname() + " (keys are the long options of `corvee " +
                             command.get_name() + "` without the dashes)");
    }
    if (option->count() > 0) continue;  // the command line or the environment set it
    try {
      if (option->get_expected_min() == 0) {
        option->add_result(option->get_flag_value(item.name, format.to_flag(item)));
      } else {
        option->add_result(item.inputs);
      }
      option->run_callback();
    } catch (const CLI::ParseError& e) {
      throw CLI::ValidationError(path + ": " + item.name + " = " + CLI::detail::join(item.inputs) + ": " + e.what());
    }
  }
}

namespace {

// %* in a pattern: the message as the inside of a JSON string.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string text = protocol::toValidUtf8(std::string_view(msg.payload.data(), msg.payload.size()));
    for (char c : text) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
            dest.append(std::string_view(escaped));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

}  // namespace

void addLogFormatOption(CLI::App& command, std::string& format) {
  command.add_option("--log-format", format, "text, or json: one JSON object a line (time, level, message)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
}

void setUpLogging(const std::string& level, const std::string& format) {
  auto logger = spdlog::get("corvee");
  if (!logger) {
    logger = spdlog::stderr_color_mt("corvee");
    spdlog::set_default_logger(logger);
  }
  if (format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","message":"%*"})");
    logger->set_formatter(std::move(formatter));
    // The libraries' lines too, so that every line on stderr is JSON.
    setLogger([](LogLevel library_level, std::string_view message) {
      spdlog::level::level_enum as = spdlog::level::err;
      switch (library_level) {
        case LogLevel::kTrace: as = spdlog::level::trace; break;
        case LogLevel::kDebug: as = spdlog::level::debug; break;
        case LogLevel::kInfo: as = spdlog::level::info; break;
        case LogLevel::kWarn: as = spdlog::level::warn; break;
        default: break;
      }
      if (auto target = spdlog::get("corvee")) target->log(as, "{}", message);
    });
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
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
