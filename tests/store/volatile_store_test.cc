// VolatileStore, the store of `--store memory`: it journals no live job (the broker's memory is
// their only copy) and keeps finished jobs, whole, for the result retention.
#include "store/volatile_store.h"

#include <gtest/gtest.h>

#include <vector>

namespace corvee {
namespace {

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
  store.insert(queuedJob(3));
  store.markRunning(7, 1, "w", 5);
  ASSERT_TRUE(store.commit().isOk());
  auto found = store.find(7);
  ASSERT_TRUE(found.isOk());
  EXPECT_FALSE(found->has_value()) << "the broker answers for live jobs itself";
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

}  // namespace
}  // namespace corvee
