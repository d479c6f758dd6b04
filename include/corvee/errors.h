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
// SUBMIT: the connection has the broker's --max-in-flight-per-client submissions waiting for their
// acknowledgement; read them before sending more.
inline constexpr const char* kTooManyInFlight = "too_many_in_flight";
inline constexpr const char* kShuttingDown = "shutting_down";
inline constexpr const char* kStoreFull = "store_full";
// Sent instead of WELCOME, before the connection is closed: the broker holds its --max-connections
// or has no file descriptor left. Worth retrying later.
inline constexpr const char* kTooManyConnections = "too_many_connections";
// Sent instead of WELCOME, before the connection is closed: the broker requires a token (its
// --auth-tokens) and the peer presented none, or one it does not know. Also HTTP 401.
inline constexpr const char* kUnauthenticated = "unauthenticated";
// The peer's token does not allow the request: a client token registering as a worker, a control
// (cancel, purge, pause, ...) without an admin token. Also HTTP 403.
inline constexpr const char* kPermissionDenied = "permission_denied";
inline constexpr const char* kTimeout = "timeout";
inline constexpr const char* kRunTimeout = "run_timeout";
inline constexpr const char* kAssignTimeout = "assign_timeout";
inline constexpr const char* kHandlerError = "handler_error";
inline constexpr const char* kWorkerLost = "worker_lost";
inline constexpr const char* kNoHandler = "no_handler";
inline constexpr const char* kInternal = "internal";
// A job error a handler returns for a failure that retrying cannot fix (bad input, say): the job
// goes straight to `dead`, whatever retries it had left. An `--exec` command says it by exiting
// with kPermanentExitStatus (65, EX_DATAERR). corvee::permanentError() builds it.
inline constexpr const char* kPermanentError = "permanent_error";
inline constexpr int kPermanentExitStatus = 65;
// The job's end when it was cancelled (CANCEL_JOB, PURGE); also sent in CANCEL to its worker.
inline constexpr const char* kCancelled = "cancelled";
// A control request does not apply to the job's state: cancelling a finished job, retrying one
// that is not dead.
inline constexpr const char* kWrongState = "wrong_state";
// SUBMIT with require_worker, or PAUSE of a task no worker serves and no job uses.
inline constexpr const char* kNoWorker = "no_worker";
// Client-side only: the broker could not be reached or the connection was lost.
inline constexpr const char* kUnavailable = "unavailable";
// Client-side only: a local wait() ran out before the job finished. The job itself goes on.
inline constexpr const char* kWaitTimeout = "wait_timeout";
// Client-side only: TLS with the broker failed: the handshake (the broker's certificate is not
// signed by the trusted CA or does not name the host; the broker refused this peer's certificate),
// or the broker speaks TLS and this peer was not configured for it. The message has OpenSSL's reason.
inline constexpr const char* kTlsError = "tls_error";

}  // namespace corvee::errc
