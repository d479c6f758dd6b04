// VolatileStore: the store behind `corvee broker --store memory`. Nothing survives the process, so
// journaling live jobs would only hold a second copy of what the broker already keeps in memory
// (twice the RAM per queued job, for nothing). It keeps what the broker does not: finished jobs for
// the result retention, and the worker and start time of jobs that ran, which a finished record
// shows.
//
// Its contract differs from the journaling stores' on purpose: recover() never finds anything,
// find() knows finished jobs only, and loadPayload() has nothing to load, which journalsLiveJobs()
// announces so the broker keeps every payload itself. The full in-memory journal for tests is
// MemoryStore.
//
// Finished jobs are bounded by count and bytes (ResultLimits) as well as by the TTL, since they
// live in the broker's memory: past a bound the oldest are dropped, down to nine tenths of it, so
// that purges come in batches (one log line, and one trim of the heap when much was freed) rather
// than one per finished job.
#pragma once

#include <deque>
#include <unordered_map>

#include "platform/random.h"
#include "store/store.h"

namespace corvee {

class VolatileStore final : public Store {
 public:
  explicit VolatileStore(ResultLimits limits = {}) : limits_(limits) {}
  Result<JobId> recover(const std::function<void(JobRecord&&)>& visit) override;
  void insert(const JobRecord& job) override;
  void markRunning(JobId id, std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms) override;
  void markQueued(JobId) override {}
  void markFinished(const JobRecord& job) override;
  Status commit() override { return Status::ok(); }
  Result<std::string> loadPayload(JobId id) override;
  Result<std::optional<JobRecord>> find(JobId id) override;
  Result<std::uint64_t> purgeFinished(std::uint64_t finished_before_ms) override;
  std::uint64_t identity() const override { return identity_; }
  std::string describe() const override { return "memory"; }
  bool journalsLiveJobs() const override { return false; }

  // What a finished record counts against ResultLimits::max_bytes: its variable-length fields
  // plus the fixed cost of a record and its index entries.
  static std::uint64_t bytesOf(const JobRecord& job);
  // Finished jobs kept now, and their bytes as bytesOf() counts them.
  std::size_t finishedCount() const { return finished_.size(); }
  std::uint64_t finishedBytes() const { return finished_bytes_; }

 private:
  // After a job finished: drops the oldest finished jobs if a bound is exceeded.
  void enforceLimits();
  // Drops the job at the front of finish_order_; returns the bytes it freed.
  std::uint64_t dropOldest();
  // Hands memory back to the system after a purge that freed a lot.
  static void afterPurge(std::uint64_t freed_bytes);

  struct LastRun {
    std::string worker;
    std::uint64_t started_ms = 0;
  };
  std::unordered_map<JobId, LastRun> ran_;        // unfinished jobs that have started at least once
  std::unordered_map<JobId, JobRecord> finished_;  // without payloads
  // Finished ids in the order they finished, so a purge stops at the first one still kept.
  std::deque<std::pair<std::uint64_t, JobId>> finish_order_;
  std::uint64_t finished_bytes_ = 0;  // bytesOf() summed over finished_
  ResultLimits limits_;
  JobId max_id_ = 0;
  std::uint64_t identity_ = randomNonZeroU64();
};

}  // namespace corvee
