#include "http/submit_json.h"

#include <limits>

#include "corvee/errors.h"

namespace corvee::http {

namespace {
constexpr std::string_view kSubmitFields[] = {
    "task",     "payload",    "payload_encoding", "priority",       "timeout_ms",     "run_timeout_ms",
    "assign_timeout_ms",      "retries",          "backoff_ms",     "backoff_max_ms", "require_worker",
    "delay_ms", "run_at_ms",  "unique_key",       "unique_for_ms",  "fair_key"};

constexpr std::uint64_t kU32 = std::numeric_limits<std::uint32_t>::max();

Result<std::int32_t> takePriority(const Json& doc) {
  auto it = doc.find("priority");
  if (it == doc.end() || it->is_null()) return 0;
  // A number above INT64_MAX is held unsigned, and reading it as int64 would wrap it into range
  // (18446744073709551615 would be -1): unsigned numbers are compared as unsigned.
  bool in_range = it->is_number_unsigned()
                      ? it->get<std::uint64_t>() <= std::uint64_t{std::numeric_limits<std::int32_t>::max()}
                      : it->is_number_integer() && it->get<std::int64_t>() >= std::numeric_limits<std::int32_t>::min() &&
                            it->get<std::int64_t>() <= std::numeric_limits<std::int32_t>::max();
  if (!in_range) {
    return Status::error(errc::kBadRequest, "priority must be a whole number from -2147483648 to 2147483647");
  }
  return static_cast<std::int32_t>(it->get<std::int64_t>());
}
}  // namespace

protocol::SubmitMsg SubmitRequest::message() const {
  protocol::SubmitMsg msg = fields;
  msg.task = task;
  msg.payload.data = payload;
  msg.unique_key = unique_key;
  msg.fair_key = fair_key;
  return msg;
}

Result<SubmitRequest> parseSubmit(const Json& doc, std::initializer_list<std::string_view> extra_fields) {
  for (const auto& [key, value] : doc.items()) {
    bool known = false;
    for (std::string_view name : kSubmitFields) known = known || name == key;
    for (std::string_view name : extra_fields) known = known || name == key;
    if (!known) return Status::error(errc::kBadRequest, "unknown field \"" + key + "\"");
  }
  SubmitRequest submit;
  auto task = takeString(doc, "task");
  if (!task) return task.status();
  if (task->empty()) return Status::error(errc::kBadRequest, "task is required");
  submit.task = std::move(*task);
  auto payload = takeBytes(doc, "payload");
  if (!payload) return payload.status();
  submit.payload = std::move(*payload);
  auto priority = takePriority(doc);
  if (!priority) return priority.status();
  protocol::SubmitMsg& f = submit.fields;
  f.priority = *priority;
  // The numbers, each in the range its wire field holds, absent ones keeping SUBMIT's defaults.
  struct U32Field {
    const char* name;
    std::uint32_t* field;
  };
  for (U32Field number : {U32Field{"timeout_ms", &f.timeout_ms}, U32Field{"run_timeout_ms", &f.run_timeout_ms},
                          U32Field{"assign_timeout_ms", &f.assign_timeout_ms}, U32Field{"retries", &f.retries},
                          U32Field{"backoff_ms", &f.backoff_ms}, U32Field{"backoff_max_ms", &f.backoff_max_ms},
                          U32Field{"delay_ms", &f.delay_ms}, U32Field{"unique_for_ms", &f.unique_for_ms}}) {
    auto value = takeUnsigned(doc, number.name, kU32, *number.field);
    if (!value) return value.status();
    *number.field = static_cast<std::uint32_t>(*value);
  }
  auto run_at = takeUnsigned(doc, "run_at_ms", std::numeric_limits<std::uint64_t>::max(), f.run_at_ms);
  if (!run_at) return run_at.status();
  f.run_at_ms = *run_at;
  if (auto it = doc.find("require_worker"); it != doc.end() && !it->is_null()) {
    if (!it->is_boolean()) return Status::error(errc::kBadRequest, "require_worker must be true or false");
    if (it->get<bool>()) f.flags |= protocol::kSubmitRequireWorker;
  }
  auto unique_key = takeString(doc, "unique_key");
  if (!unique_key) return unique_key.status();
  submit.unique_key = std::move(*unique_key);
  auto fair_key = takeString(doc, "fair_key");
  if (!fair_key) return fair_key.status();
  submit.fair_key = std::move(*fair_key);
  return submit;
}

}  // namespace corvee::http
