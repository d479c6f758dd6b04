// JobQueue: priority order, FIFO within a priority, head insertion, and lazy removal by ticket.
#include "broker/job_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <map>
#include <vector>

namespace corvee::broker {
namespace {

// Plays the broker's part: remembers each job's current ticket, as Core's LiveJob does.
class JobQueueTest : public ::testing::Test {
 protected:
  void push(JobId id, std::int32_t priority) {
    tickets_[id] = next_ticket_++;
    queue_.pushBack(id, priority, tickets_[id]);
  }
  void pushFront(JobId id, std::int32_t priority) {
    tickets_[id] = next_ticket_++;
    queue_.pushFront(id, priority, tickets_[id]);
  }
  // What the core does when a queued job fails by a time limit: the entry dies with its ticket.
  void kill(JobId id) {
    tickets_.erase(id);
    queue_.forget();
  }
  JobQueue::LivenessCheck live() {
    return [this](const JobQueue::Entry& e) {
      auto it = tickets_.find(e.id);
      return it != tickets_.end() && it->second == e.ticket;
    };
  }
  // Pops everything live, in order.
  std::vector<JobId> popAll() {
    std::vector<JobId> out;
    while (auto e = queue_.peek(live())) {
      out.push_back(e->id);
      queue_.popPeeked();
      tickets_.erase(e->id);
    }
    return out;
  }

  JobQueue queue_;
  std::map<JobId, std::uint32_t> tickets_;
  std::uint32_t next_ticket_ = 1;
};

TEST_F(JobQueueTest, EmptyQueue) {
  EXPECT_TRUE(queue_.empty());
  EXPECT_EQ(queue_.size(), 0u);
  EXPECT_FALSE(queue_.peek(live()).has_value());
}

TEST_F(JobQueueTest, HigherPriorityFirst) {
  push(1, 0);
  push(2, 10);
  push(3, -5);
  push(4, 3);
  push(5, std::numeric_limits<std::int32_t>::max());
  push(6, std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(popAll(), (std::vector<JobId>{5, 2, 4, 1, 3, 6}));
}

TEST_F(JobQueueTest, FifoWithinAPriority) {
  push(1, 1);
  push(2, 0);
  push(3, 1);
  push(4, 0);
  push(5, 1);
  EXPECT_EQ(popAll(), (std::vector<JobId>{1, 3, 5, 2, 4}));
}

TEST_F(JobQueueTest, PeekDoesNotRemove) {
  push(7, 0);
  auto first = queue_.peek(live());
  auto second = queue_.peek(live());
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->id, 7u);
  EXPECT_EQ(second->id, 7u);
  EXPECT_EQ(second->ticket, tickets_[7]);
  EXPECT_EQ(queue_.size(), 1u);
}

TEST_F(JobQueueTest, PeekPriorityIsThatOfThePeekedEntry) {
  push(1, -2);
  push(2, 4);
  ASSERT_TRUE(queue_.peek(live()));
  EXPECT_EQ(queue_.peekPriority(), 4);
  queue_.popPeeked();
  ASSERT_TRUE(queue_.peek(live()));
  EXPECT_EQ(queue_.peekPriority(), -2);
}

TEST_F(JobQueueTest, PushFrontGoesAheadOfItsPriorityOnly) {
  // A requeued job jumps its own priority level, never a higher one.
  push(1, 5);
  push(2, 0);
  push(3, 0);
  pushFront(4, 0);
  EXPECT_EQ(popAll(), (std::vector<JobId>{1, 4, 2, 3}));
}

TEST_F(JobQueueTest, PushFrontOnEmptyQueueAndNewLevel) {
  pushFront(1, 2);
  push(2, 2);
  pushFront(3, 9);
  EXPECT_EQ(queue_.size(), 3u);
  EXPECT_EQ(popAll(), (std::vector<JobId>{3, 1, 2}));
}

TEST_F(JobQueueTest, DeadTicketsAreSkipped) {
  push(1, 0);
  push(2, 0);
  push(3, 0);
  kill(1);
  kill(3);
  EXPECT_EQ(queue_.size(), 1u);
  EXPECT_EQ(popAll(), (std::vector<JobId>{2}));
  EXPECT_TRUE(queue_.empty());
}

TEST_F(JobQueueTest, RequeuedJobsOldEntryIsDead) {
  // A job popped, then put back with a new ticket, must not be dealt twice by a stale entry.
  push(1, 0);
  push(2, 0);
  auto e = queue_.peek(live());
  ASSERT_TRUE(e);
  queue_.popPeeked();
  pushFront(1, 0);  // bumps job 1's ticket
  EXPECT_EQ(popAll(), (std::vector<JobId>{1, 2}));
}

TEST_F(JobQueueTest, BumpedTicketWithForgetKeepsSizeRight) {
  push(1, 3);
  push(2, 3);
  push(3, 1);
  tickets_[2] = next_ticket_++;  // the job left the queue without being popped
  queue_.forget();
  EXPECT_EQ(queue_.size(), 2u);
  auto e = queue_.peek(live());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, 1u);
  queue_.popPeeked();
  EXPECT_EQ(queue_.size(), 1u);
  e = queue_.peek(live());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, 3u);  // the dead entry for job 2 was skipped
  queue_.popPeeked();
  EXPECT_EQ(queue_.size(), 0u);
  EXPECT_TRUE(queue_.empty());
}

