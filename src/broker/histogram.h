// Histogram: a distribution of durations in fixed, log-spaced buckets, for the broker's metrics
// (queue wait, run time, store commit latency; docs/protocol.md, "Metrics (v5)").
//
// The buckets are the same for every histogram: 1, 2.5 and 5 times each power of ten from 100
// microseconds to 1000 seconds, then +Inf. Fixed buckets make an observation one binary search
// over 22 bounds and three additions, with no allocation: the broker observes on every job, and
// its durable throughput is the product's headline. They also let a dashboard aggregate the same
// metric across brokers and tasks. Counts are kept per bucket (not cumulative); the text format
// renders them cumulative.
//
// Not thread-safe: owned by the broker's loop, like the rest of its state.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace corvee::broker {

class Histogram {
 public:
  // Upper bounds of the finite buckets, in microseconds, ascending (the last bucket is +Inf).
  static constexpr std::array<std::uint64_t, 22> kBoundsMicros = {
      100,        250,        500,                                        // 0.1 ms ..
      1'000,      2'500,      5'000,      10'000,      25'000,     50'000, // 1 ms ..
      100'000,    250'000,    500'000,    1'000'000,   2'500'000,  5'000'000,
      10'000'000, 25'000'000, 50'000'000, 100'000'000, 250'000'000, 500'000'000,
      1'000'000'000};  // 1000 s
  static constexpr std::size_t kBuckets = kBoundsMicros.size() + 1;

  // Counts `micros` in the first bucket whose bound is at least it (Prometheus's `le`).
  void observeMicros(std::uint64_t micros);
  void observe(std::chrono::nanoseconds d) {
    observeMicros(d.count() <= 0 ? 0 : static_cast<std::uint64_t>(d.count()) / 1000);
  }
  void observeMillis(std::uint64_t ms) { observeMicros(ms * 1000); }

  // Observations in bucket `i` alone (not cumulative); i == kBuckets - 1 is +Inf.
  std::uint64_t bucket(std::size_t i) const { return counts_[i]; }
  std::uint64_t count() const { return count_; }
  // The sum of every observation, in microseconds.
  std::uint64_t sumMicros() const { return sum_micros_; }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_micros_ = 0;
};

}  // namespace corvee::broker
