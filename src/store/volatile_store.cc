#include "store/volatile_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <limits>

#include "platform/memory.h"
#include "store/job_filters.h"

namespace corvee {

namespace {

// A purge that freed more than this hands memory back to the system: below it, the allocator
// reuses what was freed for the next results, and trimming (a walk over the heap) costs more than
// it returns.
constexpr std::uint64_t kTrimThreshold = 16 * 1024 * 1024;

// The fixed cost of a finished record besides its strings' bytes: the record, its hash-table node
// and bucket, and its finish_order_ entry.
constexpr std::uint64_t kRecordOverhead = sizeof(JobRecord) + 64;

// Nine tenths of a bound: where a purge stops, so the next one waits for a tenth of it to fill.
std::uint64_t lowWater(std::uint64_t bound) { return bound - bound / 10; }

}  // namespace

Result<JobId> VolatileStore::recover(const std::function<void(JobRecord&&)>&) { return max_id_; }

void VolatileStore::insert(const JobRecord& job) {
  max_id_ = std::max(max_id_, job.id);
  // This store keeps a job's whole history, as the broker reads it (the other stores derive the
  // ordinary events from their records, which this one does not keep for a live job).
  std::string& history = ran_[job.id].history;
  history = job.history;
  auto events = history::decode(job.history);
  if (events && (events->empty() || events->front().kind != EventKind::kSubmitted)) {
    history.clear();
    history::append(history, {job.submitted_ms, EventKind::kSubmitted, 0, {}, {}});
    for (const HistoryEvent& event : *events) history::append(history, event);
  }
}

void VolatileStore::markRunning(JobId id, std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms) {
  LastRun& run = ran_[id];
  run.worker.assign(worker);
  run.started_ms = started_ms;
  history::append(run.history, history::runningEvent(attempt, worker, started_ms));
}

void VolatileStore::recordEvent(JobId id, const HistoryEvent& event) {
  // Only a live job's: a finished one's history ended with its finishing event.
  if (auto it = ran_.find(id); it != ran_.end()) history::append(it->second.history, event);
}

void VolatileStore::recordFailure(JobId id, const AttemptFailure& failure) {
  // The job is live (a failure ends an attempt before the job finishes); its record comes later.
  std::vector<AttemptFailure>& failures = ran_[id].failures;
  if (!failures.empty() && failures.back().attempt == failure.attempt) {
    failures.back() = failure;
  } else {
    failures.push_back(failure);
  }
}

void VolatileStore::markRevived(JobId id) {
  auto it = finished_.find(id);
  if (it == finished_.end() || it->second.state != JobState::kDead) return;
  // Live again, so no longer kept; what the next finished record needs from this one is. The
  // record leaves the counts whole, before its fields move out.
  auto node = finished_.extract(it);
  JobRecord& record = node.mapped();
  finished_bytes_ -= bytesOf(record);
  --finished_counts_[slotOf(record.state)];
  LastRun& run = ran_[id];
  run.worker = std::move(record.worker);
  run.started_ms = record.started_ms;
  run.failures = std::move(record.failures);
  run.history = std::move(record.history);
}

void VolatileStore::setTaskSettings(std::string_view task, const TaskSettings& settings) {
  if (settings.isDefault()) {
    if (auto it = settings_.find(task); it != settings_.end()) settings_.erase(it);
  } else {
    settings_.insert_or_assign(std::string(task), settings);
  }
}

std::uint64_t VolatileStore::bytesOf(const JobRecord& job) {
  std::uint64_t bytes = kRecordOverhead + job.task.size() + job.payload.size() + job.worker.size() +
                        job.result.size() + job.error_code.size() + job.error_message.size() + job.history.size();
  for (const AttemptFailure& failure : job.failures) {
    bytes += sizeof(AttemptFailure) + failure.worker.size() + failure.error_code.size() + failure.error_message.size();
  }
  return bytes;
}

void VolatileStore::markFinished(const JobRecord& job) {
  if (!isFinished(job.state)) return;  // not an outcome: nothing to keep
  auto [it, inserted] = finished_.try_emplace(job.id);
  JobRecord& stored = it->second;
  if (!inserted) {  // finished twice: the last record counts
    finished_bytes_ -= bytesOf(stored);
    --finished_counts_[slotOf(stored.state)];
  }
  stored = job;
  stored.failures.clear();  // recordFailure() alone writes them
  // A dead job may run again (`dead retry`), and the broker holds no other copy of its payload.
  if (job.state != JobState::kDead) std::string().swap(stored.payload);
  if (auto ran = ran_.find(job.id); ran != ran_.end()) {
    // An entry that recordFailure() alone made holds failures but no run to show.
    if (!ran->second.worker.empty() || ran->second.started_ms != 0) {
      stored.worker = std::move(ran->second.worker);
      stored.started_ms = ran->second.started_ms;
    }
    stored.failures = std::move(ran->second.failures);
    stored.history = std::move(ran->second.history);
    ran_.erase(ran);
  } else {
    stored.history.clear();
  }
  history::append(stored.history, history::finishedEvent(job));
  finished_bytes_ += bytesOf(stored);
  ++finished_counts_[slotOf(stored.state)];
  finish_order_[slotOf(stored.state)].emplace_back(stored.finished_ms, stored.id);
  enforceLimits();
}

void VolatileStore::enforceLimits() {
  bool over_count = limits_.max_count > 0 && finished_.size() > limits_.max_count;
  bool over_bytes = limits_.max_bytes > 0 && finished_bytes_ > limits_.max_bytes;
  if (!over_count && !over_bytes) return;
  constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t count_target = over_count ? lowWater(limits_.max_count) : kNone;
  std::uint64_t bytes_target = over_bytes ? lowWater(limits_.max_bytes) : kNone;
  std::uint64_t freed = 0;
  std::size_t count_before = finished_.size();
  while (finished_.size() > count_target || finished_bytes_ > bytes_target) {
    // The job that finished first, whatever its state: the bounds hold for all of them together.
    std::size_t oldest = kSlots;
    for (std::size_t slot = 0; slot < kSlots; ++slot) {
      if (finish_order_[slot].empty()) continue;
      if (oldest == kSlots || finish_order_[slot].front().first < finish_order_[oldest].front().first) oldest = slot;
    }
    if (oldest == kSlots) break;
    freed += dropFront(oldest);
  }
  std::size_t dropped = count_before - finished_.size();
  std::string why;
  if (over_count) why = "more than " + std::to_string(limits_.max_count) + " kept (--result-max)";
  if (over_bytes) {
    why += (why.empty() ? "" : " and ");
    why += "more than " + std::to_string(limits_.max_bytes) + " bytes kept (--result-max-bytes)";
  }
  spdlog::info("memory store: dropped the {} oldest finished jobs ({} bytes): {}", dropped, freed, why);
  afterPurge(freed);
}

std::uint64_t VolatileStore::dropFront(std::size_t slot) {
  auto [finished_ms, id] = finish_order_[slot].front();
  finish_order_[slot].pop_front();
  auto it = finished_.find(id);
  if (it == finished_.end()) return 0;  // purged already, or revived
  // Revived and finished again since: its current entry is a later one.
  if (slotOf(it->second.state) != slot || it->second.finished_ms != finished_ms) return 0;
  return erase(it);
}

std::uint64_t VolatileStore::erase(std::unordered_map<JobId, JobRecord>::iterator it) {
  std::uint64_t bytes = bytesOf(it->second);
  finished_bytes_ -= bytes;
  --finished_counts_[slotOf(it->second.state)];
  finished_.erase(it);
  return bytes;
}

void VolatileStore::afterPurge(std::uint64_t freed_bytes) {
  if (freed_bytes > kTrimThreshold) releaseFreeMemory();
}

Result<std::string> VolatileStore::loadPayload(JobId id) {
  return Status::error("not_found", "the memory store keeps no payloads (job " + std::to_string(id) +
                                        "); the broker holds them itself");
}

Result<std::optional<JobRecord>> VolatileStore::find(JobId id) {
  auto it = finished_.find(id);
  if (it != finished_.end()) return std::optional<JobRecord>(it->second);
  // An unfinished job: only what this store keeps of it, so the broker can show its history.
  auto ran = ran_.find(id);
  if (ran == ran_.end()) return std::optional<JobRecord>();
  JobRecord partial;
  partial.id = id;
  partial.worker = ran->second.worker;
  partial.started_ms = ran->second.started_ms;
  partial.failures = ran->second.failures;
  partial.history = ran->second.history;
  return std::optional<JobRecord>(std::move(partial));
}

Result<std::vector<JobRecord>> VolatileStore::listFinished(const JobFilter& filter) {
  // finished_ has no order: take the matches, then the newest `limit` of them.
  std::vector<const JobRecord*> matches;
  for (const auto& [id, job] : finished_) {
    if (listedBy(filter, job)) matches.push_back(&job);
  }
  std::size_t count = std::min<std::size_t>(matches.size(), filter.limit);
  auto newer = [](const JobRecord* a, const JobRecord* b) { return a->id > b->id; };
  std::partial_sort(matches.begin(), matches.begin() + static_cast<std::ptrdiff_t>(count), matches.end(), newer);
  std::vector<JobRecord> listed;
  listed.reserve(count);
  for (std::size_t i = 0; i < count; ++i) listed.push_back(listedCopy(*matches[i]));
  return listed;
}

Result<std::uint64_t> VolatileStore::purgeFinished(const PurgeFilter& filter) {
  std::size_t count_before = finished_.size();
  std::uint64_t freed = 0;
  if (filter.task.empty()) {
    // The retention purge: the front of each state's finish order. Finish times rise along it
    // unless the wall clock stepped back; then a few records wait for the next purge, which is
    // harmless.
    for (std::size_t slot = 0; slot < kSlots; ++slot) {
      JobState state = static_cast<JobState>(slot + static_cast<std::size_t>(JobState::kSucceeded));
      if (!filter.states.empty() && std::find(filter.states.begin(), filter.states.end(), state) == filter.states.end()) {
        continue;
      }
      auto& order = finish_order_[slot];
      while (!order.empty() && (filter.finished_before_ms == 0 || order.front().first < filter.finished_before_ms)) {
        freed += dropFront(slot);
      }
    }
  } else {
    // By task, an operator's request: a scan. The entries it leaves in finish_order_ are stale.
    for (auto it = finished_.begin(); it != finished_.end();) {
      auto next = std::next(it);
      if (purgedBy(filter, it->second)) freed += erase(it);
      it = next;
    }
  }
  afterPurge(freed);
  return static_cast<std::uint64_t>(count_before - finished_.size());
}

Result<std::uint64_t> VolatileStore::countFinished(JobState state) {
  if (!isFinished(state)) return std::uint64_t{0};
  return finished_counts_[slotOf(state)];
}

Result<std::uint64_t> VolatileStore::trimFinished(JobState state, std::uint64_t keep) {
  if (!isFinished(state)) return std::uint64_t{0};
  std::size_t slot = slotOf(state);
  std::uint64_t count_before = finished_counts_[slot];
  std::uint64_t freed = 0;
  while (finished_counts_[slot] > keep && !finish_order_[slot].empty()) freed += dropFront(slot);
  afterPurge(freed);
  return count_before - finished_counts_[slot];
}

Result<std::vector<JobRecord>> VolatileStore::uniqueKeysHeld(std::uint64_t now_ms) {
  // Only ever asked at a start, when this store is new and empty; a scan is plenty.
  std::vector<JobRecord> held;
  for (const auto& [id, job] : finished_) {
    if (holdsUniqueKeyAt(job, now_ms)) held.push_back(listedCopy(job));
  }
  std::sort(held.begin(), held.end(), [](const JobRecord& a, const JobRecord& b) { return a.id < b.id; });
  return held;
}

Result<std::vector<std::pair<std::string, TaskSettings>>> VolatileStore::taskSettings() {
  return std::vector<std::pair<std::string, TaskSettings>>(settings_.begin(), settings_.end());
}

}  // namespace corvee
