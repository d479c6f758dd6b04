// WaitReason: why a job that waits is not running, for EXPLAIN (`corvee explain`).
//
// Core gathers what it knows of the job, its task and the task's workers into WaitFacts; explainWait()
// names the reason, as a code for programs and a sentence for people (docs/protocol.md, "History
// and explain"). The checks go in the order the broker's dealing meets them: a paused task deals
// nothing whatever its workers, a rate limit stops the queue before a worker is looked for, and a
// worker is looked for before its priority ranges are.
//
// Pure functions on values; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "corvee/job.h"

namespace corvee::broker {

struct WaitFacts {
  JobState state = JobState::kQueued;
  std::uint64_t now_ms = 0;         // wall clock, Unix milliseconds
  std::string_view task;
  std::int32_t priority = 0;
  std::uint32_t attempt = 0;        // attempts started so far
  // Scheduled or retrying: when it is due (wall clock).
  std::uint64_t run_at_ms = 0;
  // Retrying, due: its last attempt, which the broker cancelled, still runs on its worker.
  bool stopping = false;
  // Running: whether it holds one of its worker's slots (false while prefetched), and the worker.
  bool in_slot = true;
  std::string_view worker;
  // Queued: the task and its workers.
  bool paused = false;
  std::optional<std::uint64_t> rate_next_ms;  // rate-limited: when its next token comes (wall clock)
  std::uint32_t workers = 0;     // connected workers registered for the task
  std::uint32_t draining = 0;    // of them, draining
  std::uint32_t serving = 0;     // of them, those that may be dealt jobs (not draining, with slots)
  std::uint32_t slots = 0;       // the serving workers' slots, together
  std::uint32_t with_room = 0;   // serving workers with room for a job now (free slot or prefetch room)
  std::uint32_t admitting = 0;   // of those, the ones whose priority ranges take its priority now
  std::uint64_t queued = 0;      // jobs of the task waiting in its queue, this one included
  // Its fairness key at its --key-concurrency cap: the key, and the cap.
  std::optional<std::pair<std::string_view, std::uint32_t>> key_capped;
};

struct WaitReason {
  std::string code;  // "no_worker", "paused", ...; empty for a job that does not wait
  std::string text;  // one sentence; empty when code is
};

// Codes (docs/protocol.md lists them with their meaning).
namespace wait {
inline constexpr const char* kNoWorker = "no_worker";
inline constexpr const char* kDraining = "draining";
inline constexpr const char* kPaused = "paused";
inline constexpr const char* kRateLimited = "rate_limited";
inline constexpr const char* kKeyCapped = "key_capped";
inline constexpr const char* kSlotsBusy = "slots_busy";
inline constexpr const char* kPriorityRangeFull = "priority_range_full";
inline constexpr const char* kDealing = "dealing";
inline constexpr const char* kDelayed = "delayed";
inline constexpr const char* kRetryBackoff = "retry_backoff";
inline constexpr const char* kStopping = "stopping";
inline constexpr const char* kPrefetched = "prefetched";
}  // namespace wait

// Why the job `facts` describes is not running; empty for a running or finished job.
WaitReason explainWait(const WaitFacts& facts);

// Unix milliseconds as "2026-11-28T06:50:23.125Z" (UTC), for the sentences.
std::string isoTime(std::uint64_t ms);

}  // namespace corvee::broker
