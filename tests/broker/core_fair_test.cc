// Fairness keys (`submit --fair-key`, broker `--fair-weight`, `--key-concurrency`) in broker::Core,
// on a fake clock: round robin across keys behind a flood, weights, the per-key cap, and how they
// compose with priorities, cancel, a lost worker and a restart.
#include "broker/core_fixture.h"
#include "corvee/errors.h"

namespace corvee::broker::test {
namespace {

class CoreFairTest : public CoreTest {
 protected:
  JobId submitKey(PeerId c, std::string_view key, std::int32_t priority = 0) {
    JobId id = submit(c, {.priority = priority, .fair_key = key});
    keys_[id] = std::string(key);
    return id;
  }
  std::vector<std::string> keysOf(const std::vector<Assigned>& dealt) {
    std::vector<std::string> out;
    for (const Assigned& a : dealt) out.push_back(keys_.at(a.id));
    return out;
  }
  // Completes every job in `running` (oldest first) one at a time, noting what each completion
  // lets the broker deal; returns the keys dealt, in order.
  std::vector<std::string> runAll(PeerId w, std::deque<Assigned>& running, std::size_t max_jobs) {
    std::vector<std::string> order;
    while (!running.empty() && order.size() < max_jobs) {
      Assigned done = running.front();
      running.pop_front();
      complete(w, done.id, done.attempt);
      flush();
      for (const Assigned& a : assigns(w)) {
        order.push_back(keys_.at(a.id));
        running.push_back(a);
      }
    }
    return order;
  }
  std::map<JobId, std::string> keys_;
};

TEST_F(CoreFairTest, KeysArrivingBehindAFloodAreDealtAtTheNextFreeSlot) {
  PeerId w = worker(2);
  PeerId c = client();
  for (int i = 0; i < 100; ++i) submitKey(c, "flood");
  flush();
  std::deque<Assigned> running;
  for (const Assigned& a : assigns(w)) running.push_back(a);
  ASSERT_EQ(running.size(), 2u);
  // Nine tenants submit one job each while the flood runs: each is dealt the moment a slot frees,
  // not after the flood's 98 queued jobs.
  for (int k = 1; k <= 9; ++k) {
    std::string key = "tenant-" + std::to_string(k);
    submitKey(c, key);
    flush();
    EXPECT_TRUE(assigns(w).empty()) << "both slots are busy";
    Assigned done = running.front();
    running.pop_front();
    complete(w, done.id, done.attempt);
    flush();
    auto dealt = assigns(w);
    ASSERT_EQ(dealt.size(), 1u);
    EXPECT_EQ(keys_.at(dealt[0].id), key);
    running.push_back(dealt[0]);
  }
  auto doc = stats(c);
  ASSERT_EQ(doc["queues"].size(), 1u);
  EXPECT_EQ(doc["queues"][0]["fair_keys_waiting"], 1) << "only the flood still waits";
  EXPECT_TRUE(doc["queues"][0]["key_concurrency"].is_null());
}

TEST_F(CoreFairTest, KeysQueuedTogetherTakeTurns) {
  PeerId w = worker(1);
  PeerId c = client();
  for (int i = 0; i < 5; ++i) submitKey(c, "a");
  for (int i = 0; i < 2; ++i) submitKey(c, "b");
  submit(c);  // no key: one key of its own
  keys_[8] = "-";
  flush();
  std::deque<Assigned> running;
  for (const Assigned& a : assigns(w)) running.push_back(a);
  auto order = keysOf({running.begin(), running.end()});
  auto rest = runAll(w, running, 100);
  order.insert(order.end(), rest.begin(), rest.end());
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "-", "a", "b", "a", "a", "a"}));
}

TEST_F(CoreFairTest, WeightsThreeToOneGiveThreeToOne) {
  options_.fair_weights = {"echo:heavy=3"};
  PeerId w = worker(1);
  PeerId c = client();
  for (int i = 0; i < 60; ++i) submitKey(c, "heavy");
  for (int i = 0; i < 60; ++i) submitKey(c, "light");
  flush();
  std::deque<Assigned> running;
  for (const Assigned& a : assigns(w)) running.push_back(a);
  auto order = keysOf({running.begin(), running.end()});
  auto rest = runAll(w, running, 79);
  order.insert(order.end(), rest.begin(), rest.end());
  ASSERT_EQ(order.size(), 80u);
  EXPECT_EQ(std::count(order.begin(), order.end(), "heavy"), 60);
  EXPECT_EQ(std::count(order.begin(), order.end(), "light"), 20);
}

TEST_F(CoreFairTest, AKeyAtItsConcurrencyCapWaitsWhileOtherKeysRun) {
  options_.key_concurrency = {"echo=1"};
  PeerId w = worker(4);
  PeerId c = client();
  for (int i = 0; i < 5; ++i) submitKey(c, "a");
  for (int i = 0; i < 5; ++i) submitKey(c, "b");
  flush();
  auto dealt = assigns(w);
  EXPECT_EQ(keysOf(dealt), (std::vector<std::string>{"a", "b"})) << "one job per key, though 4 slots are free";
  auto doc = stats(c);
  EXPECT_EQ(doc["queues"][0]["key_concurrency"], 1);
  EXPECT_EQ(doc["queues"][0]["fair_keys_waiting"], 2);
  // Jobs without a key are not capped: they take the free slots.
  JobId plain1 = submit(c);
  JobId plain2 = submit(c);
  flush();
  auto more = assigns(w);
  ASSERT_EQ(more.size(), 2u);
  EXPECT_EQ(more[0].id, plain1);
  EXPECT_EQ(more[1].id, plain2);
  // b's job ends: b runs its next one, a still waits for its own.
  complete(w, dealt[1].id, dealt[1].attempt);
  flush();
  auto next = assigns(w);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(keys_.at(next[0].id), "b");
  // A failed attempt ends the key's running job too.
  fail(w, dealt[0].id, dealt[0].attempt);
  flush();
  next = assigns(w);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(keys_.at(next[0].id), "a");
}

