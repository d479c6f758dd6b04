// Value types that describe a job as clients and workers see it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corvee {

// A job's id: unique within a broker's store, never reused. Printed as a decimal number.
using JobId = std::uint64_t;

// Wire values are fixed by docs/protocol.md ("Job states").
enum class JobState : std::uint8_t {
  kQueued = 1,
  kRunning = 2,
  kSucceeded = 3,
  // Failed for good: its last attempt failed, or a time limit or the worker-loss limit ended it.
  // Kept with its payload and every attempt's error for `dead retry` (protocol version 1 called
  // this state "failed").
  kDead = 4,
  kCancelled = 5,  // ended by a cancel request or a purge
  kRetrying = 6,   // an attempt failed; waits until run_at_ms for the next one
  kScheduled = 7,  // submitted with a delay or a time: waits until run_at_ms for its first attempt
};

// "queued", "running", "succeeded", "dead", "cancelled", "retrying", "scheduled"; "unknown" otherwise.
std::string_view toString(JobState state);
// The state named `name` (as toString() spells it); nullopt for an unknown name.
std::optional<JobState> jobStateFromString(std::string_view name);
inline bool isFinished(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kDead || state == JobState::kCancelled;
}

// How a job is to be run. Zero durations mean "no limit".
struct SubmitOptions {
  std::int32_t priority = 0;                  // higher runs first; FIFO within a priority
  std::chrono::milliseconds timeout{0};       // global: submission to result
  std::chrono::milliseconds run_timeout{0};   // from start on a worker
  std::chrono::milliseconds assign_timeout{0};  // waiting to be dealt to a worker
  // Attempts after a failed one (handler error or run timeout). The n-th retry waits a random
  // time between backoff * 2^(n-2) and backoff * 2^(n-1) (0 and backoff for the first), capped at
  // backoff_max: exponential backoff with full jitter inside each doubling, so gaps never shrink.
  std::uint32_t retries = 0;
  std::chrono::milliseconds backoff{1000};
  std::chrono::milliseconds backoff_max{3600 * 1000};
  // Refuse the job with `no_worker` when no connected worker serves its task (else it is queued,
  // and the submission only reports that none serves it).
  bool require_worker = false;
  // Run no earlier than `delay` after the broker accepts the job, or than `run_at` (which wins
  // when set). Meanwhile the job is `scheduled`; its time limits count from the moment it is due.
  std::chrono::milliseconds delay{0};
  std::chrono::system_clock::time_point run_at{};
  // A unique job: while a job of this task with this key is scheduled, queued, retrying or
  // running, submitting it again makes no second job; the handle gets the existing job's id and
  // says so (JobHandle::duplicate()). After that job succeeds, the key stays held for
  // `unique_for` (0: freed at once); a dead or cancelled job frees it at once. 1 to 255 bytes of
  // UTF-8; empty: not unique. Keys belong to the task: one key under two tasks is two keys.
  std::string unique_key{};
  std::chrono::milliseconds unique_for{0};
  // Fairness key (a tenant id, say; at most 255 bytes of UTF-8). Within a task and a priority the
  // broker deals round robin across the keys with jobs waiting, so one key's flood does not hold
  // up the others; the broker's --fair-weight and --key-concurrency weigh and cap keys. Empty:
  // none (such jobs share one turn of their own).
  std::string fair_key{};
};

// One failed attempt of a job, as its record keeps it.
struct AttemptFailure {
  std::uint32_t attempt = 0;
  std::string worker;
  std::uint64_t started_ms = 0;  // Unix epoch milliseconds
  std::uint64_t ended_ms = 0;
  std::string error_code;
  std::string error_message;
};

// The end of a job: a result, or an error code and message.
struct JobOutcome {
  JobId id = 0;
  JobState state = JobState::kQueued;  // kSucceeded, kDead or kCancelled once finished
  std::uint32_t attempt = 0;           // the attempt that finished it
  std::string result;                  // the handler's output when succeeded
  std::string error_code;              // a protocol error code when failed
  std::string error_message;
  bool succeeded() const { return state == JobState::kSucceeded; }
};

