#include "broker/job_queue.h"

namespace corvee::broker {

void JobQueue::pushBack(JobId id, std::int32_t priority, std::uint32_t ticket) {
  levels_[priority].push_back({id, ticket});
  ++live_;
}

void JobQueue::pushFront(JobId id, std::int32_t priority, std::uint32_t ticket) {
  levels_[priority].push_front({id, ticket});
  ++live_;
}

std::optional<JobQueue::Entry> JobQueue::peek(const LivenessCheck& live) { return peekFrom(levels_.begin(), live); }

std::optional<JobQueue::Entry> JobQueue::peekBelow(std::int32_t priority, const LivenessCheck& live) {
  // Highest first: upper_bound finds the first level after `priority`, the highest one below it.
  return peekFrom(levels_.upper_bound(priority), live);
}

std::optional<JobQueue::Entry> JobQueue::peekFrom(Levels::iterator level, const LivenessCheck& live) {
  while (level != levels_.end()) {
    auto& entries = level->second;
    while (!entries.empty() && !live(entries.front())) entries.pop_front();
    if (!entries.empty()) {
      peeked_ = level;
      return entries.front();
    }
    level = levels_.erase(level);  // an empty level would make every later peek walk past it
  }
  return std::nullopt;
}

void JobQueue::popPeeked() {
  peeked_->second.pop_front();
  if (peeked_->second.empty()) levels_.erase(peeked_);
  peeked_ = levels_.end();
  --live_;
}

}  // namespace corvee::broker
