#include "broker/histogram.h"

#include <gtest/gtest.h>

namespace corvee::broker {
namespace {

TEST(HistogramTest, AValueOnABoundGoesInThatBoundsBucket) {
  // Prometheus's `le`: a bucket holds the values up to and including its bound.
  Histogram h;
  h.observeMicros(100);  // exactly the first bound (0.1 ms)
  h.observeMicros(101);  // just above it: the next bucket (0.25 ms)
  EXPECT_EQ(h.bucket(0), 1u);
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.sumMicros(), 201u);
}

TEST(HistogramTest, ZeroGoesInTheFirstBucketAndHugeValuesInInf) {
  Histogram h;
  h.observeMicros(0);
  h.observe(std::chrono::nanoseconds(-5));  // a clock that stepped back counts as zero
  h.observeMillis(1'000'000);               // 1000 s: the last finite bound
  h.observeMillis(1'000'001);               // beyond it: +Inf
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.bucket(Histogram::kBuckets - 2), 1u);
  EXPECT_EQ(h.bucket(Histogram::kBuckets - 1), 1u);
  EXPECT_EQ(h.count(), 4u);
}

TEST(HistogramTest, BoundsAscendAndEachValueLandsInExactlyOneBucket) {
  for (std::size_t i = 1; i < Histogram::kBoundsMicros.size(); ++i) {
    EXPECT_LT(Histogram::kBoundsMicros[i - 1], Histogram::kBoundsMicros[i]);
  }
  Histogram h;
  for (std::uint64_t us : {1ULL, 99ULL, 700ULL, 3'000ULL, 42'000ULL, 999'999ULL, 7'000'000ULL, 5'000'000'000ULL}) {
    h.observeMicros(us);
  }
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < Histogram::kBuckets; ++i) total += h.bucket(i);
  EXPECT_EQ(total, h.count());
  EXPECT_EQ(h.bucket(5), 1u);  // 3 ms: in the 5 ms bucket (bounds 0.1, 0.25, 0.5, 1, 2.5, 5 ms)
}

TEST(HistogramTest, ObservesMillisecondsAndDurationsInMicroseconds) {
  Histogram h;
  h.observeMillis(2);                              // 2000 us: the 2.5 ms bucket
  h.observe(std::chrono::microseconds(260));       // the 0.5 ms bucket
  EXPECT_EQ(h.bucket(4), 1u);
  EXPECT_EQ(h.bucket(2), 1u);
  EXPECT_EQ(h.sumMicros(), 2260u);
}

}  // namespace
}  // namespace corvee::broker