// A job's full record, as returned by a status query.
struct JobInfo {
  JobId id = 0;
  std::string task;
  JobState state = JobState::kQueued;
  std::int32_t priority = 0;
  std::uint32_t attempt = 0;
  std::uint64_t submitted_ms = 0;  // Unix epoch milliseconds; 0 when it has not happened
  std::uint64_t started_ms = 0;
  std::uint64_t finished_ms = 0;
  std::string worker;  // the worker running or last running it
  std::string result;
  std::string error_code;
  std::string error_message;
  std::uint32_t retries = 0;      // as submitted
  std::uint32_t retried = 0;      // retries used since it was submitted or last brought back
  std::uint64_t run_at_ms = 0;    // when retrying or scheduled: the time of its next attempt
  std::string unique_key;         // as submitted; empty: none
  std::uint64_t unique_for_ms = 0;  // how long the key stays held after the job succeeds
  std::string payload;            // only when asked for (Client::status(id, true))
  std::vector<AttemptFailure> failures;  // every failed attempt, oldest first
  std::string fair_key;           // its fairness key; empty for none
};

// One event of a job's history (Client::explain, `corvee explain`).
struct JobEvent {
  std::uint64_t time_ms = 0;  // Unix epoch milliseconds
  // What happened: submitted, scheduled, queued, requeued, running, failed, retry, expired,
  // succeeded, dead, cancelled, revived, or omitted (docs/concepts.md, "History and explain").
  std::string kind;
  std::uint32_t attempt = 0;  // the job's attempt number then; 0 before its first
  std::string worker;         // the worker concerned; empty when none
  // An error code (failed, dead, cancelled, expired), a time in Unix ms (scheduled, retry), why it
  // was queued (queued: due or retry; requeued: worker_lost or broker_restart), or how many events
  // the history's cap left out (omitted).
  std::string detail;
};

// What the broker says of a job when asked why: its record, why it waits, and its history.
struct JobExplanation {
  JobInfo job;               // as status() returns it, without payload
  // Why it is not running: no_worker, paused, rate_limited, slots_busy, priority_range_full,
  // key_capped, draining, delayed, retry_backoff, stopping, prefetched or dealing; empty for a
  // running or finished job, whose state says it.
  std::string reason_code;
  std::string reason;        // the same as one sentence for people
  // Oldest first; the first 8 and the last 50, with one `omitted` event between for a longer one.
  std::vector<JobEvent> events;
};

// A periodic job: a cron schedule and the job each firing submits (Client::cronAdd, `corvee cron`).
struct CronEntry {
  std::string name;              // unique; adding an entry of an existing name replaces it
  // Cron syntax: five fields (minute hour day-of-month month day-of-week), six with a leading
  // seconds field, or @yearly, @monthly, @weekly, @daily, @hourly (docs/concepts.md).
  std::string spec;
  std::string time_zone = "UTC";  // IANA name; the spec is read in its wall-clock time
  std::string task;
  std::string payload;
  // The options of every job it submits; `delay` counts from each firing, `run_at` must be unset.
  SubmitOptions options{};
  // As the broker lists it:
  bool paused = false;
  std::uint64_t next_fire_ms = 0;  // Unix epoch milliseconds; 0 when paused or never again
  std::uint64_t last_fire_ms = 0;  // 0: never fired
  std::uint64_t created_ms = 0;
};

// A filter for listing jobs (Client::jobs, `corvee jobs`, `corvee dead list`). Newest first.
struct JobFilter {
  std::string task{};                  // empty: every task
  std::optional<JobState> state{};     // nullopt: every state
  std::uint32_t limit = 100;
  JobId before_id = 0;                 // only jobs with a smaller id (for paging); 0: no bound
};

}  // namespace corvee
