// broker::Core driven directly: frames in, frames out through a RecordingOutbox, time from a
// FakeClock. Every behaviour of docs/protocol.md that the broker owns is pinned here, without
// sockets, so a failure points at the logic and not at the network.
#include <set>

#include "broker/core_fixture.h"

namespace corvee::broker::test {
namespace {

// =============================================================================================
// Session: HELLO and WELCOME.

TEST_F(CoreTest, FirstFrameMustBeHello) {
  PeerId p = connect();
  std::uint32_t rid = send(p, protocol::SubmitMsg{"echo", {"x"}, 0, 0, 0, 0});
  expectError(p, rid, "bad_request");
  EXPECT_TRUE(outbox_.closing(p));
  expectNothing(p);
  EXPECT_EQ(core().counts().queued, 0u);  // the SUBMIT was not taken
}

TEST_F(CoreTest, EvenPingIsRefusedBeforeHello) {
  PeerId p = connect();
  std::uint32_t rid = send(p, protocol::PingMsg{});
  expectError(p, rid, "bad_request");
  EXPECT_TRUE(outbox_.closing(p));
  EXPECT_TRUE(takeType(p, MsgType::kPong).empty());
}

TEST_F(CoreTest, BadMagicIsRefusedAndClosed) {
  PeerId p = connect();
  protocol::HelloMsg h;
  h.magic = 0x54544548;  // "HETT", say an HTTP client
  h.role = 1;
  std::uint32_t rid = send(p, h);
  expectError(p, rid, "bad_request");
  EXPECT_TRUE(outbox_.closing(p));
  expectNothing(p);
}

TEST_F(CoreTest, WelcomeCarriesTheBrokersSettings) {
  options_.heartbeat = milliseconds(1500);
  options_.peer_timeout = milliseconds(7000);
  options_.max_payload = 4096;
  options_.name = "test-broker";
  PeerId p = connect();
  protocol::HelloMsg h;
  h.role = 1;
  h.name = "me";
  std::uint32_t rid = send(p, h);
  auto frames = takeAll(p);
  ASSERT_EQ(frames.size(), 1u) << describe(frames);
  EXPECT_EQ(frames[0].request_id, rid);
  auto w = frames[0].as<protocol::WelcomeMsg>();
  EXPECT_EQ(w.version, protocol::kVersion);
  EXPECT_EQ(w.heartbeat_ms, 1500u);
  EXPECT_EQ(w.peer_timeout_ms, 7000u);
  EXPECT_EQ(w.max_payload, 4096u);
  EXPECT_EQ(w.broker, "test-broker");
  EXPECT_EQ(w.store_id, store_.identity()) << "clients learn which store their job ids belong to";
  EXPECT_NE(w.store_id, 0u);
  EXPECT_FALSE(outbox_.closing(p));
}

TEST_F(CoreTest, NewerPeerVersionIsAnsweredWithOurs) {
  // WELCOME carries the version the broker chose, at most the peer's.
  PeerId p = connect();
  protocol::HelloMsg h;
  h.version = 9;
  h.role = 2;
  send(p, h);
  auto frames = takeAll(p);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].as<protocol::WelcomeMsg>().version, protocol::kVersion);
}

TEST_F(CoreTest, VersionZeroIsUnsupported) {
  PeerId p = connect();
  protocol::HelloMsg h;
  h.version = 0;
  h.role = 1;
  std::uint32_t rid = send(p, h);
  expectError(p, rid, "unsupported_version");
  EXPECT_TRUE(outbox_.closing(p));
}

TEST_F(CoreTest, UnknownRoleIsRefused) {
  PeerId p = connect();
  protocol::HelloMsg h;
  h.role = 3;
  std::uint32_t rid = send(p, h);
  expectError(p, rid, "bad_request");
  EXPECT_TRUE(outbox_.closing(p));
}

TEST_F(CoreTest, TruncatedHelloIsRefused) {
  PeerId p = connect();
  std::uint32_t rid = sendRaw(p, 0x01, "CRV");
  expectError(p, rid, "bad_request");
  EXPECT_TRUE(outbox_.closing(p));
  expectNothing(p);
}

TEST_F(CoreTest, SecondHelloIsRefusedButTheConnectionGoesOn) {
  PeerId c = client();
  protocol::HelloMsg h;
  h.role = 1;
  std::uint32_t rid = send(c, h);
  expectError(c, rid, "bad_request");
  EXPECT_FALSE(outbox_.closing(c));
  EXPECT_NE(submit(c), 0u);
}

TEST_F(CoreTest, PingIsAnsweredWithPong) {
  PeerId c = client();
  std::uint32_t rid = send(c, protocol::PingMsg{});
  auto frames = takeAll(c);
  ASSERT_EQ(frames.size(), 1u) << describe(frames);
  EXPECT_TRUE(frames[0].is(MsgType::kPong));
  EXPECT_EQ(frames[0].request_id, rid);
  send(c, protocol::PongMsg{});  // a PONG needs no answer
  expectNothing(c);
}

// =============================================================================================
// Framing errors reported by the server's decoder.

TEST_F(CoreTest, OversizedFrameIsRefusedWithItsRequestIdAndTheConnectionGoesOn) {
  PeerId c = client();
  protocol::Frame header;
  header.type = static_cast<std::uint8_t>(MsgType::kSubmit);
  header.request_id = 4242;
  core().onOversizedFrame(c, header);
  expectError(c, 4242, "payload_too_large");
  EXPECT_FALSE(outbox_.closing(c));
  EXPECT_NE(submit(c), 0u);
}

TEST_F(CoreTest, MalformedStreamIsAnsweredAndClosed) {
  PeerId c = client();
  core().onMalformedStream(c);
  expectError(c, 0, "bad_request");
  EXPECT_TRUE(outbox_.closing(c));
}

TEST_F(CoreTest, UnknownMessageTypeIsUnknownCommandAndTheConnectionKeepsWorking) {
  PeerId c = client();
  std::uint32_t rid = sendRaw(c, 0x7f, "whatever");
  expectError(c, rid, "unknown_command");
  EXPECT_FALSE(outbox_.closing(c));
  rid = sendRaw(c, 0x00, "");
  expectError(c, rid, "unknown_command");
  // Still a working session.
  std::uint32_t ping = send(c, protocol::PingMsg{});
  auto pongs = takeType(c, MsgType::kPong);
  ASSERT_EQ(pongs.size(), 1u);
  EXPECT_EQ(pongs[0].request_id, ping);
  EXPECT_NE(submit(c), 0u);
}

TEST_F(CoreTest, BrokerToPeerTypesAreBadRequests) {
  PeerId c = client();
  for (MsgType t : {MsgType::kWelcome, MsgType::kAssign, MsgType::kResult, MsgType::kCancel}) {
    std::uint32_t rid = sendRaw(c, static_cast<std::uint8_t>(t), "");
    expectError(c, rid, "bad_request");
  }
  EXPECT_FALSE(outbox_.closing(c));
}

TEST_F(CoreTest, MalformedBodiesAreBadRequestAndTheConnectionGoesOn) {
  PeerId c = client();
  std::string good;
  protocol::encode(good, 1, protocol::SubmitMsg{"echo", {"hi"}, 0, 0, 0, 0});
  std::string body = good.substr(protocol::kHeaderSize);
  // Truncated.
  std::uint32_t rid = sendRaw(c, 0x10, std::string_view(body).substr(0, body.size() - 1));
  expectError(c, rid, "bad_request");
  // Trailing bytes.
  rid = sendRaw(c, 0x10, body + "!");
  expectError(c, rid, "bad_request");
  // A STATUS with a short id.
  rid = sendRaw(c, 0x14, "\x01\x00");
  expectError(c, rid, "bad_request");
  EXPECT_EQ(core().counts().queued, 0u);
  EXPECT_FALSE(outbox_.closing(c));
  EXPECT_EQ(submit(c), 1u);
}

