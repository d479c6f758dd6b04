#include "broker/address_counts.h"

#include <gtest/gtest.h>

namespace corvee::broker {
namespace {

using boost::asio::ip::make_address;

TEST(AddressCountsTest, EachAddressHoldsAtMostTheLimit) {
  AddressCounts counts(2);
  auto a = make_address("10.0.0.1");
  auto b = make_address("::1");
  EXPECT_TRUE(counts.admit(a));
  EXPECT_TRUE(counts.admit(a));
  EXPECT_FALSE(counts.admit(a)) << "a third from the same address";
  EXPECT_EQ(counts.count(a), 2u);
  EXPECT_TRUE(counts.admit(b)) << "another address is not held back";
  counts.release(a);
  EXPECT_TRUE(counts.admit(a)) << "a closed connection makes room";
  counts.release(a);
  counts.release(a);
  counts.release(b);
  EXPECT_EQ(counts.addresses(), 0u) << "addresses without connections are forgotten";
  counts.release(b);  // an extra release is harmless
  EXPECT_EQ(counts.count(b), 0u);
}

TEST(AddressCountsTest, ALimitOfZeroCountsNothing) {
  AddressCounts counts(0);
  auto a = make_address("127.0.0.1");
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(counts.admit(a));
  EXPECT_EQ(counts.addresses(), 0u);
}

}  // namespace
}  // namespace corvee::broker
