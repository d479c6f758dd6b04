#include "broker/unique_keys.h"

#include <gtest/gtest.h>

namespace corvee::broker {
namespace {

MonoTime at(std::int64_t ms) { return MonoTime(std::chrono::milliseconds(ms)); }

TEST(UniqueKeys, AFreeKeyIsTakenAndThenHeldByItsJob) {
  UniqueKeys keys;
  EXPECT_EQ(keys.holder("email", "k", at(0)), std::nullopt);
  EXPECT_TRUE(keys.hold("email", "k", 7, 0, at(0)));
  EXPECT_EQ(keys.holder("email", "k", at(1)), JobId{7});
  EXPECT_FALSE(keys.hold("email", "k", 8, 0, at(1))) << "a held key is not taken by a second job";
  EXPECT_EQ(keys.holder("email", "k", at(1)), JobId{7});
  ASSERT_NE(keys.of(7), nullptr);
  EXPECT_EQ(keys.of(7)->key, "k");
  EXPECT_EQ(keys.of(8), nullptr);
}

TEST(UniqueKeys, KeysAreScopedByTask) {
  UniqueKeys keys;
  EXPECT_TRUE(keys.hold("email", "k", 1, 0, at(0)));
  EXPECT_TRUE(keys.hold("resize", "k", 2, 0, at(0)));
  EXPECT_EQ(keys.holder("email", "k", at(0)), JobId{1});
  EXPECT_EQ(keys.holder("resize", "k", at(0)), JobId{2});
  // The task's length is part of the slot: ("ab", "c") and ("a", "bc") are two keys.
  EXPECT_TRUE(keys.hold("ab", "c", 3, 0, at(0)));
  EXPECT_TRUE(keys.hold("a", "bc", 4, 0, at(0)));
  EXPECT_EQ(keys.holder("ab", "c", at(0)), JobId{3});
  EXPECT_EQ(keys.holder("a", "bc", at(0)), JobId{4});
}

TEST(UniqueKeys, ASucceededJobHoldsItsKeyForItsWindowOnly) {
  UniqueKeys keys;
  ASSERT_TRUE(keys.hold("t", "k", 1, 5000, at(0)));
  keys.finished(1, /*succeeded=*/true, at(1000));
  EXPECT_EQ(keys.of(1), nullptr) << "no longer live";
  EXPECT_EQ(keys.holder("t", "k", at(5999)), JobId{1});
  EXPECT_EQ(keys.holder("t", "k", at(6000)), std::nullopt) << "the window ends 5000 ms after the finish";
  EXPECT_EQ(keys.size(), 0u);
  EXPECT_TRUE(keys.hold("t", "k", 2, 0, at(6000)));
}

TEST(UniqueKeys, WithoutAWindowASucceededJobFreesItsKeyAtOnce) {
  UniqueKeys keys;
  ASSERT_TRUE(keys.hold("t", "k", 1, 0, at(0)));
  keys.finished(1, true, at(10));
  EXPECT_EQ(keys.holder("t", "k", at(10)), std::nullopt);
}

TEST(UniqueKeys, ADeadOrCancelledJobFreesItsKeyAtOnceWhateverItsWindow) {
  UniqueKeys keys;
  ASSERT_TRUE(keys.hold("t", "a", 1, 60'000, at(0)));
  ASSERT_TRUE(keys.hold("t", "b", 2, 60'000, at(0)));
  keys.finished(1, /*succeeded=*/false, at(10));
  keys.finished(2, /*succeeded=*/false, at(10));
  EXPECT_EQ(keys.holder("t", "a", at(10)), std::nullopt);
  EXPECT_EQ(keys.holder("t", "b", at(10)), std::nullopt);
  EXPECT_EQ(keys.size(), 0u);
}

TEST(UniqueKeys, AnOldExpiryDoesNotFreeAKeyTakenAgainSince) {
  UniqueKeys keys;
  ASSERT_TRUE(keys.hold("t", "k", 1, 100, at(0)));
  keys.finished(1, true, at(0));  // held until 100
  ASSERT_TRUE(keys.hold("t", "k", 2, 1000, at(100)));
  keys.finished(2, true, at(150));  // held until 1150
  EXPECT_EQ(keys.holder("t", "k", at(1149)), JobId{2});
  EXPECT_EQ(keys.holder("t", "k", at(1150)), std::nullopt);
}

TEST(UniqueKeys, ExpiriesComeInTimeOrderNotInFinishOrder) {
  UniqueKeys keys;
  ASSERT_TRUE(keys.hold("t", "long", 1, 10'000, at(0)));
  ASSERT_TRUE(keys.hold("t", "short", 2, 100, at(0)));
  keys.finished(1, true, at(0));
  keys.finished(2, true, at(0));
  EXPECT_EQ(keys.holder("t", "short", at(100)), std::nullopt);
  EXPECT_EQ(keys.holder("t", "long", at(100)), JobId{1});
  EXPECT_EQ(keys.size(), 1u);
}

TEST(UniqueKeys, ARecoveredFinishedJobHoldsItsKeyUntilTheGivenTime) {
  UniqueKeys keys;
  EXPECT_FALSE(keys.holdFinished("t", "past", 1, at(50), at(100))) << "a window that ended holds nothing";
  EXPECT_TRUE(keys.holdFinished("t", "k", 2, at(500), at(100)));
  EXPECT_EQ(keys.of(2), nullptr) << "a finished holder is not live";
  EXPECT_FALSE(keys.holdFinished("t", "k", 3, at(900), at(100))) << "the first holder stands";
  EXPECT_FALSE(keys.hold("t", "k", 4, 0, at(100)));
  EXPECT_EQ(keys.holder("t", "k", at(499)), JobId{2});
  EXPECT_EQ(keys.holder("t", "k", at(500)), std::nullopt);
}

TEST(UniqueKeys, FinishingAJobWithoutAKeyChangesNothing) {
  UniqueKeys keys;
  ASSERT_TRUE(keys.hold("t", "k", 1, 0, at(0)));
  keys.finished(99, false, at(0));
  EXPECT_EQ(keys.holder("t", "k", at(0)), JobId{1});
}

}  // namespace
}  // namespace corvee::broker