TEST_F(JobQueueTest, AllDeadPeeksNothing) {
  push(1, 0);
  push(2, 7);
  kill(1);
  kill(2);
  EXPECT_TRUE(queue_.empty());
  EXPECT_FALSE(queue_.peek(live()).has_value());
  // The queue stays usable after its levels were emptied by skipping.
  push(3, 7);
  EXPECT_EQ(popAll(), (std::vector<JobId>{3}));
}

TEST_F(JobQueueTest, SizeCountsLiveEntries) {
  for (JobId id = 1; id <= 10; ++id) push(id, static_cast<std::int32_t>(id % 3));
  EXPECT_EQ(queue_.size(), 10u);
  kill(4);
  kill(5);
  EXPECT_EQ(queue_.size(), 8u);
  auto order = popAll();
  EXPECT_EQ(order, (std::vector<JobId>{2, 8, 1, 7, 10, 3, 6, 9}));
  EXPECT_EQ(queue_.size(), 0u);
}

// ---- Dealing by fairness keys.

// The same queue dealing by keys; FairKeys plays the broker's part of weights, caps and running jobs.
class KeyedJobQueueTest : public JobQueueTest {
 protected:
  KeyedJobQueueTest() { queue_.dealByKeys(keys_); }
  FairKeys::KeyId key(std::string_view name) {
    auto it = ids_.find(std::string(name));
    if (it != ids_.end()) return it->second;
    return ids_[std::string(name)] = keys_.acquire(name);
  }
  void pushKeyed(JobId id, std::string_view k, std::int32_t priority = 0) {
    tickets_[id] = next_ticket_++;
    queue_.pushBack(id, priority, tickets_[id], key(k));
  }
  void pushKeyedFront(JobId id, std::string_view k, std::int32_t priority = 0) {
    tickets_[id] = next_ticket_++;
    queue_.pushFront(id, priority, tickets_[id], key(k));
  }
  // Pops up to `n` entries, noting each one's key name; a popped job runs (for the cap) until ended().
  std::vector<std::string> popKeys(std::size_t n) {
    std::vector<std::string> out;
    while (out.size() < n) {
      auto e = queue_.peek(live());
      if (!e) break;
      queue_.popPeeked();
      tickets_.erase(e->id);
      keys_.started(e->key);
      running_[e->id] = e->key;
      out.emplace_back(e->key == FairKeys::kNoKey ? "-" : keys_.name(e->key));
    }
    return out;
  }
  void ended(JobId id) {
    keys_.ended(running_.at(id));
    running_.erase(id);
  }
  FairKeys keys_;
  std::map<std::string, FairKeys::KeyId> ids_;
  std::map<JobId, FairKeys::KeyId> running_;
};

TEST(JobQueueEntryTest, AnEntryStaysSixteenBytes) { EXPECT_EQ(sizeof(JobQueue::Entry), 16u); }

TEST_F(KeyedJobQueueTest, KeysTakeTurnsFifoWithinEachKey) {
  // A flood of key a, then one job each of b and c: they do not wait behind the flood.
  for (JobId id = 1; id <= 100; ++id) pushKeyed(id, "a");
  pushKeyed(101, "b");
  pushKeyed(102, "c");
  EXPECT_EQ(popKeys(6), (std::vector<std::string>{"a", "b", "c", "a", "a", "a"}));
  EXPECT_EQ(queue_.size(), 96u);
  // FIFO within a key: a's jobs come in submission order.
  std::vector<JobId> order;
  while (auto e = queue_.peek(live())) {
    order.push_back(e->id);
    queue_.popPeeked();
    tickets_.erase(e->id);
  }
  ASSERT_EQ(order.size(), 96u);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(order.front(), 5u);
}

TEST_F(KeyedJobQueueTest, JobsWithoutAKeyAreOneKeyOfTheirOwn) {
  for (JobId id = 1; id <= 3; ++id) pushKeyed(id, "");
  for (JobId id = 4; id <= 6; ++id) pushKeyed(id, "a");
  EXPECT_EQ(popKeys(6), (std::vector<std::string>{"-", "a", "-", "a", "-", "a"}));
}

TEST_F(KeyedJobQueueTest, EntriesQueuedBeforeDealingByKeysKeepTheirOrder) {
  JobQueue plain;
  std::uint32_t ticket = 1;
  for (JobId id = 1; id <= 3; ++id) plain.pushBack(id, 0, ticket);
  plain.pushBack(4, 5, ticket);
  plain.dealByKeys(keys_);
  plain.pushBack(5, 0, ticket, key("a"));
  std::vector<JobId> order;
  auto all = [](const JobQueue::Entry&) { return true; };
  while (auto e = plain.peek(all)) {
    order.push_back(e->id);
    plain.popPeeked();
  }
  // The key that came with nothing waiting is dealt first, then the turns go round.
  EXPECT_EQ(order, (std::vector<JobId>{4, 5, 1, 2, 3}));
}

