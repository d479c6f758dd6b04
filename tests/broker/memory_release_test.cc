#include "broker/memory_release.h"

#include <gtest/gtest.h>

namespace corvee::broker {
namespace {

TEST(MemoryRelease, DueAtAQuietTickOnceAThresholdWasFreed) {
  MemoryRelease release(1000);
  release.freed(400);
  EXPECT_FALSE(release.tick()) << "busy: jobs finished since the last tick";
  EXPECT_FALSE(release.tick()) << "quiet, but only 400 bytes freed";
  release.freed(600);
  EXPECT_EQ(release.pending(), 1000u);
  EXPECT_FALSE(release.tick()) << "enough freed, but still busy";
  EXPECT_TRUE(release.tick()) << "quiet, with the threshold freed: release now";
  EXPECT_EQ(release.pending(), 0u);
  EXPECT_FALSE(release.tick()) << "nothing new to release";
}

TEST(MemoryRelease, SteadyLoadNeverTrims) {
  MemoryRelease release;
  for (int i = 0; i < 100; ++i) {
    release.freed(MemoryRelease::kThreshold);
    EXPECT_FALSE(release.tick());
  }
  EXPECT_TRUE(release.tick()) << "the first quiet tick after the load";
}

}  // namespace
}  // namespace corvee::broker
