#include "broker/task_metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace corvee::broker {
namespace {

TEST(TaskMetricsTest, EveryCounterHasAStoreNameThatReadsBack) {
  for (std::size_t i = 0; i < kTaskCounters; ++i) {
    auto counter = static_cast<TaskCounter>(i);
    EXPECT_EQ(counterNamed(counterName(counter)), counter) << counterName(counter);
  }
  EXPECT_EQ(counterName(TaskCounter::kSucceeded), "succeeded");
  EXPECT_EQ(counterName(TaskCounter::kExpiredRunTimeout), "expired_run_timeout");
  EXPECT_FALSE(counterNamed("from_a_newer_broker").has_value());
}

TEST(TaskMetricsTest, DeltasAreWhatGrewSinceTheLastTake) {
  TaskMetrics m;
  EXPECT_TRUE(m.add(TaskCounter::kSubmitted)) << "the first count makes it dirty";
  EXPECT_FALSE(m.add(TaskCounter::kSubmitted)) << "already listed for the commit";
  m.add(TaskCounter::kDead);
  std::map<std::string, std::uint64_t> given;
  m.takeDeltas([&](TaskCounter c, std::uint64_t d) { given[std::string(counterName(c))] += d; });
  EXPECT_EQ(given, (std::map<std::string, std::uint64_t>{{"dead", 1}, {"submitted", 2}}));
  EXPECT_FALSE(m.dirty());
  given.clear();
  m.takeDeltas([&](TaskCounter c, std::uint64_t d) { given[std::string(counterName(c))] += d; });
  EXPECT_TRUE(given.empty());
  m.add(TaskCounter::kSubmitted);
  m.takeDeltas([&](TaskCounter c, std::uint64_t d) { given[std::string(counterName(c))] += d; });
  EXPECT_EQ(given, (std::map<std::string, std::uint64_t>{{"submitted", 1}}));
  EXPECT_EQ(m.total(TaskCounter::kSubmitted), 3u);
}

TEST(TaskMetricsTest, LoadedTotalsCountButAreNotGivenBack) {
  TaskMetrics m;
  m.load(TaskCounter::kSucceeded, 40);
  m.add(TaskCounter::kSucceeded);
  std::uint64_t given = 0;
  m.takeDeltas([&](TaskCounter, std::uint64_t d) { given += d; });
  EXPECT_EQ(given, 1u);
  EXPECT_EQ(m.total(TaskCounter::kSucceeded), 41u);
}

}  // namespace
}  // namespace corvee::broker
