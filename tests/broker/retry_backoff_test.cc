#include "broker/retry_backoff.h"

#include <gtest/gtest.h>

#include "fakes/fake_random.h"

namespace corvee::broker {
namespace {

using corvee::testing::FakeRandom;

void expectBand(const BackoffPolicy& policy, std::uint32_t retry, std::uint64_t lo, std::uint64_t hi) {
  BackoffBand band = backoffBand(policy, retry);
  EXPECT_EQ(band.lo_ms, lo) << "retry " << retry;
  EXPECT_EQ(band.hi_ms, hi) << "retry " << retry;
}

TEST(RetryBackoff, BandsDoubleFromZeroToTheBase) {
  BackoffPolicy policy{1000, 3600 * 1000};
  expectBand(policy, 1, 0, 1000);
  expectBand(policy, 2, 1000, 2000);
  expectBand(policy, 3, 2000, 4000);
  expectBand(policy, 4, 4000, 8000);
  expectBand(policy, 10, 256000, 512000);
}

TEST(RetryBackoff, BandsStopAtTheCap) {
  BackoffPolicy policy{1000, 5000};
  expectBand(policy, 3, 2000, 4000);
  expectBand(policy, 4, 4000, 5000);
  expectBand(policy, 5, 5000, 5000);
  // No overflow however many retries a job was given.
  expectBand(policy, 1000, 5000, 5000);
  expectBand(policy, UINT32_MAX, 5000, 5000);
}

TEST(RetryBackoff, ACapBelowTheBaseBoundsTheFirstRetryToo) {
  expectBand({1000, 300}, 1, 0, 300);
  expectBand({1000, 300}, 2, 300, 300);
}

TEST(RetryBackoff, ZeroBaseRetriesAtOnce) {
  expectBand({0, 5000}, 1, 0, 0);
  expectBand({0, 5000}, 7, 0, 0);
}

TEST(RetryBackoff, TheDelayIsDrawnFromTheBand) {
  FakeRandom random(0.25);
  BackoffPolicy policy{200, 10000};
  EXPECT_EQ(retryDelay(policy, 1, random), Millis(50));   // [0, 200]
  EXPECT_EQ(retryDelay(policy, 2, random), Millis(250));  // [200, 400]
  EXPECT_EQ(retryDelay(policy, 3, random), Millis(500));  // [400, 800]
  ASSERT_EQ(random.draws.size(), 3u);
  EXPECT_EQ(random.draws[2].lo, 400u);
  EXPECT_EQ(random.draws[2].hi, 800u);
}

TEST(RetryBackoff, RealJitterStaysInsideTheBandAndSpreadsOverIt) {
  BackoffPolicy policy{1000, 3600 * 1000};
  Millis lowest = Millis::max(), highest = Millis::min();
  for (int i = 0; i < 2000; ++i) {
    Millis delay = retryDelay(policy, 3, threadRandom());
    ASSERT_GE(delay, Millis(2000));
    ASSERT_LE(delay, Millis(4000));
    lowest = std::min(lowest, delay);
    highest = std::max(highest, delay);
  }
  // 2000 uniform draws over 2000 ms: both ends are within 100 ms with near certainty (1 - 2e-44).
  EXPECT_LT(lowest, Millis(2100));
  EXPECT_GT(highest, Millis(3900));
}

TEST(RetryBackoff, GapsNeverShrinkWhateverTheDraws) {
  BackoffPolicy policy{100, 100000};
  FakeRandom high(1.0), low(0.0);
  for (std::uint32_t retry = 1; retry < 20; ++retry) {
    // The longest wait for one retry is at most the shortest for the next.
    EXPECT_LE(retryDelay(policy, retry, high), retryDelay(policy, retry + 1, low)) << "retry " << retry;
  }
}

}  // namespace
}  // namespace corvee::broker
