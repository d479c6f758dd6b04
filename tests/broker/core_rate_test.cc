// Rate limits on dispatch (`broker --rate TASK=N/s[:BURST]`) in broker::Core, on a fake clock.
#include "broker/core_fixture.h"

namespace corvee::broker::test {
namespace {

class CoreRateTest : public CoreTest {};

TEST_F(CoreRateTest, JobsAreDealtNoFasterThanTheRateAfterTheBurst) {
  options_.rates = {"echo=2/s:2"};
  PeerId w = worker(10);
  PeerId c = client();
  for (int i = 0; i < 5; ++i) submit(c);
  flush();
  EXPECT_EQ(assigns(w).size(), 2u) << "the burst goes at once";
  ASSERT_EQ(core().nextDeadline(), clock_.now() + milliseconds(500)) << "the broker wakes for the next token";
  advance(499);
  flush();
  EXPECT_TRUE(assigns(w).empty());
  advance(1);
  flush();
  EXPECT_EQ(assigns(w).size(), 1u);
  advance(500);
  flush();
  EXPECT_EQ(assigns(w).size(), 1u);
  advance(10000);  // idle time refills only up to the burst
  flush();
  EXPECT_EQ(assigns(w).size(), 1u) << "one job was left";
  auto doc = stats(c);
  ASSERT_EQ(doc["queues"].size(), 1u);
  EXPECT_EQ(doc["queues"][0]["rate"]["limit"], "2/s:2");
}

TEST_F(CoreRateTest, OtherTasksAreNotHeldBack) {
  options_.rates = {"slow=1/s:1"};
  PeerId w = worker(10, {"slow", "fast"});
  PeerId c = client();
  for (int i = 0; i < 3; ++i) submitTask(c, "slow");
  for (int i = 0; i < 3; ++i) submitTask(c, "fast");
  flush();
  auto dealt = assigns(w);
  std::size_t slow = 0, fast = 0;
  for (const auto& a : dealt) (a.task == "slow" ? slow : fast)++;
  EXPECT_EQ(slow, 1u);
  EXPECT_EQ(fast, 3u);
  EXPECT_EQ(stats(c)["queues"].size(), 2u);
}

TEST_F(CoreRateTest, ABadRateFromAnEmbeddingProgramIsIgnoredNotFatal) {
  options_.rates = {"echo=fast", "noequals"};
  PeerId w = worker(10);
  PeerId c = client();
  for (int i = 0; i < 3; ++i) submit(c);
  flush();
  EXPECT_EQ(assigns(w).size(), 3u);
}

}  // namespace
}  // namespace corvee::broker::test
