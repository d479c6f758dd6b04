// Messages: every struct survives encode/decode, matches the layout in docs/protocol.md section 4,
// and malformed bodies are refused with bad_request.
#include "protocol/messages.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "corvee/job.h"
#include "protocol/constants.h"
#include "protocol/frame_decoder.h"

namespace corvee::protocol {
namespace {

std::string bytesOf(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

// ---- One sample of each message, with every field set to something other than its default, so
// a field the codec dropped would show. Strings are static: message fields are views.

template <typename Msg> Msg sample();
// The body size the doc's layout gives for sample<Msg>(), worked out by hand from section 4.
template <typename Msg> std::size_t documentedBodySize();

template <> HelloMsg sample() { return {kMagic, 1, 2, "host:123", "tok"}; }
// Version 6 adds the token (str).
template <> std::size_t documentedBodySize<HelloMsg>() { return 4 + 2 + 1 + (2 + 8) + (2 + 3); }

template <> WelcomeMsg sample() { return {1, 1000, 5000, 16 << 20, 0x0123456789abcdefULL, "corvee"}; }
template <> std::size_t documentedBodySize<WelcomeMsg>() { return 2 + 4 + 4 + 4 + 8 + (2 + 6); }

template <> PingMsg sample() { return {}; }
template <> std::size_t documentedBodySize<PingMsg>() { return 0; }

template <> PongMsg sample() { return {}; }
template <> std::size_t documentedBodySize<PongMsg>() { return 0; }

template <> ErrorMsg sample() { return {"queue_full", "try later"}; }
template <> std::size_t documentedBodySize<ErrorMsg>() { return (2 + 10) + (2 + 9); }

template <> OkMsg sample() { return {}; }
template <> std::size_t documentedBodySize<OkMsg>() { return 0; }

template <> SubmitMsg sample() {
  SubmitMsg m{"resize", {std::string_view("\0img\xff", 5)}, -7, 30000, 2000, 500, 3, 250, 60000, kSubmitRequireWorker,
              1500, 1796115600000ULL, "nightly", 600000};
  m.fair_key = "tenant-7";
  return m;
}
// Version 2 adds retries, backoff_ms, backoff_max_ms (u32 each) and flags (u8); version 3 delay_ms
// (u32) and run_at_ms (u64); version 4 unique_key (str), unique_for_ms (u32) and fair_key (str).
template <> std::size_t documentedBodySize<SubmitMsg>() {
  return (2 + 6) + (4 + 5) + 4 + 4 + 4 + 4 + 4 + 4 + 4 + 1 + 4 + 8 + (2 + 7) + 4 + (2 + 8);
}

template <> SubmittedMsg sample() { return {0x1122334455667788ULL, kSubmittedUnserved | kSubmittedDuplicate}; }
template <> std::size_t documentedBodySize<SubmittedMsg>() { return 8 + 1; }

template <> SubscribeMsg sample() { return {42}; }
template <> std::size_t documentedBodySize<SubscribeMsg>() { return 8; }

template <> ResultMsg sample() { return {42, 4, 3, {"partial"}, "handler_error", "boom"}; }
template <> std::size_t documentedBodySize<ResultMsg>() { return 8 + 1 + 4 + (4 + 7) + (2 + 13) + (2 + 4); }

template <> StatusMsg sample() { return {43, kStatusWithPayload}; }
template <> std::size_t documentedBodySize<StatusMsg>() { return 8 + 1; }

template <> JobInfoMsg sample() {
  JobInfoMsg m{44, "echo", 2, 9, 1, 1700000000000ULL, 1700000000100ULL, 0, "w1", {"res"}, "", "", 0, 0, 0, {}, {}};
  m.retries = 2;
  m.retried = 1;
  m.run_at_ms = 1700000000500ULL;
  m.payload.data = "pl";
  m.failures = {{1, "w0", 1700000000010ULL, 1700000000020ULL, "handler_error", "boom"}};
  m.unique_key = "k1";
  m.unique_for_ms = 60000;
  m.fair_key = "tenant-7";
  return m;
}
// The version 1 body (12 fields)...
std::size_t jobInfoV1Size() { return 8 + (2 + 4) + 1 + 4 + 4 + 8 + 8 + 8 + (2 + 2) + (4 + 3) + 2 + 2; }
// ... then retries u32, retried u32, run_at_ms u64, payload bytes, failures (u32 count, then each:
// attempt u32, worker str, started_ms u64, ended_ms u64, error_code str, error_message str).
std::size_t failureItemSize() { return 4 + (2 + 2) + 8 + 8 + (2 + 13) + (2 + 4); }
// ... and version 4 unique_key str, unique_for_ms u32, fair_key str.
std::size_t jobInfoV2Size() { return jobInfoV1Size() + 4 + 4 + 8 + (4 + 2) + 4 + failureItemSize(); }
template <> std::size_t documentedBodySize<JobInfoMsg>() { return jobInfoV2Size() + (2 + 2) + 4 + (2 + 8); }

template <> StatsMsg sample() { return {}; }
template <> std::size_t documentedBodySize<StatsMsg>() { return 0; }

template <> StatsReplyMsg sample() { return {{R"({"broker":"corvee"})"}}; }
template <> std::size_t documentedBodySize<StatsReplyMsg>() { return 4 + 19; }

template <> RegisterMsg sample() { return {8, {"echo", "add", ""}, 16, "1:3"}; }
// Version 3 adds priority_slots (str).
template <> std::size_t documentedBodySize<RegisterMsg>() { return 4 + 2 + (2 + 4) + (2 + 3) + (2 + 0) + 4 + (2 + 3); }

template <> AssignMsg sample() { return {45, 2, "echo", {"payload"}, 1500}; }
template <> std::size_t documentedBodySize<AssignMsg>() { return 8 + 4 + (2 + 4) + (4 + 7) + 4; }

template <> CompleteMsg sample() { return {46, 3, {"result bytes"}}; }
template <> std::size_t documentedBodySize<CompleteMsg>() { return 8 + 4 + (4 + 12); }

template <> FailMsg sample() { return {47, 4, "handler_error", "division by zero"}; }
template <> std::size_t documentedBodySize<FailMsg>() { return 8 + 4 + (2 + 13) + (2 + 16); }

template <> CancelMsg sample() { return {48, 5, "run_timeout"}; }
template <> std::size_t documentedBodySize<CancelMsg>() { return 8 + 4 + (2 + 11); }

template <> DrainMsg sample() { return {}; }
template <> std::size_t documentedBodySize<DrainMsg>() { return 0; }

template <> CancelJobMsg sample() { return {49}; }
template <> std::size_t documentedBodySize<CancelJobMsg>() { return 8; }

template <> PurgeMsg sample() { return {"resize"}; }
template <> std::size_t documentedBodySize<PurgeMsg>() { return 2 + 6; }

template <> PauseMsg sample() { return {"resize", 0}; }
template <> std::size_t documentedBodySize<PauseMsg>() { return (2 + 6) + 1; }

template <> ListJobsMsg sample() { return {"echo", static_cast<std::uint8_t>(JobState::kDead), 25, 900}; }
template <> std::size_t documentedBodySize<ListJobsMsg>() { return (2 + 4) + 1 + 4 + 8; }

// Two jobs: the first with two failures, the second with none (a list item is a whole JOB_INFO).
template <> JobListMsg sample() {
  JobInfoMsg first = sample<JobInfoMsg>();
  first.failures.push_back({2, "w1", 1700000000030ULL, 1700000000040ULL, "run_timeout", ""});
  JobInfoMsg second{43, "add", 4, 0, 3, 1600000000000ULL, 1600000000001ULL, 1600000000002ULL, "", {""},
                    "worker_lost", "gone", 0, 0, 0, {}, {}};
  return {{first, second}};
}
template <> std::size_t documentedBodySize<JobListMsg>() {
  std::size_t first = documentedBodySize<JobInfoMsg>() + 4 + 4 + 8 + 8 + (2 + 11) + 2;
  std::size_t second = 8 + (2 + 3) + 1 + 4 + 4 + 8 + 8 + 8 + 2 + 4 + (2 + 11) + (2 + 4) + 4 + 4 + 8 + 4 + 4 + 2 + 4 + 2;
  return 4 + first + second;
}

template <> DeadRetryMsg sample() { return {0, "resize"}; }
template <> std::size_t documentedBodySize<DeadRetryMsg>() { return 8 + (2 + 6); }

template <> DeadPurgeMsg sample() { return {"resize", 7ULL * 24 * 3600 * 1000}; }
template <> std::size_t documentedBodySize<DeadPurgeMsg>() { return (2 + 6) + 8; }

template <> CountMsg sample() { return {12345678901ULL}; }
template <> std::size_t documentedBodySize<CountMsg>() { return 8; }

template <> RateMsg sample() { return {"resize", "10/s:20"}; }
template <> std::size_t documentedBodySize<RateMsg>() { return (2 + 6) + (2 + 7); }

template <> CronAddMsg sample() { return {"nightly", "0 3 * * *", "Europe/Berlin", {"submit-body"}}; }
template <> std::size_t documentedBodySize<CronAddMsg>() { return (2 + 7) + (2 + 9) + (2 + 13) + (4 + 11); }

template <> CronRemoveMsg sample() { return {"nightly"}; }
template <> std::size_t documentedBodySize<CronRemoveMsg>() { return 2 + 7; }

template <> CronPauseMsg sample() { return {"nightly", 0}; }
template <> std::size_t documentedBodySize<CronPauseMsg>() { return (2 + 7) + 1; }

template <> CronListMsg sample() { return {}; }
template <> std::size_t documentedBodySize<CronListMsg>() { return 0; }

template <> CronEntriesMsg sample() {
  CronEntryItem item{"nightly", "0 3 * * *", "UTC", "report", 1, 0, 1700000000000ULL, 1600000000000ULL, {"body"}};
  return {kCronReplaced, {item}};
}
template <> std::size_t documentedBodySize<CronEntriesMsg>() {
  return 1 + 4 + (2 + 7) + (2 + 9) + (2 + 3) + (2 + 6) + 1 + 8 + 8 + 8 + (4 + 4);
}

template <> MetricsMsg sample() { return {}; }
template <> std::size_t documentedBodySize<MetricsMsg>() { return 0; }

template <> MetricsTextMsg sample() { return {{"corvee_workers 1\n"}}; }
template <> std::size_t documentedBodySize<MetricsTextMsg>() { return 4 + 17; }
template <> ExplainMsg sample() { return {4242}; }
template <> std::size_t documentedBodySize<ExplainMsg>() { return 8; }

// The job as JOB_INFO lays it out, reason code and reason, then two events: time_ms u64, kind str,
// attempt u32, worker str, detail str.
template <> ExplanationMsg sample() {
  ExplanationMsg m;
  m.job = sample<JobInfoMsg>();
  m.reason_code = "slots_busy";
  m.reason = "every slot is busy";
  m.events = {{1700000000000ULL, "submitted", 0, "", ""}, {1700000000100ULL, "running", 1, "w1", ""}};
  return m;
}
template <> std::size_t documentedBodySize<ExplanationMsg>() {
  return documentedBodySize<JobInfoMsg>() + (2 + 10) + (2 + 18) + 4 + (8 + (2 + 9) + 4 + 2 + 2) +
         (8 + (2 + 7) + 4 + (2 + 2) + 2);
}

// Encodes `msg` and splits the frame again with the real decoder, checking the header.
template <typename Msg>
std::string frameBody(const Msg& msg, std::uint32_t request_id) {
  std::string wire;
  encode(wire, request_id, msg);
  FrameDecoder decoder(UINT32_MAX);
  std::copy(wire.begin(), wire.end(), decoder.prepare(wire.size()));
  decoder.commit(wire.size());
  Frame frame;
  EXPECT_EQ(decoder.next(frame), DecodeEvent::kFrame);
  EXPECT_EQ(frame.type, static_cast<std::uint8_t>(Msg::kType));
  EXPECT_EQ(frame.request_id, request_id);
  EXPECT_EQ(decoder.buffered(), 0u);
  return std::string(frame.body);
}

template <typename T>
class MessageCodecTest : public ::testing::Test {};

using AllMessages =
    ::testing::Types<HelloMsg, WelcomeMsg, PingMsg, PongMsg, ErrorMsg, OkMsg, SubmitMsg, SubmittedMsg, SubscribeMsg,
                     ResultMsg, StatusMsg, JobInfoMsg, StatsMsg, StatsReplyMsg, RegisterMsg, AssignMsg, CompleteMsg,
                     FailMsg, CancelMsg, DrainMsg, CancelJobMsg, PurgeMsg, PauseMsg, ListJobsMsg, JobListMsg,
                     DeadRetryMsg, DeadPurgeMsg, CountMsg, RateMsg, CronAddMsg, CronRemoveMsg, CronPauseMsg,
                     CronListMsg, CronEntriesMsg, ExplainMsg, ExplanationMsg, MetricsMsg, MetricsTextMsg>;
TYPED_TEST_SUITE(MessageCodecTest, AllMessages);

TYPED_TEST(MessageCodecTest, BodyHasTheDocumentedLayoutSize) {
  EXPECT_EQ(frameBody(sample<TypeParam>(), 1).size(), documentedBodySize<TypeParam>());
}

TYPED_TEST(MessageCodecTest, RoundTripReencodesToTheSameBytes) {
  std::string body = frameBody(sample<TypeParam>(), 0xfeedbeef);
  auto decoded = decode<TypeParam>(body);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(hex(frameBody(*decoded, 0xfeedbeef)), hex(body));
}

TYPED_TEST(MessageCodecTest, TrailingBytesAreBadRequest) {
  std::string body = frameBody(sample<TypeParam>(), 1) + "x";
  auto decoded = decode<TypeParam>(body);
  ASSERT_FALSE(decoded.isOk());
  EXPECT_EQ(decoded.status().code(), "bad_request");
  EXPECT_NE(decoded.status().message().find(msgTypeName(static_cast<std::uint8_t>(TypeParam::kType))),
            std::string::npos)
      << decoded.status().message();
}

TYPED_TEST(MessageCodecTest, EveryTruncationIsBadRequest) {
  std::string body = frameBody(sample<TypeParam>(), 1);
  // Empty-bodied messages cannot be cut short; for them the empty body is the one valid input.
  EXPECT_TRUE(decode<TypeParam>(body.substr(0, body.size())).isOk());
  for (std::size_t n = 0; n < body.size(); ++n) {
    auto decoded = decode<TypeParam>(body.substr(0, n));
    ASSERT_FALSE(decoded.isOk()) << "a body cut to " << n << " of " << body.size() << " bytes was accepted";
    EXPECT_EQ(decoded.status().code(), "bad_request");
  }
}

// ---- Field by field: the typed tests prove symmetry; these prove the values come back.

template <typename Msg>
Msg roundTrip(const Msg& msg, std::string& storage) {
  storage = frameBody(msg, 7);
  auto decoded = decode<Msg>(storage);
  EXPECT_TRUE(decoded.isOk()) << decoded.status().toString();
  return decoded.isOk() ? *decoded : Msg{};
}

TEST(MessageFieldsTest, Hello) {
  std::string s;
  auto m = roundTrip(sample<HelloMsg>(), s);
  EXPECT_EQ(m.magic, kMagic);
  EXPECT_EQ(m.version, 1);
  EXPECT_EQ(m.role, 2);
  EXPECT_EQ(m.name, "host:123");
  EXPECT_EQ(m.token, "tok");
}

// HELLO comes before a version is agreed: decodeHello() reads both the layout with a token and the
// version-5 layout without one, and encodeHello() writes the older layout when there is no token,
// so a peer without a token still greets brokers older than version 6.
TEST(MessageFieldsTest, HelloWithAndWithoutAToken) {
  HelloMsg hello;
  hello.role = 1;
  hello.name = "n";
  std::string without;
  encodeHello(without, hello);
  EXPECT_EQ(without.size(), kHeaderSize + 4 + 2 + 1 + (2 + 1)) << "no token field";
  auto old_broker_reads = decode<HelloMsg>(std::string_view(without).substr(kHeaderSize), 5);
  ASSERT_TRUE(old_broker_reads.isOk());
  EXPECT_EQ(old_broker_reads->version, kVersion);
  auto plain = decodeHello(std::string_view(without).substr(kHeaderSize));
  ASSERT_TRUE(plain.isOk()) << plain.status().toString();
  EXPECT_EQ(plain->token, "");
  EXPECT_EQ(plain->name, "n");

  hello.token = "secret-token-0123";
  std::string with;
  encodeHello(with, hello);
  auto carried = decodeHello(std::string_view(with).substr(kHeaderSize));
  ASSERT_TRUE(carried.isOk()) << carried.status().toString();
  EXPECT_EQ(carried->token, "secret-token-0123");
  EXPECT_EQ(carried->name, "n");

  EXPECT_FALSE(decodeHello(std::string_view(with).substr(kHeaderSize, 8)).isOk());
  EXPECT_FALSE(decodeHello(std::string(with.substr(kHeaderSize)) + "x").isOk());
}

TEST(MessageFieldsTest, Welcome) {
  std::string s;
  auto m = roundTrip(sample<WelcomeMsg>(), s);
  EXPECT_EQ(m.version, 1);
  EXPECT_EQ(m.heartbeat_ms, 1000u);
  EXPECT_EQ(m.peer_timeout_ms, 5000u);
  EXPECT_EQ(m.max_payload, 16u << 20);
  EXPECT_EQ(m.store_id, 0x0123456789abcdefULL);
  EXPECT_EQ(m.broker, "corvee");
}

TEST(MessageFieldsTest, Error) {
  std::string s;
  auto m = roundTrip(sample<ErrorMsg>(), s);
  EXPECT_EQ(m.code, "queue_full");
  EXPECT_EQ(m.message, "try later");
}

TEST(MessageFieldsTest, Submit) {
  std::string s;
  auto m = roundTrip(sample<SubmitMsg>(), s);
  EXPECT_EQ(m.task, "resize");
  EXPECT_EQ(m.payload.data, std::string_view("\0img\xff", 5));
  EXPECT_EQ(m.priority, -7);
  EXPECT_EQ(m.timeout_ms, 30000u);
  EXPECT_EQ(m.run_timeout_ms, 2000u);
  EXPECT_EQ(m.assign_timeout_ms, 500u);
  EXPECT_EQ(m.retries, 3u);
  EXPECT_EQ(m.backoff_ms, 250u);
  EXPECT_EQ(m.backoff_max_ms, 60000u);
  EXPECT_EQ(m.flags, kSubmitRequireWorker);
  EXPECT_EQ(m.unique_key, "nightly");
  EXPECT_EQ(m.unique_for_ms, 600000u);
}

TEST(MessageFieldsTest, SubmitBeforeVersion4HasNoUniqueOrFairKey) {
  SubmitMsg msg = sample<SubmitMsg>();
  std::string v3;
  encode(v3, 1, msg, 3);
  std::string v4;
  encode(v4, 1, msg, 4);
  EXPECT_EQ(v4.size(), v3.size() + (2 + 7) + 4 + (2 + 8));
  auto decoded = decode<SubmitMsg>(std::string_view(v3).substr(kHeaderSize), 3);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->unique_key, "");
  EXPECT_EQ(decoded->unique_for_ms, 0u);
  EXPECT_EQ(decoded->fair_key, "");
}

TEST(MessageFieldsTest, SubmittedSubscribeStatus) {
  std::string s1, s2, s3;
  auto submitted = roundTrip(sample<SubmittedMsg>(), s1);
  EXPECT_EQ(submitted.job_id, 0x1122334455667788ULL);
  EXPECT_EQ(submitted.flags, kSubmittedUnserved | kSubmittedDuplicate);
  EXPECT_EQ(roundTrip(sample<SubscribeMsg>(), s2).job_id, 42u);
  auto status = roundTrip(sample<StatusMsg>(), s3);
  EXPECT_EQ(status.job_id, 43u);
  EXPECT_EQ(status.flags, kStatusWithPayload);
}

TEST(MessageFieldsTest, Result) {
  std::string s;
  auto m = roundTrip(sample<ResultMsg>(), s);
  EXPECT_EQ(m.job_id, 42u);
  EXPECT_EQ(m.state, static_cast<std::uint8_t>(JobState::kDead));
  EXPECT_EQ(m.attempt, 3u);
  EXPECT_EQ(m.result.data, "partial");
  EXPECT_EQ(m.error_code, "handler_error");
  EXPECT_EQ(m.error_message, "boom");
}

TEST(MessageFieldsTest, JobInfo) {
  std::string s;
  auto m = roundTrip(sample<JobInfoMsg>(), s);
  EXPECT_EQ(m.job_id, 44u);
  EXPECT_EQ(m.task, "echo");
  EXPECT_EQ(m.state, 2);
  EXPECT_EQ(m.priority, 9);
  EXPECT_EQ(m.attempt, 1u);
  EXPECT_EQ(m.submitted_ms, 1700000000000ULL);
  EXPECT_EQ(m.started_ms, 1700000000100ULL);
  EXPECT_EQ(m.finished_ms, 0u);
  EXPECT_EQ(m.worker, "w1");
  EXPECT_EQ(m.result.data, "res");
  EXPECT_EQ(m.error_code, "");
  EXPECT_EQ(m.error_message, "");
  EXPECT_EQ(m.retries, 2u);
  EXPECT_EQ(m.retried, 1u);
  EXPECT_EQ(m.run_at_ms, 1700000000500ULL);
  EXPECT_EQ(m.payload.data, "pl");
  ASSERT_EQ(m.failures.size(), 1u);
  EXPECT_EQ(m.failures[0].attempt, 1u);
  EXPECT_EQ(m.failures[0].worker, "w0");
  EXPECT_EQ(m.failures[0].started_ms, 1700000000010ULL);
  EXPECT_EQ(m.failures[0].ended_ms, 1700000000020ULL);
  EXPECT_EQ(m.failures[0].error_code, "handler_error");
  EXPECT_EQ(m.failures[0].error_message, "boom");
}

TEST(MessageFieldsTest, ControlRequests) {
  std::string s1, s2, s3, s4, s5, s6, s7;
  EXPECT_EQ(roundTrip(sample<CancelJobMsg>(), s1).job_id, 49u);
  EXPECT_EQ(roundTrip(sample<PurgeMsg>(), s2).task, "resize");
  auto pause = roundTrip(sample<PauseMsg>(), s3);
  EXPECT_EQ(pause.task, "resize");
  EXPECT_EQ(pause.paused, 0);
  auto list = roundTrip(sample<ListJobsMsg>(), s4);
  EXPECT_EQ(list.task, "echo");
  EXPECT_EQ(list.state, static_cast<std::uint8_t>(JobState::kDead));
  EXPECT_EQ(list.limit, 25u);
  EXPECT_EQ(list.before_id, 900u);
  auto retry = roundTrip(sample<DeadRetryMsg>(), s5);
  EXPECT_EQ(retry.job_id, 0u);
  EXPECT_EQ(retry.task, "resize");
  auto purge = roundTrip(sample<DeadPurgeMsg>(), s6);
  EXPECT_EQ(purge.task, "resize");
  EXPECT_EQ(purge.older_than_ms, 7ULL * 24 * 3600 * 1000);
  EXPECT_EQ(roundTrip(sample<CountMsg>(), s7).count, 12345678901ULL);
}

TEST(MessageFieldsTest, CronMessages) {
  std::string s1, s2, s3;
  auto add = roundTrip(sample<CronAddMsg>(), s1);
  EXPECT_EQ(add.name, "nightly");
  EXPECT_EQ(add.spec, "0 3 * * *");
  EXPECT_EQ(add.tz, "Europe/Berlin");
  EXPECT_EQ(add.submit.data, "submit-body");
  auto pause = roundTrip(sample<CronPauseMsg>(), s2);
  EXPECT_EQ(pause.name, "nightly");
  EXPECT_EQ(pause.paused, 0);
  auto entries = roundTrip(sample<CronEntriesMsg>(), s3);
  EXPECT_EQ(entries.flags, kCronReplaced);
  ASSERT_EQ(entries.entries.size(), 1u);
  EXPECT_EQ(entries.entries[0].task, "report");
  EXPECT_EQ(entries.entries[0].paused, 1);
  EXPECT_EQ(entries.entries[0].last_fire_ms, 1700000000000ULL);
  EXPECT_EQ(entries.entries[0].submit.data, "body");
}

TEST(MessageFieldsTest, ASubmitBodyAloneIsTheFramesBody) {
  SubmitMsg submit = sample<SubmitMsg>();
  EXPECT_EQ(hex(encodeBody(submit)), hex(frameBody(submit, 1)));
  std::string old = encodeBody(submit, 1);
  auto decoded = decode<SubmitMsg>(old, 1);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->task, submit.task);
}

TEST(ProtocolConstantsTest, MessagesAreIntroducedInTheirVersions) {
  EXPECT_EQ(introducedIn(static_cast<std::uint8_t>(MsgType::kSubmit)), 1);
  EXPECT_EQ(introducedIn(static_cast<std::uint8_t>(MsgType::kCancelJob)), 2);
  EXPECT_EQ(introducedIn(static_cast<std::uint8_t>(MsgType::kCount)), 2);
  EXPECT_EQ(introducedIn(static_cast<std::uint8_t>(MsgType::kCronAdd)), 4);
  EXPECT_EQ(introducedIn(static_cast<std::uint8_t>(MsgType::kCronEntries)), 4);
  EXPECT_EQ(introducedIn(static_cast<std::uint8_t>(MsgType::kMetrics)), 5);
  EXPECT_EQ(introducedIn(static_cast<std::uint8_t>(MsgType::kMetricsText)), 5);
  EXPECT_EQ(introducedIn(static_cast<std::uint8_t>(MsgType::kExplain)), 5);
  EXPECT_EQ(introducedIn(static_cast<std::uint8_t>(MsgType::kExplanation)), 5);
}

TEST(MessageFieldsTest, Explanation) {
  std::string s;
  auto m = roundTrip(sample<ExplanationMsg>(), s);
  EXPECT_EQ(m.job.job_id, 44u);
  EXPECT_EQ(m.job.task, "echo");
  EXPECT_EQ(m.job.fair_key, "tenant-7");
  ASSERT_EQ(m.job.failures.size(), 1u);
  EXPECT_EQ(m.reason_code, "slots_busy");
  EXPECT_EQ(m.reason, "every slot is busy");
  ASSERT_EQ(m.events.size(), 2u);
  EXPECT_EQ(m.events[0].kind, "submitted");
  EXPECT_EQ(m.events[1].time_ms, 1700000000100ULL);
  EXPECT_EQ(m.events[1].kind, "running");
  EXPECT_EQ(m.events[1].attempt, 1u);
  EXPECT_EQ(m.events[1].worker, "w1");
  EXPECT_EQ(m.events[1].detail, "");
  EXPECT_EQ(roundTrip(ExplainMsg{77}, s).job_id, 77u);
}

TEST(MessageFieldsTest, AnExplanationsJobIsLaidOutAsJobInfosBody) {
  ExplanationMsg m = sample<ExplanationMsg>();
  std::string job = encodeBody(m.job);
  std::string whole = encodeBody(m);
  EXPECT_EQ(hex(whole.substr(0, job.size())), hex(job));
}

TEST(MessageFieldsTest, JobListWithSeveralJobsAndFailures) {
  std::string s;
  auto m = roundTrip(sample<JobListMsg>(), s);
  ASSERT_EQ(m.jobs.size(), 2u);
  const JobInfoMsg& first = m.jobs[0];
  EXPECT_EQ(first.job_id, 44u);
  EXPECT_EQ(first.task, "echo");
  EXPECT_EQ(first.retries, 2u);
  EXPECT_EQ(first.run_at_ms, 1700000000500ULL);
  ASSERT_EQ(first.failures.size(), 2u);
  EXPECT_EQ(first.failures[0].error_code, "handler_error");
  EXPECT_EQ(first.failures[1].attempt, 2u);
  EXPECT_EQ(first.failures[1].error_code, "run_timeout");
  EXPECT_EQ(first.failures[1].error_message, "");
  const JobInfoMsg& second = m.jobs[1];
  EXPECT_EQ(second.job_id, 43u);
  EXPECT_EQ(second.task, "add");
  EXPECT_EQ(second.state, static_cast<std::uint8_t>(JobState::kDead));
  EXPECT_EQ(second.error_code, "worker_lost");
  EXPECT_EQ(second.error_message, "gone");
  EXPECT_TRUE(second.failures.empty());
}

TEST(MessageFieldsTest, EmptyJobListIsJustItsCount) {
  std::string s;
  EXPECT_EQ(hex(frameBody(JobListMsg{}, 1)), "00 00 00 00");
  EXPECT_TRUE(roundTrip(JobListMsg{}, s).jobs.empty());
}

TEST(MessageFieldsTest, StatsReply) {
  std::string s;
  EXPECT_EQ(roundTrip(sample<StatsReplyMsg>(), s).json.data, R"({"broker":"corvee"})");
}

TEST(MessageFieldsTest, Register) {
  std::string s;
  auto m = roundTrip(sample<RegisterMsg>(), s);
  EXPECT_EQ(m.slots, 8u);
  EXPECT_EQ(m.tasks, (std::vector<std::string>{"echo", "add", ""}));
  EXPECT_EQ(m.prefetch, 16u);
}

TEST(MessageFieldsTest, Assign) {
  std::string s;
  auto m = roundTrip(sample<AssignMsg>(), s);
  EXPECT_EQ(m.job_id, 45u);
  EXPECT_EQ(m.attempt, 2u);
  EXPECT_EQ(m.task, "echo");
  EXPECT_EQ(m.payload.data, "payload");
  EXPECT_EQ(m.run_timeout_ms, 1500u);
}

TEST(MessageFieldsTest, CompleteFailCancel) {
  std::string s1, s2, s3;
  auto c = roundTrip(sample<CompleteMsg>(), s1);
  EXPECT_EQ(c.job_id, 46u);
  EXPECT_EQ(c.attempt, 3u);
  EXPECT_EQ(c.result.data, "result bytes");
  auto f = roundTrip(sample<FailMsg>(), s2);
  EXPECT_EQ(f.job_id, 47u);
  EXPECT_EQ(f.attempt, 4u);
  EXPECT_EQ(f.code, "handler_error");
  EXPECT_EQ(f.message, "division by zero");
  auto k = roundTrip(sample<CancelMsg>(), s3);
  EXPECT_EQ(k.job_id, 48u);
  EXPECT_EQ(k.attempt, 5u);
  EXPECT_EQ(k.code, "run_timeout");
}

TEST(MessageFieldsTest, LargeBytesFieldRoundTrips) {
  // A bytes field longer than any str (u32 count) must keep its full length.
  std::string big(70000, 'q');
  CompleteMsg msg{1, 1, {big}};
  std::string s;
  EXPECT_EQ(roundTrip(msg, s).result.data.size(), 70000u);
}

// ---- Malformed bodies beyond plain truncation.

TEST(MessageDecodeTest, StrListCountPastTheEndIsBadRequest) {
  // REGISTER claiming three task names but carrying one.
  std::string body = bytesOf({0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 'a'});
  auto decoded = decode<RegisterMsg>(body);
  ASSERT_FALSE(decoded.isOk());
  EXPECT_EQ(decoded.status().code(), "bad_request");
}

TEST(MessageDecodeTest, BytesCountPastTheEndIsBadRequest) {
  // COMPLETE whose result claims 4 GiB.
  std::string body = bytesOf({1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 'r'});
  auto decoded = decode<CompleteMsg>(body);
  ASSERT_FALSE(decoded.isOk());
  EXPECT_EQ(decoded.status().code(), "bad_request");
}

TEST(MessageDecodeTest, JobListCountPastTheEndIsBadRequest) {
  // A JOB_LIST claiming three jobs but carrying one.
  std::string body = frameBody(JobListMsg{{sample<JobInfoMsg>()}}, 1);
  body[0] = 3;
  auto decoded = decode<JobListMsg>(body);
  ASSERT_FALSE(decoded.isOk());
  EXPECT_EQ(decoded.status().code(), "bad_request");
}

TEST(MessageDecodeTest, HugeListCountIsRefusedBeforeAllocating) {
  // 4 billion jobs (or failures) in a few bytes: refused because the bytes left cannot hold them,
  // not after trying to reserve room for them.
  std::string list = bytesOf({0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0});
  auto decoded = decode<JobListMsg>(list);
  ASSERT_FALSE(decoded.isOk());
  EXPECT_EQ(decoded.status().code(), "bad_request");
  JobInfoMsg info = sample<JobInfoMsg>();
  info.failures.clear();
  std::string frame;
  encode(frame, 1, info, 3);
  std::string body = frame.substr(kHeaderSize);
  // At version 3, the failures count is the body's last four bytes.
  for (std::size_t i = body.size() - 4; i < body.size(); ++i) body[i] = static_cast<char>(0xff);
  auto job = decode<JobInfoMsg>(body, 3);
  ASSERT_FALSE(job.isOk());
  EXPECT_EQ(job.status().code(), "bad_request");
}

TEST(MessageDecodeTest, EmptyBodyForAMessageWithFieldsIsBadRequest) {
  auto decoded = decode<SubmitMsg>("");
  ASSERT_FALSE(decoded.isOk());
  EXPECT_EQ(decoded.status().code(), "bad_request");
}

TEST(MessageEncodeTest, AppendsFramesToTheSameBuffer) {
  // The broker batches many frames in one output buffer; encode must append, not overwrite.
  std::string out;
  encode(out, 1, PingMsg{});
  encode(out, 2, SubscribeMsg{9});
  EXPECT_EQ(hex(out), hex(bytesOf({5, 0, 0, 0, 0x03, 1, 0, 0, 0,  //
                                   13, 0, 0, 0, 0x12, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0})));
}

// ---- Versions: fields added with since(2, ...) exist only in sessions of version 2 or later.

template <typename Msg>
std::string encodeAt(const Msg& msg, std::uint16_t version) {
  std::string wire;
  encode(wire, 1, msg, version);
  return wire.substr(kHeaderSize);
}

TEST(MessageVersionTest, SubmitAtVersion1HasTheVersion1Layout) {
  SubmitMsg msg = sample<SubmitMsg>();
  std::string v1 = encodeAt(msg, 1);
  std::string v2 = encodeAt(msg, 2);
  EXPECT_EQ(v1.size(), (2u + 6) + (4 + 5) + 4 + 4 + 4 + 4);
  EXPECT_EQ(v2.size(), v1.size() + 4 + 4 + 4 + 1);
  // Version 2 appends: the common part is byte for byte the same.
  EXPECT_EQ(hex(v2.substr(0, v1.size())), hex(v1));
  auto decoded = decode<SubmitMsg>(v1, 1);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->task, "resize");
  EXPECT_EQ(decoded->assign_timeout_ms, 500u);
  // The fields version 1 lacks keep their defaults.
  EXPECT_EQ(decoded->retries, 0u);
  EXPECT_EQ(decoded->backoff_ms, 1000u);
  EXPECT_EQ(decoded->backoff_max_ms, 3600000u);
  EXPECT_EQ(decoded->flags, 0);
}

