// VolatileStore, the store of `--store memory`: it journals no live job (the broker's memory is
// their only copy) and keeps finished jobs, whole, for the result retention.
#include "store/volatile_store.h"
#include "store/paused_tasks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace corvee {
namespace {

using corvee::testing::pausedTasks;
using corvee::testing::setPaused;

JobRecord queuedJob(JobId id) {
  JobRecord rec;
  rec.id = id;
  rec.task = "task-" + std::to_string(id);
  rec.payload = "payload-" + std::to_string(id);
  rec.priority = 3;
  rec.timeout_ms = 1000;
  rec.run_timeout_ms = 200;
  rec.assign_timeout_ms = 300;
  rec.submitted_ms = 1'700'000'000'000ULL + id;
  return rec;
}

// What the broker hands markFinished(): the live job's fields plus the outcome.
JobRecord finishedJob(JobId id, std::uint64_t finished_ms) {
  JobRecord rec = queuedJob(id);
  rec.payload.clear();
  rec.state = JobState::kSucceeded;
  rec.attempt = 2;
  rec.finished_ms = finished_ms;
  rec.result = "result-" + std::to_string(id);
  return rec;
}

// The retention purge's filter: every finished job that finished before `ms`.
PurgeFilter finishedBefore(std::uint64_t ms) {
  PurgeFilter filter;
  filter.finished_before_ms = ms;
  return filter;
}

TEST(VolatileStoreTest, SaysItKeepsNoLiveJournal) {
  VolatileStore store;
  EXPECT_FALSE(store.journalsLiveJobs());
  EXPECT_EQ(store.describe(), "memory");
  EXPECT_NE(store.identity(), 0u);
  EXPECT_NE(VolatileStore().identity(), store.identity());
}

TEST(VolatileStoreTest, LiveJobsAreNeitherFoundNorRecoveredNorLoaded) {
  VolatileStore store;
  store.insert(queuedJob(7));
  JobRecord three = queuedJob(3);
  history::append(three.history, {1, EventKind::kSubmitted, 0, {}, {}});
  store.insert(three);
  store.markRunning(7, 1, "w", 5);
  ASSERT_TRUE(store.commit().isOk());
  // The broker answers for live jobs itself; of a live job, the store has only its history (its
  // events, and its last run and failures once it ran).
  auto found = store.find(3);
  ASSERT_TRUE(found.isOk());
  ASSERT_TRUE(found->has_value());
  EXPECT_TRUE((*found)->task.empty()) << "only the history, not a full record";
  EXPECT_EQ((*found)->history, three.history);
  found = store.find(7);
  ASSERT_TRUE(found.isOk());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->worker, "w");
  EXPECT_EQ((*found)->started_ms, 5u);
  EXPECT_TRUE((*found)->task.empty()) << "only the history, not a full record";
  auto payload = store.loadPayload(3);
  ASSERT_FALSE(payload.isOk());
  EXPECT_EQ(payload.status().code(), "not_found");
  int visited = 0;
  auto max_id = store.recover([&](JobRecord&&) { ++visited; });
  ASSERT_TRUE(max_id.isOk());
  EXPECT_EQ(visited, 0);
  EXPECT_EQ(*max_id, 7u) << "the highest id issued, so ids are never reused within the process";
}

TEST(VolatileStoreTest, AFinishedJobKeepsEveryFieldAndItsLastWorker) {
  VolatileStore store;
  store.insert(queuedJob(1));
  store.markRunning(1, 1, "first-worker", 10);
  store.markQueued(1);
  store.markRunning(1, 2, "second-worker", 20);
  store.markFinished(finishedJob(1, 30));
  auto found = store.find(1);
  ASSERT_TRUE(found.isOk() && found->has_value());
  const JobRecord& rec = **found;
  EXPECT_EQ(rec.task, "task-1");
  EXPECT_EQ(rec.priority, 3);
  EXPECT_EQ(rec.state, JobState::kSucceeded);
  EXPECT_EQ(rec.attempt, 2u);
  EXPECT_EQ(rec.timeout_ms, 1000u);
  EXPECT_EQ(rec.run_timeout_ms, 200u);
  EXPECT_EQ(rec.assign_timeout_ms, 300u);
  EXPECT_EQ(rec.submitted_ms, 1'700'000'000'001ULL);
  EXPECT_EQ(rec.started_ms, 20u);
  EXPECT_EQ(rec.finished_ms, 30u);
  EXPECT_EQ(rec.worker, "second-worker");
  EXPECT_EQ(rec.result, "result-1");
  EXPECT_TRUE(rec.payload.empty()) << "a finished job's payload is never needed again";
}

