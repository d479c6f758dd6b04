// Where the client and worker libraries' log lines go. By default: stderr, never stdout (stdout
// belongs to the application), at level info. An application may send them to its own logging
// instead, or silence them. Needs no logging library: the lines arrive as plain text.
#pragma once

#include <functional>
#include <string_view>

namespace corvee {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// Receives one log line's message (no timestamp, no level, no newline) and its level. Called on
// whichever thread logged, often the client's or worker's network thread, with a library lock
// held: it must not call back into a Client or Worker, and should return quickly.
using LogSink = std::function<void(LogLevel level, std::string_view message)>;

// Sends the libraries' log lines to `sink`; an empty function restores the default (stderr).
// Thread-safe; lines logged after it returns go to the new sink.
void setLogger(LogSink sink);

// Lines below `level` are dropped before formatting (the default: kInfo). kOff silences the
// libraries. Thread-safe.
void setLogLevel(LogLevel level);

}  // namespace corvee
