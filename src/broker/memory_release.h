// When the broker hands freed heap memory back to the system.
//
// glibc's malloc keeps the memory of freed jobs for reuse: after a flood of queued jobs has run,
// the broker's resident size would stay at the flood's peak for good (a 20,000-job queue of 4 KiB
// payloads: 95 MiB before and after; issue 13's soak test). Asking for it back
// (releaseFreeMemory(), malloc_trim) walks the whole heap, and under steady load the memory given
// back would be faulted in again at once (a trim per 4 MiB freed cost durable W1 several percent of
// the broker's CPU). So it is done once the broker has gone quiet: at a periodic tick that saw no
// job finish since the one before, when at least kThreshold bytes were freed. Not thread-safe:
// owned by the broker's loop like the rest of Core.
#pragma once

#include <cstdint>

namespace corvee::broker {

class MemoryRelease {
 public:
  // 4 MiB: a trim costs a walk of the heap (milliseconds for a large one), so at most once per
  // thousand 4 KiB jobs, and no more than this much freed memory is ever held back.
  static constexpr std::uint64_t kThreshold = 4u << 20;

  explicit MemoryRelease(std::uint64_t threshold = kThreshold) : threshold_(threshold) {}
  // Counts `bytes` just freed.
  void freed(std::uint64_t bytes) {
    pending_ += bytes;
    busy_ = true;
  }
  // Called periodically. True when nothing was freed since the last call (the broker is quiet) and
  // the memory freed before that reached the threshold: the caller releases it now, and counting
  // starts again from zero.
  bool tick() {
    bool quiet = !busy_;
    busy_ = false;
    if (!quiet || pending_ < threshold_) return false;
    pending_ = 0;
    return true;
  }
  std::uint64_t pending() const { return pending_; }

 private:
  std::uint64_t threshold_;
  std::uint64_t pending_ = 0;  // freed since the last release
  bool busy_ = false;          // something was freed since the last tick()
};

}  // namespace corvee::broker
