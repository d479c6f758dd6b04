// JobQueue: the waiting jobs of one task, highest priority first, FIFO within a priority.
//
// Jobs that leave the queue other than by pop() (a time limit fired, say) are not searched for:
// the caller bumps the job's ticket so its old entry no longer matches, and pop() skips it. This
// keeps removal O(1). Jobs put back after their worker was lost go to the front of their priority.
// Not thread-safe; owned by the broker's loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>

#include "corvee/job.h"

namespace corvee::broker {

class JobQueue {
 public:
  struct Entry {
    JobId id;
    std::uint32_t ticket;  // must equal the job's current ticket for the entry to be live
  };
  // Says whether an entry is still live (the job exists and still holds this ticket).
  using LivenessCheck = std::function<bool(const Entry&)>;

  void pushBack(JobId id, std::int32_t priority, std::uint32_t ticket);
  void pushFront(JobId id, std::int32_t priority, std::uint32_t ticket);
  // The first live entry, skipping (and discarding) dead ones; nullopt when none is live.
  std::optional<Entry> peek(const LivenessCheck& live);
  // The same among the entries of priority below `priority` (a worker's priority ranges may refuse
  // the head's priority yet take a lower one).
  std::optional<Entry> peekBelow(std::int32_t priority, const LivenessCheck& live);
  // The priority of the entry peek() or peekBelow() returned last. REQUIRES: it returned a value.
  std::int32_t peekPriority() const { return peeked_->first; }
  // Removes the entry peek() or peekBelow() returned. REQUIRES: it just returned a value.
  void popPeeked();
  // Live jobs: the caller reports removals made by ticket bump through forget().
  std::size_t size() const { return live_; }
  void forget() { --live_; }
  bool empty() const { return live_ == 0; }

 private:
  using Levels = std::map<std::int32_t, std::deque<Entry>, std::greater<>>;
  // The first live entry from `level` on, erasing the levels it empties; sets peeked_.
  std::optional<Entry> peekFrom(Levels::iterator level, const LivenessCheck& live);
  Levels levels_;  // highest priority first
  Levels::iterator peeked_ = levels_.end();
  std::size_t live_ = 0;
};

}  // namespace corvee::broker
