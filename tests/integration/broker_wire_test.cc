// The broker's wire behaviour (docs/protocol.md, sections 2-4), spoken byte by byte over a raw TCP
// socket to a real `corvee broker` process. Each test quotes the rule it checks.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "corvee/client.h"
#include "corvee/errors.h"
#include "protocol/wire.h"
#include "support/process.h"
#include "support/wire_client.h"

namespace corvee::testing {
namespace {

using protocol::MsgType;
using protocol::Role;

std::string submitFrame(std::uint32_t request_id, std::string_view task, std::string_view payload) {
  protocol::SubmitMsg msg;
  msg.task = task;
  msg.payload.data = payload;
  std::string frame;
  protocol::encode(frame, request_id, msg);
  return frame;
}

// The broker's STATS document via `corvee stats`; an empty object when it cannot be had.
nlohmann::json statsOf(const std::string& endpoint) {
  std::string text;
  EXPECT_TRUE(fetchStats(endpoint, text));
  auto doc = nlohmann::json::parse(text, nullptr, false);
  return doc.is_object() ? doc : nlohmann::json::object();
}

class BrokerWireTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(broker_.start({"--max-payload", "1000"})); }

  // The broker process is alive and serves an ordinary client end to end.
  void expectBrokerServes() {
    ASSERT_TRUE(broker_.process().running()) << broker_.process().describe();
    WorkerProcess worker;
    ASSERT_TRUE(worker.start(broker_.endpoint(), 1));
    CommandResult run = runCorvee({"submit", "reverse", "still alive", "--wait", "--connect", broker_.endpoint()});
    EXPECT_EQ(run.exit_code, 0) << run.describe();
    EXPECT_EQ(run.out, "evila llits") << run.describe();
  }

  BrokerProcess broker_;
};

// "The peer connects and MUST send HELLO as its first frame. Any other first frame is answered
// with ERROR bad_request and the connection is closed."
TEST_F(BrokerWireTest, FirstFrameOtherThanHelloIsRefusedAndClosed) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.send(7, protocol::PingMsg{}));
  EXPECT_TRUE(wire.expectError("bad_request", 7));
  EXPECT_TRUE(wire.expectClosed());
  expectBrokerServes();
}

TEST_F(BrokerWireTest, FirstFrameSubmitIsRefusedAndNothingIsQueued) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.sendRaw(submitFrame(3, "echo", "sneaky")));
  EXPECT_TRUE(wire.expectError("bad_request", 3));
  EXPECT_TRUE(wire.expectClosed());
  nlohmann::json stats = statsOf(broker_.endpoint());
  EXPECT_EQ(stats["jobs"]["queued"], 0) << stats.dump();
}

TEST_F(BrokerWireTest, HelloWithBadMagicIsRefusedAndClosed) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  protocol::HelloMsg hello;
  hello.magic = 0x12345678;
  hello.role = static_cast<std::uint8_t>(Role::kClient);
  hello.name = "impostor";
  ASSERT_TRUE(wire.send(1, hello));
  EXPECT_TRUE(wire.expectError("bad_request", 1));
  EXPECT_TRUE(wire.expectClosed());
  expectBrokerServes();
}

// "The broker answers WELCOME (or ERROR unsupported_version and closes, when the peer's version
// is not one it speaks)."
TEST_F(BrokerWireTest, HelloWithVersionZeroIsUnsupported) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  protocol::HelloMsg hello;
  hello.version = 0;
  hello.role = static_cast<std::uint8_t>(Role::kClient);
  ASSERT_TRUE(wire.send(2, hello));
  EXPECT_TRUE(wire.expectError("unsupported_version", 2));
  EXPECT_TRUE(wire.expectClosed());
}