TEST(MessageVersionTest, ABodyOfTheOtherVersionIsBadRequest) {
  SubmitMsg msg = sample<SubmitMsg>();
  // A version 2 body in a version 1 session has bytes left over; a version 1 body in a version 2
  // session is cut short. Neither is silently misread.
  auto long_body = decode<SubmitMsg>(encodeAt(msg, 2), 1);
  ASSERT_FALSE(long_body.isOk());
  EXPECT_EQ(long_body.status().code(), "bad_request");
  auto short_body = decode<SubmitMsg>(encodeAt(msg, 1), 2);
  ASSERT_FALSE(short_body.isOk());
  EXPECT_EQ(short_body.status().code(), "bad_request");
}

TEST(MessageVersionTest, JobInfoAtVersion1HasNoRetriesPayloadOrFailures) {
  JobInfoMsg msg = sample<JobInfoMsg>();
  std::string v1 = encodeAt(msg, 1);
  EXPECT_EQ(v1.size(), jobInfoV1Size());
  std::string v2 = encodeAt(msg, 2);
  EXPECT_EQ(v2.size(), jobInfoV2Size());
  EXPECT_EQ(hex(v2.substr(0, v1.size())), hex(v1));
  auto decoded = decode<JobInfoMsg>(v1, 1);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->job_id, 44u);
  EXPECT_EQ(decoded->result.data, "res");
  EXPECT_EQ(decoded->retries, 0u);
  EXPECT_EQ(decoded->run_at_ms, 0u);
  EXPECT_EQ(decoded->payload.data, "");
  EXPECT_TRUE(decoded->failures.empty());
  EXPECT_FALSE(decode<JobInfoMsg>(v1, 2).isOk());
  EXPECT_FALSE(decode<JobInfoMsg>(v2, 1).isOk());
}

