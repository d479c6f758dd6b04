// MemoryStore: the journal contract of store/store.h, kept in memory.
#include "store/memory_store.h"

#include <gtest/gtest.h>

#include <vector>

namespace corvee {
namespace {

JobRecord makeJob(JobId id, std::string task = "echo") {
  JobRecord rec;
  rec.id = id;
  rec.task = std::move(task);
  rec.payload = "payload-" + std::to_string(id);
  rec.priority = static_cast<std::int32_t>(id) - 3;
  rec.timeout_ms = 1000;
  rec.run_timeout_ms = 200;
  rec.assign_timeout_ms = 300;
  rec.submitted_ms = 1'700'000'000'000ULL + id;
  return rec;
}

// The retention purge's filter: every finished job that finished before `ms`.
PurgeFilter finishedBefore(std::uint64_t ms) {
  PurgeFilter filter;
  filter.finished_before_ms = ms;
  return filter;
}

JobRecord found(MemoryStore& store, JobId id) {
  auto r = store.find(id);
  EXPECT_TRUE(r.isOk());
  EXPECT_TRUE(r.isOk() && r->has_value()) << "job " << id << " not found";
  return r.isOk() && r->has_value() ? **r : JobRecord{};
}

std::vector<JobId> recoveredIds(MemoryStore& store, JobId* max_id = nullptr) {
  std::vector<JobId> ids;
  auto r = store.recover([&](JobRecord&& rec) { ids.push_back(rec.id); });
  EXPECT_TRUE(r.isOk());
  if (max_id != nullptr && r.isOk()) *max_id = *r;
  return ids;
}

TEST(MemoryStoreTest, InsertThenFindReturnsTheWholeRecord) {
  MemoryStore store;
  store.insert(makeJob(4));
  ASSERT_TRUE(store.commit().isOk());
  JobRecord rec = found(store, 4);
  EXPECT_EQ(rec.id, 4u);
  EXPECT_EQ(rec.task, "echo");
  EXPECT_EQ(rec.payload, "payload-4");
  EXPECT_EQ(rec.priority, 1);
  EXPECT_EQ(rec.state, JobState::kQueued);
  EXPECT_EQ(rec.timeout_ms, 1000u);
  EXPECT_EQ(rec.run_timeout_ms, 200u);
  EXPECT_EQ(rec.assign_timeout_ms, 300u);
  EXPECT_EQ(rec.submitted_ms, 1'700'000'000'004ULL);
}

TEST(MemoryStoreTest, FindUnknownIsOkAndEmpty) {
  MemoryStore store;
  store.insert(makeJob(1));
  auto r = store.find(2);
  ASSERT_TRUE(r.isOk());
  EXPECT_FALSE(r->has_value());
}

TEST(MemoryStoreTest, MarkRunningRecordsTheAttempt) {
  MemoryStore store;
  store.insert(makeJob(1));
  store.markRunning(1, 2, "worker-a", 1'700'000'000'500ULL);
  JobRecord rec = found(store, 1);
  EXPECT_EQ(rec.state, JobState::kRunning);
  EXPECT_EQ(rec.attempt, 2u);
  EXPECT_EQ(rec.worker, "worker-a");
  EXPECT_EQ(rec.started_ms, 1'700'000'000'500ULL);
  EXPECT_EQ(rec.payload, "payload-1");  // still needed for the next attempt
}

TEST(MemoryStoreTest, MarkQueuedPutsARunningJobBack) {
  MemoryStore store;
  store.insert(makeJob(1));
  store.markRunning(1, 1, "w", 5);
  store.markQueued(1);
  JobRecord rec = found(store, 1);
  EXPECT_EQ(rec.state, JobState::kQueued);
  EXPECT_EQ(rec.attempt, 1u);  // attempts already started stay counted
}

TEST(MemoryStoreTest, MarkFinishedTakesOutcomeAndDropsPayload) {
  MemoryStore store;
  store.insert(makeJob(1));
  store.markRunning(1, 1, "w", 5);
  JobRecord done = makeJob(1, "ignored-task");
  done.state = JobState::kCancelled;
  done.attempt = 1;
  done.finished_ms = 99;
  done.result = "";
  done.error_code = "cancelled";
  done.error_message = "by request";
  store.markFinished(done);
  JobRecord rec = found(store, 1);
  EXPECT_EQ(rec.state, JobState::kCancelled);
  EXPECT_EQ(rec.finished_ms, 99u);
  EXPECT_EQ(rec.error_code, "cancelled");
  EXPECT_EQ(rec.error_message, "by request");
  EXPECT_EQ(rec.payload, "");          // no longer needed; bounds retention memory
  EXPECT_EQ(rec.task, "echo");         // identity fields are not rewritten
  EXPECT_EQ(rec.worker, "w");
  EXPECT_EQ(rec.started_ms, 5u);
}

TEST(MemoryStoreTest, MarkFinishedDeadKeepsThePayloadForDeadRetry) {
  MemoryStore store;
  store.insert(makeJob(1));
  JobRecord dead = makeJob(1);
  dead.state = JobState::kDead;
  dead.finished_ms = 99;
  dead.error_code = "handler_error";
  store.markFinished(dead);
  EXPECT_EQ(found(store, 1).payload, "payload-1");
  store.markRevived(1);
  auto payload = store.loadPayload(1);
  ASSERT_TRUE(payload.isOk()) << payload.status().toString();
  EXPECT_EQ(*payload, "payload-1");
}

TEST(MemoryStoreTest, MarkFinishedSucceededKeepsResult) {
  MemoryStore store;
  store.insert(makeJob(1));
  JobRecord done = makeJob(1);
  done.state = JobState::kSucceeded;
  done.attempt = 3;
  done.result = std::string("\0bin", 4);
  done.finished_ms = 10;
  store.markFinished(done);
  JobRecord rec = found(store, 1);
  EXPECT_EQ(rec.state, JobState::kSucceeded);
  EXPECT_EQ(rec.attempt, 3u);
  EXPECT_EQ(rec.result, std::string("\0bin", 4));
}

TEST(MemoryStoreTest, ChangesToUnknownJobsAreIgnored) {
  MemoryStore store;
  store.markRunning(5, 1, "w", 1);
  store.markQueued(5);
  JobRecord done = makeJob(5);
  done.state = JobState::kSucceeded;
  store.markFinished(done);
  auto r = store.find(5);
  ASSERT_TRUE(r.isOk());
  EXPECT_FALSE(r->has_value());
  JobId max_id = 123;
  EXPECT_TRUE(recoveredIds(store, &max_id).empty());
  EXPECT_EQ(max_id, 0u);
}

TEST(MemoryStoreTest, RecoverVisitsUnfinishedJobsInIdOrder) {
  MemoryStore store;
  for (JobId id : {7, 2, 9, 4, 5}) store.insert(makeJob(id));
  store.markRunning(4, 1, "w", 1);
  JobRecord done = makeJob(9);
  done.state = JobState::kSucceeded;
  store.markFinished(done);
  JobId max_id = 0;
  EXPECT_EQ(recoveredIds(store, &max_id), (std::vector<JobId>{2, 4, 5, 7}));
  // The highest id ever held, finished or not, so new ids never repeat it.
  EXPECT_EQ(max_id, 9u);
}

TEST(MemoryStoreTest, RecoverHandsOverFullRecords) {
  MemoryStore store;
  store.insert(makeJob(3));
  store.markRunning(3, 2, "worker-b", 77);
  std::vector<JobRecord> recs;
  ASSERT_TRUE(store.recover([&](JobRecord&& rec) { recs.push_back(std::move(rec)); }).isOk());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].state, JobState::kRunning);
  EXPECT_EQ(recs[0].attempt, 2u);
  EXPECT_EQ(recs[0].payload, "payload-3");
  EXPECT_EQ(recs[0].worker, "worker-b");
  // Handing over a copy must not empty the store.
  EXPECT_EQ(found(store, 3).payload, "payload-3");
}

