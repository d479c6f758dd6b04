#include "corvee/errors.h"
#include "http/handlers.h"
#include "http/submit_json.h"

namespace corvee::http {

namespace {

void setPaused(const CallPtr& call, bool paused) {
  protocol::CronPauseMsg ask;
  ask.name = call->captures.at(0);
  ask.paused = paused ? 1 : 0;
  askThen<protocol::OkMsg>(call, ask, [call, paused](const protocol::OkMsg&) {
    call->reply(200, Json{{"name", call->captures.at(0)}, {"paused", paused}});
  });
}

}  // namespace

void listCron(const CallPtr& call) {
  askThen<protocol::CronEntriesMsg>(call, protocol::CronListMsg{}, [call](const protocol::CronEntriesMsg& list) {
    Json entries = Json::array();
    for (const auto& entry : list.entries) entries.push_back(cronJson(entry));
    call->reply(200, Json{{"entries", std::move(entries)}});
  });
}

void putCron(const CallPtr& call) {
  auto doc = parseObject(call->request.body);
  if (!doc) return call->fail(doc.status());
  // The entry's own fields, then the job each firing submits, named as for POST /v1/jobs.
  auto submit = parseSubmit(*doc, {"spec", "tz"});
  if (!submit) return call->fail(submit.status());
  auto spec = takeString(*doc, "spec");
  if (!spec) return call->fail(spec.status());
  if (spec->empty()) return call->fail(Status::error(errc::kBadRequest, "spec is required (a cron expression)"));
  auto tz = takeString(*doc, "tz");
  if (!tz) return call->fail(tz.status());
  std::string submit_body = protocol::encodeBody(submit->message());
  protocol::CronAddMsg ask;
  ask.name = call->captures.at(0);
  ask.spec = *spec;
  ask.tz = *tz;
  ask.submit.data = submit_body;
  askThen<protocol::CronEntriesMsg>(call, ask, [call](const protocol::CronEntriesMsg& added) {
    if (added.entries.empty()) return call->fail(Status::error(errc::kInternal, "CRON_ADD answered without the entry"));
    bool replaced = (added.flags & protocol::kCronReplaced) != 0;
    call->reply(replaced ? 200 : 201, Json{{"entry", cronJson(added.entries.front())}, {"replaced", replaced}});
  });
}

void deleteCron(const CallPtr& call) {
  protocol::CronRemoveMsg ask;
  ask.name = call->captures.at(0);
  askThen<protocol::OkMsg>(call, ask, [call](const protocol::OkMsg&) {
    call->reply(200, Json{{"name", call->captures.at(0)}, {"removed", true}});
  });
}

void pauseCron(const CallPtr& call) { setPaused(call, true); }

void resumeCron(const CallPtr& call) { setPaused(call, false); }

}  // namespace corvee::http
