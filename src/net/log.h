// The logger of the client and worker libraries (internal). Its lines go where
// corvee::setLogger() says (include/corvee/logging.h), by default to stderr, and never through
// spdlog's default logger, which belongs to the application.
#pragma once

#include <spdlog/logger.h>

namespace corvee::net {

spdlog::logger& log();

}  // namespace corvee::net
