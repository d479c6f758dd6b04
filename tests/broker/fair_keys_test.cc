// FairKeys: interning with reference counts, weights, running counts against the cap, waiting
// keys; and the --fair-weight / --key-concurrency specs.
#include "broker/fair_keys.h"

#include <gtest/gtest.h>

namespace corvee::broker {
namespace {

TEST(FairKeysTest, TheEmptyKeyIsNoKeyAndIsNotCounted) {
  FairKeys keys;
  EXPECT_EQ(keys.acquire(""), FairKeys::kNoKey);
  EXPECT_EQ(keys.size(), 0u);
  keys.release(FairKeys::kNoKey);  // harmless
  EXPECT_EQ(keys.weight(FairKeys::kNoKey), 1u);
}

TEST(FairKeysTest, AKeyIsInternedOnceAndFreedWithItsLastJob) {
  FairKeys keys;
  auto a = keys.acquire("tenant-a");
  EXPECT_NE(a, FairKeys::kNoKey);
  EXPECT_EQ(keys.acquire("tenant-a"), a);
  auto b = keys.acquire("tenant-b");
  EXPECT_NE(b, a);
  EXPECT_EQ(keys.name(a), "tenant-a");
  EXPECT_EQ(keys.size(), 2u);
  keys.release(a);
  EXPECT_EQ(keys.size(), 2u) << "one job still holds tenant-a";
  keys.release(a);
  EXPECT_EQ(keys.size(), 1u);
  // Its id is reused by the next new key, which starts with fresh counts.
  auto c = keys.acquire("tenant-c");
  EXPECT_EQ(c, a);
  EXPECT_EQ(keys.name(c), "tenant-c");
  EXPECT_EQ(keys.running(c), 0u);
}

TEST(FairKeysTest, WeightsApplyToKeysInternedBeforeAndAfter) {
  FairKeys keys;
  auto a = keys.acquire("a");
  keys.setWeight("a", 3);
  EXPECT_EQ(keys.weight(a), 3u);
  keys.setWeight("b", 5);
  auto b = keys.acquire("b");
  EXPECT_EQ(keys.weight(b), 5u);
  keys.release(b);
  EXPECT_EQ(keys.weight(keys.acquire("b")), 5u) << "the configured weight outlives the key's jobs";
  EXPECT_EQ(keys.weight(keys.acquire("other")), 1u);
}

TEST(FairKeysTest, TheCapHoldsAKeyWithThatManyRunningAndNeverNoKey) {
  FairKeys keys;
  auto a = keys.acquire("a");
  keys.started(a);
  EXPECT_FALSE(keys.atCap(a)) << "no cap configured";
  keys.setCap(2);
  EXPECT_FALSE(keys.atCap(a));
  keys.started(a);
  EXPECT_TRUE(keys.atCap(a));
  EXPECT_TRUE(keys.ended(a)) << "it was at its cap: its task may deal it again";
  EXPECT_FALSE(keys.atCap(a));
  EXPECT_FALSE(keys.ended(a));
  for (int i = 0; i < 5; ++i) keys.started(FairKeys::kNoKey);
  EXPECT_FALSE(keys.atCap(FairKeys::kNoKey)) << "jobs without a key are not capped";
}

TEST(FairKeysTest, WaitingKeysCountKeysWithQueuedJobs) {
  FairKeys keys;
  auto a = keys.acquire("a");
  auto b = keys.acquire("b");
  keys.queued(a);
  keys.queued(a);
  keys.queued(b);
  keys.queued(FairKeys::kNoKey);
  EXPECT_EQ(keys.waitingKeys(), 2u);
  keys.dequeued(a);
  EXPECT_EQ(keys.waitingKeys(), 2u);
  keys.dequeued(a);
  EXPECT_EQ(keys.waitingKeys(), 1u);
  keys.dequeued(b);
  EXPECT_EQ(keys.waitingKeys(), 0u);
}

TEST(FairWeightSpecTest, ParsesTaskKeyAndWeight) {
  auto spec = FairWeightSpec::parse("report:tenant:42=3");
  ASSERT_TRUE(spec.isOk()) << spec.status().message();
  EXPECT_EQ(spec->task, "report");
  EXPECT_EQ(spec->key, "tenant:42") << "the task ends at the first ':', the key may hold more";
  EXPECT_EQ(spec->weight, 3u);
  for (const char* bad : {"report", "report=3", "report:a", ":a=1", "report:=1", "report:a=0", "report:a=x",
                          "report:a=1000001", "report:a=-1", "report:a="}) {
    EXPECT_FALSE(FairWeightSpec::parse(bad).isOk()) << bad;
  }
}

TEST(KeyConcurrencySpecTest, ParsesTaskAndCap) {
  auto spec = KeyConcurrencySpec::parse("report=2");
  ASSERT_TRUE(spec.isOk());
  EXPECT_EQ(spec->task, "report");
  EXPECT_EQ(spec->cap, 2u);
  EXPECT_EQ(KeyConcurrencySpec::parse("report=0")->cap, 0u);
  for (const char* bad : {"report", "=2", "report=", "report=two", "report=1000001", "report=-1"}) {
    EXPECT_FALSE(KeyConcurrencySpec::parse(bad).isOk()) << bad;
  }
}

}  // namespace
}  // namespace corvee::broker