TEST(VolatileStoreTest, AJobThatNeverRanFinishesWithoutAWorker) {
  VolatileStore store;
  store.insert(queuedJob(4));
  JobRecord failed = finishedJob(4, 50);
  failed.state = JobState::kDead;
  failed.attempt = 0;
  failed.result.clear();
  failed.error_code = "assign_timeout";
  failed.error_message = "nobody took it";
  store.markFinished(failed);
  auto found = store.find(4);
  ASSERT_TRUE(found.isOk() && found->has_value());
  EXPECT_EQ((*found)->worker, "");
  EXPECT_EQ((*found)->started_ms, 0u);
  EXPECT_EQ((*found)->error_code, "assign_timeout");
  EXPECT_EQ((*found)->error_message, "nobody took it");
}

TEST(VolatileStoreTest, PurgeDeletesOnlyJobsFinishedBeforeTheCut) {
  VolatileStore store;
  for (JobId id = 1; id <= 4; ++id) {
    store.insert(queuedJob(id));
    store.markFinished(finishedJob(id, 100 * id));
  }
  auto purged = store.purgeFinished(finishedBefore(250));
  ASSERT_TRUE(purged.isOk());
  EXPECT_EQ(*purged, 2u);
  for (JobId id = 1; id <= 4; ++id) {
    auto found = store.find(id);
    ASSERT_TRUE(found.isOk());
    EXPECT_EQ(found->has_value(), id >= 3) << "job " << id;
  }
  purged = store.purgeFinished(finishedBefore(250));
  ASSERT_TRUE(purged.isOk());
  EXPECT_EQ(*purged, 0u);
  purged = store.purgeFinished(finishedBefore(1000));
  ASSERT_TRUE(purged.isOk());
  EXPECT_EQ(*purged, 2u);
}

// The job ids `store` still finds among 1..last.
std::vector<JobId> keptIds(VolatileStore& store, JobId last) {
  std::vector<JobId> kept;
  for (JobId id = 1; id <= last; ++id) {
    auto found = store.find(id);
    EXPECT_TRUE(found.isOk());
    if (found.isOk() && found->has_value()) kept.push_back(id);
  }
  return kept;
}

TEST(VolatileStoreTest, FinishedJobsAreBoundedByCountOldestDroppedFirst) {
  VolatileStore store(ResultLimits{.max_count = 10, .max_bytes = 0});
  for (JobId id = 1; id <= 10; ++id) store.markFinished(finishedJob(id, 100 + id));
  EXPECT_EQ(store.finishedCount(), 10u) << "at the bound, nothing is dropped yet";
  store.markFinished(finishedJob(11, 111));
  // Past the bound, the oldest go until nine tenths of it are left: a batch, not one per job.
  EXPECT_EQ(keptIds(store, 11), (std::vector<JobId>{3, 4, 5, 6, 7, 8, 9, 10, 11}));
  for (JobId id = 12; id <= 40; ++id) {
    store.markFinished(finishedJob(id, 100 + id));
    EXPECT_LE(store.finishedCount(), 10u) << "after job " << id;
  }
  std::vector<JobId> kept = keptIds(store, 40);
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept.back(), 40u);
  EXPECT_EQ(kept.back() - kept.front() + 1, kept.size()) << "the kept jobs are the newest, without gaps";
}