TEST(MessageVersionTest, SubmittedAndStatusFlagsExistFromVersion2) {
  EXPECT_EQ(encodeAt(sample<SubmittedMsg>(), 1).size(), 8u);
  EXPECT_EQ(encodeAt(sample<SubmittedMsg>(), 2).size(), 9u);
  EXPECT_EQ(encodeAt(sample<StatusMsg>(), 1).size(), 8u);
  auto submitted = decode<SubmittedMsg>(encodeAt(sample<SubmittedMsg>(), 1), 1);
  ASSERT_TRUE(submitted.isOk());
  EXPECT_EQ(submitted->flags, 0);
}

TEST(MessageVersionTest, JobListItemsFollowTheSessionVersion) {
  JobListMsg msg = sample<JobListMsg>();
  std::string v1 = encodeAt(msg, 1);
  // Each item is a version 1 JOB_INFO: no failures however many the job had.
  auto decoded = decode<JobListMsg>(v1, 1);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  ASSERT_EQ(decoded->jobs.size(), 2u);
  EXPECT_TRUE(decoded->jobs[0].failures.empty());
  EXPECT_EQ(decoded->jobs[1].error_code, "worker_lost");
}

// ---- The numbers fixed by docs/protocol.md.

TEST(ProtocolConstantsTest, MagicSpellsCRVEOnTheWire) {
  std::string out;
  WireWriter(out).u32(kMagic);
  EXPECT_EQ(out, "CRVE");
}

