// VolatileStore, the store of `--store memory`: it journals no live job (the broker's memory is
// their only copy) and keeps finished jobs, whole, for the result retention.
#include "store/volatile_store.h"

#include <gtest/gtest.h>

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
  failed.state = JobState::kFailed;
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
  auto purged = store.purgeFinished(250);
  ASSERT_TRUE(purged.isOk());
  EXPECT_EQ(*purged, 2u);
  for (JobId id = 1; id <= 4; ++id) {
    auto found = store.find(id);
    ASSERT_TRUE(found.isOk());
    EXPECT_EQ(found->has_value(), id >= 3) << "job " << id;
  }
  purged = store.purgeFinished(250);
  ASSERT_TRUE(purged.isOk());
  EXPECT_EQ(*purged, 0u);
  purged = store.purgeFinished(1000);
  ASSERT_TRUE(purged.isOk());
  EXPECT_EQ(*purged, 2u);
}

}  // namespace
}  // namespace corvee