// =============================================================================================
// SUBMIT.

TEST_F(CoreTest, SubmitIsAcknowledgedWithIncreasingIds) {
  PeerId c = client();
  JobId last = 0;
  for (int i = 0; i < 5; ++i) {
    JobId id = submit(c);
    EXPECT_GT(id, last);
    last = id;
  }
  EXPECT_EQ(core().counts().queued, 5u);
}

TEST_F(CoreTest, PipelinedSubmitsAreAnsweredInOrderWithTheirRequestIds) {
  PeerId c = client();
  std::vector<std::uint32_t> rids;
  for (int i = 0; i < 3; ++i) rids.push_back(send(c, protocol::SubmitMsg{"echo", {"x"}, 0, 0, 0, 0}));
  auto frames = takeAll(c);
  ASSERT_EQ(frames.size(), 3u) << describe(frames);
  JobId last = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(frames[i].request_id, rids[i]);
    JobId id = frames[i].as<protocol::SubmittedMsg>().job_id;
    EXPECT_GT(id, last);
    last = id;
  }
}

TEST_F(CoreTest, SubmitIsRecordedInTheStore) {
  PeerId c = client();
  JobId id = submit(c, {.task = "resize", .payload = "img", .priority = 4, .timeout_ms = 9000});
  auto rec = store_.find(id);
  ASSERT_TRUE(rec.isOk() && rec->has_value());
  EXPECT_EQ((*rec)->task, "resize");
  EXPECT_EQ((*rec)->payload, "img");
  EXPECT_EQ((*rec)->priority, 4);
  EXPECT_EQ((*rec)->timeout_ms, 9000u);
  EXPECT_EQ((*rec)->state, JobState::kQueued);
  EXPECT_EQ((*rec)->submitted_ms, clock_.wallMillis());
}

TEST_F(CoreTest, TaskNameMustBeOneTo255Bytes) {
  PeerId c = client();
  std::uint32_t rid = send(c, protocol::SubmitMsg{"", {"x"}, 0, 0, 0, 0});
  expectError(c, rid, "bad_request");
  std::string long_name(256, 't');
  rid = send(c, protocol::SubmitMsg{long_name, {"x"}, 0, 0, 0, 0});
  expectError(c, rid, "bad_request");
  EXPECT_NE(submit(c, {.task = std::string(255, 't')}), 0u);
}

TEST_F(CoreTest, PayloadOverMaxPayloadIsRefused) {
  options_.max_payload = 10;
  PeerId c = client();
  EXPECT_NE(submit(c, {.payload = "0123456789"}), 0u);  // exactly the limit is fine
  std::uint32_t rid = send(c, protocol::SubmitMsg{"echo", {"0123456789A"}, 0, 0, 0, 0});
  expectError(c, rid, "payload_too_large");
  EXPECT_EQ(core().counts().queued, 1u);
}

TEST_F(CoreTest, MaxQueuedRefusesWithQueueFullUntilAJobLeavesTheQueue) {
  options_.max_queued = 2;
  PeerId c = client();
  submit(c);
  submit(c);
  std::uint32_t rid = send(c, protocol::SubmitMsg{"echo", {"x"}, 0, 0, 0, 0});
  expectError(c, rid, "queue_full");
  EXPECT_EQ(core().counts().queued, 2u);
  // A running job no longer counts as queued.
  PeerId w = worker(1);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  EXPECT_NE(submit(c), 0u);
}

// =============================================================================================
// Dealing: order, credit, balance, routing.

TEST_F(CoreTest, QueueOrderIsPriorityThenFifo) {
  PeerId c = client();
  JobId a = submit(c, {.priority = 0});
  JobId b = submit(c, {.priority = 5});
  JobId cc = submit(c, {.priority = 0});
  JobId d = submit(c, {.priority = 5});
  JobId e = submit(c, {.priority = -1});
  JobId f = submit(c, {.priority = 5});
  PeerId w = worker(1);
  std::vector<JobId> order;
  for (int i = 0; i < 6; ++i) {
    flush();
    auto got = assigns(w);
    ASSERT_EQ(got.size(), 1u) << "turn " << i;
    order.push_back(got[0].id);
    complete(w, got[0].id, got[0].attempt);
  }
  EXPECT_EQ(order, (std::vector<JobId>{b, d, f, a, cc, e}));
}

TEST_F(CoreTest, LaterHigherPriorityJobOvertakesQueuedOnes) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId first = submit(c);
  flush();
  ASSERT_EQ(idsOf(assigns(w)), std::vector<JobId>{first});
  JobId low = submit(c, {.priority = 0});
  JobId high = submit(c, {.priority = 1});
  complete(w, first, 1);
  flush();
  EXPECT_EQ(idsOf(assigns(w)), std::vector<JobId>{high});
  complete(w, high, 1);
  flush();
  EXPECT_EQ(idsOf(assigns(w)), std::vector<JobId>{low});
}

TEST_F(CoreTest, AssignCarriesTheJob) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c, {.payload = std::string_view("\0\xffpay", 5), .run_timeout_ms = 777});
  flush();
  auto got = assigns(w);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[0].attempt, 1u);
  EXPECT_EQ(got[0].task, "echo");
  EXPECT_EQ(got[0].payload, std::string("\0\xffpay", 5));
  EXPECT_EQ(got[0].run_timeout_ms, 777u);
  EXPECT_EQ(core().counts().running, 1u);
  EXPECT_EQ(core().counts().queued, 0u);
}

TEST_F(CoreTest, NothingIsDealtBeforeFlush) {
  // Dealing happens at the end of the turn, after the store commit; never inside onFrame().
  PeerId c = client();
  PeerId w = worker(1);
  submit(c);
  EXPECT_TRUE(assigns(w).empty());
  flush();
  EXPECT_EQ(assigns(w).size(), 1u);
}

TEST_F(CoreTest, WorkerNeverHoldsMoreThanItsSlots) {
  PeerId c = client();
  PeerId w = worker(3);
  for (int i = 0; i < 10; ++i) submit(c);
  flush();
  auto held = assigns(w);
  ASSERT_EQ(held.size(), 3u);
  flush();
  EXPECT_TRUE(assigns(w).empty());
  submit(c);
  flush();
  EXPECT_TRUE(assigns(w).empty()) << "a new submission must not overdraw the credit";

  complete(w, held[0].id, held[0].attempt);
  flush();
  auto more = assigns(w);
  ASSERT_EQ(more.size(), 1u) << "one slot freed, exactly one job more";
  flush();
  EXPECT_TRUE(assigns(w).empty());

  send(w, protocol::FailMsg{held[1].id, held[1].attempt, "handler_error", "x"});
  flush();
  EXPECT_EQ(assigns(w).size(), 1u);
  EXPECT_EQ(core().counts().running, 3u);
  EXPECT_EQ(core().counts().queued, 6u);
}

TEST_F(CoreTest, CreditHoldsThroughAWholeBacklog) {
  PeerId c = client();
  PeerId w = worker(4);
  std::set<JobId> submitted;
  for (int i = 0; i < 50; ++i) submitted.insert(submit(c));
  std::deque<Assigned> running;
  std::set<JobId> seen;
  for (int turn = 0; turn < 200 && seen.size() < submitted.size(); ++turn) {
    flush();
    for (auto& a : assigns(w)) {
      EXPECT_TRUE(seen.insert(a.id).second) << "job " << a.id << " dealt twice";
      running.push_back(a);
    }
    ASSERT_LE(running.size(), 4u);
    // Finish one or two per turn, so slots free up unevenly.
    for (int k = 0; k < 1 + turn % 2 && !running.empty(); ++k) {
      complete(w, running.front().id, running.front().attempt);
      running.pop_front();
    }
  }
  EXPECT_EQ(seen, submitted);
  EXPECT_EQ(results(c).size(), 50u - running.size());
}