TEST(ProtocolConstantsTest, MessageTypesMatchTheDoc) {
  EXPECT_EQ(static_cast<int>(MsgType::kHello), 0x01);
  EXPECT_EQ(static_cast<int>(MsgType::kWelcome), 0x02);
  EXPECT_EQ(static_cast<int>(MsgType::kPing), 0x03);
  EXPECT_EQ(static_cast<int>(MsgType::kPong), 0x04);
  EXPECT_EQ(static_cast<int>(MsgType::kError), 0x05);
  EXPECT_EQ(static_cast<int>(MsgType::kOk), 0x06);
  EXPECT_EQ(static_cast<int>(MsgType::kSubmit), 0x10);
  EXPECT_EQ(static_cast<int>(MsgType::kSubmitted), 0x11);
  EXPECT_EQ(static_cast<int>(MsgType::kSubscribe), 0x12);
  EXPECT_EQ(static_cast<int>(MsgType::kResult), 0x13);
  EXPECT_EQ(static_cast<int>(MsgType::kStatus), 0x14);
  EXPECT_EQ(static_cast<int>(MsgType::kJobInfo), 0x15);
  EXPECT_EQ(static_cast<int>(MsgType::kStats), 0x16);
  EXPECT_EQ(static_cast<int>(MsgType::kStatsReply), 0x17);
  EXPECT_EQ(static_cast<int>(MsgType::kRegister), 0x20);
  EXPECT_EQ(static_cast<int>(MsgType::kAssign), 0x21);
  EXPECT_EQ(static_cast<int>(MsgType::kComplete), 0x22);
  EXPECT_EQ(static_cast<int>(MsgType::kFail), 0x23);
  EXPECT_EQ(static_cast<int>(MsgType::kCancel), 0x24);
  EXPECT_EQ(static_cast<int>(MsgType::kDrain), 0x25);
  EXPECT_EQ(static_cast<int>(MsgType::kCancelJob), 0x30);
  EXPECT_EQ(static_cast<int>(MsgType::kPurge), 0x31);
  EXPECT_EQ(static_cast<int>(MsgType::kPause), 0x32);
  EXPECT_EQ(static_cast<int>(MsgType::kListJobs), 0x33);
  EXPECT_EQ(static_cast<int>(MsgType::kJobList), 0x34);
  EXPECT_EQ(static_cast<int>(MsgType::kDeadRetry), 0x35);
  EXPECT_EQ(static_cast<int>(MsgType::kDeadPurge), 0x36);
  EXPECT_EQ(static_cast<int>(MsgType::kCount), 0x37);
  EXPECT_EQ(static_cast<int>(MsgType::kRate), 0x38);
  EXPECT_EQ(static_cast<int>(MsgType::kCronAdd), 0x40);
  EXPECT_EQ(static_cast<int>(MsgType::kCronRemove), 0x41);
  EXPECT_EQ(static_cast<int>(MsgType::kCronPause), 0x42);
  EXPECT_EQ(static_cast<int>(MsgType::kCronList), 0x43);
  EXPECT_EQ(static_cast<int>(MsgType::kCronEntries), 0x44);
  EXPECT_EQ(static_cast<int>(MsgType::kMetrics), 0x52);
  EXPECT_EQ(static_cast<int>(MsgType::kMetricsText), 0x53);
  EXPECT_EQ(static_cast<int>(MsgType::kExplain), 0x50);
  EXPECT_EQ(static_cast<int>(MsgType::kExplanation), 0x51);
  EXPECT_EQ(static_cast<int>(Role::kClient), 1);
  EXPECT_EQ(static_cast<int>(Role::kWorker), 2);
  EXPECT_EQ(static_cast<int>(JobState::kQueued), 1);
  EXPECT_EQ(static_cast<int>(JobState::kRunning), 2);
  EXPECT_EQ(static_cast<int>(JobState::kSucceeded), 3);
  EXPECT_EQ(static_cast<int>(JobState::kDead), 4);
  EXPECT_EQ(static_cast<int>(JobState::kCancelled), 5);
  EXPECT_EQ(static_cast<int>(JobState::kRetrying), 6);
  EXPECT_EQ(static_cast<int>(JobState::kScheduled), 7);
  EXPECT_EQ(kVersion, 6);
  EXPECT_EQ(kMinVersion, 1);
}

