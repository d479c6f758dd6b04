// Priority ranges with guaranteed slots (proletariat) in broker::Core: a 100-slot worker with
// `--priority-slots 1:30,2:20` runs at most 50 jobs of priority [0,1), 80 of [1,2) and 100 in all;
// with `--strict-guarantees` higher priorities overflow only into the lowest range: 50 / 80 / 70.
#include "broker/core_fixture.h"
#include "corvee/errors.h"

#include <array>

namespace corvee::broker::test {
namespace {

class CoreSlotRangesTest : public CoreTest {
 protected:
  PeerId rangedWorker(std::uint32_t slots, std::string_view ranges) {
    PeerId id = hello(protocol::Role::kWorker, "ranged");
    protocol::RegisterMsg reg{slots, {"echo"}, 0};
    reg.priority_slots = ranges;
    expectOk(id, send(id, reg));
    return id;
  }
  void flood(PeerId c, std::int32_t priority, int count) {
    for (int i = 0; i < count; ++i) submit(c, {.priority = priority});
  }
  // Dealt jobs by priority range: [0,1), [1,2), [2,∞).
  std::array<std::size_t, 3> byRange(const std::vector<Assigned>& dealt) {
    std::array<std::size_t, 3> counts{};
    for (const Assigned& a : dealt) ++counts[std::min<std::size_t>(priorities_.at(a.id), 2)];
    return counts;
  }
  JobId submitRemembered(PeerId c, std::int32_t priority) {
    JobId id = submit(c, {.priority = priority});
    priorities_[id] = static_cast<std::size_t>(std::max(priority, 0));
    return id;
  }
  std::map<JobId, std::size_t> priorities_;
};

TEST_F(CoreSlotRangesTest, EachRangeAloneRunsUpToItsLimit) {
  for (bool strict : {false, true}) {
    for (std::int32_t priority : {0, 1, 2, 7}) {
      options_.strict_guarantees = strict;
      core_.reset();
      outbox_ = RecordingOutbox();
      inbox_.clear();
      PeerId w = rangedWorker(100, "1:30,2:20");
      PeerId c = client();
      flood(c, priority, 150);
      flush();
      std::size_t expected = priority == 0 ? 50 : priority == 1 ? 80 : strict ? 70 : 100;
      EXPECT_EQ(assigns(w).size(), expected) << "priority " << priority << (strict ? " strict" : "");
    }
  }
}

TEST_F(CoreSlotRangesTest, AMixedFloodKeepsEveryLimitAndFillsTheWorker) {
  for (bool strict : {false, true}) {
    options_.strict_guarantees = strict;
    core_.reset();
    outbox_ = RecordingOutbox();
    inbox_.clear();
    priorities_.clear();
    PeerId c = client();
    // Interleaved, before the worker comes: the queue deals highest first.
    for (int i = 0; i < 120; ++i) {
      for (std::int32_t priority : {0, 1, 2}) submitRemembered(c, priority);
    }
    PeerId w = rangedWorker(100, "1:30,2:20");
    flush();
    auto dealt = assigns(w);
    auto counts = byRange(dealt);
    EXPECT_LE(counts[0], 50u);
    EXPECT_LE(counts[0] + counts[1], 80u);
    EXPECT_EQ(dealt.size(), 100u) << (strict ? "strict" : "normal") << ": " << counts[0] << "/" << counts[1] << "/"
                                  << counts[2];
    if (strict) {
      EXPECT_LE(counts[2], 70u);
    }
  }
}

TEST_F(CoreSlotRangesTest, HigherPrioritiesOverflowOnlyIntoTheLowestRangeWhenStrict) {
  for (bool strict : {false, true}) {
    options_.strict_guarantees = strict;
    core_.reset();
    outbox_ = RecordingOutbox();
    inbox_.clear();
    PeerId w = rangedWorker(100, "1:30,2:20");
    PeerId c = client();
    flood(c, 0, 60);
    flush();
    ASSERT_EQ(assigns(w).size(), 50u);
    flood(c, 2, 60);
    flush();
    // Normal: priority 2 may use every slot left (50). Strict: its own 20, and overflow only into
    // the lowest range, which the 50 low jobs fill.
    EXPECT_EQ(assigns(w).size(), strict ? 20u : 50u) << (strict ? "strict" : "normal");
  }
}

TEST_F(CoreSlotRangesTest, AFinishedJobFreesItsRangeForTheNext) {
  PeerId w = rangedWorker(100, "1:30,2:20");
  PeerId c = client();
  flood(c, 0, 60);
  flush();
  auto first = assigns(w);
  ASSERT_EQ(first.size(), 50u);
  complete(w, first[0].id, first[0].attempt);
  fail(w, first[1].id, first[1].attempt);
  flush();
  EXPECT_EQ(assigns(w).size(), 2u);
}

TEST_F(CoreSlotRangesTest, ABadSpecIsRefusedAtRegister) {
  PeerId id = hello(protocol::Role::kWorker, "bad");
  protocol::RegisterMsg reg{10, {"echo"}, 0};
  reg.priority_slots = "1:30";  // more guaranteed slots than the worker has
  expectError(id, send(id, reg), errc::kBadRequest);
  reg.priority_slots = "x";
  expectError(id, send(id, reg), errc::kBadRequest);
}

}  // namespace
}  // namespace corvee::broker::test
