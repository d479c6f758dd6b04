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

std::optional<JobQueue::Entry> JobQueue::peek(const LivenessCheck& live) {
  while (!levels_.empty()) {
    auto level = levels_.begin();
    auto& entries = level->second;
    while (!entries.empty() && !live(entries.front())) entries.pop_front();
    if (!entries.empty()) return entries.front();
    levels_.erase(level);  // an empty level would make every later peek walk past it
  }
  return std::nullopt;
}

void JobQueue::popPeeked() {
  auto level = levels_.begin();
  level->second.pop_front();
  if (level->second.empty()) levels_.erase(level);
  --live_;
}

}  // namespace corvee::broker