TEST_F(CoreFairTest, TheCapDoesNotStopLowerPrioritiesOfOtherKeys) {
  options_.key_concurrency = {"echo=1"};
  PeerId w = worker(3);
  PeerId c = client();
  submitKey(c, "a", 5);
  submitKey(c, "a", 5);
  JobId low = submitKey(c, "b", 0);
  flush();
  auto dealt = assigns(w);
  ASSERT_EQ(dealt.size(), 2u);
  EXPECT_EQ(keys_.at(dealt[0].id), "a");
  EXPECT_EQ(dealt[1].id, low);
}

TEST_F(CoreFairTest, PriorityStillComesFirst) {
  PeerId w = worker(1);
  PeerId c = client();
  for (int i = 0; i < 5; ++i) submitKey(c, "flood");
  flush();
  auto first = assigns(w);
  ASSERT_EQ(first.size(), 1u);
  submitKey(c, "b", 0);
  JobId urgent = submitKey(c, "flood", 10);
  complete(w, first[0].id, first[0].attempt);
  flush();
  auto next = assigns(w);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, urgent) << "a higher priority goes before any key's turn";
}

TEST_F(CoreFairTest, CancelledAndExpiredJobsLeaveTheirKeysTurn) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId a1 = submitKey(c, "a");
  JobId b1 = submitKey(c, "b");
  JobId a2 = submitKey(c, "a");
  submit(c, {.assign_timeout_ms = 10, .fair_key = "c"});
  keys_[4] = "c";
  JobId d1 = submitKey(c, "d");
  flush();
  auto dealt = assigns(w);
  ASSERT_EQ(dealt.size(), 1u);
  EXPECT_EQ(dealt[0].id, a1);
  send(c, protocol::CancelJobMsg{b1});
  advance(10);  // c's job runs out of its assign timeout
  flush();
  EXPECT_EQ(stats(c)["queues"][0]["fair_keys_waiting"], 2) << "a and d still wait";
  std::deque<Assigned> running(dealt.begin(), dealt.end());
  auto order = runAll(w, running, 10);
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order, (std::vector<std::string>{"d", "a"}));
  (void)a2;
  (void)d1;
  EXPECT_EQ(stats(c)["queues"][0]["fair_keys_waiting"], 0);
}

TEST_F(CoreFairTest, ALostWorkersJobGoesFirstAndFreesItsKeysCap) {
  options_.key_concurrency = {"echo=1"};
  PeerId w1 = worker(1);
  PeerId c = client();
  JobId a1 = submitKey(c, "a");
  submitKey(c, "a");
  submitKey(c, "b");
  flush();
  auto dealt = assigns(w1);
  ASSERT_EQ(dealt.size(), 1u);
  ASSERT_EQ(dealt[0].id, a1);
  lose(w1);
  PeerId w2 = worker(1);
  flush();
  auto again = assigns(w2);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, a1) << "the lost job goes first, its key's running count released";
  EXPECT_EQ(again[0].attempt, 2u);
}

TEST_F(CoreFairTest, StatusShowsTheKeyAndARestartDealsFairlyAgain) {
  PeerId c = client();
  for (int i = 0; i < 20; ++i) submitKey(c, "flood");
  JobId other = submitKey(c, "tenant-x");
  flush();
  auto info = status(c, other);
  EXPECT_EQ(info.state, JobState::kQueued);
  send(c, protocol::StatusMsg{other});
  auto frames = takeType(c, MsgType::kJobInfo);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].as<protocol::JobInfoMsg>().fair_key, "tenant-x");
  restart();
  PeerId w = worker(1);
  c = client();
  flush();
  std::deque<Assigned> running;
  for (const Assigned& a : assigns(w)) running.push_back(a);
  auto order = keysOf({running.begin(), running.end()});
  auto rest = runAll(w, running, 2);
  order.insert(order.end(), rest.begin(), rest.end());
  EXPECT_EQ(std::vector<std::string>(order.begin(), order.begin() + 2),
            (std::vector<std::string>{"flood", "tenant-x"}))
      << "the recovered jobs keep their keys";
  EXPECT_EQ(stats(c)["queues"][0]["fair_keys_waiting"], 1);
}

TEST_F(CoreFairTest, ABadKeyIsRefused) {
  PeerId c = client();
  std::string too_long(256, 'k');
  expectError(c, send(c, submitMsg({.fair_key = too_long})), errc::kBadRequest);
  expectError(c, send(c, submitMsg({.fair_key = "\xff\xfe"})), errc::kBadRequest);
}

TEST_F(CoreFairTest, ATaskWithoutKeysKeepsThePlainQueue) {
  options_.key_concurrency = {"echo=1"};
  PeerId w = worker(3);
  PeerId c = client();
  for (int i = 0; i < 3; ++i) submit(c);
  flush();
  EXPECT_EQ(assigns(w).size(), 3u) << "jobs without a key are not capped";
  EXPECT_EQ(stats(c)["queues"][0]["fair_keys_waiting"], 0);
}

}  // namespace
}  // namespace corvee::broker::test
