// What a hostile or careless peer, a crashing worker or a full disk must not do to the broker
// (issue 8): text that is not UTF-8, workers that do not read, lost prefetches, cancelled attempts
// still running, and a store that cannot write.
#include "broker/core_fixture.h"
#include "fakes/switchable_full_store.h"
#include "protocol/utf8.h"

namespace corvee::broker::test {
namespace {

// "Every str MUST be well-formed UTF-8 ... A frame with a str that is not is answered with
// ERROR bad_request and has no effect".
TEST_F(CoreTest, SubmitWithATaskNameThatIsNotUtf8IsRefusedAndStatsStillRenders) {
  PeerId c = client();
  for (std::string_view bad : {std::string_view("\xff\xfe"), std::string_view("ok\xc3"), std::string_view("\xed\xa0\x80"),
                               std::string_view("\xc0\xaf")}) {
    std::uint32_t rid = send(c, protocol::SubmitMsg{bad, {"p"}, 0, 0, 0, 0});
    expectError(c, rid, "bad_request");
    EXPECT_TRUE(takeType(c, MsgType::kSubmitted).empty());
  }
  EXPECT_EQ(core().counts().queued, 0u);
  // The document that used to end the broker renders.
  nlohmann::json doc = stats(c);
  EXPECT_EQ(doc["jobs"]["queued"], 0);
}

TEST_F(CoreTest, FailWithAMessageThatIsNotUtf8IsRefusedAndTheAttemptStaysOpen) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  std::uint32_t rid = send(w, protocol::FailMsg{id, 1, "handler_error", "bad \xff byte"});
  expectError(w, rid, "bad_request");
  EXPECT_TRUE(results(c).empty());
  complete(w, id, 1);  // the attempt is still the current one
  flush();
  ASSERT_EQ(results(c).size(), 1u);
}

TEST_F(CoreTest, HelloWithANameThatIsNotUtf8IsRefusedAndClosed) {
  PeerId id = connect();
  protocol::HelloMsg hello;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kWorker);
  hello.name = "w\x80";
  std::uint32_t rid = send(id, hello);
  expectError(id, rid, "bad_request");
  EXPECT_TRUE(outbox_.closing(id));
}

TEST_F(CoreTest, ALongNameIsCutOnACharacterBoundary) {
  std::string name;
  for (int i = 0; i < 200; ++i) name += "\xc3\xa9";  // é: 400 bytes
  PeerId w = worker(1, {"echo"}, name);
  nlohmann::json doc = stats(w);
  ASSERT_EQ(doc["workers"].size(), 1u);
  std::string shown = doc["workers"][0]["name"];
  EXPECT_EQ(shown.size(), 254u) << "255 would split a character";
  EXPECT_TRUE(protocol::isValidUtf8(shown));
}

// Item 11: with --slots 1 --prefetch 20 and five kill -9s, the 20 prefetched jobs were all charged.
TEST_F(CoreTest, AttemptsThatOnlyWaitedInAPrefetchAreNotChargedWhenTheWorkerIsLost) {
  options_.max_attempts = 2;
  PeerId c = client();
  JobId first = submit(c);
  std::vector<JobId> waiting;
  for (int i = 0; i < 5; ++i) waiting.push_back(submit(c));
  for (int loss = 0; loss < 3; ++loss) {
    PeerId w = prefetchingWorker(1, 20);
    flush();
    EXPECT_EQ(assigns(w).size(), loss < 2 ? 6u : 5u);
    lose(w);
  }
  // The job in the slot was lost twice and failed; the others never started and are still queued.
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].id, first);
  EXPECT_EQ(res[0].error_code, "worker_lost");
  EXPECT_EQ(core().counts().queued, 5u);
  PeerId w = worker(5);
  flush();
  auto dealt = assigns(w);
  ASSERT_EQ(idsOf(dealt), waiting);
  for (const auto& a : dealt) complete(w, a.id, a.attempt);
  flush();
  for (const Res& r : results(c)) EXPECT_EQ(r.state, JobState::kSucceeded) << r.id << ": " << r.error_code;
}

// Item 7: a worker with a large prefetch that reads nothing grew the broker by every payload.
TEST_F(CoreTest, AWorkerWhoseAssignsPileUpUnreadIsDealtNoMoreUntilTheyDrain) {
  options_.output_high_water = 4096;
  PeerId c = client();
  PeerId w = prefetchingWorker(1, 1000);
  std::string payload(1500, 'x');
  for (int i = 0; i < 10; ++i) submit(c, {.payload = payload});
  flush();
  // The third ASSIGN passes 4096 bytes of unread output: dealing to it stops there.
  EXPECT_EQ(outbox_.raw(w).size() / 1500, 3u);
  EXPECT_TRUE(outbox_.drainWanted(w));
  EXPECT_EQ(core().counts().queued, 7u);
  flush();
  EXPECT_EQ(core().counts().queued, 7u);
  EXPECT_EQ(assigns(w).size(), 3u);  // the worker reads them: the server reports the drain
  core().onOutputDrained(w);
  flush();
  EXPECT_EQ(assigns(w).size(), 3u);
  EXPECT_EQ(core().counts().queued, 4u);
}

