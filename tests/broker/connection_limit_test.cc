#include "broker/connection_limit.h"

#include <gtest/gtest.h>

namespace corvee::broker {
namespace {

TEST(ConnectionLimit, LeavesTheReserveBelowTheDescriptorLimit) {
  EXPECT_EQ(defaultMaxConnections(1024), 1024u - kDescriptorReserve);
  EXPECT_EQ(defaultMaxConnections(256), 256u - kDescriptorReserve);
  EXPECT_EQ(defaultMaxConnections(2 * kDescriptorReserve), kDescriptorReserve);
}

TEST(ConnectionLimit, ASmallLimitIsHalvedInstead) {
  EXPECT_EQ(defaultMaxConnections(100), 50u);
  EXPECT_EQ(defaultMaxConnections(2), 1u);
  EXPECT_EQ(defaultMaxConnections(1), 1u) << "at least one connection";
  EXPECT_EQ(defaultMaxConnections(0), 1u);
}

TEST(ConnectionLimit, NoOrAHugeDescriptorLimitGivesTheCap) {
  EXPECT_EQ(defaultMaxConnections(std::nullopt), kUnlimitedDescriptorsMaxConnections);
  EXPECT_EQ(defaultMaxConnections(1ULL << 40), kUnlimitedDescriptorsMaxConnections);
}

}  // namespace
}  // namespace corvee::broker