TEST(VolatileStoreTest, FinishedJobsAreBoundedByBytes) {
  // Same task name and result size for every job, so that each counts the same bytes.
  JobRecord sample = finishedJob(1, 0);
  sample.task = "t";
  sample.result.assign(1000, 'r');
  history::append(sample.history, history::finishedEvent(sample));  // as markFinished() keeps it
  const std::uint64_t each = VolatileStore::bytesOf(sample);
  EXPECT_GT(each, 1000u) << "a record counts its result and its bookkeeping";
  VolatileStore store(ResultLimits{.max_count = 0, .max_bytes = 10 * each});
  for (JobId id = 1; id <= 11; ++id) {
    JobRecord job = finishedJob(id, 100 + id);
    job.task = "t";
    job.result.assign(1000, 'r');
    store.markFinished(job);
    EXPECT_LE(store.finishedBytes(), 10 * each) << "after job " << id;
  }
  EXPECT_EQ(keptIds(store, 11), (std::vector<JobId>{3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(store.finishedBytes(), 9 * each);
  // One big result makes room by dropping as many small old ones as it takes.
  JobRecord big = finishedJob(12, 112);
  big.task = "t";
  big.result.assign(5 * 1000, 'b');
  store.markFinished(big);
  EXPECT_LE(store.finishedBytes(), 9 * each);
  std::vector<JobId> kept = keptIds(store, 12);
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept.back(), 12u) << "the newest result is kept";
  EXPECT_LT(kept.size(), 9u);
}

TEST(VolatileStoreTest, TheBoundsDropInFinishOrderNotIdOrder) {
  VolatileStore store(ResultLimits{.max_count = 3, .max_bytes = 0});
  for (JobId id : {5, 3, 9}) store.markFinished(finishedJob(id, 1000 + id));
  store.markFinished(finishedJob(1, 2000));
  EXPECT_EQ(keptIds(store, 9), (std::vector<JobId>{1, 3, 9})) << "job 5 finished first";
  store.markFinished(finishedJob(7, 2001));
  EXPECT_EQ(keptIds(store, 9), (std::vector<JobId>{1, 7, 9}));
}

TEST(VolatileStoreTest, ADroppedJobIsNotFound) {
  VolatileStore store(ResultLimits{.max_count = 1, .max_bytes = 0});
  store.insert(queuedJob(1));
  store.markRunning(1, 1, "w", 5);
  store.markFinished(finishedJob(1, 10));
  store.markFinished(finishedJob(2, 20));
  auto found = store.find(1);
  ASSERT_TRUE(found.isOk()) << "a dropped job is an unknown job, not an error";
  EXPECT_FALSE(found->has_value());
  found = store.find(2);
  ASSERT_TRUE(found.isOk());
  EXPECT_TRUE(found->has_value());
}

TEST(VolatileStoreTest, ZeroMeansNoBound) {
  VolatileStore store(ResultLimits{.max_count = 0, .max_bytes = 0});
  for (JobId id = 1; id <= 1000; ++id) store.markFinished(finishedJob(id, id));
  EXPECT_EQ(store.finishedCount(), 1000u);
}

TEST(VolatileStoreTest, PurgingByAgeReleasesTheBytesItCounted) {
  VolatileStore store(ResultLimits{.max_count = 100, .max_bytes = 1 << 20});
  for (JobId id = 1; id <= 4; ++id) store.markFinished(finishedJob(id, 100 * id));
  std::uint64_t all = store.finishedBytes();
  auto purged = store.purgeFinished(finishedBefore(250));
  ASSERT_TRUE(purged.isOk());
  EXPECT_EQ(*purged, 2u);
  EXPECT_LT(store.finishedBytes(), all);
  purged = store.purgeFinished(finishedBefore(1000));
  ASSERT_TRUE(purged.isOk());
  EXPECT_EQ(store.finishedBytes(), 0u);
  EXPECT_EQ(store.finishedCount(), 0u);
}


// ---- issue 10: dead jobs, failures, revival, listing, filtered purges, trims, pauses ----

AttemptFailure failureOf(std::uint32_t attempt) {
  return AttemptFailure{attempt, "worker-" + std::to_string(attempt), 10ULL * attempt, 10ULL * attempt + 5,
                        "handler_error", "attempt " + std::to_string(attempt) + " failed"};
}

// What the broker hands markFinished() for a job that died: its payload included.
JobRecord deadJob(JobId id, std::uint64_t finished_ms) {
  JobRecord rec = queuedJob(id);
  rec.state = JobState::kDead;
  rec.attempt = 2;
  rec.finished_ms = finished_ms;
  rec.error_code = "handler_error";
  rec.error_message = "attempt 2 failed";
  return rec;
}

std::vector<JobId> idsOf(const std::vector<JobRecord>& records) {
  std::vector<JobId> ids;
  for (const JobRecord& rec : records) ids.push_back(rec.id);
  return ids;
}

TEST(VolatileStoreTest, ADeadJobKeepsItsPayloadAndEveryFailureAndCountsTheirBytes) {
  VolatileStore store;
  store.insert(queuedJob(1));
  store.markRunning(1, 1, "worker-1", 10);
  store.recordFailure(1, failureOf(1));
  store.markRetrying(1, 100, 1, "handler_error", "attempt 1 failed");  // nothing to keep
  store.markQueued(1);
  store.markRunning(1, 2, "worker-2", 20);
  store.recordFailure(1, failureOf(2));
  store.markFinished(deadJob(1, 30));
  auto found = store.find(1);
  ASSERT_TRUE(found.isOk() && found->has_value());
  const JobRecord& rec = **found;
  EXPECT_EQ(rec.state, JobState::kDead);
  EXPECT_EQ(rec.payload, "payload-1") << "`dead retry` needs it, and the broker keeps no other copy";
  EXPECT_EQ(rec.worker, "worker-2");
  EXPECT_EQ(rec.started_ms, 20u);
  ASSERT_EQ(rec.failures.size(), 2u);
  EXPECT_EQ(rec.failures[0].attempt, 1u);
  EXPECT_EQ(rec.failures[0].worker, "worker-1");
  EXPECT_EQ(rec.failures[1].attempt, 2u);
  EXPECT_EQ(rec.failures[1].error_message, "attempt 2 failed");
  // The payload and the failures count against the byte bound.
  EXPECT_EQ(store.finishedBytes(), VolatileStore::bytesOf(rec));
  JobRecord bare = rec;
  bare.payload.clear();
  bare.failures.clear();
  EXPECT_GE(VolatileStore::bytesOf(rec), VolatileStore::bytesOf(bare) + rec.payload.size() +
                                             2 * sizeof(AttemptFailure) + rec.failures[1].error_message.size());

  // Any other finished job drops the payload it is handed.
  store.insert(queuedJob(2));
  JobRecord done = finishedJob(2, 40);
  done.payload = "payload-2";
  store.markFinished(done);
  EXPECT_TRUE((*store.find(2))->payload.empty());
}

TEST(VolatileStoreTest, ARevivedJobIsForgottenUntilItFinishesAgainWithEveryFailure) {
  VolatileStore store;
  store.insert(queuedJob(1));
  store.markRunning(1, 1, "worker-1", 10);
  store.recordFailure(1, failureOf(1));
  store.markFinished(deadJob(1, 100));
  store.markFinished(finishedJob(2, 100));
  ASSERT_EQ(*store.countFinished(JobState::kDead), 1u);

  store.markRevived(2);  // not dead: left alone
  EXPECT_TRUE(store.find(2)->has_value());
  store.markRevived(1);
  // Live again: the broker answers for it; the store keeps only its history.
  auto history = store.find(1);
  ASSERT_TRUE(history->has_value());
  EXPECT_EQ((*history)->state, JobState::kQueued);
  EXPECT_EQ((*history)->failures.size(), 1u);
  EXPECT_EQ(*store.countFinished(JobState::kDead), 0u);
  EXPECT_EQ(store.finishedCount(), 1u);
  EXPECT_EQ(store.finishedBytes(), VolatileStore::bytesOf(**store.find(2)));

  // Dies again, later: the record carries both attempts' failures.
  store.markRunning(1, 2, "worker-2", 200);
  store.recordFailure(1, failureOf(2));
  store.markFinished(deadJob(1, 300));
  auto found = store.find(1);
  ASSERT_TRUE(found.isOk() && found->has_value());
  ASSERT_EQ((*found)->failures.size(), 2u);
  EXPECT_EQ((*found)->failures[0].attempt, 1u);
  EXPECT_EQ((*found)->failures[1].attempt, 2u);
  EXPECT_EQ((*found)->worker, "worker-2");
  // Its first finish (at 100) no longer counts: a purge up to 101 leaves it.
  auto purged = store.purgeFinished(finishedBefore(101));
  ASSERT_TRUE(purged.isOk());
  EXPECT_EQ(*purged, 1u) << "job 2 only";
  EXPECT_TRUE(store.find(1)->has_value());
  EXPECT_EQ(*store.countFinished(JobState::kDead), 1u);
}

TEST(VolatileStoreTest, ListFinishedIsNewestFirstAndFiltered) {
  VolatileStore store;
  const JobState states[] = {JobState::kSucceeded, JobState::kDead, JobState::kCancelled};
  for (JobId id = 1; id <= 9; ++id) {
    JobRecord job = id % 3 == 1 ? deadJob(id, 1000 - id) : finishedJob(id, 1000 - id);
    job.state = states[id % 3];
    job.task = id % 2 == 0 ? "even" : "odd";
    store.recordFailure(id, failureOf(1));
    store.markFinished(job);
  }
  auto list = [&](JobFilter filter) {
    auto listed = store.listFinished(filter);
    EXPECT_TRUE(listed.isOk());
    return listed.isOk() ? idsOf(*listed) : std::vector<JobId>{};
  };
  EXPECT_EQ(list({}), (std::vector<JobId>{9, 8, 7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(list({.state = JobState::kDead}), (std::vector<JobId>{7, 4, 1}));
  EXPECT_EQ(list({.task = "even", .state = JobState::kCancelled}), (std::vector<JobId>{8, 2}));
  EXPECT_EQ(list({.limit = 3, .before_id = 8}), (std::vector<JobId>{7, 6, 5}));
  EXPECT_EQ(list({.state = JobState::kQueued}), (std::vector<JobId>{}));
  EXPECT_EQ(list({.limit = 0}), (std::vector<JobId>{}));
  auto listed = store.listFinished({.state = JobState::kDead});
  ASSERT_TRUE(listed.isOk());
  for (const JobRecord& rec : *listed) {
    EXPECT_TRUE(rec.payload.empty()) << "job " << rec.id;
    EXPECT_TRUE(rec.result.empty()) << "job " << rec.id;
    EXPECT_EQ(rec.error_code, "handler_error") << "job " << rec.id;
    EXPECT_EQ(rec.finished_ms, 1000 - rec.id);
  }
}

TEST(VolatileStoreTest, PurgeFinishedFiltersByStatesTaskAndAge) {
  VolatileStore store;
  // Jobs 1..3 succeeded, 4..6 dead, 7..9 cancelled; odd ids run task "odd"; job i finished at 100 i.
  for (JobId id = 1; id <= 9; ++id) {
    JobRecord job = id <= 3 ? finishedJob(id, 100 * id) : deadJob(id, 100 * id);
    if (id >= 7) job.state = JobState::kCancelled;
    job.task = id % 2 == 0 ? "even" : "odd";
    store.markFinished(job);
  }
  auto purge = [&](PurgeFilter filter) {
    auto purged = store.purgeFinished(filter);
    EXPECT_TRUE(purged.isOk());
    return purged.isOk() ? *purged : ~std::uint64_t{0};
  };
  auto remaining = [&] { return idsOf(*store.listFinished({})); };
  // The result TTL: succeeded and cancelled jobs before 800 (1, 2, 3, 7); dead ones stay.
  EXPECT_EQ(purge({.states = {JobState::kSucceeded, JobState::kCancelled}, .task = "", .finished_before_ms = 800}), 4u);
  EXPECT_EQ(remaining(), (std::vector<JobId>{9, 8, 6, 5, 4}));
  // By task, at any age: the odd ones of every state (5, 9).
  EXPECT_EQ(purge({.states = {}, .task = "odd", .finished_before_ms = 0}), 2u);
  EXPECT_EQ(remaining(), (std::vector<JobId>{8, 6, 4}));
  // By task and state: even dead jobs before 500 (4).
  EXPECT_EQ(purge({.states = {JobState::kDead}, .task = "even", .finished_before_ms = 500}), 1u);
  EXPECT_EQ(purge({.states = {JobState::kRunning}, .task = "", .finished_before_ms = 0}), 0u);
  // No condition: every finished job.
  EXPECT_EQ(purge(PurgeFilter{}), 2u);
  EXPECT_EQ(store.finishedCount(), 0u);
  EXPECT_EQ(store.finishedBytes(), 0u);
  for (JobState state : {JobState::kSucceeded, JobState::kDead, JobState::kCancelled}) {
    EXPECT_EQ(*store.countFinished(state), 0u);
  }
}

TEST(VolatileStoreTest, TrimFinishedKeepsTheNewestOfOneState) {
  VolatileStore store;
  for (JobId id = 1; id <= 6; ++id) store.markFinished(deadJob(id, 100 * id));
  store.markFinished(finishedJob(7, 50));
  EXPECT_EQ(*store.countFinished(JobState::kDead), 6u);
  EXPECT_EQ(*store.countFinished(JobState::kSucceeded), 1u);
  EXPECT_EQ(*store.countFinished(JobState::kQueued), 0u);
  EXPECT_EQ(*store.trimFinished(JobState::kDead, 10), 0u);
  EXPECT_EQ(*store.trimFinished(JobState::kDead, 2), 4u);
  EXPECT_EQ(idsOf(*store.listFinished({})), (std::vector<JobId>{7, 6, 5}));
  EXPECT_EQ(*store.countFinished(JobState::kDead), 2u);
  EXPECT_EQ(*store.trimFinished(JobState::kRetrying, 0), 0u);
  EXPECT_EQ(*store.trimFinished(JobState::kSucceeded, 0), 1u);
  EXPECT_EQ(store.finishedBytes(), VolatileStore::bytesOf(**store.find(5)) + VolatileStore::bytesOf(**store.find(6)));
}

TEST(VolatileStoreTest, TheBoundsCoverDeadJobsTooOldestFirstWhateverTheirState) {
  VolatileStore store(ResultLimits{.max_count = 3, .max_bytes = 0});
  store.markFinished(deadJob(1, 10));
  store.markFinished(finishedJob(2, 20));
  JobRecord cancelled = finishedJob(3, 30);
  cancelled.state = JobState::kCancelled;
  store.markFinished(cancelled);
  store.markFinished(deadJob(4, 40));
  EXPECT_EQ(keptIds(store, 4), (std::vector<JobId>{2, 3, 4})) << "dead job 1 finished first";
  store.markFinished(finishedJob(5, 50));
  EXPECT_EQ(keptIds(store, 5), (std::vector<JobId>{3, 4, 5}));
  EXPECT_EQ(*store.countFinished(JobState::kDead), 1u);
  EXPECT_EQ(*store.countFinished(JobState::kSucceeded), 1u);
}

TEST(VolatileStoreTest, PausedTasksAreKept) {
  VolatileStore store;
  EXPECT_TRUE(pausedTasks(store)->empty());
  setPaused(store, "b", true);
  setPaused(store, "a", true);
  setPaused(store, "c", true);
  setPaused(store, "c", false);
  setPaused(store, "d", false);
  EXPECT_EQ(*pausedTasks(store), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace corvee

namespace corvee {
namespace {

// `--store memory` keeps the totals like the finished jobs: in memory, for the process's life.
TEST(VolatileStoreTest, CountersAddUpLikeTheOtherStores) {
  VolatileStore store;
  store.addCounter("echo", "succeeded", 2);
  store.addCounter("echo", "succeeded", 3);
  store.addCounter("add", "dead", 1);
  ASSERT_TRUE(store.commit().isOk());
  EXPECT_EQ(*store.counters(), (std::vector<CounterTotal>{{"add", "dead", 1}, {"echo", "succeeded", 5}}));
}

}  // namespace
}  // namespace corvee