// "WELCOME carries the version the broker chose (at most the peer's)."
TEST_F(BrokerWireTest, WelcomeNegotiatesDownFromANewerPeer) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  protocol::HelloMsg hello;
  hello.version = 9;
  hello.role = static_cast<std::uint8_t>(Role::kClient);
  ASSERT_TRUE(wire.send(4, hello));
  OwnedFrame frame;
  ASSERT_TRUE(wire.expect(MsgType::kWelcome, frame, 4u));
  auto welcome = protocol::decode<protocol::WelcomeMsg>(frame.body);
  ASSERT_TRUE(welcome) << welcome.status().toString();
  EXPECT_EQ(welcome->version, protocol::kVersion);  // the broker's highest, below the peer's 9
  EXPECT_EQ(welcome->max_payload, 1000u);
  EXPECT_EQ(welcome->heartbeat_ms, 1000u);
  EXPECT_EQ(welcome->peer_timeout_ms, 5000u);
  EXPECT_TRUE(wire.pingPong(5));
}

// "An unknown type is answered with ERROR unknown_command; the connection carries on."
TEST_F(BrokerWireTest, UnknownTypeAfterHelloIsUnknownCommandAndTheConnectionCarriesOn) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.hello(Role::kClient));
  ASSERT_TRUE(wire.sendRaw(WireClient::rawFrame(0x7f, 42, "whatever")));
  EXPECT_TRUE(wire.expectError("unknown_command", 42));
  EXPECT_TRUE(wire.pingPong(43));
  // Also a type inside the defined range that version 1 leaves unused.
  ASSERT_TRUE(wire.sendRaw(WireClient::rawFrame(0x18, 44, "")));
  EXPECT_TRUE(wire.expectError("unknown_command", 44));
  EXPECT_TRUE(wire.pingPong(45));
}

// "A body that does not match its type's layout (too short, trailing bytes, a count that runs
// past the end) is answered with ERROR bad_request; the connection carries on with the next frame."
TEST_F(BrokerWireTest, TruncatedSubmitIsBadRequestAndTheConnectionCarriesOn) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.hello(Role::kClient));
  std::string good = submitFrame(0, "echo", "hi");
  std::string body = good.substr(protocol::kHeaderSize);
  ASSERT_TRUE(wire.sendRaw(WireClient::rawFrame(0x10, 10, body.substr(0, body.size() - 3))));
  EXPECT_TRUE(wire.expectError("bad_request", 10));
  EXPECT_TRUE(wire.pingPong(11));
  // Trailing bytes are as wrong as missing ones.
  ASSERT_TRUE(wire.sendRaw(WireClient::rawFrame(0x10, 12, body + "xx")));
  EXPECT_TRUE(wire.expectError("bad_request", 12));
  // A byte count that runs past the end of the body.
  std::string lying = body;
  lying[6] = '\x7f';  // payload length's low byte: claims 127 bytes, has 2
  ASSERT_TRUE(wire.sendRaw(WireClient::rawFrame(0x10, 13, lying)));
  EXPECT_TRUE(wire.expectError("bad_request", 13));
  // And the intact frame still works on the same connection.
  ASSERT_TRUE(wire.sendRaw(submitFrame(14, "echo", "hi")));
  OwnedFrame frame;
  EXPECT_TRUE(wire.expect(MsgType::kSubmitted, frame, 14u));
  expectBrokerServes();
}

// "A frame whose length exceeds the broker's frame limit (its max_payload plus 64 KiB) is refused
// with ERROR payload_too_large carrying the frame's request_id; the broker skips the frame's bytes
// without buffering them and the connection carries on."
TEST_F(BrokerWireTest, OversizedFrameIsPayloadTooLargeAndTheConnectionCarriesOn) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.hello(Role::kClient));
  constexpr std::uint32_t kBody = 1024 * 1024;
  std::string frame;
  protocol::WireWriter w(frame);
  w.u32(kBody + protocol::kMinLength);
  w.u8(static_cast<std::uint8_t>(MsgType::kSubmit));
  w.u32(77);
  frame.append(kBody, 'z');  // every declared byte really follows
  ASSERT_TRUE(wire.sendRaw(frame));
  EXPECT_TRUE(wire.expectError("payload_too_large", 77));
  EXPECT_TRUE(wire.pingPong(78));
  ASSERT_TRUE(wire.sendRaw(submitFrame(79, "echo", "after the big one")));
  OwnedFrame reply;
  EXPECT_TRUE(wire.expect(MsgType::kSubmitted, reply, 79u));
  expectBrokerServes();
}

