#include "broker/slot_ranges.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "corvee/errors.h"

namespace corvee::broker {
namespace {

constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();

// The issue's worker: `--slots 100 --priority-slots 1:30,2:20`.
SlotRanges issueRanges() {
  Result<SlotRanges> ranges = SlotRanges::parse("1:30,2:20", 100);
  EXPECT_TRUE(ranges.isOk()) << ranges.status().toString();
  return *ranges;
}

// The three ranges of the issue's worker, by a few priorities each: below 1 (negative ones too),
// [1, 2), and 2 up.
enum Band { kLow = 0, kMid = 1, kHigh = 2 };
constexpr std::array<std::array<std::int32_t, 3>, 3> kPriorities{{{kMin, -7, 0}, {1, 1, 1}, {2, 9, kMax}}};

// Deals a flood of jobs, in `order`, to the issue's worker as the broker would: each job that is
// admitted takes a slot, the others stay queued. Checks after every job that the limits hold.
// Returns how many jobs of each range it added.
std::array<std::uint32_t, 3> flood(SlotOccupancy& worker, const std::vector<Band>& order) {
  std::array<std::uint32_t, 3> added{};
  std::array<std::size_t, 3> seen{};
  for (Band band : order) {
    std::int32_t priority = kPriorities[band][seen[band]++ % 3];
    if (!worker.admits(priority)) continue;
    worker.take(priority);
    ++added[band];
    std::uint32_t low = worker.runningIn(kLow), mid = worker.runningIn(kMid), high = worker.runningIn(kHigh);
    EXPECT_LE(low, 50u);
    EXPECT_LE(mid, 80u);
    EXPECT_LE(high, worker.strict() ? 70u : 100u);
    EXPECT_EQ(low + mid + high, worker.running());
    EXPECT_LE(worker.running(), 100u);
    // The guarantees themselves: what the ranges below hold leaves the ranges above their slots.
    if (worker.strict()) {
      EXPECT_LE(low + (mid > 30 ? mid - 30 : 0) + (high > 20 ? high - 20 : 0), 50u);
    } else {
      EXPECT_LE(low + mid, 80u);
    }
  }
  return added;
}

std::vector<Band> blocks(const std::vector<Band>& bands, std::size_t each) {
  std::vector<Band> order;
  for (Band band : bands) order.insert(order.end(), each, band);
  return order;
}

std::vector<Band> interleaved(std::size_t each) {
  std::vector<Band> order;
  for (std::size_t i = 0; i < each; ++i) order.insert(order.end(), {kLow, kMid, kHigh});
  return order;
}

// ---- SlotRanges: the configuration ----

TEST(SlotRanges, TheIssueExampleHasALowestRangeWithTheRest) {
  SlotRanges ranges = issueRanges();
  ASSERT_EQ(ranges.ranges().size(), 3u);
  EXPECT_EQ(ranges.ranges()[0], (SlotRanges::Range{kMin, 50}));
  EXPECT_EQ(ranges.ranges()[1], (SlotRanges::Range{1, 30}));
  EXPECT_EQ(ranges.ranges()[2], (SlotRanges::Range{2, 20}));
  EXPECT_EQ(ranges.totalSlots(), 100u);
  EXPECT_EQ(ranges.toString(), "1:30,2:20");
}

TEST(SlotRanges, PrioritiesFallInTheirRangesAndLowOnesInTheLowest) {
  SlotRanges ranges = issueRanges();
  EXPECT_EQ(ranges.rangeOf(kMin), 0u);
  EXPECT_EQ(ranges.rangeOf(-1), 0u);
  EXPECT_EQ(ranges.rangeOf(0), 0u);
  EXPECT_EQ(ranges.rangeOf(1), 1u);
  EXPECT_EQ(ranges.rangeOf(2), 2u);
  EXPECT_EQ(ranges.rangeOf(3), 2u);
  EXPECT_EQ(ranges.rangeOf(kMax), 2u);
}

TEST(SlotRanges, LimitsAreTheIssueNumbers) {
  SlotRanges ranges = issueRanges();
  EXPECT_EQ(ranges.limit(0, false), 50u);
  EXPECT_EQ(ranges.limit(1, false), 80u);
  EXPECT_EQ(ranges.limit(2, false), 100u);
  EXPECT_EQ(ranges.limit(0, true), 50u);
  EXPECT_EQ(ranges.limit(1, true), 80u);
  EXPECT_EQ(ranges.limit(2, true), 70u);
}

TEST(SlotRanges, NoRangesIsOneRangeOfEverySlot) {
  for (const SlotRanges& ranges : {SlotRanges(8), *SlotRanges::parse("", 8)}) {
    ASSERT_EQ(ranges.ranges().size(), 1u);
    EXPECT_EQ(ranges.ranges()[0].guaranteed, 8u);
    EXPECT_EQ(ranges.rangeOf(kMin), 0u);
    EXPECT_EQ(ranges.rangeOf(kMax), 0u);
    EXPECT_EQ(ranges.toString(), "");
  }
}

TEST(SlotRanges, EntriesUsingEverySlotLeaveNoImplicitRange) {
  // proletariat's own form, with the lowest range spelled out: the same worker as "1:30,2:20".
  Result<SlotRanges> ranges = SlotRanges::parse("0:50,1:30,2:20", 100);
  ASSERT_TRUE(ranges.isOk()) << ranges.status().toString();
  ASSERT_EQ(ranges->ranges().size(), 3u);
  EXPECT_EQ(ranges->ranges()[0], (SlotRanges::Range{0, 50}));
  EXPECT_EQ(ranges->rangeOf(-5), 0u);  // below the first bound: the lowest range
  EXPECT_EQ(ranges->limit(1, false), 80u);
  EXPECT_EQ(ranges->limit(2, true), 70u);
  EXPECT_EQ(ranges->toString(), "0:50,1:30,2:20");
}

TEST(SlotRanges, NegativeBoundsAndTheExtremesParse) {
  Result<SlotRanges> ranges = SlotRanges::parse("-2147483648:1,-5:2,2147483647:3", 10);
  ASSERT_TRUE(ranges.isOk()) << ranges.status().toString();
  ASSERT_EQ(ranges->ranges().size(), 4u);  // 4 slots left over below kMin: a range nothing falls in
  EXPECT_EQ(ranges->rangeOf(kMin), 1u);
  EXPECT_EQ(ranges->rangeOf(-6), 1u);
  EXPECT_EQ(ranges->rangeOf(-5), 2u);
  EXPECT_EQ(ranges->rangeOf(kMax), 3u);
}

TEST(SlotRanges, ToStringRoundTrips) {
  for (const char* spec : {"", "1:30,2:20", "0:50,1:30,2:20", "-3:1,0:2,7:3", "5:10"}) {
    Result<SlotRanges> ranges = SlotRanges::parse(spec, 100);
    ASSERT_TRUE(ranges.isOk()) << spec << ": " << ranges.status().toString();
    Result<SlotRanges> again = SlotRanges::parse(ranges->toString(), 100);
    ASSERT_TRUE(again.isOk()) << spec;
    EXPECT_EQ(*again, *ranges) << spec;
  }
}

TEST(SlotRanges, BadSpecsAreRefusedWithTheEntryAtFault) {
  struct Case {
    const char* spec;
    const char* message_part;
  };
  for (const Case& c : std::vector<Case>{
           {"1", "\"1\": expected PRIORITY:SLOTS"},
           {"1:30,", "\"\": expected PRIORITY:SLOTS"},
           {",1:30", "\"\": expected PRIORITY:SLOTS"},
           {"1:30,,2:20", "\"\": expected PRIORITY:SLOTS"},
           {"x:30", "\"x:30\": the priority is not a 32-bit integer"},
           {"1.5:30", "the priority is not a 32-bit integer"},
           {" 1:30", "the priority is not a 32-bit integer"},
           {"+1:30", "the priority is not a 32-bit integer"},
           {"2147483648:1", "the priority is not a 32-bit integer"},
           {"1:", "the slot count is not a non-negative 32-bit integer"},
           {"1:-3", "the slot count is not a non-negative 32-bit integer"},
           {"1:3x", "the slot count is not a non-negative 32-bit integer"},
           {"1:30:2", "the slot count is not a non-negative 32-bit integer"},
           {"1:0", "\"1:0\": guarantees no slot"},
           {"2:20,1:30", "\"1:30\": priorities must be strictly increasing (1 after 2)"},
           {"1:30,1:20", "priorities must be strictly increasing (1 after 1)"},
           {"1:60,2:41", "\"2:41\": the guaranteed slots add up to 101, more than the worker's 100"},
       }) {
    Result<SlotRanges> ranges = SlotRanges::parse(c.spec, 100);
    ASSERT_FALSE(ranges.isOk()) << c.spec;
    EXPECT_EQ(ranges.status().code(), errc::kBadRequest) << c.spec;
    EXPECT_NE(ranges.status().message().find(c.message_part), std::string::npos)
        << c.spec << " gave: " << ranges.status().message();
  }
  EXPECT_FALSE(SlotRanges::parse("1:1", 0).isOk());  // a worker with no slots guarantees nothing
}

// ---- SlotOccupancy: one worker's running jobs ----

TEST(SlotRangesOccupancy, EachRangeAloneReachesItsLimit) {
  for (bool strict : {false, true}) {
    for (Band band : {kLow, kMid, kHigh}) {
      SlotOccupancy worker(issueRanges(), strict);
      std::array<std::uint32_t, 3> running = flood(worker, blocks({band}, 300));
      std::uint32_t expected = std::array<std::uint32_t, 3>{50, 80, strict ? 70u : 100u}[band];
      EXPECT_EQ(running[band], expected) << "strict " << strict << ", band " << band;
    }
  }
}

TEST(SlotRangesOccupancy, MixedFloodsInBlocksKeepTheLimits) {
  struct Case {
    std::vector<Band> order;
    bool strict;
    std::array<std::uint32_t, 3> running;
  };
  for (const Case& c : std::vector<Case>{
           // Lowest first: each range then gets exactly the slots kept for it.
           {{kLow, kMid, kHigh}, false, {50, 30, 20}},
           {{kLow, kMid, kHigh}, true, {50, 30, 20}},
           // Highest first: normally it takes every slot, the middle range's too...
           {{kHigh, kMid, kLow}, false, {0, 0, 100}},
           // ...but with strict guarantees the middle range keeps its 30.
           {{kHigh, kMid, kLow}, true, {0, 30, 70}},
           {{kMid, kLow, kHigh}, false, {0, 80, 20}},
           {{kMid, kLow, kHigh}, true, {0, 80, 20}},
           {{kMid, kHigh, kLow}, false, {0, 80, 20}},
           {{kHigh, kLow, kMid}, true, {0, 30, 70}},
           {{kLow, kHigh, kMid}, false, {50, 0, 50}},
           {{kLow, kHigh, kMid}, true, {50, 30, 20}},
       }) {
    SlotOccupancy worker(issueRanges(), c.strict);
    std::array<std::uint32_t, 3> running = flood(worker, blocks(c.order, 200));
    EXPECT_EQ(running, c.running) << "strict " << c.strict;
    EXPECT_EQ(worker.running(), 100u);
  }
}

TEST(SlotRangesOccupancy, AnInterleavedFloodSharesTheSlots) {
  for (bool strict : {false, true}) {
    SlotOccupancy worker(issueRanges(), strict);
    std::array<std::uint32_t, 3> running = flood(worker, interleaved(200));
    EXPECT_EQ(running, (std::array<std::uint32_t, 3>{34, 33, 33})) << "strict " << strict;
  }
}

TEST(SlotRangesOccupancy, ShuffledFloodsWithChurnKeepTheLimitsAndFillTheWorker) {
  // Arrivals in random orders with jobs finishing at random: the limits hold at every step (checked
  // in flood()), and with every range still queued a free slot never stays empty.
  for (bool strict : {false, true}) {
    std::mt19937 generator(strict ? 7 : 11);  // fixed seeds: the same runs every time
    SlotOccupancy worker(issueRanges(), strict);
    std::array<std::uint32_t, 3> peak{};
    for (int round = 0; round < 200; ++round) {
      std::vector<Band> order = interleaved(60);
      std::shuffle(order.begin(), order.end(), generator);
      (void)flood(worker, order);
      for (std::size_t band = 0; band < 3; ++band) peak[band] = std::max(peak[band], worker.runningIn(band));
      EXPECT_EQ(worker.running(), 100u);
      EXPECT_LE(worker.runningIn(kLow), 50u);
      EXPECT_LE(worker.runningIn(kLow) + worker.runningIn(kMid), strict ? 100u : 80u);
      EXPECT_LE(worker.runningIn(kHigh), strict ? 70u : 100u);
      // A random share of the running jobs finish; priorities are kept per band by count.
      for (Band band : {kLow, kMid, kHigh}) {
        std::uint32_t finishing = std::uniform_int_distribution<std::uint32_t>(0, worker.runningIn(band))(generator);
        for (std::uint32_t i = 0; i < finishing; ++i) worker.release(kPriorities[band][i % 3]);
      }
    }
    EXPECT_LE(peak[kLow], 50u);
    EXPECT_LE(peak[kMid], 80u);
    EXPECT_LE(peak[kHigh], strict ? 70u : 100u);
  }
}

TEST(SlotRangesOccupancy, TheHighRangesKeepTheirSlotsFromALowFlood) {
  for (bool strict : {false, true}) {
    SlotOccupancy worker(issueRanges(), strict);
    for (int i = 0; i < 1000; ++i) {
      if (worker.admits(0)) worker.take(0);
    }
    EXPECT_EQ(worker.running(), 50u);
    EXPECT_FALSE(worker.admits(-100));
    EXPECT_TRUE(worker.admits(1));
    EXPECT_TRUE(worker.admits(2));
  }
}

TEST(SlotRangesOccupancy, OnlyStrictGuaranteesKeepTheMiddleRangeFromAHighFlood) {
  SlotOccupancy normal(issueRanges(), false);
  SlotOccupancy strict(issueRanges(), true);
  for (int i = 0; i < 1000; ++i) {
    if (normal.admits(5)) normal.take(5);
    if (strict.admits(5)) strict.take(5);
  }
  EXPECT_EQ(normal.running(), 100u);
  EXPECT_FALSE(normal.admits(1));
  EXPECT_EQ(strict.running(), 70u);
  EXPECT_TRUE(strict.admits(1));
  EXPECT_FALSE(strict.admits(0));  // the high flood took the lowest range
}

TEST(SlotRangesOccupancy, ReleaseThenAdmitAgain) {
  SlotOccupancy worker(issueRanges(), false);
  for (int i = 0; i < 50; ++i) worker.take(0);
  EXPECT_FALSE(worker.admits(0));
  worker.release(0);
  EXPECT_TRUE(worker.admits(0));
  worker.take(-3);  // the same range, another priority
  EXPECT_FALSE(worker.admits(0));
  EXPECT_EQ(worker.runningIn(0), 50u);
}

TEST(SlotRangesOccupancy, SlotsAreNotPinnedToJobs) {
  // Strict: 70 high jobs hold their own 20 slots and the lowest range's 50. Any one of them
  // finishing frees a slot of the lowest range, whichever slot it "was" in.
  SlotOccupancy worker(issueRanges(), true);
  for (int i = 0; i < 70; ++i) worker.take(2);
  EXPECT_FALSE(worker.admits(0));
  worker.release(2);
  EXPECT_TRUE(worker.admits(0));
  worker.take(0);
  EXPECT_FALSE(worker.admits(0));
  EXPECT_FALSE(worker.admits(2));
  EXPECT_TRUE(worker.admits(1));  // the middle range's own 30 are untouched
}

TEST(SlotRangesOccupancy, NoRangesArePlainSlots) {
  for (bool strict : {false, true}) {
    SlotOccupancy worker(SlotRanges(3), strict);
    for (std::int32_t priority : {kMin, 0, kMax}) {
      ASSERT_TRUE(worker.admits(priority));
      worker.take(priority);
    }
    EXPECT_FALSE(worker.admits(kMax));
    worker.release(kMin);
    EXPECT_TRUE(worker.admits(kMax));
  }
  SlotOccupancy none(SlotRanges(0), false);
  EXPECT_FALSE(none.admits(0));
}

TEST(SlotRangesOccupancy, OneRange) {
  // 6 slots left over for priorities below 5, 4 kept for 5 and up.
  for (bool strict : {false, true}) {
    SlotOccupancy worker(*SlotRanges::parse("5:4", 10), strict);
    int low = 0, high = 0;
    for (int i = 0; i < 20; ++i) {
      if (!worker.admits(0)) continue;
      worker.take(0);
      ++low;
    }
    for (int i = 0; i < 20; ++i) {
      if (!worker.admits(5)) continue;
      worker.take(5);
      ++high;
    }
    EXPECT_EQ(low, 6);
    EXPECT_EQ(high, 4);
  }
  // A range holding every slot is plain slots again.
  SlotOccupancy all(*SlotRanges::parse("5:10", 10), false);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(all.admits(-1));
    all.take(-1);
  }
  EXPECT_FALSE(all.admits(5));
}

TEST(SlotRangesOccupancy, JobsTakenBeyondTheLimitsOnlyBlockWhatNeedsTheirSlots) {
  // 60 low jobs on the issue's worker (say it reconnected with them): low stays shut until 11 go,
  // while the middle and high ranges still have their own slots.
  SlotOccupancy worker(issueRanges(), false);
  for (int i = 0; i < 60; ++i) worker.take(0);
  EXPECT_FALSE(worker.admits(0));
  EXPECT_TRUE(worker.admits(1));
  EXPECT_TRUE(worker.admits(2));
  for (int i = 0; i < 10; ++i) worker.release(0);
  EXPECT_FALSE(worker.admits(0));
  worker.release(0);
  EXPECT_TRUE(worker.admits(0));

  // Never more jobs than slots, whatever the ranges would allow.
  SlotOccupancy full(issueRanges(), true);
  for (int i = 0; i < 110; ++i) full.take(0);
  EXPECT_FALSE(full.admits(1));
  EXPECT_FALSE(full.admits(2));
}

}  // namespace
}  // namespace corvee::broker
