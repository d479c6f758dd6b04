#include "broker/schedule_set.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace corvee::broker {
namespace {

MonoTime at(std::int64_t ms) { return MonoTime(std::chrono::milliseconds(ms)); }

TEST(ScheduleSet, JobsComeDueInTimeOrderNotInsertionOrder) {
  ScheduleSet set;
  set.add(at(300), 3);
  set.add(at(100), 1);
  set.add(at(200), 2);
  EXPECT_EQ(set.earliest(), at(100));
  EXPECT_EQ(set.popDue(at(99)), std::nullopt);
  EXPECT_EQ(set.popDue(at(250)), JobId{1});
  EXPECT_EQ(set.popDue(at(250)), JobId{2});
  EXPECT_EQ(set.popDue(at(250)), std::nullopt);
  EXPECT_EQ(set.earliest(), at(300));
  EXPECT_EQ(set.popDue(at(300)), JobId{3});  // due at exactly its time
  EXPECT_EQ(set.earliest(), std::nullopt);
  EXPECT_EQ(set.size(), 0u);
}

TEST(ScheduleSet, JobsDueAtTheSameTimeAllComeOut) {
  ScheduleSet set;
  for (JobId id = 1; id <= 5; ++id) set.add(at(10), id);
  std::vector<JobId> out;
  while (auto id = set.popDue(at(10))) out.push_back(*id);
  std::sort(out.begin(), out.end());
  EXPECT_EQ(out, (std::vector<JobId>{1, 2, 3, 4, 5}));
}

}  // namespace
}  // namespace corvee::broker
