#include "broker/wait_reason.h"

#include <gtest/gtest.h>

namespace corvee::broker {
namespace {

constexpr std::uint64_t kNow = 1'800'000'000'000ULL;

// A queued job of task "echo" that one idle worker with 4 slots could take.
WaitFacts dealable() {
  WaitFacts f;
  f.state = JobState::kQueued;
  f.now_ms = kNow;
  f.task = "echo";
  f.workers = 1;
  f.serving = 1;
  f.slots = 4;
  f.with_room = 1;
  f.admitting = 1;
  f.queued = 1;
  return f;
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST(WaitReasonTest, RunningAndFinishedJobsDoNotWait) {
  for (JobState state : {JobState::kRunning, JobState::kSucceeded, JobState::kDead, JobState::kCancelled}) {
    WaitFacts f = dealable();
    f.state = state;
    WaitReason reason = explainWait(f);
    EXPECT_TRUE(reason.code.empty()) << toString(state);
    EXPECT_TRUE(reason.text.empty()) << toString(state);
  }
}

TEST(WaitReasonTest, APrefetchedJobWaitsForASlotOfItsWorker) {
  WaitFacts f = dealable();
  f.state = JobState::kRunning;
  f.in_slot = false;
  f.worker = "w1";
  WaitReason reason = explainWait(f);
  EXPECT_EQ(reason.code, "prefetched");
  EXPECT_TRUE(contains(reason.text, "w1")) << reason.text;
}

TEST(WaitReasonTest, NoWorkerServesTheTask) {
  WaitFacts f = dealable();
  f.workers = f.serving = f.slots = f.with_room = f.admitting = 0;
  WaitReason reason = explainWait(f);
  EXPECT_EQ(reason.code, "no_worker");
  EXPECT_EQ(reason.text, "no connected worker serves task 'echo'");
}

TEST(WaitReasonTest, OnlyDrainingWorkersServeTheTask) {
  WaitFacts f = dealable();
  f.workers = 2;
  f.draining = 2;
  f.serving = f.slots = f.with_room = f.admitting = 0;
  WaitReason reason = explainWait(f);
  EXPECT_EQ(reason.code, "draining");
  EXPECT_TRUE(contains(reason.text, "2 workers")) << reason.text;
}

TEST(WaitReasonTest, APausedTaskWaitsWhateverItsWorkers) {
  WaitFacts f = dealable();
  f.paused = true;
  EXPECT_EQ(explainWait(f).code, "paused");
  f.workers = f.serving = 0;
  EXPECT_EQ(explainWait(f).code, "paused") << "resuming is the first thing to do";
}

TEST(WaitReasonTest, ARateLimitedTaskNamesItsNextToken) {
  WaitFacts f = dealable();
  f.rate_next_ms = kNow + 1500;
  WaitReason reason = explainWait(f);
  EXPECT_EQ(reason.code, "rate_limited");
  EXPECT_TRUE(contains(reason.text, isoTime(kNow + 1500))) << reason.text;
  EXPECT_TRUE(contains(reason.text, "in 1 s")) << reason.text;
}

TEST(WaitReasonTest, AFairnessKeyAtItsCap) {
  WaitFacts f = dealable();
  f.key_capped.emplace("tenant-a", 2);
  WaitReason reason = explainWait(f);
  EXPECT_EQ(reason.code, "key_capped");
  EXPECT_TRUE(contains(reason.text, "tenant-a")) << reason.text;
  EXPECT_TRUE(contains(reason.text, "2 jobs")) << reason.text;
}

TEST(WaitReasonTest, EverySlotBusyCountsTheWorkersSlotsAndQueue) {
  WaitFacts f = dealable();
  f.workers = f.serving = 2;
  f.slots = 6;
  f.with_room = f.admitting = 0;
  f.queued = 12;
  WaitReason reason = explainWait(f);
  EXPECT_EQ(reason.code, "slots_busy");
  EXPECT_TRUE(contains(reason.text, "2 workers")) << reason.text;
  EXPECT_TRUE(contains(reason.text, "6 slots")) << reason.text;
  EXPECT_TRUE(contains(reason.text, "12 jobs")) << reason.text;
}

TEST(WaitReasonTest, PriorityRangesThatTakeNoneOfItsPriority) {
  WaitFacts f = dealable();
  f.priority = -5;
  f.admitting = 0;
  WaitReason reason = explainWait(f);
  EXPECT_EQ(reason.code, "priority_range_full");
  EXPECT_TRUE(contains(reason.text, "priority -5")) << reason.text;
}

TEST(WaitReasonTest, AJobAWorkerHasRoomForIsBeingDealt) {
  EXPECT_EQ(explainWait(dealable()).code, "dealing");
}

TEST(WaitReasonTest, AScheduledJobIsDelayedUntilItsTime) {
  WaitFacts f = dealable();
  f.state = JobState::kScheduled;
  f.run_at_ms = kNow + 60'000;
  WaitReason reason = explainWait(f);
  EXPECT_EQ(reason.code, "delayed");
  EXPECT_TRUE(contains(reason.text, isoTime(kNow + 60'000))) << reason.text;
  EXPECT_TRUE(contains(reason.text, "in 60 s")) << reason.text;
}

TEST(WaitReasonTest, ARetryingJobWaitsForItsBackoff) {
  WaitFacts f = dealable();
  f.state = JobState::kRetrying;
  f.attempt = 1;
  f.run_at_ms = kNow + 250;
  WaitReason reason = explainWait(f);
  EXPECT_EQ(reason.code, "retry_backoff");
  EXPECT_TRUE(contains(reason.text, "attempt 2")) << reason.text;
  EXPECT_TRUE(contains(reason.text, "in 250 ms")) << reason.text;
}

TEST(WaitReasonTest, ADueRetryWaitsForItsCancelledAttemptToStop) {
  WaitFacts f = dealable();
  f.state = JobState::kRetrying;
  f.attempt = 1;
  f.run_at_ms = kNow - 10;
  f.stopping = true;
  EXPECT_EQ(explainWait(f).code, "stopping");
  f.run_at_ms = kNow + 10;
  EXPECT_EQ(explainWait(f).code, "retry_backoff") << "before its time, the backoff is what holds it";
}

TEST(WaitReasonTest, TimesAreUtcWithMilliseconds) {
  EXPECT_EQ(isoTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(isoTime(1'700'000'000'123ULL), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace corvee::broker