TEST_F(CoreTest, RegisteringAgainChangesTheSlots) {
  PeerId c = client();
  PeerId w = worker(1);
  for (int i = 0; i < 5; ++i) submit(c);
  flush();
  EXPECT_EQ(assigns(w).size(), 1u);
  expectOk(w, send(w, protocol::RegisterMsg{3, {"echo"}}));
  flush();
  EXPECT_EQ(assigns(w).size(), 2u);
}

TEST_F(CoreTest, LoadBalancesByFreeSlots) {
  PeerId c = client();
  PeerId small = worker(1);  // registered first, so a tie-break by order would favour it
  PeerId big = worker(3);
  submit(c);
  flush();
  EXPECT_EQ(assigns(big).size(), 1u) << "3 free beats 1 free";
  EXPECT_TRUE(assigns(small).empty());
  submit(c);
  flush();
  EXPECT_EQ(assigns(big).size(), 1u) << "2 free beats 1 free";
  EXPECT_TRUE(assigns(small).empty());
  // Now 1 free each: the next two jobs go one to each.
  submit(c);
  submit(c);
  flush();
  auto to_small = assigns(small);
  auto to_big = assigns(big);
  EXPECT_EQ(to_small.size(), 1u);
  EXPECT_EQ(to_big.size(), 1u);
  // Both full: nothing more is dealt.
  submit(c);
  flush();
  EXPECT_TRUE(assigns(small).empty());
  EXPECT_TRUE(assigns(big).empty());
  // The big one frees a slot while the small one stays full: the waiting job goes to the big one.
  complete(big, to_big[0].id, to_big[0].attempt);
  flush();
  EXPECT_EQ(assigns(big).size(), 1u);
  EXPECT_TRUE(assigns(small).empty());
}

TEST_F(CoreTest, WorkerOnlyGetsTasksItRegistered) {
  PeerId c = client();
  PeerId w_echo = worker(5, {"echo"});
  PeerId w_add = worker(5, {"add"});
  JobId add1 = submitTask(c, "add");
  JobId echo1 = submitTask(c, "echo");
  JobId add2 = submitTask(c, "add");
  JobId other = submitTask(c, "other");
  flush();
  EXPECT_EQ(idsOf(assigns(w_echo)), std::vector<JobId>{echo1});
  EXPECT_EQ(idsOf(assigns(w_add)), (std::vector<JobId>{add1, add2}));
  EXPECT_EQ(core().counts().queued, 1u);  // nobody handles "other"
  PeerId w_other = worker(1, {"other"});
  flush();
  EXPECT_EQ(idsOf(assigns(w_other)), std::vector<JobId>{other});
  EXPECT_TRUE(assigns(w_echo).empty());
  EXPECT_TRUE(assigns(w_add).empty());
}

TEST_F(CoreTest, WorkerWithSeveralTasksGetsEach) {
  PeerId c = client();
  PeerId w = worker(4, {"a", "b", "a"});
  JobId a = submitTask(c, "a");
  JobId b = submitTask(c, "b");
  submitTask(c, "z");
  flush();
  auto got = idsOf(assigns(w));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<JobId>{a, b}));
}

TEST_F(CoreTest, RegisteringAgainReplacesTheTasks) {
  PeerId c = client();
  PeerId w = worker(2, {"echo"});
  expectOk(w, send(w, protocol::RegisterMsg{2, {"add"}}));
  submitTask(c, "echo");
  flush();
  EXPECT_TRUE(assigns(w).empty());
  JobId add = submitTask(c, "add");
  flush();
  EXPECT_EQ(idsOf(assigns(w)), std::vector<JobId>{add});
}

TEST_F(CoreTest, RegisterFromAClientIsRefused) {
  PeerId c = client();
  std::uint32_t rid = send(c, protocol::RegisterMsg{4, {"echo"}});
  expectError(c, rid, "bad_request");
  EXPECT_FALSE(outbox_.closing(c));
  submit(c);
  flush();
  EXPECT_TRUE(assigns(c).empty()) << "a client must never be dealt jobs";
  EXPECT_EQ(core().counts().queued, 1u);
}

TEST_F(CoreTest, RegisterWithAnEmptyTaskNameIsRefused) {
  PeerId w = hello(protocol::Role::kWorker, "w");
  std::uint32_t rid = send(w, protocol::RegisterMsg{1, {"echo", ""}});
  expectError(w, rid, "bad_request");
  PeerId c = client();
  submit(c);
  flush();
  EXPECT_TRUE(assigns(w).empty());
}

// =============================================================================================
// Results: COMPLETE and FAIL.

TEST_F(CoreTest, CompleteSendsTheResultToTheSubmitter) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c, {.payload = "in"});
  flush();
  auto got = assigns(w);
  ASSERT_EQ(got.size(), 1u);
  std::string result("out\0\xff", 5);  // opaque bytes
  complete(w, id, got[0].attempt, result);
  expectNothing(w);  // COMPLETE has no reply
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].request_id, 0u);  // a push
  EXPECT_EQ(res[0].id, id);
  EXPECT_EQ(res[0].state, JobState::kSucceeded);
  EXPECT_EQ(res[0].attempt, 1u);
  EXPECT_EQ(res[0].result, result);
  EXPECT_EQ(res[0].error_code, "");
  EXPECT_EQ(res[0].error_message, "");
  expectNothing(c);
  EXPECT_EQ(core().counts().succeeded, 1u);
  EXPECT_EQ(core().counts().running, 0u);
  auto rec = store_.find(id);
  ASSERT_TRUE(rec.isOk() && rec->has_value());
  EXPECT_EQ((*rec)->state, JobState::kSucceeded);
  EXPECT_EQ((*rec)->result, result);
}

TEST_F(CoreTest, FailSendsAFailedResultWithTheCode) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  send(w, protocol::FailMsg{id, 1, "bad_input", "cannot parse"});
  expectNothing(w);
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].id, id);
  EXPECT_EQ(res[0].state, JobState::kDead);
  EXPECT_EQ(res[0].attempt, 1u);
  EXPECT_EQ(res[0].error_code, "bad_input");
  EXPECT_EQ(res[0].error_message, "cannot parse");
  EXPECT_EQ(res[0].result, "");
  EXPECT_EQ(core().counts().dead, 1u);
}

TEST_F(CoreTest, FailWithoutACodeIsHandlerError) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  send(w, protocol::FailMsg{id, 1, "", "oops"});
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].error_code, "handler_error");
  EXPECT_EQ(res[0].error_message, "oops");
}

TEST_F(CoreTest, ResultOverMaxPayloadFailsTheJob) {
  options_.max_payload = 8;
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c, {.payload = "small"});
  JobId next = submit(c, {.payload = "small"});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, id, 1, "123456789");
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].state, JobState::kDead);
  EXPECT_EQ(res[0].error_code, "result_too_large");
  // The attempt ended: the slot is free again.
  flush();
  EXPECT_EQ(idsOf(assigns(w)), std::vector<JobId>{next});
}

TEST_F(CoreTest, ResultOfAJobWhoseClientLeftIsStillRecorded) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c);
  lose(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, id, 1, "kept");
  PeerId c2 = client();
  Info info = status(c2, id);
  EXPECT_EQ(info.state, JobState::kSucceeded);
  EXPECT_EQ(info.result, "kept");
}

// =============================================================================================
// Fencing: stale attempts.