// A payload over max_payload that still fits in a frame: refused per SUBMIT, connection goes on.
TEST_F(BrokerWireTest, SubmitWithPayloadOverMaxPayloadIsRefused) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.hello(Role::kClient));
  ASSERT_TRUE(wire.sendRaw(submitFrame(20, "echo", std::string(1001, 'p'))));
  EXPECT_TRUE(wire.expectError("payload_too_large", 20));
  ASSERT_TRUE(wire.sendRaw(submitFrame(21, "echo", std::string(1000, 'p'))));
  OwnedFrame frame;
  EXPECT_TRUE(wire.expect(MsgType::kSubmitted, frame, 21u));
}

// "length MUST be at least 5. A frame shorter than that is malformed; the broker answers
// ERROR bad_request and closes the connection."
TEST_F(BrokerWireTest, LengthBelowFiveIsBadRequestAndCloses) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.hello(Role::kClient));
  std::string bytes;
  protocol::WireWriter w(bytes);
  w.u32(3);
  bytes += "abc";
  ASSERT_TRUE(wire.sendRaw(bytes));
  EXPECT_TRUE(wire.expectError("bad_request", 0));
  EXPECT_TRUE(wire.expectClosed());
  expectBrokerServes();
}

TEST_F(BrokerWireTest, LengthBelowFiveBeforeHelloAlsoCloses) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.sendRaw(std::string("\0\0\0\0", 4)));
  EXPECT_TRUE(wire.expectError("bad_request", 0));
  EXPECT_TRUE(wire.expectClosed());
}

TEST_F(BrokerWireTest, EveryMalformationInOneSessionLeavesTheBrokerServing) {
  // All of the above, one after another on separate connections, then a normal client.
  {
    WireClient wire;
    ASSERT_TRUE(wire.connect(broker_.port()));
    ASSERT_TRUE(wire.sendRaw(WireClient::rawFrame(0x10, 1, "junk")));
    EXPECT_TRUE(wire.expectError("bad_request", 1));
    EXPECT_TRUE(wire.expectClosed());
  }
  {
    WireClient wire;
    ASSERT_TRUE(wire.connect(broker_.port()));
    ASSERT_TRUE(wire.hello(Role::kClient));
    ASSERT_TRUE(wire.sendRaw(WireClient::rawFrame(0xee, 2, "")));
    EXPECT_TRUE(wire.expectError("unknown_command", 2));
    ASSERT_TRUE(wire.sendRaw(WireClient::rawFrame(0x14, 3, "short")));
    EXPECT_TRUE(wire.expectError("bad_request", 3));
    ASSERT_TRUE(wire.sendRaw(std::string("\x01\0\0\0", 4)));
    EXPECT_TRUE(wire.expectError("bad_request", 0));
    EXPECT_TRUE(wire.expectClosed());
  }
  {
    // A peer that vanishes mid-frame.
    WireClient wire;
    ASSERT_TRUE(wire.connect(broker_.port()));
    ASSERT_TRUE(wire.hello(Role::kClient));
    ASSERT_TRUE(wire.sendRaw(submitFrame(4, "echo", "cut").substr(0, 12)));
  }
  expectBrokerServes();
}

