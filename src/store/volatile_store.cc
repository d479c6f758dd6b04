#include "store/volatile_store.h"

#include <algorithm>

namespace corvee {

Result<JobId> VolatileStore::recover(const std::function<void(JobRecord&&)>&) { return max_id_; }

void VolatileStore::insert(const JobRecord& job) { max_id_ = std::max(max_id_, job.id); }

void VolatileStore::markRunning(JobId id, std::uint32_t, std::string_view worker, std::uint64_t started_ms) {
  LastRun& run = ran_[id];
  run.worker.assign(worker);
  run.started_ms = started_ms;
}

void VolatileStore::markFinished(const JobRecord& job) {
  JobRecord& stored = finished_[job.id];
  stored = job;
  std::string().swap(stored.payload);
  if (auto it = ran_.find(job.id); it != ran_.end()) {
    stored.worker = std::move(it->second.worker);
    stored.started_ms = it->second.started_ms;
    ran_.erase(it);
  }
  finish_order_.emplace_back(job.finished_ms, job.id);
}

Result<std::string> VolatileStore::loadPayload(JobId id) {
  return Status::error("not_found", "the memory store keeps no payloads (job " + std::to_string(id) +
                                        "); the broker holds them itself");
}

Result<std::optional<JobRecord>> VolatileStore::find(JobId id) {
  auto it = finished_.find(id);
  if (it == finished_.end()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(it->second);
}

Result<std::uint64_t> VolatileStore::purgeFinished(std::uint64_t finished_before_ms) {
  // Finish times rise along finish_order_ unless the wall clock stepped back; then a few records
  // wait for the next purge, which is harmless.
  std::uint64_t purged = 0;
  while (!finish_order_.empty() && finish_order_.front().first < finished_before_ms) {
    purged += finished_.erase(finish_order_.front().second);
    finish_order_.pop_front();
  }
  return purged;
}

}  // namespace corvee
