// Retries, backoff and dead letters in broker::Core, on a fake clock and a fake random source.
#include "broker/core_fixture.h"
#include "corvee/errors.h"

namespace corvee::broker::test {
namespace {

class CoreRetryTest : public CoreTest {
 protected:
  // STATUS of the job answers not_found: it was purged or dropped.
  void expectGone(PeerId c, JobId id) { expectError(c, send(c, protocol::StatusMsg{id}), errc::kNotFound); }
};

TEST_F(CoreRetryTest, AFailedJobRetriesAfterGrowingBackoffsThenIsDeadWithEveryError) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submit(c, {.payload = "input", .retries = 2, .backoff_ms = 200});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 1, "handler_error", "first");
  flush();
  expectNothing(c);  // not finished: it retries

  JobInfo info = fullStatus(c, id);
  EXPECT_EQ(info.state, JobState::kRetrying);
  EXPECT_EQ(info.retried, 1u);
  EXPECT_EQ(info.retries, 2u);
  // The fake draws the middle of [0, 200].
  EXPECT_EQ(info.run_at_ms, clock_.wallMillis() + 100);
  EXPECT_EQ(info.error_code, "handler_error");

  advance(99);
  flush();
  EXPECT_TRUE(assigns(w).empty()) << "retried before its backoff";
  advance(1);
  flush();
  auto second = assigns(w);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempt, 2u);
  EXPECT_EQ(second[0].payload, "input");

  fail(w, id, 2, "handler_error", "second");
  flush();
  advance(299);  // the middle of [200, 400]
  flush();
  EXPECT_TRUE(assigns(w).empty());
  advance(1);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 3, "handler_error", "third");
  flush();

  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].state, JobState::kDead);
  EXPECT_EQ(res[0].attempt, 3u);
  EXPECT_EQ(res[0].error_message, "third");
  ASSERT_EQ(random_.draws.size(), 2u);
  EXPECT_EQ(random_.draws[0].hi, 200u);
  EXPECT_EQ(random_.draws[1].lo, 200u);
  EXPECT_EQ(random_.draws[1].hi, 400u);

  info = fullStatus(c, id, /*with_payload=*/true);
  EXPECT_EQ(info.state, JobState::kDead);
  EXPECT_EQ(info.payload, "input");  // kept for `dead retry`
  ASSERT_EQ(info.failures.size(), 3u);
  for (std::uint32_t i = 0; i < 3; ++i) EXPECT_EQ(info.failures[i].attempt, i + 1);
  EXPECT_EQ(info.failures[0].error_message, "first");
  EXPECT_EQ(info.failures[2].error_message, "third");
  EXPECT_FALSE(info.failures[0].worker.empty());
  EXPECT_EQ(core().counts().dead, 1u);
  EXPECT_EQ(core().counts().retried, 2u);
  EXPECT_EQ(core().counts().retrying, 0u);
}

TEST_F(CoreRetryTest, APermanentErrorIsNeverRetried) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submit(c, {.retries = 5});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 1, errc::kPermanentError, "bad input");
  flush();
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].state, JobState::kDead);
  EXPECT_EQ(res[0].error_code, errc::kPermanentError);
  EXPECT_TRUE(random_.draws.empty());
}

TEST_F(CoreRetryTest, WithoutRetriesAFailureIsDeadAtOnce) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 1);
  flush();
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].state, JobState::kDead);
  EXPECT_EQ(fullStatus(c, id).failures.size(), 1u);
}

TEST_F(CoreRetryTest, ARunTimeoutIsAnAttemptAndTheRetryWaitsUntilTheWorkerStoppedIt) {
  PeerId w = worker(2);  // a free slot: only the stopping attempt can hold the retry back
  PeerId c = client();
  JobId id = submit(c, {.run_timeout_ms = 50, .retries = 1, .backoff_ms = 10});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  advance(50);
  flush();
  auto cancelled = cancels(w);
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0].code, errc::kRunTimeout);
  EXPECT_EQ(fullStatus(c, id).state, JobState::kRetrying);

  // Its backoff is long over, but attempt 1 may still be running on the worker.
  advance(1000);
  flush();
  EXPECT_TRUE(assigns(w).empty()) << "a retry started while the cancelled attempt could still run";
  EXPECT_EQ(fullStatus(c, id).state, JobState::kRetrying);

  fail(w, id, 1, "cancelled_by_broker", "stopped");  // the worker reports the attempt gone
  flush();
  EXPECT_TRUE(errors(w).empty());
  auto retry = assigns(w);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].attempt, 2u);
  complete(w, id, 2, "done");
  flush();
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].state, JobState::kSucceeded);
  auto failures = fullStatus(c, id).failures;
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].error_code, errc::kRunTimeout);
}

