// How long a failed job waits before its next attempt.
//
// Exponential backoff with full jitter inside each doubling: retry n waits a uniform random time in
// [base * 2^(n-2), base * 2^(n-1)] ([0, base] for the first), both ends capped at `max`. Plain full
// jitter ([0, base * 2^(n-1)]) spreads retries as well but may wait less for the third retry than
// for the second; these bands never overlap, so the gaps between attempts only grow, while jobs
// that failed together still retry spread over the whole band.
#pragma once

#include <cstdint>

#include "platform/clock.h"
#include "platform/random.h"

namespace corvee::broker {

struct BackoffPolicy {
  std::uint32_t base_ms = 1000;
  std::uint32_t max_ms = 3600 * 1000;
};

// The band retry `retry` (1-based) draws from, in milliseconds.
struct BackoffBand {
  std::uint64_t lo_ms;
  std::uint64_t hi_ms;
};
BackoffBand backoffBand(const BackoffPolicy& policy, std::uint32_t retry);

// The wait before retry `retry` (1-based), drawn from backoffBand().
Millis retryDelay(const BackoffPolicy& policy, std::uint32_t retry, Random& random);

}  // namespace corvee::broker
