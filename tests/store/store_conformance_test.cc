// The Store contract of store/store.h, run against every backend.
//
// To add a backend, add one line to kBackends below: its name, whether it is durable (survives
// being destroyed and opened again), and how to open it given a fresh scratch directory. A durable
// backend must open the same data every time it is given the same directory.
//
// The suite only reads through find(), loadPayload() and recover() after commit(): whether
// buffered, uncommitted changes are visible to them is not part of the contract.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "store/memory_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "store/temp_dir.h"

namespace corvee {
namespace {

using corvee::testing::TempDir;

struct Backend {
  std::string name;  // gtest parameter name: letters, digits and '_' only
  bool durable;
  // Opens the store kept in `scratch_dir`, a directory that lives as long as the test.
  std::function<Result<std::unique_ptr<Store>>(const std::string& scratch_dir)> open;
};

// Names the backend in gtest's messages instead of dumping the struct's bytes.
void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

template <typename T>
Result<std::unique_ptr<Store>> asStore(Result<std::unique_ptr<T>> opened) {
  if (!opened) return opened.status();
  return std::unique_ptr<Store>(std::move(*opened));
}

const std::vector<Backend>& backends() {
  static const std::vector<Backend> kBackends = {
      {"memory", false,
       [](const std::string&) -> Result<std::unique_ptr<Store>> { return std::unique_ptr<Store>(new MemoryStore); }},
      {"sqlite", true,
       [](const std::string& dir) { return asStore(SqliteStore::open(dir + "/corvee.db", SyncMode::kFull)); }},
      // {"postgres", true, [](const std::string& dir) { ... }},
      // {"redis", true, [](const std::string& dir) { ... }},
  };
  return kBackends;
}

// A job with every field set to a value distinct from its default and from the other jobs'.
JobRecord makeJob(JobId id) {
  JobRecord rec;
  rec.id = id;
  rec.task = "task-" + std::to_string(id);
  rec.payload = "payload-" + std::to_string(id);
  rec.priority = static_cast<std::int32_t>(id % 7) - 3;
  rec.state = JobState::kQueued;
  rec.attempt = 0;
  rec.timeout_ms = 10'000 + static_cast<std::uint32_t>(id);
  rec.run_timeout_ms = 2'000 + static_cast<std::uint32_t>(id);
  rec.assign_timeout_ms = 3'000 + static_cast<std::uint32_t>(id);
  rec.submitted_ms = 1'700'000'000'000ULL + id;
  return rec;
}

// The outcome of `id` as the broker hands it to markFinished: identity fields (task, payload,
// priority, ...) deliberately differ from the stored ones, which markFinished must not rewrite.
JobRecord outcome(JobId id, JobState state, std::uint32_t attempt, std::uint64_t finished_ms) {
  JobRecord rec;
  rec.id = id;
  rec.task = "not-the-task";
  rec.payload = "not-the-payload";
  rec.priority = 99;
  rec.timeout_ms = 1;
  rec.run_timeout_ms = 1;
  rec.assign_timeout_ms = 1;
  rec.submitted_ms = 1;
  rec.started_ms = 1;
  rec.worker = "not-the-worker";
  rec.state = state;
  rec.attempt = attempt;
  rec.finished_ms = finished_ms;
  if (state == JobState::kSucceeded) {
    rec.result = "result-" + std::to_string(id);
  } else {
    rec.error_code = "handler_error";
    rec.error_message = "job " + std::to_string(id) + " failed";
  }
  return rec;
}

// Every binary byte value, NULs at both ends and in the middle.
std::string allBytes() {
  std::string bytes(1, '\0');
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  bytes.push_back('\0');
  return bytes;
}

void expectSameRecord(const JobRecord& got, const JobRecord& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.task, want.task) << "job " << want.id;
  EXPECT_EQ(got.payload, want.payload) << "job " << want.id;
  EXPECT_EQ(got.priority, want.priority) << "job " << want.id;
  EXPECT_EQ(got.state, want.state) << "job " << want.id;
  EXPECT_EQ(got.attempt, want.attempt) << "job " << want.id;
  EXPECT_EQ(got.timeout_ms, want.timeout_ms) << "job " << want.id;
  EXPECT_EQ(got.run_timeout_ms, want.run_timeout_ms) << "job " << want.id;
  EXPECT_EQ(got.assign_timeout_ms, want.assign_timeout_ms) << "job " << want.id;
  EXPECT_EQ(got.submitted_ms, want.submitted_ms) << "job " << want.id;
  EXPECT_EQ(got.started_ms, want.started_ms) << "job " << want.id;
  EXPECT_EQ(got.finished_ms, want.finished_ms) << "job " << want.id;
  EXPECT_EQ(got.worker, want.worker) << "job " << want.id;
  EXPECT_EQ(got.result, want.result) << "job " << want.id;
  EXPECT_EQ(got.error_code, want.error_code) << "job " << want.id;
  EXPECT_EQ(got.error_message, want.error_message) << "job " << want.id;
}

// Every field but the payload, which a finished job no longer needs.
void expectSameFinishedRecord(const JobRecord& got, JobRecord want, const std::string& original_payload) {
  EXPECT_TRUE(got.payload.empty() || got.payload == original_payload)
      << "job " << want.id << ": the payload of a finished job may be dropped, not changed";
  want.payload = got.payload;
  expectSameRecord(got, want);
}

class StoreConformanceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    auto opened = GetParam().open(dir_.path());
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(*opened);
  }

  Store& store() { return *store_; }

  // Destroys the store without committing, then opens it again on the same data.
  void reopen() {
    store_.reset();
    auto opened = GetParam().open(dir_.path());
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(*opened);
  }

  void commit() {
    Status committed = store_->commit();
    ASSERT_TRUE(committed.isOk()) << committed.toString();
  }

  // The job, failing the test when it is missing.
  JobRecord found(JobId id) {
    auto r = store_->find(id);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    EXPECT_TRUE(r.isOk() && r->has_value()) << "job " << id << " not found";
    return r.isOk() && r->has_value() ? **r : JobRecord{};
  }

  bool exists(JobId id) {
    auto r = store_->find(id);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    return r.isOk() && r->has_value();
  }

  // Runs recover(); every visited record, and the highest id through `max_id`.
  std::vector<JobRecord> recovered(JobId* max_id = nullptr) {
    std::vector<JobRecord> records;
    auto r = store_->recover([&](JobRecord&& rec) { records.push_back(std::move(rec)); });
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    if (max_id != nullptr) *max_id = r.isOk() ? *r : std::numeric_limits<JobId>::max();
    return records;
  }

  // A record handed over by recover(): every field as in `want`, except that the backend may leave
  // the payload out, provided loadPayload() then returns it.
  void expectRecoveredRecord(const JobRecord& got, const JobRecord& want) {
    EXPECT_TRUE(got.payload.empty() || got.payload == want.payload)
        << "job " << want.id << ": recover() may leave the payload out, not change it";
    JobRecord same = want;
    same.payload = got.payload;
    expectSameRecord(got, same);
    auto payload = store_->loadPayload(want.id);
    ASSERT_TRUE(payload.isOk()) << "job " << want.id << ": " << payload.status().toString();
    EXPECT_EQ(*payload, want.payload) << "job " << want.id;
  }

  static std::vector<JobId> idsOf(const std::vector<JobRecord>& records) {
    std::vector<JobId> ids;
    for (const JobRecord& rec : records) ids.push_back(rec.id);
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// ---- basics ----

TEST_P(StoreConformanceTest, DescribeIsNonEmpty) { EXPECT_FALSE(store().describe().empty()); }

TEST_P(StoreConformanceTest, CommitWithNothingBufferedIsOk) {
  EXPECT_TRUE(store().commit().isOk());
  EXPECT_TRUE(store().commit().isOk());
  store().insert(makeJob(1));
  commit();
  EXPECT_TRUE(store().commit().isOk());  // nothing new since the last commit
  EXPECT_TRUE(exists(1));
}

TEST_P(StoreConformanceTest, FindUnknownIdIsOkAndEmpty) {
  auto empty = store().find(1);
  ASSERT_TRUE(empty.isOk()) << empty.status().toString();
  EXPECT_FALSE(empty->has_value());

  store().insert(makeJob(5));
  commit();
  for (JobId unknown : {JobId{0}, JobId{4}, JobId{6}, JobId{1'000'000}}) {
    auto r = store().find(unknown);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    EXPECT_FALSE(r->has_value()) << "job " << unknown;
  }
}

TEST_P(StoreConformanceTest, RecoverOnAnEmptyStoreVisitsNothingAndReturnsZero) {
  JobId max_id = 99;
  EXPECT_TRUE(recovered(&max_id).empty());
  EXPECT_EQ(max_id, 0u);
}

TEST_P(StoreConformanceTest, IdentityIsNonZeroAndDoesNotChangeWithWrites) {
  const std::uint64_t identity = store().identity();
  EXPECT_NE(identity, 0u);
  store().insert(makeJob(1));
  commit();
  store().markFinished(outcome(1, JobState::kSucceeded, 1, 5));
  commit();
  ASSERT_TRUE(store().purgeFinished(10).isOk());
  commit();
  EXPECT_EQ(store().identity(), identity);
}

TEST_P(StoreConformanceTest, DistinctStoresHaveDistinctIdentities) {
  TempDir other_dir;
  ASSERT_FALSE(other_dir.path().empty());
  auto other = GetParam().open(other_dir.path());
  ASSERT_TRUE(other.isOk()) << other.status().toString();
  EXPECT_NE((*other)->identity(), 0u);
  EXPECT_NE((*other)->identity(), store().identity());
}

// ---- insert / find round trip ----

TEST_P(StoreConformanceTest, InsertThenFindRoundTripsEveryField) {
  std::vector<JobRecord> jobs;
  jobs.push_back(makeJob(1));
  // Every field away from its default, including the ones a fresh job does not use yet.
  JobRecord full = makeJob(2);
  full.state = JobState::kRunning;
  full.attempt = 3;
  full.started_ms = 1'700'000'000'123ULL;
  full.finished_ms = 1'700'000'000'456ULL;
  full.worker = "worker-7@host";
  full.result = "partial result";
  full.error_code = "lost";
  full.error_message = "worker vanished";
  jobs.push_back(full);
  // The edges of every integer field's range.
  JobRecord extreme = makeJob(3);
  extreme.priority = std::numeric_limits<std::int32_t>::min();
  extreme.attempt = std::numeric_limits<std::uint32_t>::max();
  extreme.timeout_ms = std::numeric_limits<std::uint32_t>::max();
  extreme.run_timeout_ms = std::numeric_limits<std::uint32_t>::max();
  extreme.assign_timeout_ms = std::numeric_limits<std::uint32_t>::max();
  extreme.submitted_ms = std::numeric_limits<std::uint64_t>::max();
  extreme.started_ms = std::numeric_limits<std::uint64_t>::max() - 1;
  jobs.push_back(extreme);
  JobRecord high = makeJob(4);
  high.priority = std::numeric_limits<std::int32_t>::max();
  jobs.push_back(high);
  // Text fields with non-ASCII UTF-8.
  JobRecord utf8 = makeJob(5);
  utf8.task = "t\xc3\xa2" "che-\xe2\x9c\x93";
  utf8.worker = "\xe6\x97\xa5\xe6\x9c\xac";
  jobs.push_back(utf8);

  for (const JobRecord& job : jobs) store().insert(job);
  commit();
  for (const JobRecord& job : jobs) expectSameRecord(found(job.id), job);
}

TEST_P(StoreConformanceTest, HugeIdsRoundTrip) {
  const JobId big = (JobId{1} << 53) + 1;  // not exactly representable as a double
  store().insert(makeJob(big));
  commit();
  expectSameRecord(found(big), makeJob(big));
  JobId max_id = 0;
  EXPECT_EQ(idsOf(recovered(&max_id)), (std::vector<JobId>{big}));
  EXPECT_EQ(max_id, big);
}

TEST_P(StoreConformanceTest, BinaryPayloadWithNulBytesRoundTrips) {
  JobRecord job = makeJob(1);
  job.payload = allBytes();
  JobRecord only_nul = makeJob(2);
  only_nul.payload = std::string(3, '\0');
  JobRecord big = makeJob(3);
  big.payload.assign(1 << 20, '\0');
  for (std::size_t i = 0; i < big.payload.size(); i += 4097) big.payload[i] = static_cast<char>(i % 251);
  store().insert(job);
  store().insert(only_nul);
  store().insert(big);
  commit();
  EXPECT_EQ(found(1).payload, allBytes());
  EXPECT_EQ(found(2).payload, std::string(3, '\0'));
  EXPECT_EQ(found(2).payload.size(), 3u);
  EXPECT_EQ(found(3).payload, big.payload);
  // recover() and loadPayload() hand over the same bytes.
  auto records = recovered();
  ASSERT_EQ(records.size(), 3u);
  expectRecoveredRecord(records[0], job);
  expectRecoveredRecord(records[1], only_nul);
  expectRecoveredRecord(records[2], big);
}

TEST_P(StoreConformanceTest, EmptyPayloadsAndResultsRoundTrip) {
  JobRecord empty_payload = makeJob(1);
  empty_payload.payload = "";
  JobRecord empty_result = makeJob(2);
  empty_result.payload = allBytes();
  store().insert(empty_payload);
  store().insert(empty_result);
  commit();
  EXPECT_EQ(found(1).payload, "");
  EXPECT_EQ(found(1).result, "");
  EXPECT_EQ(found(2).payload, allBytes());
  EXPECT_EQ(found(2).result, "");  // the payload does not leak into the result

  // A job with an empty payload may have a binary result, and vice versa.
  JobRecord done1 = outcome(1, JobState::kSucceeded, 1, 50);
  done1.result = allBytes();
  JobRecord done2 = outcome(2, JobState::kSucceeded, 1, 60);
  done2.result = "";
  store().markFinished(done1);
  store().markFinished(done2);
  commit();
  EXPECT_EQ(found(1).result, allBytes());
  EXPECT_EQ(found(2).result, "");
  EXPECT_EQ(found(2).state, JobState::kSucceeded);
}

// ---- state changes ----

TEST_P(StoreConformanceTest, MarkRunningChangesStateAttemptWorkerAndStartOnly) {
  store().insert(makeJob(1));
  store().insert(makeJob(2));
  commit();
  store().markRunning(1, 2, "worker-a", 1'700'000'000'500ULL);
  commit();

  JobRecord want = makeJob(1);
  want.state = JobState::kRunning;
  want.attempt = 2;
  want.worker = "worker-a";
  want.started_ms = 1'700'000'000'500ULL;
  expectSameRecord(found(1), want);  // the payload stays: the next attempt needs it
  expectSameRecord(found(2), makeJob(2));

  // A later attempt on another worker replaces the attempt, worker and start.
  store().markRunning(1, 3, "worker-b", 1'700'000'000'900ULL);
  commit();
  want.attempt = 3;
  want.worker = "worker-b";
  want.started_ms = 1'700'000'000'900ULL;
  expectSameRecord(found(1), want);
}

TEST_P(StoreConformanceTest, MarkQueuedChangesTheStateOnly) {
  store().insert(makeJob(1));
  store().markRunning(1, 1, "worker-a", 777);
  commit();
  store().markQueued(1);
  commit();

  JobRecord want = makeJob(1);
  want.state = JobState::kQueued;
  want.attempt = 1;  // attempts already started stay counted
  want.worker = "worker-a";
  want.started_ms = 777;
  expectSameRecord(found(1), want);
}

TEST_P(StoreConformanceTest, MarkFinishedSucceededTakesTheOutcomeFieldsOnly) {
  store().insert(makeJob(1));
  store().markRunning(1, 2, "worker-a", 500);
  commit();
  JobRecord done = outcome(1, JobState::kSucceeded, 2, 900);
  done.result = allBytes();
  store().markFinished(done);
  commit();

  JobRecord want = makeJob(1);
  want.state = JobState::kSucceeded;
  want.attempt = 2;
  want.worker = "worker-a";
  want.started_ms = 500;
  want.finished_ms = 900;
  want.result = allBytes();
  expectSameFinishedRecord(found(1), want, makeJob(1).payload);
}

TEST_P(StoreConformanceTest, MarkFinishedFailedTakesTheErrorFields) {
  store().insert(makeJob(1));
  store().markRunning(1, 4, "worker-b", 500);
  commit();
  store().markFinished(outcome(1, JobState::kDead, 4, 950));
  commit();

  JobRecord want = makeJob(1);
  want.state = JobState::kDead;
  want.attempt = 4;
  want.worker = "worker-b";
  want.started_ms = 500;
  want.finished_ms = 950;
  want.error_code = "handler_error";
  want.error_message = "job 1 failed";
  expectSameFinishedRecord(found(1), want, makeJob(1).payload);
}

TEST_P(StoreConformanceTest, MarkFinishedWorksForAJobThatNeverRan) {
  // E.g. its assign limit expired while it was queued.
  store().insert(makeJob(1));
  commit();
  JobRecord expired = outcome(1, JobState::kDead, 0, 400);
  expired.error_code = "timeout";
  expired.error_message = "not assigned in time";
  store().markFinished(expired);
  commit();

  JobRecord want = makeJob(1);
  want.state = JobState::kDead;
  want.finished_ms = 400;
  want.error_code = "timeout";
  want.error_message = "not assigned in time";
  expectSameFinishedRecord(found(1), want, makeJob(1).payload);
}

TEST_P(StoreConformanceTest, ChangesInOneTurnApplyInOrder) {
  // Submitted, started, lost, started again and finished, all before one commit.
  store().insert(makeJob(1));
  store().markRunning(1, 1, "worker-a", 10);
  store().markQueued(1);
  store().markRunning(1, 2, "worker-b", 20);
  store().markFinished(outcome(1, JobState::kSucceeded, 2, 30));
  commit();

  JobRecord want = makeJob(1);
  want.state = JobState::kSucceeded;
  want.attempt = 2;
  want.worker = "worker-b";
  want.started_ms = 20;
  want.finished_ms = 30;
  want.result = "result-1";
  expectSameFinishedRecord(found(1), want, makeJob(1).payload);
  EXPECT_TRUE(recovered().empty());
}

TEST_P(StoreConformanceTest, ChangesToUnknownJobsNeitherCreateJobsNorFailTheStore) {
  store().insert(makeJob(1));
  commit();
  store().markRunning(5, 1, "w", 1);
  store().markQueued(6);
  store().markFinished(outcome(7, JobState::kSucceeded, 1, 2));
  Status committed = store().commit();
  ASSERT_TRUE(committed.isOk()) << committed.toString();
  EXPECT_FALSE(exists(5));
  EXPECT_FALSE(exists(6));
  EXPECT_FALSE(exists(7));
  expectSameRecord(found(1), makeJob(1));
  // The store still takes writes.
  store().insert(makeJob(2));
  commit();
  EXPECT_TRUE(exists(2));
}

// ---- loadPayload ----

TEST_P(StoreConformanceTest, LoadPayloadReturnsThePayloadOfQueuedAndRunningJobs) {
  JobRecord binary = makeJob(1);
  binary.payload = allBytes();
  JobRecord empty = makeJob(2);
  empty.payload = "";
  store().insert(binary);
  store().insert(empty);
  store().insert(makeJob(3));
  commit();
  store().markRunning(3, 1, "worker-a", 10);
  commit();
  for (const JobRecord& want : {binary, empty, makeJob(3)}) {
    auto payload = store().loadPayload(want.id);
    ASSERT_TRUE(payload.isOk()) << "job " << want.id << ": " << payload.status().toString();
    EXPECT_EQ(*payload, want.payload) << "job " << want.id;
  }
  // Back in its queue after its worker was lost, it still has its payload for the next attempt.
  store().markQueued(3);
  commit();
  auto requeued = store().loadPayload(3);
  ASSERT_TRUE(requeued.isOk()) << requeued.status().toString();
  EXPECT_EQ(*requeued, makeJob(3).payload);
}

TEST_P(StoreConformanceTest, LoadPayloadOfUnknownFinishedOrPurgedJobsIsNotFound) {
  store().insert(makeJob(1));
  store().insert(makeJob(2));
  store().insert(makeJob(3));
  commit();
  store().markFinished(outcome(2, JobState::kSucceeded, 1, 10));
  store().markFinished(outcome(3, JobState::kDead, 1, 10));
  commit();
  ASSERT_TRUE(store().purgeFinished(100).isOk());
  store().insert(makeJob(4));
  store().markFinished(outcome(4, JobState::kSucceeded, 1, 500));
  commit();
  for (JobId id : {JobId{0}, JobId{2}, JobId{3}, JobId{4}, JobId{99}}) {
    auto payload = store().loadPayload(id);
    ASSERT_FALSE(payload.isOk()) << "job " << id;
    EXPECT_EQ(payload.status().code(), "not_found") << "job " << id << ": " << payload.status().toString();
  }
  auto live = store().loadPayload(1);
  ASSERT_TRUE(live.isOk()) << live.status().toString();
  EXPECT_EQ(*live, makeJob(1).payload);
}

// ---- recover ----

TEST_P(StoreConformanceTest, RecoverVisitsOnlyQueuedAndRunningJobsInIdOrder) {
  for (JobId id : {7, 2, 9, 4, 5, 12, 1}) store().insert(makeJob(id));
  commit();
  store().markRunning(4, 1, "worker-a", 100);
  store().markRunning(12, 2, "worker-b", 200);
  store().markRunning(5, 1, "worker-c", 300);
  store().markQueued(5);
  store().markFinished(outcome(9, JobState::kSucceeded, 1, 400));
  store().markFinished(outcome(1, JobState::kDead, 0, 500));
  commit();

  JobId max_id = 0;
  auto records = recovered(&max_id);
  EXPECT_EQ(idsOf(records), (std::vector<JobId>{2, 4, 5, 7, 12}));
  EXPECT_EQ(max_id, 12u);

  // Full records (the payload possibly through loadPayload): the broker rebuilds its queues from them.
  ASSERT_EQ(records.size(), 5u);
  expectRecoveredRecord(records[0], makeJob(2));
  JobRecord running4 = makeJob(4);
  running4.state = JobState::kRunning;
  running4.attempt = 1;
  running4.worker = "worker-a";
  running4.started_ms = 100;
  expectRecoveredRecord(records[1], running4);
  JobRecord requeued5 = makeJob(5);
  requeued5.attempt = 1;
  requeued5.worker = "worker-c";
  requeued5.started_ms = 300;
  expectRecoveredRecord(records[2], requeued5);
  expectRecoveredRecord(records[3], makeJob(7));
  JobRecord running12 = makeJob(12);
  running12.state = JobState::kRunning;
  running12.attempt = 2;
  running12.worker = "worker-b";
  running12.started_ms = 200;
  expectRecoveredRecord(records[4], running12);

  // Handing records over does not take them out of the store.
  expectSameRecord(found(2), makeJob(2));
  EXPECT_TRUE(exists(9));
}

TEST_P(StoreConformanceTest, RecoverReturnsTheHighestIdEvenWhenThatJobFinished) {
  store().insert(makeJob(3));
  store().insert(makeJob(8));
  commit();
  store().markFinished(outcome(8, JobState::kSucceeded, 1, 10));
  commit();
  JobId max_id = 0;
  EXPECT_EQ(idsOf(recovered(&max_id)), (std::vector<JobId>{3}));
  EXPECT_EQ(max_id, 8u);
}

TEST_P(StoreConformanceTest, RecoverReturnsTheHighestIdAfterEveryJobWasPurged) {
  for (JobId id = 1; id <= 5; ++id) store().insert(makeJob(id));
  commit();
  for (JobId id = 1; id <= 5; ++id) store().markFinished(outcome(id, JobState::kSucceeded, 1, 100 + id));
  commit();
  auto purged = store().purgeFinished(1'000);
  ASSERT_TRUE(purged.isOk()) << purged.status().toString();
  EXPECT_EQ(*purged, 5u);
  commit();
  for (JobId id = 1; id <= 5; ++id) EXPECT_FALSE(exists(id)) << "job " << id;

  JobId max_id = 0;
  EXPECT_TRUE(recovered(&max_id).empty());
  EXPECT_EQ(max_id, 5u) << "ids must never repeat, even once every job is gone";
}

// ---- purgeFinished ----

TEST_P(StoreConformanceTest, PurgeFinishedDeletesOnlyFinishedJobsOlderThanTheCut) {
  for (JobId id = 1; id <= 7; ++id) store().insert(makeJob(id));
  commit();
  store().markFinished(outcome(1, JobState::kSucceeded, 1, 100));
  store().markFinished(outcome(2, JobState::kDead, 1, 199));  // failed jobs age out too
  store().markFinished(outcome(3, JobState::kSucceeded, 1, 200));  // exactly at the cut: kept
  store().markFinished(outcome(4, JobState::kDead, 1, 5'000));
  store().markRunning(5, 1, "w", 50);  // unfinished: finished_ms of 0 must not make them look old
  store().markRunning(6, 1, "w", 60);
  store().markQueued(6);
  // Job 7 stays queued.
  commit();

  auto purged = store().purgeFinished(200);
  ASSERT_TRUE(purged.isOk()) << purged.status().toString();
  EXPECT_EQ(*purged, 2u);
  commit();
  EXPECT_FALSE(exists(1));
  EXPECT_FALSE(exists(2));
  EXPECT_TRUE(exists(3));
  EXPECT_TRUE(exists(4));
  EXPECT_TRUE(exists(5));
  EXPECT_TRUE(exists(6));
  EXPECT_TRUE(exists(7));

  auto again = store().purgeFinished(200);
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  EXPECT_EQ(*again, 0u);
  commit();

  auto later = store().purgeFinished(10'000);
  ASSERT_TRUE(later.isOk()) << later.status().toString();
  EXPECT_EQ(*later, 2u);
  commit();
  EXPECT_FALSE(exists(3));
  EXPECT_FALSE(exists(4));
  EXPECT_EQ(idsOf(recovered()), (std::vector<JobId>{5, 6, 7}));
}

TEST_P(StoreConformanceTest, PurgeFinishedOnAStoreWithoutFinishedJobsReturnsZero) {
  auto empty = store().purgeFinished(1'000'000);
  ASSERT_TRUE(empty.isOk()) << empty.status().toString();
  EXPECT_EQ(*empty, 0u);
  store().insert(makeJob(1));
  commit();
  auto none = store().purgeFinished(std::numeric_limits<std::int64_t>::max());
  ASSERT_TRUE(none.isOk()) << none.status().toString();
  EXPECT_EQ(*none, 0u);
  commit();
  EXPECT_TRUE(exists(1));
}

TEST_P(StoreConformanceTest, NewJobsAfterAPurgeAreStoredNormally) {
  store().insert(makeJob(1));
  commit();
  store().markFinished(outcome(1, JobState::kSucceeded, 1, 10));
  commit();
  ASSERT_TRUE(store().purgeFinished(100).isOk());
  commit();
  store().insert(makeJob(2));
  commit();
  expectSameRecord(found(2), makeJob(2));
  JobId max_id = 0;
  EXPECT_EQ(idsOf(recovered(&max_id)), (std::vector<JobId>{2}));
  EXPECT_EQ(max_id, 2u);
}

// ---- durability: destroy the store and open it again (durable backends only) ----

// A macro, not a helper: GTEST_SKIP() only returns from the function it is written in.
#define SKIP_UNLESS_DURABLE() \
  if (!GetParam().durable) GTEST_SKIP() << GetParam().name << " keeps nothing once destroyed"

TEST_P(StoreConformanceTest, ReopenKeepsEverythingCommitted) {
  SKIP_UNLESS_DURABLE();
  JobRecord binary = makeJob(1);
  binary.payload = allBytes();
  store().insert(binary);
  for (JobId id = 2; id <= 6; ++id) store().insert(makeJob(id));
  commit();
  store().markRunning(2, 1, "worker-a", 100);
  store().markRunning(3, 1, "worker-b", 110);
  store().markQueued(3);
  JobRecord done4 = outcome(4, JobState::kSucceeded, 1, 200);
  done4.result = allBytes();
  store().markFinished(done4);
  store().markFinished(outcome(5, JobState::kDead, 2, 150));
  commit();
  store().markFinished(outcome(6, JobState::kSucceeded, 1, 50));
  commit();
  ASSERT_EQ(*store().purgeFinished(100), 1u);  // job 6
  commit();

  reopen();
  JobId max_id = 0;
  auto records = recovered(&max_id);
  EXPECT_EQ(max_id, 6u);
  ASSERT_EQ(idsOf(records), (std::vector<JobId>{1, 2, 3}));
  expectRecoveredRecord(records[0], binary);
  JobRecord running2 = makeJob(2);
  running2.state = JobState::kRunning;
  running2.attempt = 1;
  running2.worker = "worker-a";
  running2.started_ms = 100;
  expectRecoveredRecord(records[1], running2);
  JobRecord requeued3 = makeJob(3);
  requeued3.attempt = 1;
  requeued3.worker = "worker-b";
  requeued3.started_ms = 110;
  expectRecoveredRecord(records[2], requeued3);

  JobRecord want4 = makeJob(4);
  want4.state = JobState::kSucceeded;
  want4.attempt = 1;
  want4.finished_ms = 200;
  want4.result = allBytes();
  expectSameFinishedRecord(found(4), want4, makeJob(4).payload);
  JobRecord want5 = makeJob(5);
  want5.state = JobState::kDead;
  want5.attempt = 2;
  want5.finished_ms = 150;
  want5.error_code = "handler_error";
  want5.error_message = "job 5 failed";
  expectSameFinishedRecord(found(5), want5, makeJob(5).payload);
  EXPECT_FALSE(exists(6));
}

TEST_P(StoreConformanceTest, ReopenDropsChangesThatWereNeverCommitted) {
  SKIP_UNLESS_DURABLE();
  for (JobId id = 1; id <= 4; ++id) store().insert(makeJob(id));
  commit();
  store().markFinished(outcome(4, JobState::kSucceeded, 1, 10));
  commit();

  // A turn that never reaches commit(): every kind of change.
  store().insert(makeJob(50));
  store().markRunning(1, 1, "worker-a", 100);
  store().markRunning(2, 1, "worker-b", 100);
  store().markQueued(2);
  store().markFinished(outcome(3, JobState::kDead, 1, 20));
  ASSERT_TRUE(store().purgeFinished(1'000).isOk());  // would delete job 4
  reopen();  // the destructor must not commit them

  JobId max_id = 0;
  auto records = recovered(&max_id);
  EXPECT_EQ(max_id, 4u) << "job 50 was never committed";
  ASSERT_EQ(idsOf(records), (std::vector<JobId>{1, 2, 3}));
  for (const JobRecord& rec : records) expectRecoveredRecord(rec, makeJob(rec.id));
  EXPECT_FALSE(exists(50));
  EXPECT_TRUE(exists(4));
  EXPECT_EQ(found(4).state, JobState::kSucceeded);
}

TEST_P(StoreConformanceTest, ReopenKeepsTheHighestIdAfterEveryJobWasPurged) {
  SKIP_UNLESS_DURABLE();
  for (JobId id = 1; id <= 9; ++id) store().insert(makeJob(id));
  commit();
  for (JobId id = 1; id <= 9; ++id) store().markFinished(outcome(id, JobState::kSucceeded, 1, id));
  commit();
  ASSERT_EQ(*store().purgeFinished(100), 9u);
  commit();

  reopen();
  JobId max_id = 0;
  EXPECT_TRUE(recovered(&max_id).empty());
  EXPECT_EQ(max_id, 9u) << "ids must never repeat across restarts";

  // Twice: a restart that wrote nothing must not lose it either.
  reopen();
  EXPECT_TRUE(recovered(&max_id).empty());
  EXPECT_EQ(max_id, 9u);
}

TEST_P(StoreConformanceTest, ReopenedStoreTakesNewWritesAndKeepsBothGenerations) {
  SKIP_UNLESS_DURABLE();
  store().insert(makeJob(1));
  store().insert(makeJob(2));
  commit();

  reopen();
  JobId max_id = 0;
  EXPECT_EQ(idsOf(recovered(&max_id)), (std::vector<JobId>{1, 2}));
  ASSERT_EQ(max_id, 2u);
  store().insert(makeJob(3));
  store().markRunning(1, 1, "worker-a", 5);
  store().markFinished(outcome(2, JobState::kSucceeded, 1, 6));
  commit();

  reopen();
  EXPECT_EQ(idsOf(recovered(&max_id)), (std::vector<JobId>{1, 3}));
  EXPECT_EQ(max_id, 3u);
  EXPECT_EQ(found(1).state, JobState::kRunning);
  EXPECT_EQ(found(2).result, "result-2");
  expectSameRecord(found(3), makeJob(3));
}

TEST_P(StoreConformanceTest, IdentitySurvivesReopenOnlyForDurableStores) {
  const std::uint64_t identity = store().identity();
  store().insert(makeJob(1));
  commit();
  reopen();
  if (GetParam().durable) {
    EXPECT_EQ(store().identity(), identity) << "the same data must keep its name across restarts";
  } else {
    EXPECT_NE(store().identity(), identity) << "the data is gone, so its name must not be reused";
  }
  EXPECT_NE(store().identity(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace
}  // namespace corvee
