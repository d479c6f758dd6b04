#include "common/parse_whole.h"
#include "corvee/errors.h"
#include "corvee/job.h"
#include "http/handlers.h"
#include "http/submit_json.h"

namespace corvee::http {

namespace {

// The job id in the path's first parameter; nullopt (and the call answered 400) when malformed.
std::optional<std::uint64_t> jobIdOf(const CallPtr& call) {
  const std::string& text = call->captures.at(0);
  std::uint64_t id = 0;
  if (!parseWhole(text, id) || id == 0) {
    call->fail(Status::error(errc::kBadRequest, "'" + text + "' is not a job id"));
    return std::nullopt;
  }
  return id;
}

// Answers with the job as STATUS reports it now, with `status`.
void replyWithJob(const CallPtr& call, std::uint64_t id, unsigned status, bool with_payload) {
  protocol::StatusMsg ask;
  ask.job_id = id;
  if (with_payload) ask.flags = protocol::kStatusWithPayload;
  askThen<protocol::JobInfoMsg>(call, ask, [call, status](const protocol::JobInfoMsg& info) {
    call->reply(status, jobJson(info));
  });
}

bool wantsPayload(const CallPtr& call) {
  auto flag = call->request.param("payload");
  return flag && (*flag == "1" || *flag == "true");
}

// GET /v1/jobs and /v1/dead: LIST_JOBS, newest first, with the id to ask for the next page.
void listWithState(const CallPtr& call, std::uint8_t state) {
  protocol::ListJobsMsg ask;
  std::string task = call->request.param("task").value_or("");
  ask.task = task;
  ask.state = state;
  auto limit = call->numberParam("limit", 1000, 100);
  if (!limit) return call->fail(limit.status());
  ask.limit = static_cast<std::uint32_t>(*limit);
  auto before = call->numberParam("before", std::numeric_limits<std::uint64_t>::max(), 0);
  if (!before) return call->fail(before.status());
  ask.before_id = *before;
  std::uint32_t asked = ask.limit == 0 ? 100 : ask.limit;
  askThen<protocol::JobListMsg>(call, ask, [call, asked](const protocol::JobListMsg& list) {
    Json jobs = Json::array();
    for (const auto& job : list.jobs) jobs.push_back(jobJson(job, /*listed=*/true));
    Json next = list.jobs.size() >= asked && !list.jobs.empty() ? Json(list.jobs.back().job_id) : Json(nullptr);
    call->reply(200, Json{{"jobs", std::move(jobs)}, {"next_before", std::move(next)}});
  });
}

}  // namespace

void submitJob(const CallPtr& call) {
  auto doc = parseObject(call->request.body);
  if (!doc) return call->fail(doc.status());
  auto submit = parseSubmit(*doc);
  if (!submit) return call->fail(submit.status());
  auto wait = call->waitParam("wait", kMaxWaitMs);
  if (!wait) return call->fail(wait.status());
  askThen<protocol::SubmittedMsg>(call, submit->message(), [call, wait = *wait](const protocol::SubmittedMsg& done) {
    bool duplicate = (done.flags & protocol::kSubmittedDuplicate) != 0;
    std::uint64_t id = done.job_id;
    if (!wait) {
      Response response = jsonResponse(duplicate ? 200 : 201,
                                       Json{{"id", id},
                                            {"duplicate", duplicate},
                                            {"unserved", (done.flags & protocol::kSubmittedUnserved) != 0}});
      response.headers.emplace_back("Location", "/v1/jobs/" + std::to_string(id));
      return call->respond(std::move(response));
    }
    // This connection owns the job: its RESULT comes here without a SUBSCRIBE.
    call->link->awaitResult(id, *wait, [call, id](const protocol::ResultMsg* result) {
      replyWithJob(call, id, result != nullptr ? 200 : 202, false);
    });
  });
}

void getJob(const CallPtr& call) {
  auto id = jobIdOf(call);
  if (!id) return;
  auto wait = call->waitParam("wait", kMaxWaitMs);
  if (!wait) return call->fail(wait.status());
  bool with_payload = wantsPayload(call);
  if (!*wait) return replyWithJob(call, *id, 200, with_payload);
  // The wait starts before SUBSCRIBE, which sends a finished job's RESULT right after its OK.
  call->link->awaitResult(*id, **wait, [call, id = *id, with_payload](const protocol::ResultMsg*) {
    replyWithJob(call, id, 200, with_payload);
  });
  protocol::SubscribeMsg subscribe;
  subscribe.job_id = *id;
  call->link->ask(subscribe, [call](const protocol::Frame& frame) {
    auto ok = replyAs<protocol::OkMsg>(frame);
    if (ok) return;  // the wait goes on
    call->link->forgetPending();
    call->fail(ok.status());
  });
}

void listJobs(const CallPtr& call) {
  std::uint8_t state = 0;
  if (auto name = call->request.param("state"); name && !name->empty()) {
    auto parsed = jobStateFromString(*name);
    if (!parsed) {
      return call->fail(Status::error(errc::kBadRequest, "unknown state '" + *name +
                                                             "' (queued, running, succeeded, dead, cancelled, "
                                                             "retrying, scheduled)"));
    }
    state = static_cast<std::uint8_t>(*parsed);
  }
  listWithState(call, state);
}

void listDeadJobs(const CallPtr& call) { listWithState(call, static_cast<std::uint8_t>(JobState::kDead)); }

void getJobHistory(const CallPtr& call) {
  auto id = jobIdOf(call);
  if (!id) return;
  protocol::ExplainMsg ask;
  ask.job_id = *id;
  askThen<protocol::ExplanationMsg>(call, ask, [call](const protocol::ExplanationMsg& explained) {
    Json events = Json::array();
    for (const auto& event : explained.events) {
      events.push_back({{"time_ms", event.time_ms},
                        {"kind", std::string(event.kind)},
                        {"attempt", event.attempt},
                        {"worker", event.worker.empty() ? Json(nullptr) : Json(std::string(event.worker))},
                        {"detail", std::string(event.detail)}});
    }
    Json reason = explained.reason_code.empty()
                      ? Json(nullptr)
                      : Json{{"code", std::string(explained.reason_code)}, {"message", std::string(explained.reason)}};
    call->reply(200, Json{{"job", jobJson(explained.job)}, {"reason", std::move(reason)}, {"events", std::move(events)}});
  });
}

void cancelJob(const CallPtr& call) {
  auto id = jobIdOf(call);
  if (!id) return;
  protocol::CancelJobMsg ask;
  ask.job_id = *id;
  askThen<protocol::OkMsg>(call, ask, [call, id = *id](const protocol::OkMsg&) {
    replyWithJob(call, id, 200, false);
  });
}

void retryJob(const CallPtr& call) {
  auto id = jobIdOf(call);
  if (!id) return;
  protocol::DeadRetryMsg ask;
  ask.job_id = *id;
  askThen<protocol::CountMsg>(call, ask, [call, id = *id](const protocol::CountMsg&) {
    replyWithJob(call, id, 200, false);
  });
}

void retryDeadJobs(const CallPtr& call) {
  auto doc = parseObject(call->request.body);
  if (!doc) return call->fail(doc.status());
  if (Status known = checkKnownFields(*doc, {"task"}); !known) return call->fail(known);
  auto task = takeString(*doc, "task");
  if (!task) return call->fail(task.status());
  protocol::DeadRetryMsg ask;
  ask.task = *task;
  askThen<protocol::CountMsg>(call, ask, [call](const protocol::CountMsg& count) {
    call->reply(200, Json{{"retried", count.count}});
  });
}

void purgeDeadJobs(const CallPtr& call) {
  auto doc = parseObject(call->request.body);
  if (!doc) return call->fail(doc.status());
  if (Status known = checkKnownFields(*doc, {"task", "older_than_ms"}); !known) return call->fail(known);
  auto task = takeString(*doc, "task");
  if (!task) return call->fail(task.status());
  auto older = takeUnsigned(*doc, "older_than_ms", std::numeric_limits<std::uint64_t>::max(), 0);
  if (!older) return call->fail(older.status());
  protocol::DeadPurgeMsg ask;
  ask.task = *task;
  ask.older_than_ms = *older;
  askThen<protocol::CountMsg>(call, ask, [call](const protocol::CountMsg& count) {
    call->reply(200, Json{{"purged", count.count}});
  });
}

}  // namespace corvee::http