TEST(ProtocolConstantsTest, MsgTypeNames) {
  EXPECT_STREQ(msgTypeName(0x10), "SUBMIT");
  EXPECT_STREQ(msgTypeName(0x15), "JOB_INFO");
  EXPECT_STREQ(msgTypeName(0x17), "STATS_REPLY");
  EXPECT_STREQ(msgTypeName(0x30), "CANCEL_JOB");
  EXPECT_STREQ(msgTypeName(0x34), "JOB_LIST");
  EXPECT_STREQ(msgTypeName(0x37), "COUNT");
  EXPECT_STREQ(msgTypeName(0x38), "RATE");
  EXPECT_STREQ(msgTypeName(0x52), "METRICS");
  EXPECT_STREQ(msgTypeName(0x53), "METRICS_TEXT");
  EXPECT_STREQ(msgTypeName(0x50), "EXPLAIN");
  EXPECT_STREQ(msgTypeName(0x51), "EXPLANATION");
  EXPECT_STREQ(msgTypeName(0x7f), "unknown");
}

// ---- docs/protocol.md, section 7: the session byte by byte.

// The SUBMIT example, exactly as the doc prints it.
const std::string kDocSubmit = bytesOf({0x42, 0x00, 0x00, 0x00,                          // length 66
                                        0x10,                                            // SUBMIT
                                        0x01, 0x00, 0x00, 0x00,                          // request_id 1
                                        0x04, 0x00, 0x65, 0x63, 0x68, 0x6f,              // task "echo"
                                        0x02, 0x00, 0x00, 0x00, 0x68, 0x69,              // payload "hi"
                                        0x00, 0x00, 0x00, 0x00,                          // priority 0
                                        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // three limits
                                        0x00, 0x00, 0x00, 0x00,
                                        0x00, 0x00, 0x00, 0x00,                          // retries 0
                                        0xe8, 0x03, 0x00, 0x00,                          // backoff_ms 1000
                                        0x80, 0xee, 0x36, 0x00,                          // backoff_max_ms
                                        0x00,                                            // flags
                                        0x00, 0x00, 0x00, 0x00,                          // delay_ms 0
                                        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // run_at_ms 0
                                        0x00, 0x00,                                      // unique_key ""
                                        0x00, 0x00, 0x00, 0x00,                          // unique_for_ms 0
                                        0x00, 0x00});                                    // fair_key ""

