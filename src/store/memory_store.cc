#include "store/memory_store.h"

#include <algorithm>

namespace corvee {

Result<JobId> MemoryStore::recover(const std::function<void(JobRecord&&)>& visit) {
  for (const auto& [id, job] : jobs_) {
    if (!isFinished(job.state)) visit(JobRecord(job));
  }
  return max_id_;
}

void MemoryStore::insert(const JobRecord& job) {
  jobs_[job.id] = job;
  max_id_ = std::max(max_id_, job.id);
}

void MemoryStore::markRunning(JobId id, std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  it->second.state = JobState::kRunning;
  it->second.attempt = attempt;
  it->second.worker = std::string(worker);
  it->second.started_ms = started_ms;
}

void MemoryStore::markQueued(JobId id) {
  auto it = jobs_.find(id);
  if (it != jobs_.end()) it->second.state = JobState::kQueued;
}

void MemoryStore::markFinished(const JobRecord& job) {
  auto it = jobs_.find(job.id);
  if (it == jobs_.end()) return;
  JobRecord& stored = it->second;
  stored.state = job.state;
  stored.attempt = job.attempt;
  stored.finished_ms = job.finished_ms;
  stored.result = job.result;
  stored.error_code = job.error_code;
  stored.error_message = job.error_message;
  // A finished job's payload is never needed again; dropping it bounds retention memory.
  std::string().swap(stored.payload);
}

Result<std::string> MemoryStore::loadPayload(JobId id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || isFinished(it->second.state)) {
    return Status::error("not_found", "no unfinished job " + std::to_string(id));
  }
  return it->second.payload;
}

Result<std::optional<JobRecord>> MemoryStore::find(JobId id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(it->second);
}

Result<std::uint64_t> MemoryStore::purgeFinished(std::uint64_t finished_before_ms) {
  std::uint64_t purged = 0;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (isFinished(it->second.state) && it->second.finished_ms < finished_before_ms) {
      it = jobs_.erase(it);
      ++purged;
    } else {
      ++it;
    }
  }
  return purged;
}

}  // namespace corvee
