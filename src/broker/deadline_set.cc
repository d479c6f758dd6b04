#include "broker/deadline_set.h"

namespace corvee::broker {

std::optional<Deadline> DeadlineSet::popDue(MonoTime now) {
  if (heap_.empty() || heap_.top().when > now) return std::nullopt;
  Deadline due = heap_.top();
  heap_.pop();
  return due;
}

std::optional<MonoTime> DeadlineSet::earliest() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.top().when;
}

}  // namespace corvee::broker