TEST_F(KeyedJobQueueTest, WeightsThreeToOneGiveThreeToOne) {
  keys_.setWeight("heavy", 3);
  for (JobId id = 1; id <= 300; ++id) pushKeyed(id, "heavy");
  for (JobId id = 301; id <= 600; ++id) pushKeyed(id, "light");
  auto dealt = popKeys(400);
  ASSERT_EQ(dealt.size(), 400u);
  EXPECT_EQ(std::count(dealt.begin(), dealt.end(), "heavy"), 300);
  EXPECT_EQ(std::count(dealt.begin(), dealt.end(), "light"), 100);
  EXPECT_EQ(std::vector<std::string>(dealt.begin(), dealt.begin() + 8),
            (std::vector<std::string>{"heavy", "heavy", "heavy", "light", "heavy", "heavy", "heavy", "light"}));
}

TEST_F(KeyedJobQueueTest, HigherPriorityComesFirstAcrossKeys) {
  for (JobId id = 1; id <= 3; ++id) pushKeyed(id, "a", 0);
  pushKeyed(4, "b", 0);
  pushKeyed(5, "c", 9);
  pushKeyed(6, "a", 9);
  EXPECT_EQ(popKeys(6), (std::vector<std::string>{"c", "a", "a", "b", "a", "a"}));
}

TEST_F(KeyedJobQueueTest, AKeyAtItsCapIsPassedOverAndDealtAgainOnceOneEnds) {
  keys_.setCap(1);
  for (JobId id = 1; id <= 3; ++id) pushKeyed(id, "a");
  for (JobId id = 4; id <= 6; ++id) pushKeyed(id, "b");
  EXPECT_EQ(popKeys(10), (std::vector<std::string>{"a", "b"})) << "each key runs one job, then waits";
  EXPECT_FALSE(queue_.peek(live()).has_value()) << "every key is capped: nothing to deal, and no spin";
  EXPECT_EQ(queue_.size(), 4u);
  ended(4);  // b's job ends
  EXPECT_EQ(popKeys(10), (std::vector<std::string>{"b"}));
  ended(1);
  ended(5);
  EXPECT_EQ(popKeys(10), (std::vector<std::string>{"a", "b"}));
}

TEST_F(KeyedJobQueueTest, ACappedLevelLetsLowerPrioritiesOfOtherKeysThrough) {
  keys_.setCap(1);
  pushKeyed(1, "a", 5);
  pushKeyed(2, "a", 5);
  pushKeyed(3, "b", 0);
  EXPECT_EQ(popKeys(10), (std::vector<std::string>{"a", "b"}));
  ended(1);
  EXPECT_EQ(popKeys(10), (std::vector<std::string>{"a"}));
}

TEST_F(KeyedJobQueueTest, PeekBelowDealsByKeysToo) {
  pushKeyed(1, "a", 5);
  pushKeyed(2, "a", 0);
  pushKeyed(3, "a", 0);
  pushKeyed(4, "b", 0);
  // A worker refusing priority 5 takes from the level below, in turn: a, then b.
  auto e = queue_.peekBelow(5, live());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, 2u);
  EXPECT_EQ(queue_.peekPriority(), 0);
  queue_.popPeeked();
  tickets_.erase(2);
  e = queue_.peekBelow(5, live());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, 4u);
}

TEST_F(KeyedJobQueueTest, DeadEntriesAreSkippedAndTheirKeysLeaveTheTurn) {
  for (JobId id = 1; id <= 3; ++id) pushKeyed(id, "a");
  pushKeyed(4, "b");
  pushKeyed(5, "c");
  kill(4);  // b's only job cancelled: b drops out of the turn
  kill(2);
  EXPECT_EQ(queue_.size(), 3u);
  std::vector<JobId> order;
  while (auto e = queue_.peek(live())) {
    order.push_back(e->id);
    queue_.popPeeked();
    tickets_.erase(e->id);
  }
  EXPECT_EQ(order, (std::vector<JobId>{1, 5, 3}));
  EXPECT_TRUE(queue_.empty());
}

TEST_F(KeyedJobQueueTest, AJobPutBackGoesFirst) {
  pushKeyed(1, "a");
  pushKeyed(2, "a");
  pushKeyed(3, "b");
  EXPECT_EQ(popKeys(1), (std::vector<std::string>{"a"}));  // job 1
  // Job 1's worker is lost: it goes back to the front of its key, and its key to the front.
  pushKeyedFront(1, "a");
  auto e = queue_.peek(live());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, 1u) << "the lost job goes first, though b's turn was next";
  queue_.popPeeked();
  tickets_.erase(1);
  e = queue_.peek(live());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, 3u) << "then b";
  queue_.popPeeked();
  tickets_.erase(3);
  // A job put back for a key with nothing waiting takes the turn at once.
  pushKeyed(4, "c");
  pushKeyedFront(5, "d");
  e = queue_.peek(live());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, 5u);
}

}  // namespace
}  // namespace corvee::broker
