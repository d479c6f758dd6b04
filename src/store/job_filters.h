// What a JobFilter (listFinished) or a PurgeFilter (purgeFinished) selects among finished records,
// for the stores that keep their records in memory. The SQLite store says the same in SQL.
#pragma once

#include <algorithm>

#include "store/store.h"

namespace corvee {

// True when `job` is finished and passes the filter's task, state and before_id (not its limit).
inline bool listedBy(const JobFilter& filter, const JobRecord& job) {
  if (!isFinished(job.state)) return false;
  if (filter.state && job.state != *filter.state) return false;
  if (!filter.task.empty() && job.task != filter.task) return false;
  return filter.before_id == 0 || job.id < filter.before_id;
}

// True when `job` is finished and every condition of `filter` holds.
inline bool purgedBy(const PurgeFilter& filter, const JobRecord& job) {
  if (!isFinished(job.state)) return false;
  if (!filter.states.empty() && std::find(filter.states.begin(), filter.states.end(), job.state) == filter.states.end()) {
    return false;
  }
  if (!filter.task.empty() && job.task != filter.task) return false;
  return filter.finished_before_ms == 0 || job.finished_ms < filter.finished_before_ms;
}

// The record as listFinished() returns it: without payload, result or failures.
inline JobRecord listedCopy(const JobRecord& job) {
  JobRecord copy;
  copy.id = job.id;
  copy.task = job.task;
  copy.priority = job.priority;
  copy.state = job.state;
  copy.attempt = job.attempt;
  copy.timeout_ms = job.timeout_ms;
  copy.run_timeout_ms = job.run_timeout_ms;
  copy.assign_timeout_ms = job.assign_timeout_ms;
  copy.submitted_ms = job.submitted_ms;
  copy.started_ms = job.started_ms;
  copy.finished_ms = job.finished_ms;
  copy.worker = job.worker;
  copy.error_code = job.error_code;
  copy.error_message = job.error_message;
  copy.retries = job.retries;
  copy.retried = job.retried;
  copy.backoff_ms = job.backoff_ms;
  copy.backoff_max_ms = job.backoff_max_ms;
  copy.run_at_ms = job.run_at_ms;
  copy.unique_key = job.unique_key;
  copy.unique_for_ms = job.unique_for_ms;
  return copy;
}

// True when `job` succeeded and its unique key's window is still open at `now_ms` (uniqueKeysHeld).
inline bool holdsUniqueKeyAt(const JobRecord& job, std::uint64_t now_ms) {
  return job.state == JobState::kSucceeded && !job.unique_key.empty() && job.unique_for_ms > 0 &&
         job.finished_ms + job.unique_for_ms > now_ms;
}

}  // namespace corvee