// "Either side MAY send many frames without waiting for replies (pipelining); replies to requests
// carry the request's id."
TEST_F(BrokerWireTest, ThousandPipelinedSubmitsGetThousandMatchingReplies) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.hello(Role::kClient));
  constexpr std::uint32_t kCount = 1000;
  std::string batch;
  for (std::uint32_t i = 1; i <= kCount; ++i) {
    protocol::SubmitMsg msg;
    msg.task = "pipelined";  // no worker serves it: the jobs stay queued
    std::string payload = "p" + std::to_string(i);
    msg.payload.data = payload;
    protocol::encode(batch, 1000 + i, msg);
  }
  ASSERT_TRUE(wire.sendRaw(batch));
  std::set<std::uint32_t> request_ids;
  std::set<std::uint64_t> job_ids;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    OwnedFrame frame;
    ASSERT_TRUE(wire.expect(MsgType::kSubmitted, frame, std::nullopt, std::chrono::seconds(30))) << "reply " << i;
    auto submitted = protocol::decode<protocol::SubmittedMsg>(frame.body);
    ASSERT_TRUE(submitted) << submitted.status().toString();
    EXPECT_TRUE(request_ids.insert(frame.request_id).second) << "duplicate reply for request " << frame.request_id;
    EXPECT_TRUE(job_ids.insert(submitted->job_id).second) << "job id " << submitted->job_id << " issued twice";
  }
  EXPECT_EQ(request_ids.size(), kCount);
  EXPECT_EQ(*request_ids.begin(), 1001u);
  EXPECT_EQ(*request_ids.rbegin(), 1000u + kCount);
  EXPECT_EQ(job_ids.size(), kCount);
  EXPECT_TRUE(wire.expectNothing(std::chrono::milliseconds(200)));
  nlohmann::json stats = statsOf(broker_.endpoint());
  EXPECT_EQ(stats["jobs"]["queued"], kCount) << stats.dump();
}

// "STATUS ... for ids it never issued, the answer is ERROR not_found." and SUBSCRIBE likewise.
TEST_F(BrokerWireTest, StatusAndSubscribeOfUnknownJobAreNotFound) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.hello(Role::kClient));
  ASSERT_TRUE(wire.send(5, protocol::StatusMsg{424242}));
  EXPECT_TRUE(wire.expectError("not_found", 5));
  ASSERT_TRUE(wire.send(6, protocol::SubscribeMsg{424242}));
  EXPECT_TRUE(wire.expectError("not_found", 6));
}

// "Any connection may ask for it with SUBSCRIBE job_id: the broker answers OK and pushes RESULT
// when the job finishes, at once if it already has."
TEST_F(BrokerWireTest, SubscribeToAFinishedJobPushesTheResultAtOnce) {
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker_.endpoint(), 1));
  CommandResult submit = runCorvee({"submit", "reverse", "xyz", "--connect", broker_.endpoint()});
  ASSERT_EQ(submit.exit_code, 0) << submit.describe();
  JobId id = std::stoull(submit.out);
  ASSERT_TRUE(eventually([&] {
    CommandResult status = runCorvee({"status", std::to_string(id), "--connect", broker_.endpoint()});
    return status.out.find("succeeded") != std::string::npos;
  }));
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.hello(Role::kClient));
  ASSERT_TRUE(wire.send(9, protocol::SubscribeMsg{id}));
  OwnedFrame ok;
  ASSERT_TRUE(wire.expect(MsgType::kOk, ok, 9u));
  OwnedFrame pushed;
  ASSERT_TRUE(wire.expect(MsgType::kResult, pushed, 0u));
  auto result = protocol::decode<protocol::ResultMsg>(pushed.body);
  ASSERT_TRUE(result) << result.status().toString();
  EXPECT_EQ(result->job_id, id);
  EXPECT_EQ(result->state, static_cast<std::uint8_t>(JobState::kSucceeded));
  EXPECT_EQ(result->result.data, "zyx");
  EXPECT_EQ(result->attempt, 1u);
}