TEST_F(CoreTest, CompleteWithTheWrongAttemptIsStale) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  std::uint32_t rid = send(w, protocol::CompleteMsg{id, 2, {"forged"}});
  expectError(w, rid, "stale_attempt");
  EXPECT_TRUE(results(c).empty());
  Info info = status(c, id);
  EXPECT_EQ(info.state, JobState::kRunning);
  EXPECT_EQ(info.attempt, 1u);
  EXPECT_EQ(core().counts().stale_refused, 1u);
  EXPECT_EQ(core().counts().running, 1u);
  // The real attempt still completes.
  complete(w, id, 1, "real");
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].result, "real");
}

TEST_F(CoreTest, CompleteFromAnotherWorkerIsStale) {
  PeerId c = client();
  PeerId w1 = worker(1);
  PeerId w2 = worker(1);
  JobId id = submit(c);
  flush();
  auto a1 = assigns(w1);
  auto a2 = assigns(w2);
  ASSERT_EQ(a1.size() + a2.size(), 1u);
  PeerId holder = a1.empty() ? w2 : w1;
  PeerId other = a1.empty() ? w1 : w2;
  std::uint32_t rid = send(other, protocol::CompleteMsg{id, 1, {"not mine"}});
  expectError(other, rid, "stale_attempt");
  rid = send(other, protocol::FailMsg{id, 1, "handler_error", "not mine either"});
  expectError(other, rid, "stale_attempt");
  EXPECT_TRUE(results(c).empty());
  EXPECT_EQ(status(c, id).state, JobState::kRunning);
  complete(holder, id, 1, "mine");
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].result, "mine");
}

TEST_F(CoreTest, FailWithTheWrongAttemptIsStale) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  std::uint32_t rid = send(w, protocol::FailMsg{id, 0, "handler_error", "x"});
  expectError(w, rid, "stale_attempt");
  EXPECT_EQ(status(c, id).state, JobState::kRunning);
  EXPECT_EQ(core().counts().dead, 0u);
}

TEST_F(CoreTest, CompleteForAnUnknownJobIsStale) {
  PeerId w = worker(1);
  std::uint32_t rid = send(w, protocol::CompleteMsg{12345, 1, {"x"}});
  expectError(w, rid, "stale_attempt");
}

TEST_F(CoreTest, ASecondCompleteIsStaleAndTheJobFinishesOnce) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, id, 1, "first");
  std::uint32_t rid = send(w, protocol::CompleteMsg{id, 1, {"second"}});
  expectError(w, rid, "stale_attempt");
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].result, "first");
  EXPECT_EQ(core().counts().succeeded, 1u);
  EXPECT_EQ(status(c, id).result, "first");
}

TEST_F(CoreTest, CompleteForAQueuedJobIsStale) {
  // A job not dealt to anyone cannot be completed by guessing its id and attempt.
  PeerId c = client();
  JobId id = submit(c);
  PeerId w = worker(0);
  flush();
  ASSERT_TRUE(assigns(w).empty());
  std::uint32_t rid = send(w, protocol::CompleteMsg{id, 0, {"x"}});
  expectError(w, rid, "stale_attempt");
  EXPECT_EQ(status(c, id).state, JobState::kQueued);
}

// =============================================================================================
// Lost workers.

TEST_F(CoreTest, LostWorkersJobGoesBackToTheHeadAndRunsAgainWithANewAttempt) {
  PeerId c = client();
  PeerId w1 = worker(1);
  JobId j1 = submit(c);
  JobId j2 = submit(c);
  JobId j3 = submit(c);
  flush();
  ASSERT_EQ(idsOf(assigns(w1)), std::vector<JobId>{j1});
  lose(w1);
  Info info = status(c, j1);
  EXPECT_EQ(info.state, JobState::kQueued);
  EXPECT_EQ(info.attempt, 1u);
  EXPECT_EQ(core().counts().running, 0u);
  EXPECT_EQ(core().counts().queued, 3u);
  EXPECT_TRUE(results(c).empty());
  auto rec = store_.find(j1);
  ASSERT_TRUE(rec.isOk() && rec->has_value());
  EXPECT_EQ((*rec)->state, JobState::kQueued);

  PeerId w2 = worker(1);
  flush();
  auto got = assigns(w2);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, j1) << "a requeued job goes to the head, ahead of jobs that waited";
  EXPECT_EQ(got[0].attempt, 2u);
  complete(w2, j1, 2, "second try");
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].attempt, 2u);
  EXPECT_EQ(res[0].result, "second try");
  flush();
  EXPECT_EQ(idsOf(assigns(w2)), std::vector<JobId>{j2});
  complete(w2, j2, 1);
  flush();
  EXPECT_EQ(idsOf(assigns(w2)), std::vector<JobId>{j3});
}

TEST_F(CoreTest, RequeuedJobIsDealtToTheOtherLiveWorker) {
  PeerId c = client();
  PeerId w1 = worker(2);
  PeerId w2 = worker(1);
  JobId id = submit(c);
  flush();
  ASSERT_EQ(idsOf(assigns(w1)), std::vector<JobId>{id});  // 2 free beats 1 free
  lose(w1);
  flush();
  auto got = assigns(w2);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[0].attempt, 2u);
}

TEST_F(CoreTest, AllOfALostWorkersJobsGoAheadOfTheWaitingOnes) {
  PeerId c = client();
  PeerId w1 = worker(3);
  std::vector<JobId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(submit(c));
  flush();
  ASSERT_EQ(assigns(w1).size(), 3u);
  lose(w1);
  PeerId w2 = worker(5);
  flush();
  auto got = assigns(w2);
  ASSERT_EQ(got.size(), 5u);
  // Regression: they used to come back in hash-set order; now oldest first, as submitted.
  EXPECT_EQ(got[0].id, ids[0]);
  EXPECT_EQ(got[1].id, ids[1]);
  EXPECT_EQ(got[2].id, ids[2]);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(got[i].attempt, 2u);
  EXPECT_EQ(got[3].id, ids[3]);
  EXPECT_EQ(got[4].id, ids[4]);
  EXPECT_EQ(got[3].attempt, 1u);
}

TEST_F(CoreTest, LateCompleteFromTheLostWorkerIsRefused) {
  PeerId c = client();
  PeerId w1 = worker(1, {"echo"}, "flaky");
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w1).size(), 1u);
  lose(w1);
  PeerId w2 = worker(1, {"echo"}, "steady");
  flush();
  ASSERT_EQ(assigns(w2).size(), 1u);

  // Frames on the closed connection are dropped.
  complete(w1, id, 1, "late");
  EXPECT_TRUE(results(c).empty());
  // The old worker reconnects, as a new connection, and reports its old attempt.
  PeerId w1_again = worker(1, {"echo"}, "flaky");
  std::uint32_t rid = send(w1_again, protocol::CompleteMsg{id, 1, {"late"}});
  expectError(w1_again, rid, "stale_attempt");
  EXPECT_TRUE(results(c).empty());
  Info info = status(c, id);
  EXPECT_EQ(info.state, JobState::kRunning);
  EXPECT_EQ(info.attempt, 2u);
  EXPECT_EQ(info.worker, "steady");

  complete(w2, id, 2, "on time");
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].result, "on time");
  EXPECT_EQ(res[0].attempt, 2u);
}

