#include "broker/wait_reason.h"

#include <time.h>

#include <cstdio>

#include <array>

namespace corvee::broker {

namespace {

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// "at T (in 3 s)", or "at T (due now)" for a time already past.
std::string when(std::uint64_t at_ms, std::uint64_t now_ms) {
  std::string text = isoTime(at_ms);
  if (at_ms <= now_ms) return text + " (due now)";
  std::uint64_t left = at_ms - now_ms;
  if (left < 1000) return text + " (in " + std::to_string(left) + " ms)";
  return text + " (in " + std::to_string(left / 1000) + " s)";
}

std::string quoted(std::string_view task) { return "'" + std::string(task) + "'"; }

}  // namespace

std::string isoTime(std::uint64_t ms) {
  time_t seconds = static_cast<time_t>(ms / 1000);
  struct tm parts {};
  if (gmtime_r(&seconds, &parts) == nullptr) return std::to_string(ms);
  std::array<char, 32> text{};
  std::size_t n = strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S", &parts);
  if (n == 0) return std::to_string(ms);
  std::array<char, 8> millis{};
  std::snprintf(millis.data(), millis.size(), ".%03uZ", static_cast<unsigned>(ms % 1000));
  return std::string(text.data(), n) + millis.data();
}

WaitReason explainWait(const WaitFacts& f) {
  switch (f.state) {
    case JobState::kSucceeded:
    case JobState::kDead:
    case JobState::kCancelled:
      return {};
    case JobState::kRunning:
      if (f.in_slot) return {};
      return {wait::kPrefetched, "dealt ahead of time to worker " + std::string(f.worker) +
                                     ", which runs it as soon as one of its slots frees (prefetch)"};
    case JobState::kScheduled:
      return {wait::kDelayed, "scheduled: it waits until " + when(f.run_at_ms, f.now_ms)};
    case JobState::kRetrying:
      if (f.stopping && f.run_at_ms <= f.now_ms) {
        return {wait::kStopping, "its retry is due, but attempt " + std::to_string(f.attempt) +
                                     ", which the broker cancelled, has not yet stopped on its worker"};
      }
      return {wait::kRetryBackoff, "attempt " + std::to_string(f.attempt) + " failed; attempt " +
                                       std::to_string(f.attempt + 1) + " waits for its backoff until " +
                                       when(f.run_at_ms, f.now_ms)};
    case JobState::kQueued:
      break;
  }
  if (f.paused) {
    return {wait::kPaused, "task " + quoted(f.task) + " is paused (corvee resume " + std::string(f.task) + ")"};
  }
  if (f.serving == 0) {
    if (f.draining > 0 && f.draining == f.workers) {
      return {wait::kDraining, "the only " + plural(f.workers, "worker", "workers") + " serving task " +
                                   quoted(f.task) + (f.workers == 1 ? " is" : " are") +
                                   " draining: they finish their jobs and take no new ones"};
    }
    return {wait::kNoWorker, "no connected worker serves task " + quoted(f.task)};
  }
  if (f.rate_next_ms) {
    return {wait::kRateLimited,
            "task " + quoted(f.task) + " is rate-limited; its next token comes at " + when(*f.rate_next_ms, f.now_ms)};
  }
  if (f.key_capped) {
    return {wait::kKeyCapped, "its fairness key '" + std::string(f.key_capped->first) + "' already has " +
                                  plural(f.key_capped->second, "job", "jobs") +
                                  " running, the cap of --key-concurrency"};
  }
  std::string queued = plural(f.queued, "job", "jobs") + " of the task are queued";
  if (f.queued == 1) queued = "it is the task's only queued job";
  if (f.with_room == 0) {
    return {wait::kSlotsBusy, "every slot of the " + plural(f.serving, "worker", "workers") + " serving task " +
                                  quoted(f.task) + " is busy (" + plural(f.slots, "slot", "slots") + "); " +
                                  queued + ", dealt by priority as slots free"};
  }
  if (f.admitting == 0) {
    return {wait::kPriorityRangeFull, "the " + plural(f.with_room, "worker", "workers") +
                                          " with a free slot for task " + quoted(f.task) +
                                          " keep it for other priorities: their priority ranges take no job of "
                                          "priority " +
                                          std::to_string(f.priority) + " now"};
  }
  return {wait::kDealing, "a worker has room for it: the broker deals it at the end of its current turn"};
}

}  // namespace corvee::broker
