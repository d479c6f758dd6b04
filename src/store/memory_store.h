// MemoryStore: a complete journal kept in memory, live jobs included. Nothing survives the
// process. It is the reference for the journaling contract in tests (the conformance suite, and the
// broker tests that check what the broker journals). `--store memory` uses VolatileStore, which
// does not hold a second copy of every live job.
#pragma once

#include <map>

#include "platform/random.h"
#include "store/store.h"

namespace corvee {

class MemoryStore final : public Store {
 public:
  Result<JobId> recover(const std::function<void(JobRecord&&)>& visit) override;
  void insert(const JobRecord& job) override;
  void markRunning(JobId id, std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms) override;
  void markQueued(JobId id) override;
  void markFinished(const JobRecord& job) override;
  Status commit() override { return Status::ok(); }
  Result<std::optional<JobRecord>> find(JobId id) override;
  Result<std::string> loadPayload(JobId id) override;
  Result<std::uint64_t> purgeFinished(std::uint64_t finished_before_ms) override;
  std::uint64_t identity() const override { return identity_; }
  std::string describe() const override { return "memory"; }

 private:
  std::map<JobId, JobRecord> jobs_;  // ordered, so recover() visits in id order
  JobId max_id_ = 0;
  std::uint64_t identity_ = randomNonZeroU64();  // nothing survives this object, so neither does its name
};

}  // namespace corvee
