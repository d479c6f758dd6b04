// The Store contract of store/store.h, run against every backend.
//
// To add a backend, add one line to kBackends below: its name, whether it is durable (survives
// being destroyed and opened again), and how to open it given a fresh scratch directory. A durable
// backend must open the same data every time it is given the same directory.
//
// The suite only reads through find(), loadPayload() and recover() after commit(): whether
// buffered, uncommitted changes are visible to them is not part of the contract.
#include <gtest/gtest.h>

#include <algorithm>
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
#include "store/paused_tasks.h"
#include "store/temp_dir.h"

namespace corvee {
namespace {

using corvee::testing::pausedTasks;
using corvee::testing::setPaused;
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
  rec.retries = 1 + static_cast<std::uint32_t>(id % 4);
  rec.backoff_ms = 100 + static_cast<std::uint32_t>(id);
  rec.backoff_max_ms = 50'000 + static_cast<std::uint32_t>(id);
  rec.unique_key = "key-" + std::to_string(id);
  rec.unique_for_ms = 1'000 + static_cast<std::uint32_t>(id);
  // Every other job has a fairness key: a job without one stores the empty key.
  if (id % 2 == 1) rec.fair_key = "tenant-" + std::to_string(id % 5);
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
  rec.retries = 77;
  rec.retried = 66;
  rec.backoff_ms = 55;
  rec.backoff_max_ms = 44;
  rec.run_at_ms = 33;
  rec.unique_key = "not-the-key";
  rec.unique_for_ms = 22;
  rec.fair_key = "not-the-key";
  rec.failures.push_back(AttemptFailure{});  // markFinished() ignores them
  rec.failures.back().attempt = 99;
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

// The retention purge's filter: every finished job that finished before `ms`.
PurgeFilter finishedBefore(std::uint64_t ms) {
  PurgeFilter filter;
  filter.finished_before_ms = ms;
  return filter;
}

// Every binary byte value, NULs at both ends and in the middle.
std::string allBytes() {
  std::string bytes(1, '\0');
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  bytes.push_back('\0');
  return bytes;
}

// One failed attempt of job `id`, distinct for each attempt.
AttemptFailure failureOf(JobId id, std::uint32_t attempt) {
  AttemptFailure failure;
  failure.attempt = attempt;
  failure.worker = "worker-" + std::to_string(attempt) + "@host";
  failure.started_ms = 1'000 * id + 10 * attempt;
  failure.ended_ms = 1'000 * id + 10 * attempt + 5;
  failure.error_code = attempt % 2 == 0 ? "run_timeout" : "handler_error";
  failure.error_message = "job " + std::to_string(id) + " attempt " + std::to_string(attempt) + " failed";
  return failure;
}

void expectSameFailures(const std::vector<AttemptFailure>& got, const std::vector<AttemptFailure>& want,
                        JobId id) {
  ASSERT_EQ(got.size(), want.size()) << "failures of job " << id;
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].attempt, want[i].attempt) << "job " << id << " failure " << i;
    EXPECT_EQ(got[i].worker, want[i].worker) << "job " << id << " failure " << i;
    EXPECT_EQ(got[i].started_ms, want[i].started_ms) << "job " << id << " failure " << i;
    EXPECT_EQ(got[i].ended_ms, want[i].ended_ms) << "job " << id << " failure " << i;
    EXPECT_EQ(got[i].error_code, want[i].error_code) << "job " << id << " failure " << i;
    EXPECT_EQ(got[i].error_message, want[i].error_message) << "job " << id << " failure " << i;
  }
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
  EXPECT_EQ(got.retries, want.retries) << "job " << want.id;
  EXPECT_EQ(got.retried, want.retried) << "job " << want.id;
  EXPECT_EQ(got.backoff_ms, want.backoff_ms) << "job " << want.id;
  EXPECT_EQ(got.backoff_max_ms, want.backoff_max_ms) << "job " << want.id;
  EXPECT_EQ(got.run_at_ms, want.run_at_ms) << "job " << want.id;
  EXPECT_EQ(got.unique_key, want.unique_key) << "job " << want.id;
  EXPECT_EQ(got.unique_for_ms, want.unique_for_ms) << "job " << want.id;
  EXPECT_EQ(got.fair_key, want.fair_key) << "job " << want.id;
  expectSameFailures(got.failures, want.failures, want.id);
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
  ASSERT_TRUE(store().purgeFinished(finishedBefore(10)).isOk());
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
  full.retried = 2;
  full.run_at_ms = 1'700'000'000'789ULL;
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
  extreme.retries = std::numeric_limits<std::uint32_t>::max();
  extreme.retried = std::numeric_limits<std::uint32_t>::max();
  extreme.backoff_ms = std::numeric_limits<std::uint32_t>::max();
  extreme.backoff_max_ms = std::numeric_limits<std::uint32_t>::max();
  extreme.run_at_ms = std::numeric_limits<std::uint64_t>::max();
  extreme.unique_key = std::string(255, 'u');
  extreme.unique_for_ms = std::numeric_limits<std::uint32_t>::max();
  jobs.push_back(extreme);
  // No retries, and a zero backoff: defaults are not assumed.
  JobRecord plain = makeJob(6);
  plain.retries = 0;
  plain.backoff_ms = 0;
  plain.backoff_max_ms = 0;
  plain.unique_key.clear();  // not unique
  plain.unique_for_ms = 0;
  jobs.push_back(plain);
  JobRecord high = makeJob(4);
  high.priority = std::numeric_limits<std::int32_t>::max();
  jobs.push_back(high);
  // Text fields with non-ASCII UTF-8.
  JobRecord utf8 = makeJob(5);
  utf8.task = "t\xc3\xa2" "che-\xe2\x9c\x93";
  utf8.worker = "\xe6\x97\xa5\xe6\x9c\xac";
  utf8.unique_key = "cl\xc3\xa9-\xe2\x9c\x93";
  utf8.fair_key = "t\xc3\xa9nant-\xe2\x9c\x93";
  jobs.push_back(utf8);
  // The longest key the broker takes.
  JobRecord long_key = makeJob(8);
  long_key.fair_key = std::string(255, 'k');
  jobs.push_back(long_key);

  for (const JobRecord& job : jobs) store().insert(job);
  // insert() ignores failures: recordFailure() alone writes them.
  JobRecord with_failure = makeJob(7);
  with_failure.failures.push_back(failureOf(7, 1));
  store().insert(with_failure);
  jobs.push_back(makeJob(7));
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
  ASSERT_TRUE(store().purgeFinished(finishedBefore(100)).isOk());
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
  auto purged = store().purgeFinished(finishedBefore(1'000));
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

  auto purged = store().purgeFinished(finishedBefore(200));
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

  auto again = store().purgeFinished(finishedBefore(200));
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  EXPECT_EQ(*again, 0u);
  commit();

  auto later = store().purgeFinished(finishedBefore(10'000));
  ASSERT_TRUE(later.isOk()) << later.status().toString();
  EXPECT_EQ(*later, 2u);
  commit();
  EXPECT_FALSE(exists(3));
  EXPECT_FALSE(exists(4));
  EXPECT_EQ(idsOf(recovered()), (std::vector<JobId>{5, 6, 7}));
}

TEST_P(StoreConformanceTest, PurgeFinishedOnAStoreWithoutFinishedJobsReturnsZero) {
  auto empty = store().purgeFinished(finishedBefore(1'000'000));
  ASSERT_TRUE(empty.isOk()) << empty.status().toString();
  EXPECT_EQ(*empty, 0u);
  store().insert(makeJob(1));
  commit();
  auto none = store().purgeFinished(finishedBefore(std::numeric_limits<std::int64_t>::max()));
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
  ASSERT_TRUE(store().purgeFinished(finishedBefore(100)).isOk());
  commit();
  store().insert(makeJob(2));
  commit();
  expectSameRecord(found(2), makeJob(2));
  JobId max_id = 0;
  EXPECT_EQ(idsOf(recovered(&max_id)), (std::vector<JobId>{2}));
  EXPECT_EQ(max_id, 2u);
}

// ---- retries: failures, markRetrying, markRevived ----

TEST_P(StoreConformanceTest, MarkRetryingRecordsTheNextAttemptTimeAndTheLastError) {
  store().insert(makeJob(1));
  store().markRunning(1, 1, "worker-a", 100);
  commit();
  store().recordFailure(1, failureOf(1, 1));
  store().markRetrying(1, 1'700'000'005'000ULL, 1, "handler_error", "job 1 attempt 1 failed");
  commit();

  JobRecord want = makeJob(1);
  want.state = JobState::kRetrying;
  want.attempt = 1;
  want.worker = "worker-a";
  want.started_ms = 100;
  want.run_at_ms = 1'700'000'005'000ULL;
  want.retried = 1;
  want.error_code = "handler_error";
  want.error_message = "job 1 attempt 1 failed";
  want.failures = {failureOf(1, 1)};
  expectSameRecord(found(1), want);

  // Retrying is unfinished: the payload is still there for the next attempt.
  auto payload = store().loadPayload(1);
  ASSERT_TRUE(payload.isOk()) << payload.status().toString();
  EXPECT_EQ(*payload, makeJob(1).payload);

  // Its retry comes due: back to the queue, keeping what it has used.
  store().markQueued(1);
  store().markRunning(1, 2, "worker-b", 6'000);
  commit();
  JobRecord rec = found(1);
  EXPECT_EQ(rec.state, JobState::kRunning);
  EXPECT_EQ(rec.attempt, 2u);
  EXPECT_EQ(rec.retried, 1u);
  expectSameFailures(rec.failures, {failureOf(1, 1)}, 1);
}

TEST_P(StoreConformanceTest, FailuresAreKeptOldestFirstThroughFindRecoverAndMarkFinished) {
  for (JobId id = 1; id <= 5; ++id) store().insert(makeJob(id));
  commit();
  // Job 1 dies after two failed attempts; job 2 never failed; job 3 is retrying after one; job 4
  // failed twice and runs again; job 5 failed once and then succeeded.
  for (std::uint32_t attempt = 1; attempt <= 2; ++attempt) {
    store().markRunning(1, attempt, "w", attempt);
    store().recordFailure(1, failureOf(1, attempt));
  }
  store().markFinished(outcome(1, JobState::kDead, 2, 500));
  store().markRunning(3, 1, "w", 10);
  store().recordFailure(3, failureOf(3, 1));
  store().markRetrying(3, 9'000, 1, "handler_error", "job 3 attempt 1 failed");
  for (std::uint32_t attempt = 1; attempt <= 2; ++attempt) {
    store().markRunning(4, attempt, "w", attempt);
    store().recordFailure(4, failureOf(4, attempt));
    store().markRetrying(4, 100 * attempt, attempt, "e", "m");
    commit();  // across turns too
  }
  store().markQueued(4);
  store().markRunning(4, 3, "worker-c", 700);
  store().markRunning(5, 1, "w", 1);
  store().recordFailure(5, failureOf(5, 1));
  store().markRunning(5, 2, "w", 2);
  store().markFinished(outcome(5, JobState::kSucceeded, 2, 600));
  commit();

  expectSameFailures(found(1).failures, {failureOf(1, 1), failureOf(1, 2)}, 1);
  EXPECT_TRUE(found(2).failures.empty());
  expectSameFailures(found(3).failures, {failureOf(3, 1)}, 3);
  expectSameFailures(found(4).failures, {failureOf(4, 1), failureOf(4, 2)}, 4);
  expectSameFailures(found(5).failures, {failureOf(5, 1)}, 5);

  // recover() hands each live job over with its own failures, and a retrying job with its
  // next attempt's time and its retries used.
  auto records = recovered();
  ASSERT_EQ(idsOf(records), (std::vector<JobId>{2, 3, 4}));
  EXPECT_TRUE(records[0].failures.empty());
  EXPECT_EQ(records[1].state, JobState::kRetrying);
  EXPECT_EQ(records[1].run_at_ms, 9'000u);
  EXPECT_EQ(records[1].retried, 1u);
  EXPECT_EQ(records[1].error_message, "job 3 attempt 1 failed");
  expectSameFailures(records[1].failures, {failureOf(3, 1)}, 3);
  EXPECT_EQ(records[2].state, JobState::kRunning);
  EXPECT_EQ(records[2].retried, 2u);
  expectSameFailures(records[2].failures, {failureOf(4, 1), failureOf(4, 2)}, 4);
}

TEST_P(StoreConformanceTest, ADeadJobKeepsItsPayloadAndFailures) {
  JobRecord binary = makeJob(1);
  binary.payload = allBytes();
  store().insert(binary);
  store().insert(makeJob(2));
  store().markRunning(1, 1, "worker-a", 100);
  store().recordFailure(1, failureOf(1, 1));
  commit();
  JobRecord dead = outcome(1, JobState::kDead, 1, 200);
  dead.payload = allBytes();  // as the broker hands a dead job over
  store().markFinished(dead);
  store().markFinished(outcome(2, JobState::kSucceeded, 0, 200));
  commit();

  JobRecord want = binary;
  want.state = JobState::kDead;
  want.attempt = 1;
  want.worker = "worker-a";
  want.started_ms = 100;
  want.finished_ms = 200;
  want.error_code = "handler_error";
  want.error_message = "job 1 failed";
  want.failures = {failureOf(1, 1)};
  expectSameRecord(found(1), want);  // payload included: `dead retry` needs it
  EXPECT_TRUE(recovered().empty());
}

TEST_P(StoreConformanceTest, MarkRevivedQueuesADeadJobAgainKeepingItsAttemptsAndFailures) {
  for (JobId id = 1; id <= 4; ++id) store().insert(makeJob(id));
  commit();
  store().markRunning(1, 3, "worker-a", 100);
  store().recordFailure(1, failureOf(1, 3));
  store().markRetrying(1, 150, 2, "handler_error", "x");
  store().markQueued(1);
  store().markRunning(1, 4, "worker-a", 160);
  store().recordFailure(1, failureOf(1, 4));
  JobRecord dead = outcome(1, JobState::kDead, 4, 200);
  dead.payload = makeJob(1).payload;
  store().markFinished(dead);
  store().markFinished(outcome(2, JobState::kSucceeded, 1, 200));
  store().markFinished(outcome(3, JobState::kCancelled, 0, 200));
  commit();

  store().markRevived(1);
  // Only a dead job is revived: the others are left alone.
  store().markRevived(2);
  store().markRevived(3);
  store().markRevived(4);
  commit();

  JobRecord want = makeJob(1);
  want.state = JobState::kQueued;
  want.attempt = 4;  // attempt numbers never repeat
  want.worker = "worker-a";
  want.started_ms = 160;
  // run_at_ms was 150, from its retry: a queued job has no next attempt time.
  want.failures = {failureOf(1, 3), failureOf(1, 4)};
  expectSameRecord(found(1), want);
  EXPECT_EQ(found(2).state, JobState::kSucceeded);
  EXPECT_EQ(found(2).result, "result-2");
  EXPECT_EQ(found(3).state, JobState::kCancelled);
  EXPECT_EQ(found(3).finished_ms, 200u);
  expectSameRecord(found(4), makeJob(4));

  auto records = recovered();
  ASSERT_EQ(idsOf(records), (std::vector<JobId>{1, 4}));
  expectRecoveredRecord(records[0], want);

  // It runs again and dies again: every attempt's failure is there.
  store().markRunning(1, 5, "worker-b", 300);
  store().recordFailure(1, failureOf(1, 5));
  store().markFinished(outcome(1, JobState::kDead, 5, 400));
  commit();
  JobRecord again = found(1);
  EXPECT_EQ(again.state, JobState::kDead);
  EXPECT_EQ(again.finished_ms, 400u);
  EXPECT_EQ(again.payload, makeJob(1).payload);
  expectSameFailures(again.failures, {failureOf(1, 3), failureOf(1, 4), failureOf(1, 5)}, 1);
}

TEST_P(StoreConformanceTest, NewChangesToUnknownJobsNeitherCreateJobsNorFailTheStore) {
  store().insert(makeJob(1));
  commit();
  store().recordFailure(5, failureOf(5, 1));
  store().markRetrying(6, 10, 1, "e", "m");
  store().markRevived(7);
  Status committed = store().commit();
  ASSERT_TRUE(committed.isOk()) << committed.toString();
  EXPECT_FALSE(exists(5));
  EXPECT_FALSE(exists(6));
  EXPECT_FALSE(exists(7));
  EXPECT_EQ(idsOf(recovered()), (std::vector<JobId>{1}));
  // A failure recorded for an unknown job is not kept for a job of that id stored later.
  store().insert(makeJob(5));
  commit();
  EXPECT_TRUE(found(5).failures.empty());
}

// ---- listFinished ----

// Finished jobs 1..9 of two tasks and three states, with live jobs 10 and 11 among them.
void finishMixedJobs(Store& store) {
  for (JobId id = 1; id <= 11; ++id) {
    JobRecord job = makeJob(id);
    job.task = id % 2 == 0 ? "even" : "odd";
    store.insert(job);
  }
  const JobState states[] = {JobState::kSucceeded, JobState::kDead, JobState::kCancelled};
  for (JobId id = 1; id <= 9; ++id) {
    store.recordFailure(id, failureOf(id, 1));
    store.markFinished(outcome(id, states[id % 3], 1, 1'000 - id));
  }
  store.markRunning(11, 1, "w", 5);
}

TEST_P(StoreConformanceTest, ListFinishedIsNewestFirstWithoutPayloadOrResult) {
  finishMixedJobs(store());
  commit();
  auto all = store().listFinished(JobFilter{});
  ASSERT_TRUE(all.isOk()) << all.status().toString();
  EXPECT_EQ(idsOf(*all), (std::vector<JobId>{9, 8, 7, 6, 5, 4, 3, 2, 1}));
  for (const JobRecord& rec : *all) {
    EXPECT_TRUE(rec.payload.empty()) << "job " << rec.id;
    EXPECT_TRUE(rec.result.empty()) << "job " << rec.id;
    EXPECT_TRUE(isFinished(rec.state)) << "job " << rec.id;
    EXPECT_EQ(rec.task, rec.id % 2 == 0 ? "even" : "odd");
    EXPECT_EQ(rec.finished_ms, 1'000 - rec.id);
    EXPECT_EQ(rec.submitted_ms, makeJob(rec.id).submitted_ms);
    EXPECT_EQ(rec.retries, makeJob(rec.id).retries);
    if (rec.state != JobState::kSucceeded) {
      EXPECT_EQ(rec.error_code, "handler_error") << "job " << rec.id;
    }
  }
}

TEST_P(StoreConformanceTest, ListFinishedFiltersByTaskStateAndBeforeIdAndStopsAtTheLimit) {
  finishMixedJobs(store());
  commit();
  auto list = [&](JobFilter filter) {
    auto listed = store().listFinished(filter);
    EXPECT_TRUE(listed.isOk()) << listed.status().toString();
    return listed.isOk() ? idsOf(*listed) : std::vector<JobId>{};
  };
  // Ids 3, 6, 9 are succeeded; 1, 4, 7 dead; 2, 5, 8 cancelled.
  EXPECT_EQ(list({.state = JobState::kDead}), (std::vector<JobId>{7, 4, 1}));
  EXPECT_EQ(list({.state = JobState::kCancelled}), (std::vector<JobId>{8, 5, 2}));
  EXPECT_EQ(list({.task = "even"}), (std::vector<JobId>{8, 6, 4, 2}));
  EXPECT_EQ(list({.task = "odd", .state = JobState::kSucceeded}), (std::vector<JobId>{9, 3}));
  EXPECT_EQ(list({.task = "nobody"}), (std::vector<JobId>{}));
  // Live jobs are never listed, whatever the filter.
  EXPECT_EQ(list({.state = JobState::kRunning}), (std::vector<JobId>{}));
  EXPECT_EQ(list({.state = JobState::kQueued}), (std::vector<JobId>{}));
  // Paging: at most `limit`, then from below the last id seen.
  EXPECT_EQ(list({.limit = 4}), (std::vector<JobId>{9, 8, 7, 6}));
  EXPECT_EQ(list({.limit = 4, .before_id = 6}), (std::vector<JobId>{5, 4, 3, 2}));
  EXPECT_EQ(list({.limit = 4, .before_id = 2}), (std::vector<JobId>{1}));
  EXPECT_EQ(list({.limit = 4, .before_id = 1}), (std::vector<JobId>{}));
  EXPECT_EQ(list({.state = JobState::kDead, .limit = 1, .before_id = 7}), (std::vector<JobId>{4}));
  EXPECT_EQ(list({.limit = 0}), (std::vector<JobId>{}));
  EXPECT_EQ(list({.before_id = 100}), (std::vector<JobId>{9, 8, 7, 6, 5, 4, 3, 2, 1}));
}

// ---- purgeFinished with a filter ----

TEST_P(StoreConformanceTest, PurgeFinishedFiltersByStatesTaskAndAge) {
  finishMixedJobs(store());
  commit();
  auto purge = [&](PurgeFilter filter) {
    auto purged = store().purgeFinished(filter);
    EXPECT_TRUE(purged.isOk()) << purged.status().toString();
    commit();
    return purged.isOk() ? *purged : ~std::uint64_t{0};
  };
  auto remaining = [&] {
    auto listed = store().listFinished(JobFilter{});
    EXPECT_TRUE(listed.isOk());
    return listed.isOk() ? idsOf(*listed) : std::vector<JobId>{};
  };
  // Finish times: job id finished at 1000 - id, so a lower id finished later.
  // Dead jobs (1, 4, 7) that finished before 995: only 7.
  EXPECT_EQ(purge({.states = {JobState::kDead}, .task = "", .finished_before_ms = 995}), 1u);
  EXPECT_EQ(remaining(), (std::vector<JobId>{9, 8, 6, 5, 4, 3, 2, 1}));
  // Succeeded and cancelled jobs of task "even", at any age: 8, 6, 2.
  EXPECT_EQ(purge({.states = {JobState::kSucceeded, JobState::kCancelled}, .task = "even"}), 3u);
  EXPECT_EQ(remaining(), (std::vector<JobId>{9, 5, 4, 3, 1}));
  // A state that is not finished selects nothing.
  EXPECT_EQ(purge({.states = {JobState::kQueued, JobState::kRunning, JobState::kRetrying}, .task = ""}), 0u);
  // Every finished state, finished before 997: 9 and 5... and 4 (996).
  EXPECT_EQ(purge({.states = {}, .task = "", .finished_before_ms = 997}), 3u);
  EXPECT_EQ(remaining(), (std::vector<JobId>{3, 1}));
  // No condition at all: every finished job, and no live one.
  EXPECT_EQ(purge(PurgeFilter{}), 2u);
  EXPECT_EQ(remaining(), (std::vector<JobId>{}));
  for (JobId id = 1; id <= 9; ++id) EXPECT_FALSE(exists(id)) << "job " << id;
  EXPECT_EQ(idsOf(recovered()), (std::vector<JobId>{10, 11}));
  EXPECT_EQ(found(10).state, JobState::kQueued);
}

// ---- countFinished / trimFinished ----

TEST_P(StoreConformanceTest, CountFinishedCountsOneFinishedState) {
  auto count = [&](JobState state) {
    auto counted = store().countFinished(state);
    EXPECT_TRUE(counted.isOk()) << counted.status().toString();
    return counted.isOk() ? *counted : ~std::uint64_t{0};
  };
  EXPECT_EQ(count(JobState::kDead), 0u);
  finishMixedJobs(store());
  commit();
  EXPECT_EQ(count(JobState::kSucceeded), 3u);
  EXPECT_EQ(count(JobState::kDead), 3u);
  EXPECT_EQ(count(JobState::kCancelled), 3u);
  EXPECT_EQ(count(JobState::kQueued), 0u) << "live jobs are not counted";
  EXPECT_EQ(count(JobState::kRunning), 0u);
  store().markRevived(4);
  commit();
  EXPECT_EQ(count(JobState::kDead), 2u);
}

TEST_P(StoreConformanceTest, TrimFinishedDropsTheFirstFinishedBeyondTheNewestKept) {
  for (JobId id = 1; id <= 8; ++id) store().insert(makeJob(id));
  commit();
  // Dead jobs finishing out of id order (and two at the same time), plus a succeeded one.
  const std::vector<std::pair<JobId, std::uint64_t>> dead = {{1, 500}, {2, 100}, {3, 300}, {4, 300}, {5, 50}, {6, 900}};
  for (auto [id, at] : dead) {
    store().recordFailure(id, failureOf(id, 1));
    store().markFinished(outcome(id, JobState::kDead, 1, at));
  }
  store().markFinished(outcome(7, JobState::kSucceeded, 1, 1));
  commit();

  auto trim = [&](JobState state, std::uint64_t keep) {
    auto trimmed = store().trimFinished(state, keep);
    EXPECT_TRUE(trimmed.isOk()) << trimmed.status().toString();
    commit();
    return trimmed.isOk() ? *trimmed : ~std::uint64_t{0};
  };
  EXPECT_EQ(trim(JobState::kDead, 6), 0u);
  EXPECT_EQ(trim(JobState::kDead, 100), 0u);
  // Keep 4: jobs 5 (50) and 2 (100) finished first.
  EXPECT_EQ(trim(JobState::kDead, 4), 2u);
  EXPECT_FALSE(exists(5));
  EXPECT_FALSE(exists(2));
  EXPECT_EQ(*store().countFinished(JobState::kDead), 4u);
  // Keep 1: job 6 (900) finished last.
  EXPECT_EQ(trim(JobState::kDead, 1), 3u);
  for (JobId id : {1, 3, 4}) EXPECT_FALSE(exists(id)) << "job " << id;
  expectSameFailures(found(6).failures, {failureOf(6, 1)}, 6);
  // Other states and live jobs are untouched.
  EXPECT_EQ(found(7).state, JobState::kSucceeded);
  EXPECT_EQ(found(8).state, JobState::kQueued);
  EXPECT_EQ(trim(JobState::kSucceeded, 0), 1u);
  EXPECT_FALSE(exists(7));
  EXPECT_EQ(trim(JobState::kQueued, 0), 0u);
  EXPECT_TRUE(exists(8));
  EXPECT_EQ(trim(JobState::kDead, 0), 1u);
  EXPECT_EQ(*store().countFinished(JobState::kDead), 0u);
  EXPECT_EQ(idsOf(recovered()), (std::vector<JobId>{8}));
}

// ---- paused tasks ----

std::vector<std::string> sorted(std::vector<std::string> tasks) {
  std::sort(tasks.begin(), tasks.end());
  return tasks;
}

TEST_P(StoreConformanceTest, PausedTasksAreTheTasksPausedAndNotResumed) {
  auto paused = pausedTasks(store());
  ASSERT_TRUE(paused.isOk()) << paused.status().toString();
  EXPECT_TRUE(paused->empty());

  setPaused(store(), "resize", true);
  setPaused(store(), "email", true);
  setPaused(store(), "email", true);  // twice is once
  setPaused(store(), "t\xc3\xa2" "che", true);
  setPaused(store(), "never-paused", false);
  commit();
  paused = pausedTasks(store());
  ASSERT_TRUE(paused.isOk()) << paused.status().toString();
  EXPECT_EQ(sorted(*paused), (std::vector<std::string>{"email", "resize", "t\xc3\xa2" "che"}));

  setPaused(store(), "email", false);
  setPaused(store(), "resize", false);
  setPaused(store(), "resize", true);  // the last word counts
  commit();
  paused = pausedTasks(store());
  ASSERT_TRUE(paused.isOk());
  EXPECT_EQ(sorted(*paused), (std::vector<std::string>{"resize", "t\xc3\xa2" "che"}));
}

// ---- cron entries ----

CronRecord makeCron(std::string name, std::uint64_t last_fire_ms = 0) {
  CronRecord cron;
  cron.name = std::move(name);
  cron.spec = "*/5 * * * * *";
  cron.tz = "Europe/Berlin";
  cron.task = "report";
  cron.submit = std::string("\x06report\0\xff", 9);  // bytes, NULs included
  cron.submit_version = 4;
  cron.paused = false;
  cron.created_ms = 1'700'000'000'000ULL;
  cron.last_fire_ms = last_fire_ms;
  return cron;
}

void expectSameCron(const CronRecord& got, const CronRecord& want) {
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.spec, want.spec);
  EXPECT_EQ(got.tz, want.tz);
  EXPECT_EQ(got.task, want.task);
  EXPECT_TRUE(got.submit == want.submit) << "submit bytes differ for " << want.name;
  EXPECT_EQ(got.submit_version, want.submit_version);
  EXPECT_EQ(got.paused, want.paused);
  EXPECT_EQ(got.created_ms, want.created_ms);
  EXPECT_EQ(got.last_fire_ms, want.last_fire_ms);
}

TEST_P(StoreConformanceTest, CronEntriesAreSavedReplacedByNameAndRemoved) {
  auto none = store().crons();
  ASSERT_TRUE(none.isOk()) << none.status().toString();
  EXPECT_TRUE(none->empty());

  store().saveCron(makeCron("b-hourly"));
  store().saveCron(makeCron("a-nightly"));
  store().saveCron(makeCron("c-gone"));
  commit();
  store().removeCron("c-gone");
  store().removeCron("never-there");  // nothing to remove is no error
  CronRecord fired = makeCron("b-hourly", 1'700'000'003'000ULL);
  fired.paused = true;
  store().saveCron(fired);  // replaces, by name
  commit();

  auto crons = store().crons();
  ASSERT_TRUE(crons.isOk()) << crons.status().toString();
  ASSERT_EQ(crons->size(), 2u);
  expectSameCron((*crons)[0], makeCron("a-nightly"));
  expectSameCron((*crons)[1], fired);
}

// ---- task settings: pause and rate ----

TaskSettings settingsWith(bool paused, std::optional<std::string> rate) {
  TaskSettings settings;
  settings.paused = paused;
  settings.rate = std::move(rate);
  return settings;
}

using SettingsList = std::vector<std::pair<std::string, TaskSettings>>;

SettingsList settingsIn(Store& store) {
  auto settings = store.taskSettings();
  EXPECT_TRUE(settings.isOk()) << settings.status().toString();
  if (!settings.isOk()) return {};
  std::sort(settings->begin(), settings->end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return *settings;
}

TEST_P(StoreConformanceTest, TaskSettingsKeepPauseAndRateTogetherAndTheLastWordCounts) {
  EXPECT_TRUE(settingsIn(store()).empty());
  store().setTaskSettings("resize", settingsWith(false, "10/s:10"));
  store().setTaskSettings("email", settingsWith(true, ""));  // paused, rate turned off
  store().setTaskSettings("report", settingsWith(true, std::nullopt));
  store().setTaskSettings("plain", settingsWith(false, std::nullopt));  // the default: nothing stored
  commit();
  EXPECT_EQ(settingsIn(store()), (SettingsList{{"email", settingsWith(true, "")},
                                               {"report", settingsWith(true, std::nullopt)},
                                               {"resize", settingsWith(false, "10/s:10")}}));

  // A write replaces the task's settings whole; the default removes them.
  store().setTaskSettings("resize", settingsWith(true, "0.5/s:1"));
  store().setTaskSettings("report", settingsWith(false, std::nullopt));
  store().setTaskSettings("email", settingsWith(false, "1/m:1"));
  store().setTaskSettings("email", settingsWith(false, ""));
  commit();
  EXPECT_EQ(settingsIn(store()), (SettingsList{{"email", settingsWith(false, "")},
                                               {"resize", settingsWith(true, "0.5/s:1")}}));
}

TEST_P(StoreConformanceTest, ReopenKeepsTaskSettingsAndDropsUncommittedOnes) {
  if (!GetParam().durable) GTEST_SKIP() << GetParam().name << " keeps nothing once destroyed";
  store().setTaskSettings("resize", settingsWith(false, "10/s:10"));
  store().setTaskSettings("email", settingsWith(true, ""));
  commit();
  store().setTaskSettings("resize", settingsWith(false, std::nullopt));
  store().setTaskSettings("lost", settingsWith(false, "1/s:1"));
  EXPECT_EQ(settingsIn(store()).size(), 2u) << "taskSettings() is what was committed";
  reopen();
  EXPECT_EQ(settingsIn(store()), (SettingsList{{"email", settingsWith(true, "")},
                                               {"resize", settingsWith(false, "10/s:10")}}));
}

// ---- unique keys held by succeeded jobs ----

std::vector<JobId> heldIds(Store& store, std::uint64_t now_ms) {
  auto held = store.uniqueKeysHeld(now_ms);
  EXPECT_TRUE(held.isOk()) << held.status().toString();
  std::vector<JobId> ids;
  if (held.isOk()) {
    for (const JobRecord& rec : *held) ids.push_back(rec.id);
  }
  return ids;
}

TEST_P(StoreConformanceTest, UniqueKeysHeldAreTheSucceededJobsWhoseWindowIsStillOpen) {
  EXPECT_TRUE(heldIds(store(), 0).empty());
  // makeJob(id) holds "key-ID" for 1000 + id ms.
  for (JobId id = 1; id <= 8; ++id) store().insert(makeJob(id));
  JobRecord keyless = makeJob(9);
  keyless.unique_key.clear();
  keyless.unique_for_ms = 0;
  store().insert(keyless);
  JobRecord no_window = makeJob(10);
  no_window.unique_for_ms = 0;
  store().insert(no_window);
  JobRecord longest = makeJob(11);
  longest.unique_for_ms = std::numeric_limits<std::uint32_t>::max();
  store().insert(longest);
  commit();
  store().markFinished(outcome(1, JobState::kSucceeded, 1, 10'000));  // held until 11'001
  store().markFinished(outcome(2, JobState::kDead, 1, 10'000));       // dead: frees its key
  store().markFinished(outcome(3, JobState::kCancelled, 0, 10'000));  // cancelled: frees it
  store().markRunning(4, 1, "w", 9'000);                              // live: not asked here
  store().markFinished(outcome(5, JobState::kSucceeded, 1, 10'500));  // held until 11'505
  store().markFinished(outcome(6, JobState::kSucceeded, 1, 1'000));   // held until 2'006
  store().markFinished(outcome(9, JobState::kSucceeded, 1, 10'000));  // no key
  store().markFinished(outcome(10, JobState::kSucceeded, 1, 10'000));  // no window
  store().markFinished(outcome(11, JobState::kSucceeded, 1, 5'000));
  commit();

  EXPECT_EQ(heldIds(store(), 2'005), (std::vector<JobId>{1, 5, 6, 11}));
  EXPECT_EQ(heldIds(store(), 2'006), (std::vector<JobId>{1, 5, 11})) << "a window ends at finish + unique_for";
  EXPECT_EQ(heldIds(store(), 11'000), (std::vector<JobId>{1, 5, 11}));
  EXPECT_EQ(heldIds(store(), 11'001), (std::vector<JobId>{5, 11}));
  EXPECT_EQ(heldIds(store(), 11'505), (std::vector<JobId>{11}));
  EXPECT_EQ(heldIds(store(), 5'000ULL + std::numeric_limits<std::uint32_t>::max() - 1), (std::vector<JobId>{11}));
  EXPECT_TRUE(heldIds(store(), 5'000ULL + std::numeric_limits<std::uint32_t>::max()).empty());

  auto held = store().uniqueKeysHeld(11'001);
  ASSERT_TRUE(held.isOk());
  ASSERT_EQ(held->size(), 2u);
  const JobRecord& five = (*held)[0];
  EXPECT_EQ(five.task, "task-5");
  EXPECT_EQ(five.unique_key, "key-5") << "markFinished() must not rewrite the key";
  EXPECT_EQ(five.unique_for_ms, 1'005u);
  EXPECT_EQ(five.finished_ms, 10'500u);
  EXPECT_EQ(five.state, JobState::kSucceeded);

  // Purged with its record, the key is held no more.
  ASSERT_EQ(*store().purgeFinished(finishedBefore(10'600)), 8u);
  commit();
  EXPECT_TRUE(heldIds(store(), 11'001).empty());
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
  ASSERT_EQ(*store().purgeFinished(finishedBefore(100)), 1u);  // job 6
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

TEST_P(StoreConformanceTest, ReopenKeepsTheUniqueKeysOfLiveAndSucceededJobs) {
  SKIP_UNLESS_DURABLE();
  for (JobId id = 1; id <= 2; ++id) store().insert(makeJob(id));
  commit();
  store().markFinished(outcome(2, JobState::kSucceeded, 1, 10'000));
  commit();
  reopen();
  auto records = recovered();
  ASSERT_EQ(idsOf(records), (std::vector<JobId>{1}));
  EXPECT_EQ(records[0].unique_key, "key-1");
  EXPECT_EQ(records[0].unique_for_ms, 1'001u);
  EXPECT_EQ(heldIds(store(), 10'500), (std::vector<JobId>{2}));
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
  ASSERT_TRUE(store().purgeFinished(finishedBefore(1'000)).isOk());  // would delete job 4
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

TEST_P(StoreConformanceTest, ReopenKeepsRetriesFailuresDeadPayloadsAndPausedTasks) {
  SKIP_UNLESS_DURABLE();
  for (JobId id = 1; id <= 3; ++id) store().insert(makeJob(id));
  commit();
  store().markRunning(1, 1, "worker-a", 100);
  store().recordFailure(1, failureOf(1, 1));
  store().markRetrying(1, 5'000, 1, "handler_error", "job 1 attempt 1 failed");
  store().markRunning(2, 1, "worker-b", 100);
  store().recordFailure(2, failureOf(2, 1));
  JobRecord dead = outcome(2, JobState::kDead, 1, 300);
  dead.payload = makeJob(2).payload;
  store().markFinished(dead);
  setPaused(store(), "resize", true);
  setPaused(store(), "email", true);
  commit();
  setPaused(store(), "email", false);
  commit();

  reopen();
  auto records = recovered();
  ASSERT_EQ(idsOf(records), (std::vector<JobId>{1, 3}));
  JobRecord retrying = makeJob(1);
  retrying.state = JobState::kRetrying;
  retrying.attempt = 1;
  retrying.worker = "worker-a";
  retrying.started_ms = 100;
  retrying.run_at_ms = 5'000;
  retrying.retried = 1;
  retrying.error_code = "handler_error";
  retrying.error_message = "job 1 attempt 1 failed";
  retrying.failures = {failureOf(1, 1)};
  expectRecoveredRecord(records[0], retrying);
  expectRecoveredRecord(records[1], makeJob(3));

  JobRecord dead2 = found(2);
  EXPECT_EQ(dead2.state, JobState::kDead);
  EXPECT_EQ(dead2.payload, makeJob(2).payload);
  expectSameFailures(dead2.failures, {failureOf(2, 1)}, 2);
  auto paused = pausedTasks(store());
  ASSERT_TRUE(paused.isOk()) << paused.status().toString();
  EXPECT_EQ(*paused, (std::vector<std::string>{"resize"}));

  // A dead job revived after the restart runs from its kept payload.
  store().markRevived(2);
  commit();
  reopen();
  records = recovered();
  ASSERT_EQ(idsOf(records), (std::vector<JobId>{1, 2, 3}));
  EXPECT_EQ(records[1].state, JobState::kQueued);
  expectSameFailures(records[1].failures, {failureOf(2, 1)}, 2);
  auto payload = store().loadPayload(2);
  ASSERT_TRUE(payload.isOk()) << payload.status().toString();
  EXPECT_EQ(*payload, makeJob(2).payload);
}

TEST_P(StoreConformanceTest, ReopenDropsNewKindsOfChangesThatWereNeverCommitted) {
  SKIP_UNLESS_DURABLE();
  store().insert(makeJob(1));
  store().insert(makeJob(2));
  commit();
  store().markFinished(outcome(2, JobState::kDead, 0, 10));
  setPaused(store(), "kept", true);
  commit();

  store().recordFailure(1, failureOf(1, 1));
  store().markRetrying(1, 99, 1, "e", "m");
  store().markRevived(2);
  setPaused(store(), "kept", false);
  setPaused(store(), "lost", true);
  // Uncommitted pauses do not show either: pausedTasks() is the committed set.
  auto paused = pausedTasks(store());
  ASSERT_TRUE(paused.isOk());
  if (GetParam().durable) {
    EXPECT_EQ(*paused, (std::vector<std::string>{"kept"}));
  }
  reopen();

  auto records = recovered();
  ASSERT_EQ(idsOf(records), (std::vector<JobId>{1}));
  expectRecoveredRecord(records[0], makeJob(1));
  EXPECT_EQ(found(2).state, JobState::kDead);
  paused = pausedTasks(store());
  ASSERT_TRUE(paused.isOk());
  EXPECT_EQ(*paused, (std::vector<std::string>{"kept"}));
}

// A firing's job and its cron entry's last_fire_ms are one commit: both or neither survive.
TEST_P(StoreConformanceTest, ReopenKeepsCronEntriesAndTheirFiringsOnlyAsCommitted) {
  SKIP_UNLESS_DURABLE();
  store().saveCron(makeCron("every-second", 1'000));
  store().saveCron(makeCron("removed"));
  commit();
  store().insert(makeJob(1));
  store().saveCron(makeCron("every-second", 2'000));
  store().removeCron("removed");
  commit();
  // A firing whose commit never came.
  store().insert(makeJob(2));
  store().saveCron(makeCron("every-second", 3'000));
  store().saveCron(makeCron("never-committed"));
  reopen();

  auto records = recovered();
  EXPECT_EQ(idsOf(records), (std::vector<JobId>{1}));
  auto crons = store().crons();
  ASSERT_TRUE(crons.isOk()) << crons.status().toString();
  ASSERT_EQ(crons->size(), 1u);
  expectSameCron((*crons)[0], makeCron("every-second", 2'000));
}

TEST_P(StoreConformanceTest, CountersAddUpByTaskAndName) {
  EXPECT_TRUE(store().counters()->empty());
  store().addCounter("echo", "succeeded", 3);
  store().addCounter("echo", "dead", 1);
  store().addCounter("resize", "succeeded", 7);
  commit();
  store().addCounter("echo", "succeeded", 2);  // adds to the total, does not replace it
  commit();
  auto totals = store().counters();
  ASSERT_TRUE(totals.isOk()) << totals.status().toString();
  EXPECT_EQ(*totals, (std::vector<CounterTotal>{
                         {"echo", "dead", 1}, {"echo", "succeeded", 5}, {"resize", "succeeded", 7}}));
}

TEST_P(StoreConformanceTest, CountersHoldTotalsBeyond32Bits) {
  store().addCounter("echo", "submitted", 5'000'000'000ULL);
  store().addCounter("echo", "submitted", 5'000'000'000ULL);
  commit();
  EXPECT_EQ(*store().counters(), (std::vector<CounterTotal>{{"echo", "submitted", 10'000'000'000ULL}}));
}

TEST_P(StoreConformanceTest, ReopenKeepsCountersOnlyAsCommitted) {
  SKIP_UNLESS_DURABLE();
  store().insert(makeJob(1));
  store().addCounter("task-1", "submitted", 1);
  commit();
  store().addCounter("task-1", "submitted", 1);
  store().addCounter("task-1", "succeeded", 1);
  commit();
  // Counted in a turn whose commit never came: gone with it, like its jobs.
  store().insert(makeJob(2));
  store().addCounter("task-1", "submitted", 1);
  store().addCounter("task-2", "submitted", 1);
  reopen();

  EXPECT_EQ(idsOf(recovered()), (std::vector<JobId>{1}));
  auto totals = store().counters();
  ASSERT_TRUE(totals.isOk()) << totals.status().toString();
  EXPECT_EQ(*totals, (std::vector<CounterTotal>{{"task-1", "submitted", 2}, {"task-1", "succeeded", 1}}));
}

TEST_P(StoreConformanceTest, ReopenKeepsTheHighestIdAfterEveryJobWasPurged) {
  SKIP_UNLESS_DURABLE();
  for (JobId id = 1; id <= 9; ++id) store().insert(makeJob(id));
  commit();
  for (JobId id = 1; id <= 9; ++id) store().markFinished(outcome(id, JobState::kSucceeded, 1, id));
  commit();
  ASSERT_EQ(*store().purgeFinished(finishedBefore(100)), 9u);
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

// ---- history ----

// The kinds of `history`'s events, oldest first, failing the test when it does not decode.
std::vector<std::string> kindsOf(const std::string& history) {
  auto events = history::decode(history);
  EXPECT_TRUE(events.isOk()) << events.status().toString();
  std::vector<std::string> kinds;
  if (events.isOk()) {
    for (const HistoryEvent& event : *events) kinds.emplace_back(toString(event.kind));
  }
  return kinds;
}

// A job as the broker inserts it: with its first event.
JobRecord submittedJob(JobId id) {
  JobRecord rec = makeJob(id);
  history::append(rec.history, {rec.submitted_ms, EventKind::kSubmitted, 0, {}, {}});
  return rec;
}

TEST_P(StoreConformanceTest, EveryChangeAppendsItsEventToTheHistoryInOrder) {
  store().insert(submittedJob(1));
  commit();
  store().markRunning(1, 1, "worker-a", 100);
  AttemptFailure failure{1, "worker-a", 100, 150, "handler_error", "boom"};
  store().recordFailure(1, failure);
  store().recordEvent(1, {150, EventKind::kFailed, 1, "worker-a", "handler_error"});
  store().markRetrying(1, 400, 1, "handler_error", "boom");
  store().recordEvent(1, {150, EventKind::kRetry, 1, {}, "400"});
  commit();
  store().markQueued(1);
  store().recordEvent(1, {400, EventKind::kQueued, 1, {}, "retry"});
  store().markRunning(1, 2, "worker-b", 410);
  store().markFinished(outcome(1, JobState::kSucceeded, 2, 420));
  commit();
  JobRecord got = found(1);
  EXPECT_EQ(kindsOf(got.history), (std::vector<std::string>{"submitted", "running", "failed", "retry", "queued",
                                                             "running", "succeeded"}));
  auto events = history::decode(got.history);
  ASSERT_TRUE(events.isOk());
  ASSERT_EQ(events->size(), 7u);
  EXPECT_EQ((*events)[0].time_ms, makeJob(1).submitted_ms);
  EXPECT_EQ((*events)[1].time_ms, 100u);
  EXPECT_EQ((*events)[1].attempt, 1u);
  EXPECT_EQ((*events)[1].worker, "worker-a");
  EXPECT_EQ((*events)[2].detail, "handler_error");
  EXPECT_EQ((*events)[3].detail, "400");
  EXPECT_EQ((*events)[5].worker, "worker-b");
  EXPECT_EQ((*events)[5].attempt, 2u);
  EXPECT_EQ((*events)[6].time_ms, 420u);
  EXPECT_EQ((*events)[6].attempt, 2u);
  // The failures list is still kept beside the history.
  ASSERT_EQ(got.failures.size(), 1u);
  EXPECT_EQ(got.failures[0].error_message, "boom");
}

TEST_P(StoreConformanceTest, AFinishedJobsHistoryEndsWithItsStateAndErrorCode) {
  for (JobId id = 1; id <= 3; ++id) store().insert(submittedJob(id));
  commit();
  store().markFinished(outcome(1, JobState::kDead, 0, 10));
  JobRecord cancelled = outcome(2, JobState::kCancelled, 0, 20);
  cancelled.error_code = "cancelled";
  store().markFinished(cancelled);
  commit();
  auto dead = history::decode(found(1).history);
  ASSERT_TRUE(dead.isOk());
  ASSERT_EQ(dead->size(), 2u);
  EXPECT_EQ(dead->back().kind, EventKind::kDead);
  EXPECT_EQ(dead->back().detail, "handler_error");
  EXPECT_EQ(dead->back().time_ms, 10u);
  EXPECT_EQ(kindsOf(found(2).history), (std::vector<std::string>{"submitted", "cancelled"}));
  EXPECT_EQ(kindsOf(found(3).history), (std::vector<std::string>{"submitted"}));
}

TEST_P(StoreConformanceTest, ARevivedJobKeepsItsHistoryAndGoesOn) {
  store().insert(submittedJob(1));
  commit();
  store().markFinished(outcome(1, JobState::kDead, 0, 10));
  commit();
  store().markRevived(1);
  store().recordEvent(1, {20, EventKind::kRevived, 0, {}, {}});
  commit();
  EXPECT_EQ(kindsOf(found(1).history), (std::vector<std::string>{"submitted", "dead", "revived"}));
}

TEST_P(StoreConformanceTest, EventsOfUnknownJobsCreateNothingAndDoNotFailTheStore) {
  store().recordEvent(42, {1, EventKind::kQueued, 0, {}, "due"});
  commit();
  EXPECT_FALSE(exists(42));
}

TEST_P(StoreConformanceTest, AHistoryIsCappedToItsFirstAndLastEvents) {
  store().insert(submittedJob(1));
  commit();
  // 10,000 attempts: the history stays at its cap, the first events and the last ones.
  for (std::uint32_t attempt = 1; attempt <= 10'000; ++attempt) {
    store().markRunning(1, attempt, "w", 1000 + attempt);
    store().recordEvent(1, {1000 + attempt, EventKind::kFailed, attempt, "w", "handler_error"});
    if (attempt % 500 == 0) commit();
  }
  commit();
  auto events = history::decode(found(1).history);
  ASSERT_TRUE(events.isOk());
  ASSERT_EQ(events->size(), history::kMaxEvents);
  EXPECT_EQ((*events)[0].kind, EventKind::kSubmitted);
  EXPECT_EQ((*events)[1].kind, EventKind::kRunning);
  EXPECT_EQ((*events)[1].attempt, 1u);
  EXPECT_EQ((*events)[history::kHead].kind, EventKind::kOmitted);
  // 1 + 20,000 events were recorded; 59 are kept, one of them the marker.
  EXPECT_EQ((*events)[history::kHead].detail, std::to_string(1 + 20'000 - (history::kMaxEvents - 1)));
  EXPECT_EQ(events->back().kind, EventKind::kFailed);
  EXPECT_EQ(events->back().attempt, 10'000u);
}

TEST_P(StoreConformanceTest, ReopenKeepsTheCommittedHistoryOnly) {
  SKIP_UNLESS_DURABLE();
  store().insert(submittedJob(1));
  store().markRunning(1, 1, "worker-a", 100);
  commit();
  store().recordEvent(1, {200, EventKind::kRequeued, 1, {}, "worker_lost"});  // never committed
  reopen();
  EXPECT_EQ(kindsOf(found(1).history), (std::vector<std::string>{"submitted", "running"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace
}  // namespace corvee
