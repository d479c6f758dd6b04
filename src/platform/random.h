// Randomness: identifiers from the OS entropy source, and an injectable Random for decisions that
// tests must be able to replay (retry jitter), as Clock is for time.
#pragma once

#include <cstdint>

namespace corvee {

// A random number from the OS entropy source; never 0.
std::uint64_t randomNonZeroU64();

class Random {
 public:
  virtual ~Random() = default;
  // A uniformly distributed number in [lo, hi]. REQUIRES: lo <= hi.
  virtual std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) = 0;
};

// A pseudo-random generator seeded from the OS. Not thread-safe: one per thread that uses it.
Random& threadRandom();

}  // namespace corvee
