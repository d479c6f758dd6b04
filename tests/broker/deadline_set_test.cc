// DeadlineSet: pending time limits come out earliest first, and never before they are due.
#include "broker/deadline_set.h"

#include <gtest/gtest.h>

#include <vector>

namespace corvee::broker {
namespace {

MonoTime at(std::int64_t ms) { return MonoTime(Millis(ms)); }

TEST(DeadlineSetTest, EmptySetHasNothingDue) {
  DeadlineSet set;
  EXPECT_FALSE(set.popDue(at(1'000'000)).has_value());
  EXPECT_FALSE(set.earliest().has_value());
  EXPECT_EQ(set.size(), 0u);
}

TEST(DeadlineSetTest, NotDueOneMillisecondEarlyAndDueExactlyOnTime) {
  DeadlineSet set;
  set.add({at(500), 1, 0, DeadlineKind::kGlobal});
  EXPECT_FALSE(set.popDue(at(499)).has_value());
  EXPECT_EQ(set.size(), 1u);
  auto due = set.popDue(at(500));
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->job, 1u);
  EXPECT_EQ(set.size(), 0u);
}

TEST(DeadlineSetTest, EarliestFirstWhateverTheInsertionOrder) {
  DeadlineSet set;
  set.add({at(300), 3, 0, DeadlineKind::kGlobal});
  set.add({at(100), 1, 0, DeadlineKind::kAssign});
  set.add({at(400), 4, 0, DeadlineKind::kRun});
  set.add({at(200), 2, 0, DeadlineKind::kGlobal});
  ASSERT_TRUE(set.earliest().has_value());
  EXPECT_EQ(*set.earliest(), at(100));
  std::vector<JobId> order;
  while (auto due = set.popDue(at(1000))) order.push_back(due->job);
  EXPECT_EQ(order, (std::vector<JobId>{1, 2, 3, 4}));
}

TEST(DeadlineSetTest, PopsOnlyWhatIsDue) {
  DeadlineSet set;
  set.add({at(10), 1, 0, DeadlineKind::kGlobal});
  set.add({at(20), 2, 0, DeadlineKind::kGlobal});
  set.add({at(30), 3, 0, DeadlineKind::kGlobal});
  std::vector<JobId> due_now;
  while (auto due = set.popDue(at(20))) due_now.push_back(due->job);
  EXPECT_EQ(due_now, (std::vector<JobId>{1, 2}));
  EXPECT_EQ(set.size(), 1u);
  EXPECT_EQ(*set.earliest(), at(30));
}

TEST(DeadlineSetTest, KeepsEveryField) {
  DeadlineSet set;
  set.add({at(5), 77, 3, DeadlineKind::kRun});
  auto due = set.popDue(at(5));
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->when, at(5));
  EXPECT_EQ(due->job, 77u);
  EXPECT_EQ(due->attempt, 3u);
  EXPECT_EQ(due->kind, DeadlineKind::kRun);
}

TEST(DeadlineSetTest, EqualTimesAllComeDue) {
  // Several limits of one job (global and assign) may fall on the same millisecond.
  DeadlineSet set;
  set.add({at(50), 1, 0, DeadlineKind::kGlobal});
  set.add({at(50), 1, 0, DeadlineKind::kAssign});
  set.add({at(50), 2, 1, DeadlineKind::kRun});
  EXPECT_FALSE(set.popDue(at(49)).has_value());
  int count = 0;
  while (set.popDue(at(50))) ++count;
  EXPECT_EQ(count, 3);
}

}  // namespace
}  // namespace corvee::broker