// "The broker MUST NOT have more than slots jobs assigned to a worker at once (credit-based
// flow)."
TEST_F(BrokerWireTest, RawWorkerNeverGetsMoreJobsThanSlots) {
  WireClient worker;
  ASSERT_TRUE(worker.connect(broker_.port()));
  ASSERT_TRUE(worker.hello(Role::kWorker, "raw-worker"));
  protocol::RegisterMsg reg;
  reg.slots = 2;
  reg.tasks = {"credit"};
  ASSERT_TRUE(worker.send(1, reg));
  OwnedFrame ok;
  ASSERT_TRUE(worker.expect(MsgType::kOk, ok, 1u));

  WireClient client;
  ASSERT_TRUE(client.connect(broker_.port()));
  ASSERT_TRUE(client.hello(Role::kClient));
  std::string batch;
  for (std::uint32_t i = 1; i <= 5; ++i) batch += submitFrame(i, "credit", "c" + std::to_string(i));
  ASSERT_TRUE(client.sendRaw(batch));
  for (int i = 0; i < 5; ++i) {
    OwnedFrame frame;
    ASSERT_TRUE(client.expect(MsgType::kSubmitted, frame));
  }

  std::vector<protocol::AssignMsg> assigned;
  std::vector<std::string> payloads;
  auto take = [&]() -> ::testing::AssertionResult {
    OwnedFrame frame;
    if (auto got = worker.expect(MsgType::kAssign, frame, 0u); !got) return got;
    auto msg = protocol::decode<protocol::AssignMsg>(frame.body);
    if (!msg) return ::testing::AssertionFailure() << msg.status().toString();
    payloads.emplace_back(msg->payload.data);
    assigned.push_back(*msg);
    return ::testing::AssertionSuccess();
  };
  ASSERT_TRUE(take());
  ASSERT_TRUE(take());
  EXPECT_TRUE(worker.expectNothing(std::chrono::milliseconds(300))) << "a third job while both slots are busy";
  // FIFO within a priority.
  EXPECT_EQ(payloads[0], "c1");
  EXPECT_EQ(payloads[1], "c2");
  EXPECT_EQ(assigned[0].attempt, 1u);

  // One COMPLETE frees one slot: exactly one more job comes.
  std::string result = "done";
  ASSERT_TRUE(worker.send(0, protocol::CompleteMsg{assigned[0].job_id, assigned[0].attempt, {result}}));
  ASSERT_TRUE(take());
  EXPECT_EQ(payloads[2], "c3");
  EXPECT_TRUE(worker.expectNothing(std::chrono::milliseconds(300)));
  // The submitter gets the RESULT push for the completed job.
  OwnedFrame pushed;
  ASSERT_TRUE(client.expect(MsgType::kResult, pushed, 0u));
  auto outcome = protocol::decode<protocol::ResultMsg>(pushed.body);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->job_id, assigned[0].job_id);
  EXPECT_EQ(outcome->result.data, "done");
}

