#include "http/json_codec.h"

#include <absl/strings/escaping.h>

#include <limits>

#include "corvee/errors.h"
#include "corvee/job.h"
#include "protocol/utf8.h"

namespace corvee::http {

namespace {
// 0 is "never" or "none" on the wire; JSON says null.
Json msOrNull(std::uint64_t ms) { return ms == 0 ? Json(nullptr) : Json(ms); }
Json textOrNull(std::string_view text) { return text.empty() ? Json(nullptr) : Json(std::string(text)); }
}  // namespace

void putBytes(Json& doc, const std::string& name, std::string_view bytes) {
  if (protocol::isValidUtf8(bytes)) {
    doc[name] = std::string(bytes);
  } else {
    doc[name] = absl::Base64Escape(absl::string_view(bytes.data(), bytes.size()));
    doc[name + "_encoding"] = "base64";
  }
}

Result<std::string> takeBytes(const Json& doc, const std::string& name) {
  std::string encoding = "utf8";
  if (auto it = doc.find(name + "_encoding"); it != doc.end()) {
    if (!it->is_string()) return Status::error(errc::kBadRequest, name + "_encoding must be \"utf8\" or \"base64\"");
    encoding = it->get<std::string>();
    if (encoding != "utf8" && encoding != "base64") {
      return Status::error(errc::kBadRequest, name + "_encoding must be \"utf8\" or \"base64\", not \"" + encoding + "\"");
    }
  }
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    if (encoding == "base64") return Status::error(errc::kBadRequest, name + " in base64 must be a string");
    return it->dump();
  }
  const std::string& text = it->get_ref<const std::string&>();
  if (encoding == "utf8") return text;
  std::string bytes;
  if (!absl::Base64Unescape(text, &bytes)) return Status::error(errc::kBadRequest, name + " is not valid base64");
  return bytes;
}

Json jobJson(const protocol::JobInfoMsg& job, bool listed) {
  Json doc = {
      {"id", job.job_id},
      {"task", std::string(job.task)},
      {"state", std::string(toString(static_cast<JobState>(job.state)))},
      {"priority", job.priority},
      {"attempt", job.attempt},
      {"retries", job.retries},
      {"retried", job.retried},
      {"submitted_ms", msOrNull(job.submitted_ms)},
      {"started_ms", msOrNull(job.started_ms)},
      {"finished_ms", msOrNull(job.finished_ms)},
      {"run_at_ms", msOrNull(job.run_at_ms)},
      {"worker", textOrNull(job.worker)},
      {"unique_key", textOrNull(job.unique_key)},
      {"fair_key", textOrNull(job.fair_key)},
  };
  if (!job.unique_key.empty()) doc["unique_for_ms"] = job.unique_for_ms;
  if (!job.error_code.empty()) {
    doc["error"] = {{"code", std::string(job.error_code)}, {"message", std::string(job.error_message)}};
  } else {
    doc["error"] = nullptr;
  }
  if (listed) return doc;
  if (static_cast<JobState>(job.state) == JobState::kSucceeded) {
    putBytes(doc, "result", job.result.data);
  } else {
    doc["result"] = nullptr;
  }
  if (!job.payload.data.empty()) putBytes(doc, "payload", job.payload.data);
  Json failures = Json::array();
  for (const auto& failure : job.failures) {
    failures.push_back({{"attempt", failure.attempt},
                        {"worker", textOrNull(failure.worker)},
                        {"started_ms", msOrNull(failure.started_ms)},
                        {"ended_ms", msOrNull(failure.ended_ms)},
                        {"code", std::string(failure.error_code)},
                        {"message", std::string(failure.error_message)}});
  }
  doc["failures"] = std::move(failures);
  return doc;
}

Json cronJson(const protocol::CronEntryItem& entry) {
  Json doc = {{"name", std::string(entry.name)},
              {"spec", std::string(entry.spec)},
              {"tz", entry.tz.empty() ? std::string("UTC") : std::string(entry.tz)},
              {"task", std::string(entry.task)},
              {"paused", entry.paused != 0},
              {"next_ms", msOrNull(entry.next_ms)},
              {"last_fire_ms", msOrNull(entry.last_fire_ms)},
              {"created_ms", msOrNull(entry.created_ms)}};
  if (auto submit = protocol::decode<protocol::SubmitMsg>(entry.submit.data)) {
    putBytes(doc, "payload", submit->payload.data);
    doc["priority"] = submit->priority;
  }
  return doc;
}

Result<Json> parseObject(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return Json::object();
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::error(errc::kBadRequest, "the request body is not valid JSON");
  if (!doc.is_object()) return Status::error(errc::kBadRequest, "the request body must be a JSON object");
  return doc;
}

Status checkKnownFields(const Json& doc, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : doc.items()) {
    bool found = false;
    for (std::string_view name : known) found = found || name == key;
    if (!found) return Status::error(errc::kBadRequest, "unknown field \"" + key + "\"");
  }
  return Status::ok();
}

Result<std::uint64_t> takeUnsigned(const Json& doc, const std::string& name, std::uint64_t max, std::uint64_t fallback) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return fallback;
  // Parsed JSON holds a non-negative whole number as unsigned, one built in C++ may hold it signed.
  if (!it->is_number_integer() || (!it->is_number_unsigned() && it->get<std::int64_t>() < 0)) {
    return Status::error(errc::kBadRequest, name + " must be a whole number from 0 to " + std::to_string(max));
  }
  std::uint64_t value = it->get<std::uint64_t>();
  if (value > max) return Status::error(errc::kBadRequest, name + " must be at most " + std::to_string(max));
  return value;
}

Result<std::string> takeString(const Json& doc, const std::string& name, std::size_t max_bytes) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Status::error(errc::kBadRequest, name + " must be a string");
  const std::string& text = it->get_ref<const std::string&>();
  if (text.size() > max_bytes) {
    return Status::error(errc::kBadRequest, name + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return text;
}

unsigned httpStatusFor(std::string_view code) {
  if (code == errc::kNotFound) return 404;
  if (code == errc::kUnauthenticated) return 401;
  if (code == errc::kPermissionDenied) return 403;
  if (code == errc::kPayloadTooLarge) return 413;
  if (code == errc::kQueueFull || code == errc::kTooManyConnections || code == errc::kTooManyInFlight) return 429;
  if (code == errc::kWrongState || code == errc::kNoWorker) return 409;
  if (code == errc::kStoreFull || code == errc::kShuttingDown || code == errc::kUnavailable) return 503;
  if (code == errc::kInternal) return 500;
  return 400;  // bad_request, unknown_command and any code a client's request caused
}

Response errorResponse(const Status& status) {
  Json doc = {{"error", {{"code", status.code()}, {"message", status.message()}}}};
  return jsonResponse(httpStatusFor(status.code()), doc);
}

Response jsonResponse(unsigned status, const Json& doc) {
  Response response;
  response.status = status;
  // Invalid UTF-8 cannot reach here (bytes go through putBytes), but replace rather than throw.
  response.body = doc.dump(-1, ' ', false, Json::error_handler_t::replace);
  response.body.push_back('\n');
  return response;
}

}  // namespace corvee::http
