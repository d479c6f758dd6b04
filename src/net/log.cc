// The libraries' logger: spdlog underneath, the application's sink or stderr on top.
#include "net/log.h"

#include <spdlog/sinks/base_sink.h>

#include <cstdio>
#include <memory>
#include <mutex>

#include "corvee/logging.h"

namespace corvee::net {

namespace {

LogLevel fromSpdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return LogLevel::kTrace;
    case spdlog::level::debug: return LogLevel::kDebug;
    case spdlog::level::info: return LogLevel::kInfo;
    case spdlog::level::warn: return LogLevel::kWarn;
    case spdlog::level::off: return LogLevel::kOff;
    default: return LogLevel::kError;  // error and critical
  }
}

spdlog::level::level_enum toSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

// Formats to stderr, or hands the bare message to the application's sink when one is set.
class LibrarySink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void setCallback(LogSink callback) {
    std::lock_guard lock(mutex_);
    callback_ = std::move(callback);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (callback_) {
      callback_(fromSpdlog(msg.level), std::string_view(msg.payload.data(), msg.payload.size()));
      return;
    }
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  LogSink callback_;
};

struct LibraryLogger {
  std::shared_ptr<LibrarySink> sink = std::make_shared<LibrarySink>();
  spdlog::logger logger{"corvee", sink};
  LibraryLogger() {
    logger.set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
    logger.set_level(spdlog::level::info);
  }
};

LibraryLogger& libraryLogger() {
  static LibraryLogger instance;  // never registered with spdlog: the application's names stay its own
  return instance;
}

}  // namespace

spdlog::logger& log() { return libraryLogger().logger; }

}  // namespace corvee::net

namespace corvee {

void setLogger(LogSink sink) { net::libraryLogger().sink->setCallback(std::move(sink)); }

void setLogLevel(LogLevel level) { net::libraryLogger().logger.set_level(net::toSpdlog(level)); }

}  // namespace corvee