// "A COMPLETE or FAIL whose attempt is not the job's current running attempt ... is refused with
// ERROR stale_attempt ...; the job's outcome is unchanged. A job therefore finishes exactly once."
TEST_F(BrokerWireTest, CompleteAfterRunTimeoutIsStaleAndTheOutcomeStands) {
  WireClient worker;
  ASSERT_TRUE(worker.connect(broker_.port()));
  ASSERT_TRUE(worker.hello(Role::kWorker, "slow-worker"));
  protocol::RegisterMsg reg;
  reg.slots = 1;
  reg.tasks = {"fenced"};
  ASSERT_TRUE(worker.send(1, reg));
  OwnedFrame ok;
  ASSERT_TRUE(worker.expect(MsgType::kOk, ok, 1u));

  WireClient client;
  ASSERT_TRUE(client.connect(broker_.port()));
  ASSERT_TRUE(client.hello(Role::kClient));
  protocol::SubmitMsg submit;
  submit.task = "fenced";
  submit.payload.data = "p";
  submit.run_timeout_ms = 200;
  ASSERT_TRUE(client.send(2, submit));
  OwnedFrame submitted;
  ASSERT_TRUE(client.expect(MsgType::kSubmitted, submitted, 2u));

  OwnedFrame frame;
  ASSERT_TRUE(worker.expect(MsgType::kAssign, frame, 0u));
  auto assign = protocol::decode<protocol::AssignMsg>(frame.body);
  ASSERT_TRUE(assign);
  EXPECT_EQ(assign->run_timeout_ms, 200u);
  // The run limit passes: the broker cancels the attempt and fails the job.
  ASSERT_TRUE(worker.expect(MsgType::kCancel, frame, 0u));
  auto cancel = protocol::decode<protocol::CancelMsg>(frame.body);
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->job_id, assign->job_id);
  EXPECT_EQ(cancel->attempt, assign->attempt);
  EXPECT_EQ(cancel->code, "run_timeout");
  ASSERT_TRUE(client.expect(MsgType::kResult, frame, 0u));
  auto result = protocol::decode<protocol::ResultMsg>(frame.body);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->state, static_cast<std::uint8_t>(JobState::kDead));
  EXPECT_EQ(result->error_code, "run_timeout");

  // "The worker MUST report the attempt with COMPLETE or FAIL once it has stopped running it
  // ...; the broker discards that report (no ERROR)": the first report is taken silently, later
  // ones are refused as stale; nothing changes for the client.
  std::string late = "too late";
  ASSERT_TRUE(worker.send(30, protocol::CompleteMsg{assign->job_id, assign->attempt, {late}}));
  EXPECT_TRUE(worker.expectNothing(std::chrono::milliseconds(200)));
  ASSERT_TRUE(worker.send(31, protocol::FailMsg{assign->job_id, assign->attempt, "handler_error", "late"}));
  EXPECT_TRUE(worker.expectError("stale_attempt", 31));
  // A made-up attempt number for a job that is not running is stale too.
  ASSERT_TRUE(worker.send(32, protocol::CompleteMsg{assign->job_id, assign->attempt + 5, {late}}));
  EXPECT_TRUE(worker.expectError("stale_attempt", 32));
  EXPECT_TRUE(client.expectNothing(std::chrono::milliseconds(200)));

  ASSERT_TRUE(client.send(3, protocol::StatusMsg{assign->job_id}));
  ASSERT_TRUE(client.expect(MsgType::kJobInfo, frame, 3u));
  auto info = protocol::decode<protocol::JobInfoMsg>(frame.body);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, static_cast<std::uint8_t>(JobState::kDead));
  EXPECT_EQ(info->error_code, "run_timeout");
  EXPECT_EQ(info->result.data, "");
  nlohmann::json stats = statsOf(broker_.endpoint());
  EXPECT_EQ(stats["jobs"]["stale_refused"], 2) << stats.dump();
  EXPECT_EQ(stats["jobs"]["dead"], 1) << stats.dump();
  EXPECT_EQ(stats["jobs"]["succeeded"], 0) << stats.dump();
}

// A worker's slot count is its own: a client may not REGISTER.
TEST_F(BrokerWireTest, RegisterFromAClientIsBadRequest) {
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.hello(Role::kClient));
  protocol::RegisterMsg reg;
  reg.slots = 4;
  reg.tasks = {"echo"};
  ASSERT_TRUE(wire.send(8, reg));
  EXPECT_TRUE(wire.expectError("bad_request", 8));
  EXPECT_TRUE(wire.pingPong(9));
}

