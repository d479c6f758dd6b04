// The protocol's error codes (docs/protocol.md, section 5), as constants so a typo is a compile
// error. A peer may receive codes not listed here and must treat them as generic failures.
#pragma once

namespace corvee::errc {

inline constexpr const char* kBadRequest = "bad_request";
inline constexpr const char* kUnknownCommand = "unknown_command";
inline constexpr const char* kUnsupportedVersion = "unsupported_version";
inline constexpr const char* kPayloadTooLarge = "payload_too_large";
// A job error: the worker's result is over the broker's max_payload.
inline constexpr const char* kResultTooLarge = "result_too_large";
inline constexpr const char* kNotFound = "not_found";
inline constexpr const char* kStaleAttempt = "stale_attempt";
inline constexpr const char* kQueueFull = "queue_full";
inline constexpr const char* kShuttingDown = "shutting_down";
inline constexpr const char* kStoreFull = "store_full";
// Sent instead of WELCOME, before the connection is closed: the broker holds its --max-connections
// or has no file descriptor left. Worth retrying later.
inline constexpr const char* kTooManyConnections = "too_many_connections";
inline constexpr const char* kTimeout = "timeout";
inline constexpr const char* kRunTimeout = "run_timeout";
inline constexpr const char* kAssignTimeout = "assign_timeout";
inline constexpr const char* kHandlerError = "handler_error";
inline constexpr const char* kWorkerLost = "worker_lost";
inline constexpr const char* kNoHandler = "no_handler";
inline constexpr const char* kInternal = "internal";
// Client-side only: the broker could not be reached or the connection was lost.
inline constexpr const char* kUnavailable = "unavailable";
// Client-side only: a local wait() ran out before the job finished. The job itself goes on.
inline constexpr const char* kWaitTimeout = "wait_timeout";

}  // namespace corvee::errc