TEST_F(CoreTest, JobFailsWorkerLostAfterMaxAttemptsLosses) {
  options_.max_attempts = 3;
  PeerId c = client();
  JobId id = submit(c);
  for (std::uint32_t attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_TRUE(results(c).empty()) << "failed early, before loss " << attempt;
    PeerId w = worker(1);
    flush();
    auto got = assigns(w);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].attempt, attempt);
    lose(w);
  }
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].id, id);
  EXPECT_EQ(res[0].state, JobState::kDead);
  EXPECT_EQ(res[0].error_code, "worker_lost");
  EXPECT_EQ(res[0].attempt, 3u);
  EXPECT_EQ(core().counts().queued, 0u);
  EXPECT_EQ(core().counts().running, 0u);
  EXPECT_EQ(core().counts().dead, 1u);
  PeerId w = worker(1);
  flush();
  EXPECT_TRUE(assigns(w).empty());
}

TEST_F(CoreTest, LosingAClientLeavesItsJobsRunning) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  lose(c);
  EXPECT_EQ(core().counts().running, 1u);
  complete(w, id, 1);
  EXPECT_EQ(core().counts().succeeded, 1u);
}

// =============================================================================================
// Time limits, on the fake clock. Each is checked one millisecond early, then on time.

TEST_F(CoreTest, GlobalTimeoutFiresWhileQueued) {
  PeerId c = client();
  JobId id = submit(c, {.timeout_ms = 1000});
  advance(999);
  EXPECT_TRUE(results(c).empty());
  EXPECT_EQ(core().counts().queued, 1u);
  advance(1);
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].id, id);
  EXPECT_EQ(res[0].state, JobState::kDead);
  EXPECT_EQ(res[0].error_code, "timeout");
  EXPECT_EQ(res[0].attempt, 0u);
  EXPECT_EQ(core().counts().queued, 0u);
  EXPECT_EQ(core().counts().dead, 1u);
  // Its queue entry is dead: a worker arriving now gets nothing.
  PeerId w = worker(1);
  flush();
  EXPECT_TRUE(assigns(w).empty());
}

TEST_F(CoreTest, GlobalTimeoutWhileRunningCancelsTheWorkerAndFreesTheSlotWhenItReportsBack) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c, {.timeout_ms = 1000});
  JobId next = submit(c);
  advance(300);
  flush();
  ASSERT_EQ(idsOf(assigns(w)), std::vector<JobId>{id});
  advance(699);  // 999 ms after submission
  EXPECT_TRUE(results(c).empty());
  EXPECT_TRUE(cancels(w).empty());
  advance(1);
  auto cancel = cancels(w);
  ASSERT_EQ(cancel.size(), 1u);
  EXPECT_EQ(cancel[0].id, id);
  EXPECT_EQ(cancel[0].attempt, 1u);
  EXPECT_EQ(cancel[0].code, "timeout");
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].error_code, "timeout");
  EXPECT_EQ(res[0].attempt, 1u);
  // The worker is still stopping the attempt: its slot is not free yet (issue 8, item 4).
  flush();
  EXPECT_TRUE(assigns(w).empty());
  // Its report of the cancelled attempt is discarded without an error, and frees the slot.
  send(w, protocol::CompleteMsg{id, 1, {"too late"}});
  flush();
  EXPECT_TRUE(errors(w).empty());
  EXPECT_TRUE(results(c).empty());
  EXPECT_EQ(idsOf(assigns(w)), std::vector<JobId>{next});
  // A second report of the same attempt is stale.
  std::uint32_t rid = send(w, protocol::CompleteMsg{id, 1, {"again"}});
  expectError(w, rid, "stale_attempt");
}

TEST_F(CoreTest, RunTimeoutCountsFromAssignmentCancelsAndFreesTheSlotWhenItReportsBack) {
  PeerId c = client();
  JobId id = submit(c, {.run_timeout_ms = 500});
  JobId next = submit(c);
  advance(300);  // waiting in the queue does not count against the run limit
  PeerId w = worker(1);
  flush();
  auto got = assigns(w);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[0].run_timeout_ms, 500u);
  advance(499);
  EXPECT_TRUE(cancels(w).empty());
  EXPECT_TRUE(results(c).empty());
  advance(1);
  auto cancel = cancels(w);
  ASSERT_EQ(cancel.size(), 1u);
  EXPECT_EQ(cancel[0].id, id);
  EXPECT_EQ(cancel[0].attempt, 1u);
  EXPECT_EQ(cancel[0].code, "run_timeout");
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].state, JobState::kDead);
  EXPECT_EQ(res[0].error_code, "run_timeout");
  flush();
  EXPECT_TRUE(assigns(w).empty()) << "the slot is busy until the worker reports the attempt gone";
  EXPECT_EQ(core().counts().running, 0u);
  send(w, protocol::FailMsg{id, 1, "run_timeout", "killed"});
  flush();
  EXPECT_EQ(idsOf(assigns(w)), std::vector<JobId>{next});
  EXPECT_EQ(core().counts().running, 1u);
  // The next job gets its whole run limit from the moment it was dealt.
  advance(499);
  EXPECT_TRUE(cancels(w).empty());
}

TEST_F(CoreTest, RunTimeoutOfALostAttemptDoesNotCutTheNextAttemptShort) {
  PeerId c = client();
  PeerId w1 = worker(1);
  JobId id = submit(c, {.run_timeout_ms = 500});
  flush();
  ASSERT_EQ(assigns(w1).size(), 1u);
  advance(300);
  lose(w1);
  PeerId w2 = worker(1);
  flush();
  ASSERT_EQ(assigns(w2).size(), 1u);  // attempt 2 starts at 300
  advance(200);                        // attempt 1's limit passes: stale
  EXPECT_TRUE(cancels(w2).empty());
  EXPECT_TRUE(results(c).empty());
  advance(299);
  EXPECT_TRUE(cancels(w2).empty());
  advance(1);
  auto cancel = cancels(w2);
  ASSERT_EQ(cancel.size(), 1u);
  EXPECT_EQ(cancel[0].id, id);
  EXPECT_EQ(cancel[0].attempt, 2u);
  EXPECT_EQ(cancel[0].code, "run_timeout");
}

TEST_F(CoreTest, AssignTimeoutFiresWhileQueued) {
  PeerId c = client();
  JobId id = submit(c, {.assign_timeout_ms = 400});
  advance(399);
  EXPECT_TRUE(results(c).empty());
  advance(1);
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].id, id);
  EXPECT_EQ(res[0].state, JobState::kDead);
  EXPECT_EQ(res[0].error_code, "assign_timeout");
  EXPECT_EQ(core().counts().queued, 0u);
  PeerId w = worker(1);
  flush();
  EXPECT_TRUE(assigns(w).empty());
}

TEST_F(CoreTest, AssignTimeoutDoesNotFireOnceTheJobWasAssigned) {
  PeerId c = client();
  JobId id = submit(c, {.assign_timeout_ms = 400});
  advance(399);
  PeerId w = worker(1);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  advance(1);
  advance(10'000);
  EXPECT_TRUE(cancels(w).empty());
  EXPECT_TRUE(results(c).empty());
  complete(w, id, 1, "done");
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].state, JobState::kSucceeded);
}

TEST_F(CoreTest, FinishedJobsDeadlinesAreStale) {
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c, {.timeout_ms = 1000, .run_timeout_ms = 500, .assign_timeout_ms = 300});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  advance(100);
  complete(w, id, 1);
  ASSERT_EQ(results(c).size(), 1u);
  advance(5000);
  expectNothing(c);
  expectNothing(w);
  EXPECT_EQ(core().counts().succeeded, 1u);
  EXPECT_EQ(core().counts().dead, 0u);
}

TEST_F(CoreTest, TheEarliestLimitWinsAndTheJobFinishesOnce) {
  PeerId c = client();
  submit(c, {.timeout_ms = 1000, .assign_timeout_ms = 200});
  advance(200);
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].error_code, "assign_timeout");
  advance(1000);
  expectNothing(c);
  EXPECT_EQ(core().counts().dead, 1u);
}

