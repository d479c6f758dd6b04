// MemoryStore: a complete journal kept in memory, live jobs included. Nothing survives the
// process. It is the reference for the journaling contract in tests (the conformance suite, and the
// broker tests that check what the broker journals). `--store memory` uses VolatileStore, which
// does not hold a second copy of every live job.
#pragma once

#include <map>
#include <set>

#include "platform/random.h"
#include "store/counter_book.h"
#include "store/cron_book.h"
#include "store/store.h"

namespace corvee {

class MemoryStore final : public Store {
 public:
  Result<JobId> recover(const std::function<void(JobRecord&&)>& visit) override;
  void insert(const JobRecord& job) override;
  void markRunning(JobId id, std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms) override;
  void markQueued(JobId id) override;
  void recordFailure(JobId id, const AttemptFailure& failure) override;
  void markRetrying(JobId id, std::uint64_t run_at_ms, std::uint32_t retried, std::string_view error_code,
                    std::string_view error_message) override;
  void markRevived(JobId id) override;
  void recordEvent(JobId id, const HistoryEvent& event) override;
  void setTaskSettings(std::string_view task, const TaskSettings& settings) override;
  void markFinished(const JobRecord& job) override;
  Status commit() override { return Status::ok(); }
  Result<std::optional<JobRecord>> find(JobId id) override;
  Result<std::string> loadPayload(JobId id) override;
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

 private:
  std::map<JobId, JobRecord> jobs_;  // ordered, so recover() visits in id order
  CronBook crons_;
  CounterBook counters_;  // every addition is committed at once here
  std::map<std::string, TaskSettings, std::less<>> settings_;  // every change is committed at once here
  JobId max_id_ = 0;
  std::uint64_t identity_ = randomNonZeroU64();  // nothing survives this object, so neither does its name
};

}  // namespace corvee
