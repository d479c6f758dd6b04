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

// ---- RATE at run time (`corvee rate TASK N/s`, protocol version 4) ----

class CoreRuntimeRateTest : public CoreTest {
 protected:
  // Sends RATE and expects its OK.
  void setRate(PeerId c, std::string_view task, std::string_view rate) {
    expectOk(c, send(c, protocol::RateMsg{task, rate}));
  }
  nlohmann::json queueStats(PeerId c, std::string_view task) {
    nlohmann::json doc = stats(c);  // kept: a loop over a temporary's member would dangle
    for (const auto& queue : doc["queues"]) {
      if (queue["task"] == std::string(task)) return queue;
    }
    ADD_FAILURE() << "no queue " << task << " in stats";
    return {};
  }
};

TEST_F(CoreRuntimeRateTest, ARateSetAtRunTimeLimitsDispatchAtOnce) {
  PeerId w = worker(10);
  PeerId c = client();
  setRate(c, "echo", "1/s:1");
  flush();
  for (int i = 0; i < 3; ++i) submit(c);
  flush();
  EXPECT_EQ(assigns(w).size(), 1u);
  advance(999);
  flush();
  EXPECT_TRUE(assigns(w).empty());
  advance(1);
  flush();
  EXPECT_EQ(assigns(w).size(), 1u);
  auto queue = queueStats(c, "echo");
  EXPECT_EQ(queue["rate"]["limit"], "1/s:1");
  EXPECT_EQ(queue["rate_origin"], "runtime");
}

TEST_F(CoreRuntimeRateTest, OffLiftsTheLimitAndWakesAQueueWaitingForItsNextToken) {
  options_.rates = {"echo=1/h:1"};
  PeerId w = worker(10);
  PeerId c = client();
  for (int i = 0; i < 4; ++i) submit(c);
  flush();
  EXPECT_EQ(assigns(w).size(), 1u);
  ASSERT_TRUE(core().nextDeadline().has_value()) << "asleep until the next token, an hour away";
  EXPECT_EQ(queueStats(c, "echo")["rate_origin"], "flag");
  setRate(c, "echo", "");
  flush();
  EXPECT_EQ(assigns(w).size(), 3u) << "the rest went as soon as the limit was lifted";
  EXPECT_EQ(core().nextDeadline(), std::nullopt) << "no wake-up left for a limit that is gone";
  auto queue = queueStats(c, "echo");
  EXPECT_TRUE(queue["rate"].is_null());
  EXPECT_EQ(queue["rate_origin"], "runtime") << "off, at run time, over the flag";
}

TEST_F(CoreRuntimeRateTest, AFasterRateTakesEffectForAQueueAsleepUnderTheSlowerOne) {
  options_.rates = {"echo=1/h:1"};
  PeerId w = worker(10);
  PeerId c = client();
  for (int i = 0; i < 3; ++i) submit(c);
  flush();
  EXPECT_EQ(assigns(w).size(), 1u);
  setRate(c, "echo", "10/s:1");
  flush();
  EXPECT_TRUE(assigns(w).empty()) << "the bucket keeps what it had banked: none";
  advance(100);
  flush();
  EXPECT_EQ(assigns(w).size(), 1u) << "a token a tenth of a second, not an hour";
}

TEST_F(CoreRuntimeRateTest, TheStoredRateWinsOverTheFlagAfterARestart) {
  options_.rates = {"echo=100/s:100", "other=1/s:1"};
  PeerId c = client();
  setRate(c, "echo", "1/s:1");
  setRate(c, "email", "");  // off for a task with no flag: stored all the same
  flush();
  restart();
  PeerId w = worker(10, {"echo", "other"});
  c = client();
  for (int i = 0; i < 3; ++i) submit(c);
  flush();
  EXPECT_EQ(assigns(w).size(), 1u) << "the flag's 100/s came back over the stored 1/s";
  EXPECT_EQ(queueStats(c, "echo")["rate"]["limit"], "1/s:1");
  EXPECT_EQ(queueStats(c, "echo")["rate_origin"], "runtime");
  EXPECT_EQ(queueStats(c, "other")["rate_origin"], "flag") << "a task never set at run time keeps its flag";
  EXPECT_EQ(queueStats(c, "email")["rate_origin"], "runtime");
}

TEST_F(CoreRuntimeRateTest, OffIsStoredAndBeatsTheFlagAfterARestart) {
  options_.rates = {"echo=1/h:1"};
  PeerId c = client();
  setRate(c, "echo", "");
  flush();
  restart();
  PeerId w = worker(10);
  c = client();
  for (int i = 0; i < 3; ++i) submit(c);
  flush();
  EXPECT_EQ(assigns(w).size(), 3u);
}

TEST_F(CoreRuntimeRateTest, PauseAndRateAreStoredTogether) {
  PeerId c = client();
  submit(c);
  expectOk(c, send(c, protocol::PauseMsg{"echo", 1}));
  setRate(c, "echo", "5/s:5");
  flush();
  auto settings = store_.taskSettings();
  ASSERT_TRUE(settings.isOk());
  ASSERT_EQ(settings->size(), 1u);
  EXPECT_EQ((*settings)[0].first, "echo");
  EXPECT_TRUE((*settings)[0].second.paused);
  EXPECT_EQ((*settings)[0].second.rate, std::optional<std::string>("5/s:5"));
  expectOk(c, send(c, protocol::PauseMsg{"echo", 0}));
  flush();
  settings = store_.taskSettings();
  ASSERT_EQ(settings->size(), 1u);
  EXPECT_FALSE((*settings)[0].second.paused);
  EXPECT_EQ((*settings)[0].second.rate, std::optional<std::string>("5/s:5")) << "resuming kept the rate";
}

TEST_F(CoreRuntimeRateTest, ABadRateOrTaskIsRefusedAndChangesNothing) {
  PeerId c = client();
  expectError(c, send(c, protocol::RateMsg{"echo", "fast"}), "bad_request");
  expectError(c, send(c, protocol::RateMsg{"", "1/s"}), "bad_request");
  flush();
  EXPECT_TRUE(store_.taskSettings()->empty());
}

TEST_F(CoreRuntimeRateTest, AVersion3SessionDoesNotKnowRate) {
  PeerId c = connect();
  protocol::HelloMsg hello;
  hello.version = 3;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  hello.name = "old";
  send(c, hello);
  takeAll(c);
  std::string wire;
  protocol::encode(wire, 9, protocol::RateMsg{"echo", "1/s"}, 3);
  deliver(c, wire);
  auto errs = errors(c);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].code, "unknown_command");
}

}  // namespace
}  // namespace corvee::broker::test
