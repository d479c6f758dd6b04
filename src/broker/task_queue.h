// TaskQueue: everything the broker keeps per task name — its waiting jobs, the workers registered
// for it, and how many of its jobs are running.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/fair_keys.h"
#include "broker/job_queue.h"
#include "broker/outbox.h"
#include "broker/rate_limiter.h"
#include "broker/task_metrics.h"

namespace corvee::broker {

struct TaskQueue {
  std::string task;
  JobQueue queue;
  std::vector<PeerId> workers;  // connections registered for this task
  std::uint32_t serving = 0;    // of them, those with slots and not draining: the task is served
  std::uint32_t ranged_workers = 0;  // of them, those with priority ranges
  std::uint64_t running = 0;
  std::uint64_t retrying = 0;   // its jobs waiting for their next attempt
  std::uint64_t scheduled = 0;  // its jobs waiting for the time they were submitted for
  bool dirty = false;  // may have a job and a free worker; looked at by Core::deal()
  bool paused = false;  // PAUSE: its queued jobs wait; stored, so it survives a restart
  // `--rate`: a job is dealt only with a token; without one the queue waits until rate_wake.
  std::optional<TokenBucket> rate;
  std::optional<MonoTime> rate_wake;
  // RATE (`corvee rate`): the canonical spec set at run time, "" for "off"; nullopt when none was
  // set, so `--rate` applies. Stored, and after a restart it wins over the flag.
  std::optional<std::string> rate_setting;
  // Its jobs' fairness keys, weights and `--key-concurrency` cap (fair_keys.h): made for the
  // task's first job with a key, or at start when it has a weight or cap configured. The queue
  // deals by keys from its first keyed job on. Declared before nothing that outlives it.
  std::unique_ptr<FairKeys> fair;
  // What METRICS and STATS report of it: totals the store keeps, and the wait and run histograms.
  TaskMetrics metrics;
};

}  // namespace corvee::broker
