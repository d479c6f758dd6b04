#include "broker/memory_release.h"

#include <gtest/gtest.h>

namespace corvee::broker {
namespace {

TEST(MemoryRelease, DueOncePerThresholdOfFreedBytes) {
  MemoryRelease release(1000);
  EXPECT_FALSE(release.freed(400));
  EXPECT_FALSE(release.freed(599));
  EXPECT_EQ(release.pending(), 999u);
  EXPECT_TRUE(release.freed(1));  // reaches the threshold: release now
  EXPECT_EQ(release.pending(), 0u);
  EXPECT_FALSE(release.freed(999));  // counting starts again
  EXPECT_TRUE(release.freed(5000));  // one large free is enough on its own
  EXPECT_FALSE(release.freed(0));
}

TEST(MemoryRelease, DefaultThresholdIsAFewMegabytes) {
  MemoryRelease release;
  EXPECT_FALSE(release.freed(MemoryRelease::kThreshold - 1));
  EXPECT_TRUE(release.freed(1));
}

}  // namespace
}  // namespace corvee::broker