TEST_F(CoreRetryTest, ARetryWaitingForAStoppingAttemptGoesWhenThatWorkerIsLost) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submit(c, {.run_timeout_ms = 50, .retries = 1, .backoff_ms = 10});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  advance(50);
  advance(100);
  flush();
  PeerId other = worker(1);
  flush();
  EXPECT_TRUE(assigns(other).empty());
  lose(w);  // the attempt stopped with its worker
  flush();
  auto retry = assigns(other);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].id, id);
  EXPECT_EQ(retry[0].attempt, 2u);
}

TEST_F(CoreRetryTest, ALostWorkerIsRecordedButUsesNoRetry) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submit(c);  // no retries: a crash is not the job's fault
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  lose(w);
  flush();
  JobInfo info = fullStatus(c, id);
  EXPECT_EQ(info.state, JobState::kQueued);
  ASSERT_EQ(info.failures.size(), 1u);
  EXPECT_EQ(info.failures[0].error_code, errc::kWorkerLost);
  PeerId w2 = worker(1);
  flush();
  auto again = assigns(w2);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2u);
}

TEST_F(CoreRetryTest, TheJobsTimeoutEndsItWhileItWaitsToRetry) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submit(c, {.timeout_ms = 500, .retries = 3, .backoff_ms = 10000});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 1);
  flush();
  advance(500);
  flush();
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].state, JobState::kDead);
  EXPECT_EQ(res[0].error_code, errc::kTimeout);
  EXPECT_EQ(core().counts().retrying, 0u);
  advance(20000);
  flush();
  EXPECT_TRUE(assigns(w).empty());
}

TEST_F(CoreRetryTest, ARetryingJobKeepsItsScheduleAcrossARestart) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submit(c, {.payload = "keep", .retries = 2, .backoff_ms = 2000});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 1, "handler_error", "before the crash");
  flush();  // retrying until now + 1000

  restart();
  PeerId w2 = worker(1);
  PeerId c2 = client();
  flush();
  JobInfo info = fullStatus(c2, id);
  EXPECT_EQ(info.state, JobState::kRetrying);
  EXPECT_EQ(info.retried, 1u);
  ASSERT_EQ(info.failures.size(), 1u);
  EXPECT_EQ(info.failures[0].error_message, "before the crash");
  EXPECT_TRUE(assigns(w2).empty());
  advance(1000);
  flush();
  auto retry = assigns(w2);
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].attempt, 2u);
  EXPECT_EQ(retry[0].payload, "keep");
}

TEST_F(CoreRetryTest, ARetryDueDuringTheOutageRunsAtStart) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submit(c, {.retries = 1, .backoff_ms = 100});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 1);
  flush();
  clock_.advance(milliseconds(5000));  // the broker was down past the retry time
  restart();
  PeerId w2 = worker(1);
  flush();
  ASSERT_EQ(assigns(w2).size(), 1u);
}

TEST_F(CoreRetryTest, DeadRetryBringsAJobBackWithFreshRetriesAndNewAttemptNumbers) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submit(c, {.payload = "again", .retries = 1, .backoff_ms = 0});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 1);
  flush();
  advance(0);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 2);
  flush();
  ASSERT_EQ(fullStatus(c, id).state, JobState::kDead);

  std::uint32_t rid = send(c, protocol::DeadRetryMsg{id, {}});
  flush();
  EXPECT_EQ(count(c, rid), 1u);
  auto again = assigns(w);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 3u);  // attempt numbers never repeat: they fence stale reports
  EXPECT_EQ(again[0].payload, "again");
  JobInfo info = fullStatus(c, id);
  EXPECT_EQ(info.state, JobState::kRunning);
  EXPECT_EQ(info.retried, 0u);
  fail(w, id, 3);  // it has its retry again
  flush();
  EXPECT_EQ(fullStatus(c, id).state, JobState::kRetrying);

  // A job that is not dead is refused.
  rid = send(c, protocol::DeadRetryMsg{id, {}});
  expectError(c, rid, errc::kWrongState);
  rid = send(c, protocol::DeadRetryMsg{999, {}});
  expectError(c, rid, errc::kNotFound);
}

