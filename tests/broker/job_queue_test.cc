// JobQueue: priority order, FIFO within a priority, head insertion, and lazy removal by ticket.
#include "broker/job_queue.h"

#include <gtest/gtest.h>

#include <limits>
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

}  // namespace
}  // namespace corvee::broker
