// DeadlineSet: every pending time limit, earliest first.
//
// Entries are never removed early: when a job finishes or moves on, its old deadlines stay here
// and are recognised as stale when they come due (the attempt number no longer matches, or the job
// is gone). That makes adding a deadline O(log n) and cancelling free. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <vector>

#include "corvee/job.h"
#include "platform/clock.h"

namespace corvee::broker {

enum class DeadlineKind : std::uint8_t {
  kGlobal,  // submission to result: error `timeout`
  kAssign,  // waiting in the queue: error `assign_timeout`
  kRun,     // one attempt on a worker: error `run_timeout`
  kRetry,   // a retrying job's next attempt is due: it joins its queue
};

struct Deadline {
  MonoTime when;
  JobId job;
  std::uint32_t attempt;  // the attempt it was set for (kRun, kRetry); the attempt count when set otherwise
  DeadlineKind kind;
};

class DeadlineSet {
 public:
  void add(const Deadline& deadline) { heap_.push(deadline); }
  // Removes and returns the earliest deadline if it is due at `now`.
  std::optional<Deadline> popDue(MonoTime now);
  std::optional<MonoTime> earliest() const;
  std::size_t size() const { return heap_.size(); }

 private:
  struct Later {
    bool operator()(const Deadline& a, const Deadline& b) const { return a.when > b.when; }
  };
  std::priority_queue<Deadline, std::vector<Deadline>, Later> heap_;
};

}  // namespace corvee::broker