// Item 4, for a job cancelled while it waited in the prefetch: it held no slot, only room.
TEST_F(CoreTest, ACancelledPrefetchedAttemptHoldsRoomButNoSlotUntilReported) {
  PeerId c = client();
  PeerId w = prefetchingWorker(1, 1);
  JobId running = submit(c);
  JobId prefetched = submit(c, {.timeout_ms = 100});
  flush();
  ASSERT_EQ(assigns(w).size(), 2u);
  JobId third = submit(c);
  advance(100);  // the prefetched job's global deadline: cancelled, while the worker holds it
  ASSERT_EQ(cancels(w).size(), 1u);
  flush();
  EXPECT_TRUE(assigns(w).empty()) << "the worker still holds two jobs";
  nlohmann::json doc = stats(c);
  EXPECT_EQ(doc["workers"][0]["cancelling"], 1);
  EXPECT_EQ(doc["workers"][0]["busy"], 1);
  // The running job finishes; the cancelled one comes next in the worker's order and is reported.
  complete(w, running, 1);
  send(w, protocol::FailMsg{prefetched, 1, "run_timeout", "cancelled before it started"});
  flush();
  auto next = assigns(w);
  ASSERT_EQ(idsOf(next), std::vector<JobId>{third});
  EXPECT_TRUE(errors(w).empty());
}

TEST_F(CoreTest, AWorkerLostWhileStoppingACancelledAttemptLeavesNothingBehind) {
  PeerId c = client();
  PeerId w = worker(1);
  submit(c, {.run_timeout_ms = 100});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  advance(100);
  ASSERT_EQ(cancels(w).size(), 1u);
  lose(w);  // it never reported the attempt
  JobId next = submit(c);
  PeerId w2 = worker(1);
  flush();
  EXPECT_EQ(idsOf(assigns(w2)), std::vector<JobId>{next});
}

// Item 10: a full disk is a pause. New jobs are refused; everything else goes on.
TEST_F(CoreTest, WhileTheStoreIsFullSubmitIsRefusedAndStatsAndStatusAnswerAtOnce) {
  corvee::testing::SwitchableFullStore full_store(store_);
  store_override_ = &full_store;
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  full_store.setFull(true);
  std::uint32_t rid = send(c, protocol::SubmitMsg{"echo", {"p"}, 0, 0, 0, 0});
  expectError(c, rid, "store_full");
  // STATS and STATUS do not wait for a commit that cannot happen.
  nlohmann::json doc = stats(c);
  EXPECT_EQ(doc["jobs"]["running"], 1);
  EXPECT_EQ(status(c, id).state, JobState::kRunning);
  // The worker's result is taken; its RESULT waits in the durable output for the next commit.
  complete(w, id, 1);
  core().deal();
  EXPECT_EQ(core().counts().succeeded, 1u);
  full_store.setFull(false);
  flush();
  submit(c);  // accepted again
}

// Limits (issue 13): a task holding --max-queued-per-task waiting jobs refuses more with
// queue_full while other tasks go on; a connection with --max-in-flight-per-client submissions
// awaiting the commit is refused more with too_many_in_flight until the commit answers them.
TEST_F(CoreTest, ATaskAtItsWaitingLimitRefusesSubmissionsAndOthersGoOn) {
  options_.max_queued_per_task = 3;
  PeerId c = client();
  for (int i = 0; i < 3; ++i) ASSERT_NE(submitTask(c, "flooded"), 0u);
  std::uint32_t rid = send(c, submitMsg({.task = "flooded"}));
  expectError(c, rid, errc::kQueueFull);
  EXPECT_NE(submitTask(c, "other"), 0u);
  // A job dealt leaves the queue: room for one more.
  PeerId w = worker(1, {"flooded"});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  EXPECT_NE(submitTask(c, "flooded"), 0u);
}

TEST_F(CoreTest, SubmissionsInFlightAreBoundedPerConnectionUntilTheCommit) {
  options_.max_in_flight_per_client = 2;
  PeerId c = client();
  PeerId other = client("other");
  send(c, submitMsg({}));
  send(c, submitMsg({}));
  std::uint32_t third = send(c, submitMsg({}));
  expectError(c, third, errc::kTooManyInFlight);
  EXPECT_EQ(takeType(c, MsgType::kSubmitted).size(), 2u);
  EXPECT_NE(submit(other), 0u) << "another connection has its own allowance";
  flush();  // the commit answers the first two
  EXPECT_NE(submit(c), 0u);
}

}  // namespace
}  // namespace corvee::broker::test
