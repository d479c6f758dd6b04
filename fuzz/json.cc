// Fuzz target: the HTTP API's JSON (src/http/submit_json.cc, json_codec.cc).
//
// Input: a request body. It goes through parseObject() and, as an object, parseSubmit() (as POST
// /v1/jobs and PUT /v1/cron/{name} read it) and takeBytes(). Properties: nothing throws; an
// accepted submission encodes as a SUBMIT that decodes to the same fields, its numbers exactly the
// numbers given (none wrapped into range); the bytes, written as a payload by putBytes() and read
// back by takeBytes(), are the same bytes; a JSON response of them is valid UTF-8 JSON. The input
// also goes in as a JOB_INFO body (jobJson()) and a CRON_ENTRIES body (cronJson()).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/json_codec.h"
#include "http/submit_json.h"
#include "protocol/messages.h"
#include "protocol/utf8.h"

namespace {

using namespace corvee::http;
namespace protocol = corvee::protocol;

void checkSubmit(const Json& doc, std::initializer_list<std::string_view> extra) {
  auto submit = parseSubmit(doc, extra);
  if (!submit) {
    FUZZ_CHECK(submit.status().code() == "bad_request");
    return;
  }
  FUZZ_CHECK(!submit->task.empty());
  protocol::SubmitMsg msg = submit->message();
  std::string body = protocol::encodeBody(msg);
  auto decoded = protocol::decode<protocol::SubmitMsg>(body);
  FUZZ_CHECK(decoded);
  FUZZ_CHECK(decoded->task == submit->task && decoded->payload.data == submit->payload);
  FUZZ_CHECK(decoded->unique_key == submit->unique_key && decoded->fair_key == submit->fair_key);
  FUZZ_CHECK(protocol::encodeBody(*decoded) == body);
  // Every number given is the number taken, exactly (no wrap-around into range).
  auto same = [&](const char* name, auto value) {
    auto it = doc.find(name);
    if (it != doc.end() && !it->is_null()) FUZZ_CHECK(it->dump() == std::to_string(value));
  };
  same("priority", msg.priority);
  same("timeout_ms", msg.timeout_ms);
  same("run_timeout_ms", msg.run_timeout_ms);
  same("assign_timeout_ms", msg.assign_timeout_ms);
  same("retries", msg.retries);
  same("backoff_ms", msg.backoff_ms);
  same("backoff_max_ms", msg.backoff_max_ms);
  same("delay_ms", msg.delay_ms);
  same("run_at_ms", msg.run_at_ms);
  same("unique_for_ms", msg.unique_for_ms);
}

void checkResponse(const Json& doc) {
  Response response = jsonResponse(200, doc);
  FUZZ_CHECK(protocol::isValidUtf8(response.body));
  Json back = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!back.is_discarded());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto doc = parseObject(input);
  if (doc) {
    FUZZ_CHECK(doc->is_object());
    checkSubmit(*doc, {});
    checkSubmit(*doc, {"name", "spec", "tz"});
    (void)checkKnownFields(*doc, {"task", "payload"});
    auto payload = takeBytes(*doc, "payload");
    FUZZ_CHECK(payload || payload.status().code() == "bad_request");
    for (const char* name : {"limit", "before", "older_than_ms"}) (void)takeUnsigned(*doc, name, 1000, 0);
    (void)takeString(*doc, "task", 8);
    checkResponse(*doc);
  } else {
    FUZZ_CHECK(doc.status().code() == "bad_request");
  }

  // Any bytes as a payload and back.
  Json holder = Json::object();
  putBytes(holder, "payload", input);
  auto bytes = takeBytes(holder, "payload");
  FUZZ_CHECK(bytes && *bytes == input);
  checkResponse(holder);

  // The input as a JOB_INFO body from the broker, as GET /v1/jobs/{id} shows it.
  if (auto job = protocol::decode<protocol::JobInfoMsg>(input)) {
    checkResponse(jobJson(*job));
    checkResponse(jobJson(*job, /*listed=*/true));
  }
  if (auto entries = protocol::decode<protocol::CronEntriesMsg>(input)) {
    for (const auto& entry : entries->entries) checkResponse(cronJson(entry));
  }
  return 0;
}