TEST_F(CoreTest, NextDeadlineIsTheEarliestPendingLimit) {
  PeerId c = client();
  EXPECT_FALSE(core().nextDeadline().has_value());
  MonoTime t0 = clock_.now();
  submit(c, {.timeout_ms = 1000});
  submit(c, {.assign_timeout_ms = 250});
  ASSERT_TRUE(core().nextDeadline().has_value());
  EXPECT_EQ(*core().nextDeadline(), t0 + milliseconds(250));
}

// =============================================================================================
// SUBSCRIBE.

TEST_F(CoreTest, SubscriberOnAnotherConnectionGetsTheResultToo) {
  PeerId owner = client("owner");
  PeerId watcher = client("watcher");
  PeerId w = worker(1);
  JobId id = submit(owner);
  expectOk(watcher, send(watcher, protocol::SubscribeMsg{id}));
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, id, 1, "shared");
  for (PeerId p : {owner, watcher}) {
    auto res = results(p);
    ASSERT_EQ(res.size(), 1u) << "peer " << p;
    EXPECT_EQ(res[0].id, id);
    EXPECT_EQ(res[0].result, "shared");
  }
}

TEST_F(CoreTest, SubscribingTwiceOrAsTheOwnerGivesOneResult) {
  PeerId owner = client();
  PeerId watcher = client();
  PeerId w = worker(1);
  JobId id = submit(owner);
  expectOk(owner, send(owner, protocol::SubscribeMsg{id}));
  expectOk(watcher, send(watcher, protocol::SubscribeMsg{id}));
  expectOk(watcher, send(watcher, protocol::SubscribeMsg{id}));
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, id, 1);
  EXPECT_EQ(results(owner).size(), 1u);
  EXPECT_EQ(results(watcher).size(), 1u);
}

TEST_F(CoreTest, SubscribeToAFinishedJobAnswersOkThenTheResultAtOnce) {
  PeerId owner = client();
  PeerId w = worker(1);
  JobId id = submit(owner);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  send(w, protocol::FailMsg{id, 1, "handler_error", "it broke"});
  ASSERT_EQ(results(owner).size(), 1u);

  PeerId late = client();
  std::uint32_t rid = send(late, protocol::SubscribeMsg{id});
  auto frames = takeAll(late);
  ASSERT_EQ(frames.size(), 2u) << describe(frames);
  EXPECT_TRUE(frames[0].is(MsgType::kOk));
  EXPECT_EQ(frames[0].request_id, rid);
  ASSERT_TRUE(frames[1].is(MsgType::kResult));
  EXPECT_EQ(frames[1].request_id, 0u);
  auto res = frames[1].as<protocol::ResultMsg>();
  EXPECT_EQ(res.job_id, id);
  EXPECT_EQ(res.state, static_cast<std::uint8_t>(JobState::kDead));
  EXPECT_EQ(res.attempt, 1u);
  EXPECT_EQ(res.error_code, "handler_error");
  EXPECT_EQ(res.error_message, "it broke");
}

TEST_F(CoreTest, SubscribeToAnUnknownJobIsNotFound) {
  PeerId c = client();
  std::uint32_t rid = send(c, protocol::SubscribeMsg{999});
  expectError(c, rid, "not_found");
  expectNothing(c);
}

TEST_F(CoreTest, AWatcherThatLeftDoesNotStopTheOthers) {
  PeerId owner = client();
  PeerId watcher = client();
  PeerId w = worker(1);
  JobId id = submit(owner);
  expectOk(watcher, send(watcher, protocol::SubscribeMsg{id}));
  lose(watcher);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, id, 1);
  EXPECT_EQ(results(owner).size(), 1u);
}

// =============================================================================================
// STATUS and retention.

TEST_F(CoreTest, StatusOfAQueuedJob) {
  PeerId c = client();
  std::uint64_t submitted = clock_.wallMillis();
  JobId id = submit(c, {.task = "resize", .priority = -4});
  Info info = status(c, id);
  EXPECT_EQ(info.id, id);
  EXPECT_EQ(info.task, "resize");
  EXPECT_EQ(info.state, JobState::kQueued);
  EXPECT_EQ(info.priority, -4);
  EXPECT_EQ(info.attempt, 0u);
  EXPECT_EQ(info.submitted_ms, submitted);
  EXPECT_EQ(info.started_ms, 0u);
  EXPECT_EQ(info.finished_ms, 0u);
  EXPECT_EQ(info.worker, "");
}

TEST_F(CoreTest, StatusOfARunningJob) {
  PeerId c = client();
  JobId id = submit(c);
  advance(250);
  PeerId w = worker(1, {"echo"}, "busy-bee");
  std::uint64_t started = clock_.wallMillis();
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  Info info = status(c, id);
  EXPECT_EQ(info.state, JobState::kRunning);
  EXPECT_EQ(info.attempt, 1u);
  EXPECT_EQ(info.worker, "busy-bee");
  EXPECT_EQ(info.started_ms, started);
  EXPECT_EQ(info.submitted_ms, started - 250);
  EXPECT_EQ(info.finished_ms, 0u);
}

TEST_F(CoreTest, StatusOfFinishedJobs) {
  PeerId c = client();
  PeerId w = worker(2);
  JobId ok = submit(c);
  JobId bad = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 2u);
  advance(40);
  complete(w, ok, 1, "fine");
  send(w, protocol::FailMsg{bad, 1, "no_handler", "no such task"});
  Info a = status(c, ok);
  EXPECT_EQ(a.state, JobState::kSucceeded);
  EXPECT_EQ(a.result, "fine");
  EXPECT_EQ(a.finished_ms, clock_.wallMillis());
  EXPECT_EQ(a.attempt, 1u);
  Info b = status(c, bad);
  EXPECT_EQ(b.state, JobState::kDead);
  EXPECT_EQ(b.error_code, "no_handler");
  EXPECT_EQ(b.error_message, "no such task");
}

TEST_F(CoreTest, StatusOfAnUnknownJobIsNotFound) {
  PeerId c = client();
  std::uint32_t rid = send(c, protocol::StatusMsg{424242});
  expectError(c, rid, "not_found");
}