TEST(DocExampleTest, SubmitEncodesToTheDocumentedBytes) {
  SubmitMsg submit;
  submit.task = "echo";
  submit.payload.data = "hi";
  std::string out;
  encode(out, 1, submit);
  EXPECT_EQ(hex(out), hex(kDocSubmit));
  // The length field counts everything after itself.
  EXPECT_EQ(out.size(), 4u + 66u);
  // Version 3 stops after run_at_ms.
  std::string v3;
  encode(v3, 1, submit, 3);
  EXPECT_EQ(v3.size(), 4u + 58u);
  EXPECT_EQ(hex(v3.substr(4)), hex(kDocSubmit.substr(4, 58)));
  // Version 2 stops after the flags.
  std::string v2;
  encode(v2, 1, submit, 2);
  EXPECT_EQ(v2.size(), 4u + 46u);
  EXPECT_EQ(hex(v2.substr(4)), hex(kDocSubmit.substr(4, 46)));
  // Version 1 stops after the three limits.
  std::string v1;
  encode(v1, 1, submit, 1);
  EXPECT_EQ(v1.size(), 4u + 33u);
  EXPECT_EQ(hex(v1.substr(4)), hex(kDocSubmit.substr(4, 33)));
}

TEST(DocExampleTest, DocumentedSubmitBytesDecode) {
  FrameDecoder decoder(UINT32_MAX);
  std::copy(kDocSubmit.begin(), kDocSubmit.end(), decoder.prepare(kDocSubmit.size()));
  decoder.commit(kDocSubmit.size());
  Frame frame;
  ASSERT_EQ(decoder.next(frame), DecodeEvent::kFrame);
  EXPECT_EQ(frame.type, 0x10);
  EXPECT_EQ(frame.request_id, 1u);
  auto submit = decode<SubmitMsg>(frame.body);
  ASSERT_TRUE(submit.isOk()) << submit.status().toString();
  EXPECT_EQ(submit->task, "echo");
  EXPECT_EQ(submit->payload.data, "hi");
  EXPECT_EQ(submit->priority, 0);
  EXPECT_EQ(submit->timeout_ms, 0u);
}

