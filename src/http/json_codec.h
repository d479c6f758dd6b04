// JSON for the HTTP API: payloads and results (bytes) in both directions, job records, errors.
//
// A payload or result is bytes. In JSON it is a string: the bytes themselves when they are valid
// UTF-8, otherwise their base64 with a sibling field `<name>_encoding: "base64"`, so no byte is
// ever mangled. Clients send payloads the same way, and may also send any other JSON value, which
// is taken as its compact JSON text (so `"payload": [5, 6]` submits the bytes `[5,6]`).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "corvee/status.h"
#include "http/request.h"
#include "protocol/messages.h"

namespace corvee::http {

// Ordered: a job reads id, task, state first, as written, not in alphabetical order.
using Json = nlohmann::ordered_json;

// Sets `doc[name]` to `bytes` (and `doc[name + "_encoding"] = "base64"` when they are not UTF-8).
void putBytes(Json& doc, const std::string& name, std::string_view bytes);
// Reads the bytes in `doc[name]` as putBytes() writes them (or another JSON value as its text).
// A missing field gives empty bytes; a bad encoding name or base64 text is bad_request.
Result<std::string> takeBytes(const Json& doc, const std::string& name);

// A job as GET /v1/jobs/{id} shows it (docs/http-api.md). A listed job (GET /v1/jobs) has no
// result, payload or failures: LIST_JOBS does not carry them.
Json jobJson(const protocol::JobInfoMsg& job, bool listed = false);
// A cron entry as GET /v1/cron lists it.
Json cronJson(const protocol::CronEntryItem& entry);

// Parses a request body as a JSON object ("{}" when empty). bad_request with the parser's
// message when it is not JSON or not an object.
Result<Json> parseObject(std::string_view body);

// Every key of `doc` must be one of `known`: a misspelt option is an error, not ignored.
Status checkKnownFields(const Json& doc, std::initializer_list<std::string_view> known);

// Reads doc[name] as an unsigned integer no larger than `max` (absent: `fallback`).
Result<std::uint64_t> takeUnsigned(const Json& doc, const std::string& name, std::uint64_t max, std::uint64_t fallback);
// Reads doc[name] as a string of at most `max_bytes` (absent: empty). The default is the most a
// wire `str` field holds.
Result<std::string> takeString(const Json& doc, const std::string& name, std::size_t max_bytes = 65535);

// The HTTP status for a wire-protocol error code: 400, 404, 409, 413, 429, 500 or 503.
unsigned httpStatusFor(std::string_view code);
// A JSON error response: {"error": {"code": ..., "message": ...}} with httpStatusFor(code).
Response errorResponse(const Status& status);
// A JSON response with `status`.
Response jsonResponse(unsigned status, const Json& doc);

}  // namespace corvee::http