TEST_F(CoreTest, FinishedJobsAreForgottenAfterTheRetention) {
  options_.result_ttl = milliseconds(10'000);
  PeerId c = client();
  PeerId w = worker(1);
  JobId id = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, id, 1);
  advance(10'000);
  core().purgeExpiredResults();
  EXPECT_EQ(status(c, id).state, JobState::kSucceeded);
  advance(1);
  core().purgeExpiredResults();
  std::uint32_t rid = send(c, protocol::StatusMsg{id});
  expectError(c, rid, "not_found");
}

// =============================================================================================
// STATS.

TEST_F(CoreTest, StatsIsJsonWithTheCounts) {
  options_.name = "stats-broker";
  PeerId c = client();
  client("idle-client");
  PeerId w = worker(3, {"echo", "add"}, "w-one");
  std::vector<JobId> echo;
  for (int i = 0; i < 5; ++i) echo.push_back(submit(c));
  submitTask(c, "other");
  flush();
  auto got = assigns(w);
  ASSERT_EQ(got.size(), 3u);
  complete(w, got[0].id, 1);
  send(w, protocol::FailMsg{got[1].id, 1, "handler_error", "x"});
  send(w, protocol::CompleteMsg{got[2].id, 9, {"stale"}});  // refused, counted
  errors(w);
  advance(1234);

  nlohmann::json s = stats(c);
  EXPECT_EQ(s["broker"], "stats-broker");
  EXPECT_EQ(s["version"], protocol::kVersion);
  EXPECT_EQ(s["uptime_ms"], 1234);
  EXPECT_EQ(s["jobs"]["queued"], 3);
  EXPECT_EQ(s["jobs"]["running"], 1);
  EXPECT_EQ(s["jobs"]["succeeded"], 1);
  EXPECT_EQ(s["jobs"]["dead"], 1);
  EXPECT_EQ(s["jobs"]["stale_refused"], 1);
  EXPECT_EQ(s["clients"], 2);
  ASSERT_EQ(s["workers"].size(), 1u);
  EXPECT_EQ(s["workers"][0]["name"], "w-one");
  EXPECT_EQ(s["workers"][0]["slots"], 3);
  EXPECT_EQ(s["workers"][0]["busy"], 1);
  EXPECT_EQ(s["workers"][0]["tasks"], (nlohmann::json{"add", "echo"}));
  EXPECT_EQ(s["workers"][0]["draining"], false);
  std::map<std::string, nlohmann::json> queues;
  for (const auto& q : s["queues"]) queues[q["task"].get<std::string>()] = q;
  ASSERT_TRUE(queues.count("echo"));
  EXPECT_EQ(queues["echo"]["queued"], 2);
  EXPECT_EQ(queues["echo"]["running"], 1);
  ASSERT_TRUE(queues.count("other"));
  EXPECT_EQ(queues["other"]["queued"], 1);
  EXPECT_EQ(queues["other"]["running"], 0);
}

// =============================================================================================
// DRAIN.

TEST_F(CoreTest, DrainingWorkerGetsNoMoreJobsButFinishesItsOwn) {
  PeerId c = client();
  PeerId w1 = worker(2);
  JobId first = submit(c);
  flush();
  ASSERT_EQ(idsOf(assigns(w1)), std::vector<JobId>{first});
  expectOk(w1, send(w1, protocol::DrainMsg{}));
  JobId j2 = submit(c);
  JobId j3 = submit(c);
  flush();
  EXPECT_TRUE(assigns(w1).empty());
  complete(w1, first, 1, "finished while draining");
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].result, "finished while draining");
  flush();
  EXPECT_TRUE(assigns(w1).empty()) << "a freed slot of a draining worker is not refilled";
  EXPECT_EQ(stats(c)["workers"][0]["draining"], true);
  PeerId w2 = worker(2);
  flush();
  auto got = idsOf(assigns(w2));
  EXPECT_EQ(got, (std::vector<JobId>{j2, j3}));
}

// =============================================================================================
// Recovery from the store.

JobRecord storedJob(JobId id, JobState state, std::int32_t priority, std::uint32_t attempt,
                    std::uint64_t submitted_ms) {
  JobRecord rec;
  rec.id = id;
  rec.task = "echo";
  rec.payload = "payload-" + std::to_string(id);
  rec.priority = priority;
  rec.state = state;
  rec.attempt = attempt;
  rec.submitted_ms = submitted_ms;
  return rec;
}

TEST_F(CoreTest, RecoverBringsBackQueuedAndRunningJobs) {
  std::uint64_t now = clock_.wallMillis();
  store_.insert(storedJob(3, JobState::kQueued, 0, 0, now));
  store_.insert(storedJob(5, JobState::kQueued, 0, 0, now));
  store_.markRunning(5, 2, "old-worker", now);
  store_.insert(storedJob(7, JobState::kQueued, 5, 0, now));
  JobRecord done = storedJob(9, JobState::kQueued, 0, 0, now);
  store_.insert(done);
  done.state = JobState::kSucceeded;
  done.attempt = 1;
  done.result = "old result";
  done.finished_ms = now;
  store_.markFinished(done);

  ASSERT_TRUE(core().recover().isOk());
  EXPECT_EQ(core().counts().queued, 3u);
  EXPECT_EQ(core().counts().running, 0u);
  auto rec5 = store_.find(5);
  ASSERT_TRUE(rec5.isOk() && rec5->has_value());
  EXPECT_EQ((*rec5)->state, JobState::kQueued) << "the store learns the running job was requeued";

  PeerId c = client();
  EXPECT_EQ(status(c, 5).state, JobState::kQueued);
  Info finished = status(c, 9);
  EXPECT_EQ(finished.state, JobState::kSucceeded);
  EXPECT_EQ(finished.result, "old result");
  // Nobody owns recovered jobs; a reconnecting client subscribes again.
  expectOk(c, send(c, protocol::SubscribeMsg{5}));
  // New ids continue after the highest one the store ever held.
  EXPECT_EQ(submit(c), 10u);

  PeerId w = worker(1);
  std::vector<Assigned> order;
  for (int i = 0; i < 4; ++i) {
    flush();
    auto got = assigns(w);
    ASSERT_EQ(got.size(), 1u) << "turn " << i;
    order.push_back(got[0]);
    complete(w, got[0].id, got[0].attempt, "r" + std::to_string(got[0].id));
  }
  EXPECT_EQ(idsOf(order), (std::vector<JobId>{7, 3, 5, 10}));
  EXPECT_EQ(order[0].payload, "payload-7");
  EXPECT_EQ(order[2].attempt, 3u) << "the interrupted attempt 2 is followed by attempt 3";
  EXPECT_EQ(order[1].attempt, 1u);
  auto res = results(c);
  ASSERT_EQ(res.size(), 2u);  // job 5, subscribed, and job 10, submitted
  EXPECT_EQ(res[0].id, 5u);
  EXPECT_EQ(res[0].result, "r5");
}

TEST_F(CoreTest, RecoverContinuesIdsAfterAPurgedMaximum) {
  store_.insert(storedJob(41, JobState::kQueued, 0, 0, clock_.wallMillis()));
  JobRecord done = storedJob(41, JobState::kSucceeded, 0, 1, 0);
  done.finished_ms = 1;
  store_.markFinished(done);
  ASSERT_EQ(*store_.purgeFinished({{}, {}, clock_.wallMillis()}), 1u);
  ASSERT_TRUE(core().recover().isOk());
  EXPECT_EQ(core().counts().queued, 0u);
  PeerId c = client();
  EXPECT_EQ(submit(c), 42u);
}

TEST_F(CoreTest, RecoveredJobsLimitsCountFromTheOriginalSubmission) {
  JobRecord rec = storedJob(1, JobState::kQueued, 0, 0, clock_.wallMillis() - 600);
  rec.timeout_ms = 1000;
  store_.insert(rec);
  ASSERT_TRUE(core().recover().isOk());
  advance(399);
  auto before = store_.find(1);
  ASSERT_TRUE(before.isOk() && before->has_value());
  EXPECT_EQ((*before)->state, JobState::kQueued);
  advance(1);
  auto after = store_.find(1);
  ASSERT_TRUE(after.isOk() && after->has_value());
  EXPECT_EQ((*after)->state, JobState::kDead);
  EXPECT_EQ((*after)->error_code, "timeout");
  EXPECT_EQ(core().counts().queued, 0u);
}

TEST_F(CoreTest, RecoveredJobThatHadStartedIsNotFailedByItsAssignLimit) {
  // Regression: recovery used to arm the assign limit again for jobs a worker had already taken.
  JobRecord rec = storedJob(1, JobState::kQueued, 0, 0, clock_.wallMillis() - 1000);
  rec.assign_timeout_ms = 500;
  store_.insert(rec);
  store_.markRunning(1, 1, "old-worker", clock_.wallMillis() - 900);
  JobRecord waiting = storedJob(2, JobState::kQueued, 0, 0, clock_.wallMillis() - 1000);
  waiting.assign_timeout_ms = 500;
  store_.insert(waiting);
  ASSERT_TRUE(core().recover().isOk());
  advance(1);
  auto started = store_.find(1);
  ASSERT_TRUE(started.isOk() && started->has_value());
  EXPECT_EQ((*started)->state, JobState::kQueued);
  auto never_started = store_.find(2);
  ASSERT_TRUE(never_started.isOk() && never_started->has_value());
  EXPECT_EQ((*never_started)->state, JobState::kDead);
  EXPECT_EQ((*never_started)->error_code, "assign_timeout");
}

