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
  void markFinished(const JobRecord& job) override { inner_.markFinished(job); }
  Status commit() override {
    if (full_) return Status::error(errc::kStoreFull, "the disk is full (test)");
    return inner_.commit();
  }
  bool full() const override { return full_; }
  Result<std::string> loadPayload(JobId id) override { return inner_.loadPayload(id); }
  Result<std::optional<JobRecord>> find(JobId id) override { return inner_.find(id); }
  Result<std::uint64_t> purgeFinished(std::uint64_t before_ms) override {
    if (full_) return std::uint64_t{0};
    return inner_.purgeFinished(before_ms);
  }
  std::uint64_t identity() const override { return inner_.identity(); }
  std::string describe() const override { return "full-switchable:" + inner_.describe(); }
  bool journalsLiveJobs() const override { return inner_.journalsLiveJobs(); }

 private:
  Store& inner_;
  bool full_ = false;
};

}  // namespace corvee::testing
