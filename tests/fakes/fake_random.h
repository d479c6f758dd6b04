// FakeRandom: "random" numbers a test chooses, as a fraction of each requested range.
#pragma once

#include <cstdint>
#include <vector>

#include "platform/random.h"

namespace corvee::testing {

class FakeRandom final : public Random {
 public:
  // Every draw lands at `fraction` of the way from lo to hi (0: lo, 1: hi).
  explicit FakeRandom(double fraction = 0.5) : fraction_(fraction) {}
  std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) override {
    draws.push_back({lo, hi});
    return lo + static_cast<std::uint64_t>(static_cast<double>(hi - lo) * fraction_);
  }
  void setFraction(double fraction) { fraction_ = fraction; }

  struct Draw {
    std::uint64_t lo, hi;
  };
  std::vector<Draw> draws;  // every range asked for, in order

 private:
  double fraction_;
};

}  // namespace corvee::testing
