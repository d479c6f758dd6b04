// Clock: the only way Corvee code reads the time, so tests can drive it (tests/fakes/fake_clock.h).
//
// Monotonic time is for deadlines and durations; wall time (Unix milliseconds) only for records
// that humans read. Implementations must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace corvee {

using MonoTime = std::chrono::steady_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime now() const = 0;
  virtual std::uint64_t wallMillis() const = 0;
};

// The process's real clock. Never destroyed.
Clock& systemClock();

}  // namespace corvee
