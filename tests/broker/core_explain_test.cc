// EXPLAIN (protocol version 5) in broker::Core, on a fake clock: the job's history as the store keeps
// it, and why a job that waits is not running, for every reason broker/wait_reason.h names.
#include "broker/core_fixture.h"
#include "corvee/errors.h"

namespace corvee::broker::test {
namespace {

struct Event {
  std::uint64_t time_ms = 0;
  std::string kind;
  std::uint32_t attempt = 0;
  std::string worker;
  std::string detail;
};

struct Explained {
  JobState state = JobState::kQueued;
  std::uint32_t attempt = 0;
  std::string reason_code;
  std::string reason;
  std::vector<Event> events;
  std::vector<std::string> kinds() const {
    std::vector<std::string> out;
    for (const Event& e : events) out.push_back(e.kind);
    return out;
  }
};

class CoreExplainTest : public CoreTest {
 protected:
  Explained explain(PeerId c, JobId id) {
    std::uint32_t rid = send(c, protocol::ExplainMsg{id});
    auto frames = takeType(c, MsgType::kExplanation);
    if (frames.size() != 1) {
      auto errs = errors(c);
      ADD_FAILURE() << "expected one EXPLANATION, got " << frames.size()
                    << (errs.empty() ? "" : "; ERROR " + errs[0].code + ": " + errs[0].message);
      return {};
    }
    EXPECT_EQ(frames[0].request_id, rid);
    auto m = frames[0].as<protocol::ExplanationMsg>();
    EXPECT_EQ(m.job.job_id, id);
    Explained out{static_cast<JobState>(m.job.state), m.job.attempt, std::string(m.reason_code), std::string(m.reason), {}};
    for (const auto& e : m.events) {
      out.events.push_back({e.time_ms, std::string(e.kind), e.attempt, std::string(e.worker), std::string(e.detail)});
    }
    return out;
  }
  JobId submitDelayed(PeerId c, std::uint32_t delay_ms) {
    protocol::SubmitMsg msg = submitMsg({});
    msg.delay_ms = delay_ms;
    send(c, msg);
    auto frames = takeType(c, MsgType::kSubmitted);
    EXPECT_EQ(frames.size(), 1u);
    return frames.empty() ? 0 : frames[0].as<protocol::SubmittedMsg>().job_id;
  }
  using Kinds = std::vector<std::string>;
};

TEST_F(CoreExplainTest, AJobForATaskNobodyServesSaysSo) {
  PeerId c = client();
  JobId id = submitTask(c, "nobody");
  flush();
  Explained e = explain(c, id);
  EXPECT_EQ(e.state, JobState::kQueued);
  EXPECT_EQ(e.reason_code, "no_worker");
  EXPECT_EQ(e.reason, "no connected worker serves task 'nobody'");
  ASSERT_EQ(e.kinds(), Kinds{"submitted"});
  EXPECT_EQ(e.events[0].time_ms, clock_.wallMillis());
}

TEST_F(CoreExplainTest, APausedTaskSaysPaused) {
  worker(4);
  PeerId c = client();
  expectOk(c, send(c, protocol::PauseMsg{"echo", 1}));
  JobId id = submit(c);
  flush();
  EXPECT_EQ(explain(c, id).reason_code, "paused");
}

TEST_F(CoreExplainTest, ADelayedJobSaysUntilWhenAndIsQueuedWhenDue) {
  PeerId w = worker(4);
  PeerId c = client();
  std::uint64_t submitted = clock_.wallMillis();
  JobId id = submitDelayed(c, 60'000);
  flush();
  Explained e = explain(c, id);
  EXPECT_EQ(e.state, JobState::kScheduled);
  EXPECT_EQ(e.reason_code, "delayed");
  EXPECT_NE(e.reason.find(isoTime(submitted + 60'000)), std::string::npos) << e.reason;
  ASSERT_EQ(e.kinds(), (Kinds{"submitted", "scheduled"}));
  EXPECT_EQ(e.events[1].detail, std::to_string(submitted + 60'000));
  advance(60'000);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  e = explain(c, id);
  EXPECT_EQ(e.state, JobState::kRunning);
  EXPECT_EQ(e.reason_code, "");
  ASSERT_EQ(e.kinds(), (Kinds{"submitted", "scheduled", "queued", "running"}));
  EXPECT_EQ(e.events[2].detail, "due");
}

TEST_F(CoreExplainTest, AJobThatFailedOnceAndSucceededShowsEveryStep) {
  PeerId w = worker(1, {"echo"}, "worker-a");
  PeerId c = client();
  JobId id = submit(c, {.retries = 1, .backoff_ms = 1000});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  advance(5);
  fail(w, id, 1);
  flush();
  Explained retrying = explain(c, id);
  EXPECT_EQ(retrying.state, JobState::kRetrying);
  EXPECT_EQ(retrying.reason_code, "retry_backoff");
  advance(1000);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, id, 2);
  flush();
  Explained done = explain(c, id);
  EXPECT_EQ(done.state, JobState::kSucceeded);
  EXPECT_EQ(done.reason_code, "");
  ASSERT_EQ(done.kinds(), (Kinds{"submitted", "running", "failed", "retry", "queued", "running", "succeeded"}));
  EXPECT_EQ(done.events[1].worker, "worker-a");
  EXPECT_EQ(done.events[1].attempt, 1u);
  EXPECT_EQ(done.events[2].detail, "handler_error");
  EXPECT_EQ(done.events[2].attempt, 1u);
  EXPECT_EQ(done.events[3].detail, retrying.events.back().detail) << "the retry's time";
  EXPECT_EQ(done.events[4].detail, "retry");
  EXPECT_EQ(done.events[5].attempt, 2u);
  EXPECT_EQ(done.events[6].attempt, 2u);
  EXPECT_LE(done.events[0].time_ms, done.events[2].time_ms);
  EXPECT_LT(done.events[2].time_ms, done.events[5].time_ms);
}

TEST_F(CoreExplainTest, EverySlotBusySaysSo) {
  PeerId w = worker(1);
  PeerId c = client();
  submit(c);
  JobId second = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  Explained e = explain(c, second);
  EXPECT_EQ(e.reason_code, "slots_busy");
  EXPECT_NE(e.reason.find("1 worker"), std::string::npos) << e.reason;
}

TEST_F(CoreExplainTest, ARateLimitedTaskSaysSo) {
  options_.rates = {"echo=1/s:1"};
  PeerId w = worker(4);
  PeerId c = client();
  submit(c);
  JobId second = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  EXPECT_EQ(explain(c, second).reason_code, "rate_limited");
}

TEST_F(CoreExplainTest, OnlyDrainingWorkersSaysDraining) {
  PeerId w = worker(4);
  expectOk(w, send(w, protocol::DrainMsg{}));
  PeerId c = client();
  JobId id = submit(c);
  flush();
  EXPECT_EQ(explain(c, id).reason_code, "draining");
}

TEST_F(CoreExplainTest, AFairnessKeyAtItsCapSaysSo) {
  options_.key_concurrency = {"echo=1"};
  PeerId w = worker(4);
  PeerId c = client();
  submit(c, {.fair_key = "tenant-a"});
  JobId second = submit(c, {.fair_key = "tenant-a"});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  Explained e = explain(c, second);
  EXPECT_EQ(e.reason_code, "key_capped");
  EXPECT_NE(e.reason.find("tenant-a"), std::string::npos) << e.reason;
}

TEST_F(CoreExplainTest, PriorityRangesThatKeepTheFreeSlotForHigherPrioritiesSaySo) {
  PeerId w = hello(protocol::Role::kWorker, "ranged");
  protocol::RegisterMsg reg{2, {"echo"}, 0};
  reg.priority_slots = "10:1";  // one slot kept for priorities from 10 up
  expectOk(w, send(w, reg));
  PeerId c = client();
  submit(c);
  JobId second = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  EXPECT_EQ(explain(c, second).reason_code, "priority_range_full");
}

TEST_F(CoreExplainTest, APrefetchedJobWaitsForASlot) {
  PeerId w = prefetchingWorker(1, 1);
  PeerId c = client();
  submit(c);
  JobId second = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 2u);
  Explained e = explain(c, second);
  EXPECT_EQ(e.state, JobState::kRunning);
  EXPECT_EQ(e.reason_code, "prefetched");
}

TEST_F(CoreExplainTest, AJobJustSubmittedToAnIdleWorkerIsBeingDealt) {
  worker(4);
  PeerId c = client();
  JobId id = submit(c);  // no flush yet: the turn has not dealt it
  EXPECT_EQ(explain(c, id).reason_code, "dealing");
}

TEST_F(CoreExplainTest, AJobWhoseWorkerWasLostIsRequeuedWithItsFailedAttempt) {
  PeerId w = worker(1, {"echo"}, "worker-a");
  PeerId c = client();
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  lose(w);
  flush();
  Explained e = explain(c, id);
  EXPECT_EQ(e.state, JobState::kQueued);
  EXPECT_EQ(e.reason_code, "no_worker");
  ASSERT_EQ(e.kinds(), (Kinds{"submitted", "running", "failed", "requeued"}));
  EXPECT_EQ(e.events[2].detail, errc::kWorkerLost);
  EXPECT_EQ(e.events[2].worker, "worker-a");
  EXPECT_EQ(e.events[3].detail, "worker_lost");
}

TEST_F(CoreExplainTest, ARunningJobIsRequeuedAtARestartAndItsHistorySurvives) {
  PeerId w = worker(1, {"echo"}, "worker-a");
  PeerId c = client();
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  restart();
  c = client();
  Explained e = explain(c, id);
  EXPECT_EQ(e.state, JobState::kQueued);
  ASSERT_EQ(e.kinds(), (Kinds{"submitted", "running", "failed", "requeued"}));
  EXPECT_EQ(e.events[3].detail, "broker_restart");
}

TEST_F(CoreExplainTest, AnExpiredLimitIsNamedBeforeTheJobDies) {
  PeerId c = client();
  JobId id = submit(c, {.task = "nobody", .assign_timeout_ms = 500});
  flush();
  advance(500);
  flush();
  Explained e = explain(c, id);
  EXPECT_EQ(e.state, JobState::kDead);
  EXPECT_EQ(e.reason_code, "");
  ASSERT_EQ(e.kinds(), (Kinds{"submitted", "expired", "dead"}));
  EXPECT_EQ(e.events[1].detail, "assign_timeout");
  EXPECT_EQ(e.events[2].detail, "assign_timeout");
}

TEST_F(CoreExplainTest, ARevivedDeadJobSaysSo) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 1, errc::kPermanentError, "no");
  flush();
  EXPECT_EQ(count(c, send(c, protocol::DeadRetryMsg{id, {}})), 1u);
  flush();
  Explained e = explain(c, id);
  ASSERT_EQ(e.kinds(), (Kinds{"submitted", "running", "failed", "dead", "revived", "running"}));
}

TEST_F(CoreExplainTest, TheVolatileStoreKeepsHistoriesToo) {
  use_volatile_store_ = true;
  PeerId w = worker(1);
  PeerId c = client();
  JobId queued = submitTask(c, "nobody");
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, id, 1);
  flush();
  EXPECT_EQ(explain(c, queued).kinds(), Kinds{"submitted"});
  EXPECT_EQ(explain(c, id).kinds(), (Kinds{"submitted", "running", "succeeded"}));
}

TEST_F(CoreExplainTest, AnUnknownJobIsNotFound) {
  PeerId c = client();
  expectError(c, send(c, protocol::ExplainMsg{12345}), errc::kNotFound);
}

TEST_F(CoreExplainTest, APeerBelowVersion5DoesNotKnowExplain) {
  PeerId c = connect();
  protocol::HelloMsg h;
  h.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  h.version = 4;
  send(c, h);
  takeAll(c);
  std::string wire;
  protocol::encode(wire, 7, protocol::ExplainMsg{1}, 4);
  deliver(c, wire);
  auto errs = errors(c);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].code, errc::kUnknownCommand);
}

TEST_F(CoreExplainTest, ExplanationIsSentByTheBrokerNotToIt) {
  PeerId c = client();
  expectError(c, send(c, protocol::ExplanationMsg{}), errc::kBadRequest);
}

}  // namespace
}  // namespace corvee::broker::test