TEST(MemoryStoreTest, RecoverOnEmptyStore) {
  MemoryStore store;
  JobId max_id = 99;
  EXPECT_TRUE(recoveredIds(store, &max_id).empty());
  EXPECT_EQ(max_id, 0u);
}

JobRecord finishedAt(JobId id, std::uint64_t finished_ms) {
  JobRecord rec = makeJob(id);
  rec.state = JobState::kSucceeded;
  rec.finished_ms = finished_ms;
  return rec;
}

TEST(MemoryStoreTest, PurgeFinishedDeletesOnlyFinishedJobsOlderThanTheCut) {
  MemoryStore store;
  for (JobId id = 1; id <= 4; ++id) store.insert(makeJob(id));
  store.markFinished(finishedAt(1, 100));
  store.markFinished(finishedAt(2, 199));
  store.markFinished(finishedAt(3, 200));  // exactly at the cut: kept
  // Job 4 stays queued; its finished_ms of 0 must not make it look old.
  auto purged = store.purgeFinished(finishedBefore(200));
  ASSERT_TRUE(purged.isOk());
  EXPECT_EQ(*purged, 2u);
  EXPECT_FALSE(store.find(1)->has_value());
  EXPECT_FALSE(store.find(2)->has_value());
  EXPECT_TRUE(store.find(3)->has_value());
  EXPECT_TRUE(store.find(4)->has_value());
  EXPECT_EQ(*store.purgeFinished(finishedBefore(200)), 0u);
}

TEST(MemoryStoreTest, PurgingTheHighestIdDoesNotLetIdsRepeat) {
  MemoryStore store;
  store.insert(makeJob(1));
  store.insert(makeJob(8));
  store.markFinished(finishedAt(8, 10));
  ASSERT_EQ(*store.purgeFinished(finishedBefore(1000)), 1u);
  JobId max_id = 0;
  EXPECT_EQ(recoveredIds(store, &max_id), (std::vector<JobId>{1}));
  EXPECT_EQ(max_id, 8u);
}

TEST(MemoryStoreTest, DescribeAndCommit) {
  MemoryStore store;
  EXPECT_EQ(store.describe(), "memory");
  EXPECT_TRUE(store.commit().isOk());
}

TEST(OpenStoreTest, MemoryIsKnownOthersAreNot) {
  auto memory = openStore("memory");
  ASSERT_TRUE(memory.isOk());
  EXPECT_EQ((*memory)->describe(), "memory");
  // A spelling no backend claims; the message names it so the user sees the typo.
  auto other = openStore("nosuchstore:x");
  ASSERT_FALSE(other.isOk());
  EXPECT_EQ(other.status().code(), "bad_request");
  EXPECT_NE(other.status().message().find("nosuchstore:x"), std::string::npos);
}

}  // namespace
}  // namespace corvee