TEST_F(CoreTest, PayloadsBeyondTheMemoryBudgetAreReadFromTheStoreWhenDealt) {
  // Room for the first payload only; the second stays in the store until it is dealt.
  options_.payload_memory_budget = 10;
  PeerId c = client();
  JobId small = submit(c, SubmitArgs{.payload = "0123456789"});
  JobId spilled = submit(c, SubmitArgs{.payload = "kept on disk"});
  PeerId w = worker(2);
  flush();
  auto got = assigns(w);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, small);
  EXPECT_EQ(got[0].payload, "0123456789");
  EXPECT_EQ(got[1].id, spilled);
  EXPECT_EQ(got[1].payload, "kept on disk");
}

TEST_F(CoreTest, APayloadReadBackFromTheStoreIsReadAgainAfterARequeue) {
  options_.payload_memory_budget = 0;  // every payload stays in the store
  PeerId c = client();
  JobId id = submit(c, SubmitArgs{.payload = "from the store"});
  PeerId first = worker(1);
  flush();
  auto got = assigns(first);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "from the store");
  lose(first);
  PeerId second = worker(1);
  flush();
  got = assigns(second);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id);
  EXPECT_EQ(got[0].payload, "from the store");
}

TEST_F(CoreTest, WithAStoreThatKeepsNoLiveJobsTheBrokerKeepsEveryPayload) {
  // `--store memory`: the store cannot give a payload back, so the budget does not apply.
  use_volatile_store_ = true;
  options_.payload_memory_budget = 10;
  PeerId c = client();
  JobId first = submit(c, SubmitArgs{.payload = "0123456789"});
  JobId second = submit(c, SubmitArgs{.payload = "beyond the budget", .priority = 0});
  PeerId w = worker(2, {"echo"}, "keeper");
  flush();
  auto got = assigns(w);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, "0123456789");
  EXPECT_EQ(got[1].id, second);
  EXPECT_EQ(got[1].payload, "beyond the budget");
  // A finished job is answered from the store, with what the broker knew of it.
  complete(w, first, got[0].attempt, "done");
  flush();
  Info info = status(c, first);
  EXPECT_EQ(info.state, JobState::kSucceeded);
  EXPECT_EQ(info.task, "echo");
  EXPECT_EQ(info.worker, "keeper");
  EXPECT_EQ(info.result, "done");
  EXPECT_NE(info.started_ms, 0u);
  EXPECT_NE(info.finished_ms, 0u);
}

TEST_F(CoreTest, RecoveredJobsPayloadsComeFromTheStore) {
  // Recovery reads bookkeeping only; the store hands the payload over when the job is dealt.
  store_.insert(storedJob(1, JobState::kQueued, 0, 0, clock_.wallMillis()));
  ASSERT_TRUE(core().recover().isOk());
  PeerId w = worker(1);
  flush();
  auto got = assigns(w);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "payload-1");
}

TEST_F(CoreTest, RecoveredJobThatUsedItsAttemptsFailsWorkerLost) {
  // Regression: a job running at every crash used to be requeued for ever.
  options_.max_attempts = 2;
  std::uint64_t now = clock_.wallMillis();
  store_.insert(storedJob(1, JobState::kQueued, 0, 0, now));
  store_.markRunning(1, 2, "old-worker", now);
  store_.insert(storedJob(2, JobState::kQueued, 0, 0, now));
  store_.markRunning(2, 1, "old-worker", now);
  ASSERT_TRUE(core().recover().isOk());
  EXPECT_EQ(core().counts().queued, 1u);
  auto spent = store_.find(1);
  ASSERT_TRUE(spent.isOk() && spent->has_value());
  EXPECT_EQ((*spent)->state, JobState::kDead);
  EXPECT_EQ((*spent)->error_code, "worker_lost");
  auto retried = store_.find(2);
  ASSERT_TRUE(retried.isOk() && retried->has_value());
  EXPECT_EQ((*retried)->state, JobState::kQueued);
}

TEST_F(CoreTest, RecoverOnAnEmptyStoreStartsAtOne) {
  ASSERT_TRUE(core().recover().isOk());
  EXPECT_EQ(core().counts().queued, 0u);
  PeerId c = client();
  EXPECT_EQ(submit(c), 1u);
}

}  // namespace
}  // namespace corvee::broker

namespace corvee::broker {
namespace {

// Which frames may leave before the store commits: only those that promise nothing about it.
class SplittingOutbox final : public Outbox {
 public:
  std::string* output(PeerId peer) override { return &after_commit[peer]; }
  std::string* urgentOutput(PeerId peer) override { return &urgent[peer]; }
  void closeAfterFlush(PeerId) override {}
  static std::vector<std::uint8_t> types(const std::string& bytes) {
    protocol::FrameDecoder decoder(1 << 20);
    char* area = decoder.prepare(bytes.size());
    std::copy(bytes.begin(), bytes.end(), area);
    decoder.commit(bytes.size());
    std::vector<std::uint8_t> out;
    protocol::Frame frame;
    while (decoder.next(frame) == protocol::DecodeEvent::kFrame) out.push_back(frame.type);
    return out;
  }
  std::map<PeerId, std::string> after_commit;
  std::map<PeerId, std::string> urgent;
};

TEST(CoreDelivery, AcknowledgementsWaitForTheCommitAndWorkerFramesDoNot) {
  BrokerOptions options;
  MemoryStore store;
  testing::FakeClock clock;
  SplittingOutbox outbox;
  Core core(options, store, clock, outbox);
  auto deliver = [&](PeerId peer, auto msg) {
    std::string wire;
    protocol::encode(wire, 7, msg);
    protocol::Frame frame{static_cast<std::uint8_t>(wire[protocol::kLengthSize]), 7,
                          std::string_view(wire).substr(protocol::kHeaderSize)};
    core.onFrame(peer, frame);
  };
  core.onConnect(1, "client");
  core.onConnect(2, "worker");
  deliver(1, protocol::HelloMsg{protocol::kMagic, protocol::kVersion, 1, "c"});
  deliver(2, protocol::HelloMsg{protocol::kMagic, protocol::kVersion, 2, "w"});
  deliver(2, protocol::RegisterMsg{1, {"echo"}});
  deliver(1, protocol::SubmitMsg{"echo", {"x"}, 0, 0, 0, 0});
  core.deal();
  using protocol::MsgType;
  auto t = [](MsgType m) { return static_cast<std::uint8_t>(m); };
  EXPECT_EQ(SplittingOutbox::types(outbox.after_commit[1]), (std::vector<std::uint8_t>{t(MsgType::kSubmitted)}));
  EXPECT_EQ(SplittingOutbox::types(outbox.urgent[1]), (std::vector<std::uint8_t>{t(MsgType::kWelcome)}));
  EXPECT_EQ(SplittingOutbox::types(outbox.urgent[2]),
            (std::vector<std::uint8_t>{t(MsgType::kWelcome), t(MsgType::kOk), t(MsgType::kAssign)}));
  EXPECT_TRUE(outbox.after_commit[2].empty());
  deliver(2, protocol::CompleteMsg{1, 1, {"done"}});
  EXPECT_EQ(SplittingOutbox::types(outbox.after_commit[1]),
            (std::vector<std::uint8_t>{t(MsgType::kSubmitted), t(MsgType::kResult)}));
}

}  // namespace
}  // namespace corvee::broker::test
