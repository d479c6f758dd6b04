#include "broker/wall_deadline.h"

#include <gtest/gtest.h>

#include <limits>

namespace corvee::broker {
namespace {

using std::chrono::milliseconds;

const MonoTime kNow = MonoTime(std::chrono::hours(1000));
constexpr std::uint64_t kWallNow = 1'700'000'000'000ULL;

TEST(WallDeadlineTest, AWallTimeMapsToTheSameDistanceOnTheMonotonicClock) {
  EXPECT_EQ(monoTimeAt(kNow, kWallNow, kWallNow), kNow);
  EXPECT_EQ(monoTimeAt(kNow, kWallNow, kWallNow + 2500), kNow + milliseconds(2500));
  EXPECT_EQ(monoTimeAt(kNow, kWallNow, kWallNow - 60000), kNow - milliseconds(60000));
  EXPECT_EQ(monoTimeAt(kNow, kWallNow, 0), kNow - milliseconds(kWallNow));
}

// Found by fuzz/core.cc (fuzz/corpus/core/crash-run-at-overflow): SUBMIT's run_at_ms is the
// peer's u64, and converting its distance to the steady clock's nanoseconds overflowed (undefined
// behaviour; in practice a job due "now" or at a wrapped time).
TEST(WallDeadlineTest, ATimeBeyondAHundredYearsIsTakenAsAHundredYears) {
  for (std::uint64_t at : {std::numeric_limits<std::uint64_t>::max(), std::uint64_t{1} << 63,
                           kWallNow + std::uint64_t{15892185044416}}) {
    MonoTime due = monoTimeAt(kNow, kWallNow, at);
    EXPECT_EQ(due, kNow + kFarFuture) << at;
    // A time limit added to it still fits.
    EXPECT_GT(due + milliseconds(std::numeric_limits<std::uint32_t>::max()), due);
  }
}

}  // namespace
}  // namespace corvee::broker
