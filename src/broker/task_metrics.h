// TaskMetrics: what the broker counts per task for METRICS and STATS — totals that the store keeps
// across restarts (jobs submitted, finished by outcome, retried, redelivered, expired by limit),
// and histograms of queue wait and run time that start afresh with the broker.
//
// Counting is an array increment; the totals reach the store as deltas, once per commit
// (takeDeltas()), never as a write per job. Not thread-safe: part of the broker's TaskQueue.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "broker/histogram.h"

namespace corvee::broker {

// The totals kept per task. Their names (counterName) are the store's keys: never rename one.
enum class TaskCounter : std::uint8_t {
  kSubmitted,           // jobs submitted (by clients and cron entries)
  kSucceeded,           // finished succeeded
  kDead,                // finished dead (failed, out of retries or attempts, timed out)
  kCancelled,           // finished cancelled
  kRetried,             // retries scheduled after a failed attempt
  kRedelivered,         // put back in the queue because their worker was lost or the broker restarted
  kExpiredTimeout,      // the job's total timeout fired (code `timeout`)
  kExpiredAssignTimeout,  // no worker took it within its assign timeout (code `assign_timeout`)
  kExpiredRunTimeout,   // an attempt ran past its run timeout (code `run_timeout`)
};
inline constexpr std::size_t kTaskCounters = 9;

// The store's name of `counter`: "submitted", "succeeded", ..., "expired_run_timeout".
std::string_view counterName(TaskCounter counter);
// The counter a store name names; nullopt for a name this broker does not know (a newer one's).
std::optional<TaskCounter> counterNamed(std::string_view name);

class TaskMetrics {
 public:
  std::uint64_t total(TaskCounter c) const { return totals_[index(c)]; }
  // Adds one; returns true when this made the task's totals differ from what the store was given
  // (the caller then lists the task for its next commit).
  bool add(TaskCounter c) {
    ++totals_[index(c)];
    bool was_clean = !dirty_;
    dirty_ = true;
    return was_clean;
  }
  // A total the store already holds (recovery): counted, and not handed to the store again.
  void load(TaskCounter c, std::uint64_t value) {
    totals_[index(c)] += value;
    stored_[index(c)] += value;
  }
  bool dirty() const { return dirty_; }
  // Calls give(counter, delta) for each total that grew since the last call, then marks them given.
  template <typename Give>
  void takeDeltas(Give&& give) {
    for (std::size_t i = 0; i < kTaskCounters; ++i) {
      if (totals_[i] == stored_[i]) continue;
      give(static_cast<TaskCounter>(i), totals_[i] - stored_[i]);
      stored_[i] = totals_[i];
    }
    dirty_ = false;
  }

  Histogram queue_wait;  // ready (submitted, due, retry due, requeued) -> dealt to a worker
  Histogram run_time;    // dealt -> finished (succeeded, failed or timed out), per attempt

 private:
  static std::size_t index(TaskCounter c) { return static_cast<std::size_t>(c); }
  std::array<std::uint64_t, kTaskCounters> totals_{};  // since the store began
  std::array<std::uint64_t, kTaskCounters> stored_{};  // of which handed to the store
  bool dirty_ = false;
};

}  // namespace corvee::broker
