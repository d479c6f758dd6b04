#include "store/volatile_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "platform/memory.h"

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

void VolatileStore::insert(const JobRecord& job) { max_id_ = std::max(max_id_, job.id); }

void VolatileStore::markRunning(JobId id, std::uint32_t, std::string_view worker, std::uint64_t started_ms) {
  LastRun& run = ran_[id];
  run.worker.assign(worker);
  run.started_ms = started_ms;
}

std::uint64_t VolatileStore::bytesOf(const JobRecord& job) {
  return kRecordOverhead + job.task.size() + job.worker.size() + job.result.size() + job.error_code.size() +
         job.error_message.size();
}

void VolatileStore::markFinished(const JobRecord& job) {
  auto [it, inserted] = finished_.try_emplace(job.id);
  JobRecord& stored = it->second;
  if (!inserted) finished_bytes_ -= bytesOf(stored);  // finished twice: the last record counts
  stored = job;
  std::string().swap(stored.payload);
  if (auto ran = ran_.find(job.id); ran != ran_.end()) {
    stored.worker = std::move(ran->second.worker);
    stored.started_ms = ran->second.started_ms;
    ran_.erase(ran);
  }
  finished_bytes_ += bytesOf(stored);
  finish_order_.emplace_back(job.finished_ms, job.id);
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
  while (!finish_order_.empty() && (finished_.size() > count_target || finished_bytes_ > bytes_target)) {
    freed += dropOldest();
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

std::uint64_t VolatileStore::dropOldest() {
  JobId id = finish_order_.front().second;
  finish_order_.pop_front();
  auto it = finished_.find(id);
  if (it == finished_.end()) return 0;  // purged already, or listed twice
  std::uint64_t bytes = bytesOf(it->second);
  finished_bytes_ -= bytes;
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
  if (it == finished_.end()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(it->second);
}

Result<std::uint64_t> VolatileStore::purgeFinished(std::uint64_t finished_before_ms) {
  // Finish times rise along finish_order_ unless the wall clock stepped back; then a few records
  // wait for the next purge, which is harmless.
  std::size_t count_before = finished_.size();
  std::uint64_t freed = 0;
  while (!finish_order_.empty() && finish_order_.front().first < finished_before_ms) freed += dropOldest();
  afterPurge(freed);
  return count_before - finished_.size();
}

}  // namespace corvee
