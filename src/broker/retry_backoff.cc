#include "broker/retry_backoff.h"

#include <algorithm>

namespace corvee::broker {

namespace {

// base * 2^exponent, saturating at `cap` (the shift would overflow long before 64 retries).
std::uint64_t doubled(std::uint64_t base, std::uint32_t exponent, std::uint64_t cap) {
  if (base == 0) return 0;
  std::uint64_t value = base;
  for (std::uint32_t i = 0; i < exponent && value < cap; ++i) value *= 2;
  return std::min(value, cap);
}

}  // namespace

BackoffBand backoffBand(const BackoffPolicy& policy, std::uint32_t retry) {
  std::uint64_t cap = policy.max_ms;
  if (retry <= 1) return {0, std::min<std::uint64_t>(policy.base_ms, cap)};
  return {doubled(policy.base_ms, retry - 2, cap), doubled(policy.base_ms, retry - 1, cap)};
}

Millis retryDelay(const BackoffPolicy& policy, std::uint32_t retry, Random& random) {
  BackoffBand band = backoffBand(policy, retry);
  return Millis(static_cast<std::int64_t>(random.uniform(band.lo_ms, band.hi_ms)));
}

}  // namespace corvee::broker
