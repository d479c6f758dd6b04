// ScheduleSet: jobs submitted to run later (`submit --delay`, `--at`), earliest first.
//
// An entry costs 16 bytes, as a queue entry does, so a million scheduled jobs cost the broker no
// more than a million queued ones. Entries are never removed early: a job cancelled meanwhile
// leaves its entry here, and the caller recognises it when it comes due (the job is gone, or no
// longer scheduled). Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <vector>

#include "corvee/job.h"
#include "platform/clock.h"

namespace corvee::broker {

class ScheduleSet {
 public:
  void add(MonoTime due, JobId job);
  // Removes and returns the earliest job if it is due at `now`.
  std::optional<JobId> popDue(MonoTime now);
  std::optional<MonoTime> earliest() const;
  std::size_t size() const { return heap_.size(); }

 private:
  struct Entry {
    MonoTime::rep due;  // MonoTime's ticks: 8 bytes, where a time_point may carry more
    JobId job;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const { return a.due > b.due; }
  };
  static_assert(sizeof(Entry) == 16);
  std::priority_queue<Entry, std::vector<Entry>, Later> heap_;
};

}  // namespace corvee::broker