TEST_F(CoreRetryTest, DeadRetryAllBringsBackOnlyTheTasksDeadJobs) {
  PeerId w = worker(4, {"a", "b"});
  PeerId c = client();
  std::vector<JobId> ids;
  for (auto task : {"a", "a", "b"}) ids.push_back(submit(c, {.task = task}));
  flush();
  auto dealt = assigns(w);
  ASSERT_EQ(dealt.size(), 3u);
  for (const auto& a : dealt) fail(w, a.id, a.attempt);
  flush();
  std::uint32_t rid = send(c, protocol::DeadRetryMsg{0, "a"});
  flush();
  EXPECT_EQ(count(c, rid), 2u);
  EXPECT_EQ(assigns(w).size(), 2u);
  EXPECT_EQ(fullStatus(c, ids[2]).state, JobState::kDead);
}

TEST_F(CoreRetryTest, TheOldestDeadJobsAreDroppedPastDeadMax) {
  options_.dead_max = 100;
  PeerId w = worker(1);
  PeerId c = client();
  std::vector<JobId> ids;
  for (int i = 0; i < 102; ++i) {
    JobId id = submit(c);
    ids.push_back(id);
    flush();
    ASSERT_EQ(assigns(w).size(), 1u);
    fail(w, id, 1);
    flush();
    clock_.advance(milliseconds(1));
  }
  // Past the bound and its one-hundredth of slack: trimmed back to 100.
  expectGone(c, ids[0]);
  expectGone(c, ids[1]);
  EXPECT_EQ(fullStatus(c, ids[2]).state, JobState::kDead);
  EXPECT_EQ(fullStatus(c, ids[101]).state, JobState::kDead);
  EXPECT_EQ(stats(c)["jobs"]["dead_kept"], 100);
}

TEST_F(CoreRetryTest, DeadJobsOutliveResultsUntilTheirOwnTtl) {
  options_.result_ttl = milliseconds(1000);
  options_.dead_ttl = milliseconds(5000);
  PeerId w = worker(2);
  PeerId c = client();
  JobId good = submit(c);
  JobId bad = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 2u);
  complete(w, good, 1);
  fail(w, bad, 1);
  flush();
  clock_.advance(milliseconds(1001));
  core().purgeExpiredResults();
  expectGone(c, good);
  EXPECT_EQ(fullStatus(c, bad).state, JobState::kDead);
  clock_.advance(milliseconds(4000));
  core().purgeExpiredResults();
  expectGone(c, bad);
}

TEST_F(CoreRetryTest, DeadPurgeDeletesByTaskAndAge) {
  PeerId w = worker(4, {"a", "b"});
  PeerId c = client();
  JobId old_a = submit(c, {.task = "a"});
  flush();
  auto first = assigns(w);
  ASSERT_EQ(first.size(), 1u);
  fail(w, old_a, 1);
  flush();
  clock_.advance(milliseconds(60000));
  JobId new_a = submit(c, {.task = "a"});
  JobId new_b = submit(c, {.task = "b"});
  flush();
  for (const auto& a : assigns(w)) fail(w, a.id, a.attempt);
  flush();

  std::uint32_t rid = send(c, protocol::DeadPurgeMsg{"a", 30000});
  flush();
  EXPECT_EQ(count(c, rid), 1u);
  expectGone(c, old_a);
  EXPECT_EQ(fullStatus(c, new_a).state, JobState::kDead);
  rid = send(c, protocol::DeadPurgeMsg{{}, 0});
  flush();
  EXPECT_EQ(count(c, rid), 2u);
  expectGone(c, new_b);
}

TEST_F(CoreRetryTest, TheVolatileStoreKeepsDeadPayloadsAndFailuresToo) {
  use_volatile_store_ = true;
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submit(c, {.payload = "volatile", .retries = 1, .backoff_ms = 0});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 1, "handler_error", "one");
  flush();
  JobInfo retrying = fullStatus(c, id);  // the store keeps only the history of a live job
  EXPECT_EQ(retrying.state, JobState::kRetrying);
  ASSERT_EQ(retrying.failures.size(), 1u);
  EXPECT_EQ(retrying.error_message, "one");
  advance(0);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 2, "handler_error", "two");
  flush();
  JobInfo info = fullStatus(c, id, true);
  EXPECT_EQ(info.state, JobState::kDead);
  EXPECT_EQ(info.payload, "volatile");
  ASSERT_EQ(info.failures.size(), 2u);
  std::uint32_t rid = send(c, protocol::DeadRetryMsg{id, {}});
  flush();
  EXPECT_EQ(count(c, rid), 1u);
  auto again = assigns(w);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].payload, "volatile");
}

}  // namespace
}  // namespace corvee::broker::test