// "Flow control is TCP's own: the broker stops reading from a peer whose replies it cannot write
// fast enough (more than 4 MiB waiting), and resumes when they drain. Nothing is ever dropped."
//
// The heartbeat is set long (30 s) so that nothing but the drain itself can resume reading: a
// broker that waits for some unrelated write (its next PING) is caught by the 10 s limits below.
class BrokerWireFlowControl : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.start({"--heartbeat-ms", "30000", "--peer-timeout-ms", "60000"}));
    ASSERT_TRUE(worker_.start(broker_.endpoint(), 1));
    ClientOptions options;
    options.endpoint = broker_.endpoint();
    auto client = Client::connect(options);
    ASSERT_TRUE(client) << client.status().toString();
    client_ = std::move(*client);
  }

  // A finished job whose result is `size` bytes: each STATUS of it is answered with that much.
  JobId bigJob(std::size_t size) {
    Result<JobOutcome> job = client_->submit("echo", std::string(size, 'r')).wait(std::chrono::seconds(10));
    EXPECT_TRUE(job && job->succeeded());
    return job ? job->id : 0;
  }

  BrokerProcess broker_;
  WorkerProcess worker_;
  std::unique_ptr<Client> client_;
};

TEST_F(BrokerWireFlowControl, ReadingResumesAfterALargeBacklogOfRepliesDrains) {
  JobId id = bigJob(100 * 1000);  // well below the high-water mark
  ASSERT_NE(id, 0u);
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.hello(Role::kClient));
  // 100 requests in one write: about 10 MB of replies, well past the 4 MiB high-water mark.
  constexpr std::uint32_t kRequests = 100;
  std::string batch;
  for (std::uint32_t i = 1; i <= kRequests; ++i) protocol::encode(batch, i, protocol::StatusMsg{id});
  ASSERT_TRUE(wire.sendRaw(batch));
  for (std::uint32_t i = 1; i <= kRequests; ++i) {
    OwnedFrame frame;
    ASSERT_TRUE(wire.expect(MsgType::kJobInfo, frame, i, std::chrono::seconds(10))) << "reply " << i;
    auto info = protocol::decode<protocol::JobInfoMsg>(frame.body);
    ASSERT_TRUE(info);
    ASSERT_EQ(info->result.data.size(), 100u * 1000);
  }
  // Every reply was read, nothing waits: the broker must read this connection again.
  EXPECT_TRUE(wire.pingPong(kRequests + 1)) << "the broker stopped reading after the backlog drained";
}

// The same rule seen from a worker: after the broker writes it a 5 MB ASSIGN, it must read the
// worker's 5 MB COMPLETE at once, not when its next heartbeat happens to be written.
TEST_F(BrokerWireFlowControl, JobWithAPayloadAboveTheHighWaterMarkCompletesPromptly) {
  const std::string big(5 * 1024 * 1024, 'b');
  Result<JobOutcome> job = client_->submit("echo", big).wait(std::chrono::seconds(10));
  ASSERT_TRUE(job) << "a 5 MB echo job did not finish within 10 s (heartbeat 30 s): " << job.status().toString();
  EXPECT_TRUE(job->succeeded()) << job->error_code << ": " << job->error_message;
  EXPECT_EQ(job->result.size(), big.size());
}

// "Each side sends PING when it has sent nothing else for one interval."
TEST(BrokerWireHeartbeat, BrokerPingsAQuietPeerAndDropsASilentOne) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start({"--heartbeat-ms", "100", "--peer-timeout-ms", "600"}));
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker.port()));
  ASSERT_TRUE(wire.hello(Role::kClient));
  OwnedFrame frame;
  ASSERT_EQ(wire.read(frame, std::chrono::seconds(10), /*keep_pings=*/true), WireClient::ReadStatus::kFrame);
  EXPECT_EQ(frame.msgType(), MsgType::kPing);
  EXPECT_EQ(frame.request_id, 0u);
  // Not answering anything: after peer_timeout_ms of silence the broker closes the connection.
  WireClient::ReadStatus status;
  do {
    status = wire.read(frame, std::chrono::seconds(10), /*keep_pings=*/true);
  } while (status == WireClient::ReadStatus::kFrame && frame.msgType() == MsgType::kPing);
  EXPECT_EQ(status, WireClient::ReadStatus::kClosed);
}

}  // namespace
}  // namespace corvee::testing
