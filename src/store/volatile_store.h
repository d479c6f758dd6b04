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
#pragma once

#include <deque>
#include <unordered_map>

#include "platform/random.h"
#include "store/store.h"

namespace corvee {

class VolatileStore final : public Store {
 public:
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

 private:
  struct LastRun {
    std::string worker;
    std::uint64_t started_ms = 0;
  };
  std::unordered_map<JobId, LastRun> ran_;        // unfinished jobs that have started at least once
  std::unordered_map<JobId, JobRecord> finished_;  // without payloads
  // Finished ids in the order they finished, so a purge stops at the first one still kept.
  std::deque<std::pair<std::uint64_t, JobId>> finish_order_;
  JobId max_id_ = 0;
  std::uint64_t identity_ = randomNonZeroU64();
};

}  // namespace corvee