TEST(DocExampleTest, SubmittedAndResultRepliesMatchTheDocumentedBytes) {
  // "11 | 01 00 00 00 | <job_id u64> 00"
  std::string submitted;
  encode(submitted, 1, SubmittedMsg{5});
  EXPECT_EQ(hex(submitted), hex(bytesOf({14, 0, 0, 0, 0x11, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0})));
  // "13 | 00 00 00 00 | <job_id> 03 <attempt> 02 00 00 00 68 69 00 00 00 00"
  ResultMsg result;
  result.job_id = 5;
  result.state = static_cast<std::uint8_t>(JobState::kSucceeded);
  result.attempt = 1;
  result.result.data = "hi";
  std::string out;
  encode(out, 0, result);
  EXPECT_EQ(hex(out.substr(4)), hex(bytesOf({0x13, 0, 0, 0, 0,              // RESULT, request_id 0
                                             5, 0, 0, 0, 0, 0, 0, 0, 0x03,  // job_id, succeeded
                                             1, 0, 0, 0,                    // attempt
                                             0x02, 0x00, 0x00, 0x00, 0x68, 0x69, 0x00, 0x00, 0x00, 0x00})));
}

// Reads the hex dump in section 7 of the doc itself, so the doc cannot drift from the code.
TEST(DocExampleTest, TheDocsHexDumpIsWhatTheEncoderProduces) {
  std::ifstream in(CORVEE_DOCS_DIR "/protocol.md");
  ASSERT_TRUE(in) << "cannot open " << CORVEE_DOCS_DIR "/protocol.md";
  std::string line;
  bool in_section = false, in_block = false;
  std::string dumped;
  while (std::getline(in, line)) {
    if (line.rfind("## 7.", 0) == 0) in_section = true;
    if (!in_section) continue;
    if (line.rfind("```", 0) == 0) {
      if (in_block) break;
      in_block = true;
      continue;
    }
    if (!in_block) continue;
    // Each line is hex byte pairs, then a description after the bytes.
    std::istringstream words(line);
    std::string word;
    while (words >> word && word.size() == 2 && std::isxdigit(static_cast<unsigned char>(word[0])) &&
           std::isxdigit(static_cast<unsigned char>(word[1]))) {
      dumped.push_back(static_cast<char>(std::stoi(word, nullptr, 16)));
    }
  }
  ASSERT_FALSE(dumped.empty()) << "no hex dump found in section 7";
  EXPECT_EQ(hex(dumped), hex(kDocSubmit));
}

}  // namespace
}  // namespace corvee::protocol
