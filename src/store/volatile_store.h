// VolatileStore: the store behind `corvee broker --store memory`. Nothing survives the process, so
// journaling live jobs would only hold a second copy of what the broker already keeps in memory
// (twice the RAM per queued job, for nothing). It keeps what the broker does not: finished jobs for
// the result retention (dead ones with their payload, for `dead retry`), the worker, start time
// and failed attempts of jobs that ran, which a finished record shows, and every job's history.
//
// Its contract differs from the journaling stores' on purpose: recover() never finds anything,
// find() knows finished jobs, and of an unfinished one only its last worker, start and failures
// (a record with just those, its history and its id), and loadPayload() has nothing to load, which journalsLiveJobs()
// announces so the broker keeps every payload itself. markRetrying() and markQueued() change
// nothing it keeps, and markRevived() turns a dead record back into a live job, which it then
// forgets but for its last run and its failures. The full in-memory journal for tests is
// MemoryStore.
//
// Finished jobs of every state (succeeded, dead, cancelled) are bounded together by count and
// bytes (ResultLimits) as well as by their TTLs, since they live in the broker's memory: past a
// bound the oldest are dropped, down to nine tenths of it, so that purges come in batches (one log
// line, and one trim of the heap when much was freed) rather than one per finished job.
#pragma once

#include <array>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>

#include "platform/random.h"
#include "store/counter_book.h"
#include "store/cron_book.h"
#include "store/store.h"

namespace corvee {

class VolatileStore final : public Store {
 public:
  explicit VolatileStore(ResultLimits limits = {}) : limits_(limits) {}
  Result<JobId> recover(const std::function<void(JobRecord&&)>& visit) override;
  void insert(const JobRecord& job) override;
  void markRunning(JobId id, std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms) override;
  void markQueued(JobId) override {}
  void recordFailure(JobId id, const AttemptFailure& failure) override;
  void markRetrying(JobId, std::uint64_t, std::uint32_t, std::string_view, std::string_view) override {}
  void markRevived(JobId id) override;
  void recordEvent(JobId id, const HistoryEvent& event) override;
  void setTaskSettings(std::string_view task, const TaskSettings& settings) override;
  void markFinished(const JobRecord& job) override;
  Status commit() override { return Status::ok(); }
  Result<std::string> loadPayload(JobId id) override;
  Result<std::optional<JobRecord>> find(JobId id) override;
  Result<std::vector<JobRecord>> listFinished(const JobFilter& filter) override;
  Result<std::uint64_t> purgeFinished(const PurgeFilter& filter) override;
  Result<std::uint64_t> countFinished(JobState state) override;
  Result<std::uint64_t> trimFinished(JobState state, std::uint64_t keep) override;
  Result<std::vector<std::pair<std::string, TaskSettings>>> taskSettings() override;
  void addCounter(std::string_view task, std::string_view name, std::uint64_t delta) override {
    counters_.add(task, name, delta);
  }
  Result<std::vector<CounterTotal>> counters() override { return counters_.all(); }
  void saveCron(const CronRecord& cron) override { crons_.save(cron); }
  void removeCron(std::string_view name) override { crons_.remove(name); }
  Result<std::vector<CronRecord>> crons() override { return crons_.all(); }
  Result<std::vector<JobRecord>> uniqueKeysHeld(std::uint64_t now_ms) override;
  std::uint64_t identity() const override { return identity_; }
  std::string describe() const override { return "memory"; }
  bool journalsLiveJobs() const override { return false; }

  // What a finished record counts against ResultLimits::max_bytes: its variable-length fields
  // (a dead job's payload and failures included) plus the fixed cost of a record and its index
  // entries.
  static std::uint64_t bytesOf(const JobRecord& job);
  // Finished jobs kept now, and their bytes as bytesOf() counts them.
  std::size_t finishedCount() const { return finished_.size(); }
  std::uint64_t finishedBytes() const { return finished_bytes_; }

 private:
  // The finished states, each with its own finish order: 0 succeeded, 1 dead, 2 cancelled.
  static constexpr std::size_t kSlots = 3;
  static std::size_t slotOf(JobState state) {
    return static_cast<std::size_t>(state) - static_cast<std::size_t>(JobState::kSucceeded);
  }
  // After a job finished: drops the oldest finished jobs if a bound is exceeded.
  void enforceLimits();
  // Drops the job at the front of finish_order_[slot]; returns the bytes it freed (0 for an entry
  // whose record went already, or finished again since).
  std::uint64_t dropFront(std::size_t slot);
  // Takes the record `it` out of finished_ and its counts; returns the bytes it freed.
  std::uint64_t erase(std::unordered_map<JobId, JobRecord>::iterator it);
  // Hands memory back to the system after a purge that freed a lot.
  static void afterPurge(std::uint64_t freed_bytes);

  struct LastRun {
    std::string worker;
    std::uint64_t started_ms = 0;
    std::vector<AttemptFailure> failures;  // oldest first
    std::string history;                   // encoded (store/job_history.h)
  };
  // Unfinished jobs: their history, and their last run and failures once they have some.
  std::unordered_map<JobId, LastRun> ran_;
  std::unordered_map<JobId, JobRecord> finished_;  // payloads for dead jobs only
  // Per finished state, (finished_ms, id) in the order the jobs finished, so a purge or a trim stops
  // at the first one still kept. An entry whose record was purged by a filter, revived, or finished
  // again is stale and skipped when reached.
  std::array<std::deque<std::pair<std::uint64_t, JobId>>, kSlots> finish_order_;
  std::array<std::uint64_t, kSlots> finished_counts_{};  // records in finished_ per state
  std::uint64_t finished_bytes_ = 0;  // bytesOf() summed over finished_
  CronBook crons_;
  CounterBook counters_;  // every addition is committed at once here
  std::map<std::string, TaskSettings, std::less<>> settings_;
  ResultLimits limits_;
  JobId max_id_ = 0;
  std::uint64_t identity_ = randomNonZeroU64();
};

}  // namespace corvee
