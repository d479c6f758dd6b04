#include "broker/schedule_set.h"

namespace corvee::broker {

void ScheduleSet::add(MonoTime due, JobId job) { heap_.push({due.time_since_epoch().count(), job}); }

std::optional<JobId> ScheduleSet::popDue(MonoTime now) {
  if (heap_.empty() || heap_.top().due > now.time_since_epoch().count()) return std::nullopt;
  JobId job = heap_.top().job;
  heap_.pop();
  return job;
}

std::optional<MonoTime> ScheduleSet::earliest() const {
  if (heap_.empty()) return std::nullopt;
  return MonoTime(MonoTime::duration(heap_.top().due));
}

}  // namespace corvee::broker
