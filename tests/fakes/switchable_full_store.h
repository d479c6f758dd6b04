// SwitchableFullStore: a Store that forwards to another one, and can be told that its disk is full.
// While full, commit() fails with store_full and keeps nothing back from the inner store (which is
// in memory anyway); the broker's reaction to a full disk is what the tests look at.
#pragma once

#include "corvee/errors.h"
#include "store/store.h"

namespace corvee::testing {

class SwitchableFullStore final : public Store {
 public:
  explicit SwitchableFullStore(Store& inner) : inner_(inner) {}
  void setFull(bool full) { full_ = full; }

  Result<JobId> recover(const std::function<void(JobRecord&&)>& visit) override { return inner_.recover(visit); }
  void insert(const JobRecord& job) override { inner_.insert(job); }
  void markRunning(JobId id, std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms) override {
    inner_.markRunning(id, attempt, worker, started_ms);
  }
  void markQueued(JobId id) override { inner_.markQueued(id); }
  void recordFailure(JobId id, const AttemptFailure& failure) override { inner_.recordFailure(id, failure); }
  void markRetrying(JobId id, std::uint64_t run_at_ms, std::uint32_t retried, std::string_view error_code,
                    std::string_view error_message) override {
    inner_.markRetrying(id, run_at_ms, retried, error_code, error_message);
  }
  void markRevived(JobId id) override { inner_.markRevived(id); }
  void recordEvent(JobId id, const HistoryEvent& event) override { inner_.recordEvent(id, event); }
  void setTaskSettings(std::string_view task, const TaskSettings& settings) override {
    inner_.setTaskSettings(task, settings);
  }
  void markFinished(const JobRecord& job) override { inner_.markFinished(job); }
  Status commit() override {
    if (full_) return Status::error(errc::kStoreFull, "the disk is full (test)");
    return inner_.commit();
  }
  bool full() const override { return full_; }
  Result<std::string> loadPayload(JobId id) override { return inner_.loadPayload(id); }
  Result<std::optional<JobRecord>> find(JobId id) override { return inner_.find(id); }
  Result<std::vector<JobRecord>> listFinished(const JobFilter& filter) override { return inner_.listFinished(filter); }
  // Deletions are writes too: while full they delete nothing, as Store says.
  Result<std::uint64_t> purgeFinished(const PurgeFilter& filter) override {
    if (full_) return std::uint64_t{0};
    return inner_.purgeFinished(filter);
  }
  Result<std::uint64_t> countFinished(JobState state) override { return inner_.countFinished(state); }
  Result<std::uint64_t> trimFinished(JobState state, std::uint64_t keep) override {
    if (full_) return std::uint64_t{0};
    return inner_.trimFinished(state, keep);
  }
  Result<std::vector<std::pair<std::string, TaskSettings>>> taskSettings() override { return inner_.taskSettings(); }
  void saveCron(const CronRecord& cron) override { inner_.saveCron(cron); }
  void removeCron(std::string_view name) override { inner_.removeCron(name); }
  Result<std::vector<CronRecord>> crons() override { return inner_.crons(); }
  void addCounter(std::string_view task, std::string_view name, std::uint64_t delta) override {
    inner_.addCounter(task, name, delta);
  }
  Result<std::vector<CounterTotal>> counters() override { return inner_.counters(); }
  Result<std::vector<JobRecord>> uniqueKeysHeld(std::uint64_t now_ms) override { return inner_.uniqueKeysHeld(now_ms); }
  std::uint64_t identity() const override { return inner_.identity(); }
  std::string describe() const override { return "full-switchable:" + inner_.describe(); }
  bool journalsLiveJobs() const override { return inner_.journalsLiveJobs(); }

 private:
  Store& inner_;
  bool full_ = false;
};

}  // namespace corvee::testing
