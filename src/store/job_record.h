// JobRecord: everything about a job that must survive a broker restart.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "corvee/job.h"

namespace corvee {

struct JobRecord {
  JobId id = 0;
  std::string task;
  std::string payload;
  std::int32_t priority = 0;
  JobState state = JobState::kQueued;
  std::uint32_t attempt = 0;  // attempts started so far; the current attempt's fencing token
  std::uint32_t timeout_ms = 0;         // global limit, 0 = none
  std::uint32_t run_timeout_ms = 0;     // per-attempt run limit, 0 = none
  std::uint32_t assign_timeout_ms = 0;  // limit on waiting in the queue, 0 = none
  std::uint64_t submitted_ms = 0;       // wall clock, Unix milliseconds
  std::uint64_t started_ms = 0;         // start of the current or last attempt
  std::uint64_t finished_ms = 0;
  std::string worker;         // name of the worker running or last running it
  std::string result;         // when succeeded
  std::string error_code;     // when dead or cancelled; when retrying, the last attempt's error
  std::string error_message;
  // Retry policy (SubmitOptions) and its use.
  std::uint32_t retries = 0;         // retries allowed after a failed attempt
  std::uint32_t retried = 0;         // retries used since submission or the last `dead retry`
  std::uint32_t backoff_ms = 1000;
  std::uint32_t backoff_max_ms = 3600 * 1000;
  std::uint64_t run_at_ms = 0;       // when retrying or scheduled: not dealt before this wall time
  // `submit --unique-key`: at most one job of the task holds it while live, and a succeeded one
  // for unique_for_ms after finished_ms (broker/unique_keys.h). Empty: none.
  std::string unique_key;
  std::uint32_t unique_for_ms = 0;
  std::string fair_key;              // fairness key (submit --fair-key); empty: none
  // Every failed attempt, oldest first. Written by Store::recordFailure(), returned by find() and
  // recover(); insert() and markFinished() ignore it.
  std::vector<AttemptFailure> failures;
  // Its history, encoded (store/job_history.h). insert() stores the record's own (its first
  // events); every later change appends its event; find() returns it. recover() and
  // listFinished() may leave it empty, and markFinished() ignores it.
  std::string history;
};

}  // namespace corvee
