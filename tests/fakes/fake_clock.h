// FakeClock: time that moves only when a test says so.
#pragma once

#include <atomic>
#include <chrono>

#include "platform/clock.h"

namespace corvee::testing {

class FakeClock final : public Clock {
 public:
  MonoTime now() const override { return MonoTime(std::chrono::milliseconds(mono_ms_.load())); }
  std::uint64_t wallMillis() const override { return wall_base_ms_ + static_cast<std::uint64_t>(mono_ms_.load()); }
  void advance(std::chrono::milliseconds by) { mono_ms_ += by.count(); }

 private:
  std::atomic<std::int64_t> mono_ms_{1'000'000};
  std::uint64_t wall_base_ms_ = 1'700'000'000'000ULL;
};

}  // namespace corvee::testing
