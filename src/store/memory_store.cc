#include "store/memory_store.h"

#include <algorithm>

#include "store/job_filters.h"

namespace corvee {

Result<JobId> MemoryStore::recover(const std::function<void(JobRecord&&)>& visit) {
  for (const auto& [id, job] : jobs_) {
    if (!isFinished(job.state)) visit(JobRecord(job));
  }
  return max_id_;
}

void MemoryStore::insert(const JobRecord& job) {
  JobRecord& stored = jobs_[job.id] = job;
  stored.failures.clear();  // recordFailure() alone writes them
  if (!stored.history.empty()) stored.history = history::storedPart(stored.history);
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

void MemoryStore::recordEvent(JobId id, const HistoryEvent& event) {
  auto it = jobs_.find(id);
  if (it != jobs_.end()) history::addEvent(it->second.history, it->second, history::encodeEvent(event));
}

void MemoryStore::markQueued(JobId id) {
  auto it = jobs_.find(id);
  if (it != jobs_.end()) it->second.state = JobState::kQueued;
}

void MemoryStore::recordFailure(JobId id, const AttemptFailure& failure) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  std::vector<AttemptFailure>& failures = it->second.failures;
  // Kept in attempt order, one per attempt, as the SQLite store's primary key keeps them.
  auto at = std::lower_bound(failures.begin(), failures.end(), failure.attempt,
                             [](const AttemptFailure& f, std::uint32_t attempt) { return f.attempt < attempt; });
  if (at != failures.end() && at->attempt == failure.attempt) {
    *at = failure;
  } else {
    failures.insert(at, failure);
  }
}

void MemoryStore::markRetrying(JobId id, std::uint64_t run_at_ms, std::uint32_t retried, std::string_view error_code,
                               std::string_view error_message) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  JobRecord& job = it->second;
  job.state = JobState::kRetrying;
  job.run_at_ms = run_at_ms;
  job.retried = retried;
  job.error_code = std::string(error_code);
  job.error_message = std::string(error_message);
}

void MemoryStore::markRevived(JobId id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.state != JobState::kDead) return;
  JobRecord& job = it->second;
  history::settleFinished(job.history, job);
  job.state = JobState::kQueued;
  job.retried = 0;
  job.run_at_ms = 0;
  job.finished_ms = 0;
  job.error_code.clear();
  job.error_message.clear();
  job.result.clear();
}

void MemoryStore::setTaskSettings(std::string_view task, const TaskSettings& settings) {
  if (settings.isDefault()) {
    if (auto it = settings_.find(task); it != settings_.end()) settings_.erase(it);
  } else {
    settings_.insert_or_assign(std::string(task), settings);
  }
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
  // Only a dead job may run again (markRevived); any other finished job's payload is never needed
  // again, and dropping it bounds retention memory.
  if (job.state != JobState::kDead) std::string().swap(stored.payload);
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
  JobRecord found = it->second;
  found.history = history::complete(found);
  return std::optional<JobRecord>(std::move(found));
}

Result<std::vector<JobRecord>> MemoryStore::listFinished(const JobFilter& filter) {
  std::vector<JobRecord> listed;
  auto end = filter.before_id == 0 ? jobs_.end() : jobs_.lower_bound(filter.before_id);
  for (auto it = std::make_reverse_iterator(end); it != jobs_.rend() && listed.size() < filter.limit; ++it) {
    if (listedBy(filter, it->second)) listed.push_back(listedCopy(it->second));
  }
  return listed;
}

Result<std::uint64_t> MemoryStore::purgeFinished(const PurgeFilter& filter) {
  return static_cast<std::uint64_t>(std::erase_if(jobs_, [&](const auto& entry) { return purgedBy(filter, entry.second); }));
}

Result<std::uint64_t> MemoryStore::countFinished(JobState state) {
  if (!isFinished(state)) return std::uint64_t{0};
  return static_cast<std::uint64_t>(
      std::count_if(jobs_.begin(), jobs_.end(), [&](const auto& entry) { return entry.second.state == state; }));
}

Result<std::uint64_t> MemoryStore::trimFinished(JobState state, std::uint64_t keep) {
  if (!isFinished(state)) return std::uint64_t{0};
  // Finish order, ties broken by id, as the SQLite store's (state, finished_ms) index orders them.
  std::vector<std::pair<std::uint64_t, JobId>> order;
  for (const auto& [id, job] : jobs_) {
    if (job.state == state) order.emplace_back(job.finished_ms, id);
  }
  if (order.size() <= keep) return std::uint64_t{0};
  std::sort(order.begin(), order.end());
  std::uint64_t drop = order.size() - keep;
  for (std::uint64_t i = 0; i < drop; ++i) jobs_.erase(order[i].second);
  return drop;
}

Result<std::vector<JobRecord>> MemoryStore::uniqueKeysHeld(std::uint64_t now_ms) {
  std::vector<JobRecord> held;
  for (const auto& [id, job] : jobs_) {
    if (holdsUniqueKeyAt(job, now_ms)) held.push_back(listedCopy(job));
  }
  return held;
}

Result<std::vector<std::pair<std::string, TaskSettings>>> MemoryStore::taskSettings() {
  return std::vector<std::pair<std::string, TaskSettings>>(settings_.begin(), settings_.end());
}

}  // namespace corvee
