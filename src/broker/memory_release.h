// When the broker hands freed heap memory back to the system.
//
// glibc's malloc keeps the memory of freed jobs for reuse: after a flood of queued jobs has run,
// the broker's resident size would stay at the flood's peak for good (a 20,000-job queue of 4 KiB
// payloads: 95 MiB before and after; issue 13's soak test). Asking for it back
// (releaseFreeMemory(), malloc_trim) walks the whole heap, so it is done once per kThreshold bytes
// freed, never per job. Not thread-safe: owned by the broker's loop like the rest of Core.
#pragma once

#include <cstdint>

namespace corvee::broker {

class MemoryRelease {
 public:
  // 4 MiB: a trim costs a walk of the heap (milliseconds for a large one), so at most once per
  // thousand 4 KiB jobs, and no more than this much freed memory is ever held back.
  static constexpr std::uint64_t kThreshold = 4u << 20;

  explicit MemoryRelease(std::uint64_t threshold = kThreshold) : threshold_(threshold) {}
  // Counts `bytes` just freed. Returns true when the memory freed since the last release reached
  // the threshold: the caller releases it now, and counting starts again from zero.
  bool freed(std::uint64_t bytes) {
    pending_ += bytes;
    if (pending_ < threshold_) return false;
    pending_ = 0;
    return true;
  }
  std::uint64_t pending() const { return pending_; }

 private:
  std::uint64_t threshold_;
  std::uint64_t pending_ = 0;  // freed since the last release
};

}  // namespace corvee::broker
