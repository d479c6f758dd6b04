// The client against a scripted broker: the requests it lays out for the version WELCOME chose,
// and how it reads the version 2 replies (SUBMITTED's unserved flag, JOB_INFO's failures,
// JOB_LIST, COUNT, ERROR). The real broker always chooses version 2 for this client, so a version 1
// broker exists only here.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "corvee/client.h"
#include "corvee/errors.h"
#include "protocol/frame_decoder.h"
#include "protocol/messages.h"

namespace corvee {
namespace {

using namespace std::chrono_literals;
using protocol::Frame;
using protocol::MsgType;

// A broker that completes the handshake with `version` and answers every other frame with what
// `reply` returns (encoded frames; empty: no answer). Serves one connection at a time on its own
// thread; records the type of every request.
class ScriptedBroker {
 public:
  using Reply = std::function<std::string(const Frame&, std::uint16_t version)>;

  ScriptedBroker(std::uint16_t version, Reply reply) : version_(version), reply_(std::move(reply)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedBroker() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::uint8_t> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  // True when `fd` is readable within a short slice; false on timeout (so stop_ is looked at).
  static bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 20) > 0;
  }

  void run() {
    while (!stop_) {
      if (!readable(listener_)) continue;
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      serve(fd);
      ::close(fd);
    }
  }

  void serve(int fd) {
    protocol::FrameDecoder decoder(64u << 20);
    while (!stop_) {
      if (!readable(fd)) continue;
      char* area = decoder.prepare(4096);
      ssize_t n = ::recv(fd, area, decoder.writable(), 0);
      if (n <= 0) return;
      decoder.commit(static_cast<std::size_t>(n));
      Frame frame;
      while (decoder.next(frame) == protocol::DecodeEvent::kFrame) {
        std::string out;
        auto type = static_cast<MsgType>(frame.type);
        if (type == MsgType::kHello) {
          protocol::WelcomeMsg welcome{version_, 1000, 5000, 1u << 20, 7, "scripted"};
          protocol::encode(out, frame.request_id, welcome, version_);
        } else if (type == MsgType::kPing) {
          protocol::encode(out, frame.request_id, protocol::PongMsg{}, version_);
        } else if (type != MsgType::kPong) {
          {
            std::lock_guard lock(mutex_);
            requests_.push_back(frame.type);
          }
          out = reply_(frame, version_);
        }
        if (!out.empty() && ::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
          return;
        }
      }
    }
  }

  std::uint16_t version_;
  Reply reply_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::uint8_t> requests_;
};

template <typename Msg>
std::string frameOf(std::uint32_t request_id, Msg msg, std::uint16_t version) {
  std::string out;
  protocol::encode(out, request_id, msg, version);
  return out;
}

std::string errorFrame(std::uint32_t request_id, const char* code, const char* message) {
  return frameOf(request_id, protocol::ErrorMsg{code, message}, 1);
}

std::unique_ptr<Client> connectTo(const ScriptedBroker& broker, std::chrono::milliseconds timeout = 5s) {
  ClientOptions options;
  options.endpoint = broker.endpoint();
  options.connect_timeout = timeout;
  auto client = Client::connect(options);
  EXPECT_TRUE(client) << client.status().toString();
  return client ? std::move(*client) : nullptr;
}

// A version 2 broker: every request is checked against its version 2 layout (decode fails on any
// other) and answered with fixed data.
std::string answerV2(const Frame& frame, std::uint16_t version) {
  switch (static_cast<MsgType>(frame.type)) {
    case MsgType::kSubmit: {
      auto submit = protocol::decode<protocol::SubmitMsg>(frame.body, version);
      if (!submit) return errorFrame(frame.request_id, errc::kBadRequest, "malformed SUBMIT");
      // Echo the options back through the job id and flags, so the test can see they arrived.
      bool options_arrived = submit->retries == 3 && submit->backoff_ms == 250 && submit->backoff_max_ms == 9000 &&
                             submit->flags == protocol::kSubmitRequireWorker;
      std::uint8_t flags = submit->task == "nobody" ? protocol::kSubmittedUnserved : 0;
      return frameOf(frame.request_id, protocol::SubmittedMsg{options_arrived ? 77u : 1u, flags}, version);
    }
    case MsgType::kStatus: {
      auto status = protocol::decode<protocol::StatusMsg>(frame.body, version);
      if (!status) return errorFrame(frame.request_id, errc::kBadRequest, "malformed STATUS");
      if (status->job_id == 404) return errorFrame(frame.request_id, errc::kNotFound, "no job 404");
      protocol::JobInfoMsg info{status->job_id, "resize", static_cast<std::uint8_t>(JobState::kRetrying), 0, 2, 10, 20,
                                0, "w1", {""}, "handler_error", "second", 3, 2, 12345, {}, {}};
      if (status->flags & protocol::kStatusWithPayload) info.payload.data = std::string_view("\0pl", 3);
      info.failures = {{1, "w0", 11, 12, "handler_error", "first"}, {2, "w1", 20, 21, "handler_error", "second"}};
      return frameOf(frame.request_id, info, version);
    }
    case MsgType::kListJobs: {
      auto list = protocol::decode<protocol::ListJobsMsg>(frame.body, version);
      if (!list) return errorFrame(frame.request_id, errc::kBadRequest, "malformed LIST_JOBS");
      protocol::JobListMsg reply;
      // As many jobs as the limit asks, of the asked task and state, newest first.
      for (std::uint32_t i = 0; i < list->limit; ++i) {
        protocol::JobInfoMsg job{};
        job.job_id = 100 - i;
        job.task = list->task;
        job.state = list->state;
        reply.jobs.push_back(job);
      }
      return frameOf(frame.request_id, reply, version);
    }
    case MsgType::kCancelJob: {
      auto cancel = protocol::decode<protocol::CancelJobMsg>(frame.body, version);
      if (cancel && cancel->job_id == 5) return frameOf(frame.request_id, protocol::OkMsg{}, version);
      return errorFrame(frame.request_id, errc::kWrongState, "job 6 finished already");
    }
    case MsgType::kPurge: {
      auto purge = protocol::decode<protocol::PurgeMsg>(frame.body, version);
      return frameOf(frame.request_id, protocol::CountMsg{purge && purge->task == "echo" ? 4u : 0u}, version);
    }
    case MsgType::kPause: {
      auto pause = protocol::decode<protocol::PauseMsg>(frame.body, version);
      if (!pause || pause->paused != (pause->task == "stop" ? 1 : 0)) {
        return errorFrame(frame.request_id, errc::kBadRequest, "pause flag wrong");
      }
      return frameOf(frame.request_id, protocol::OkMsg{}, version);
    }
    case MsgType::kDeadRetry: {
      auto retry = protocol::decode<protocol::DeadRetryMsg>(frame.body, version);
      if (!retry) return errorFrame(frame.request_id, errc::kBadRequest, "malformed DEAD_RETRY");
      return frameOf(frame.request_id, protocol::CountMsg{retry->job_id != 0 ? 1u : retry->task.empty() ? 9u : 3u},
                     version);
    }
    case MsgType::kDeadPurge: {
      auto purge = protocol::decode<protocol::DeadPurgeMsg>(frame.body, version);
      if (!purge) return errorFrame(frame.request_id, errc::kBadRequest, "malformed DEAD_PURGE");
      return frameOf(frame.request_id, protocol::CountMsg{purge->older_than_ms / 1000}, version);
    }
    default:
      return errorFrame(frame.request_id, errc::kUnknownCommand, "not scripted");
  }
}

TEST(ClientProtocolTest, SubmitCarriesRetryOptionsAndReadsTheUnservedFlag) {
  ScriptedBroker broker(2, answerV2);
  auto client = connectTo(broker);
  ASSERT_TRUE(client);
  SubmitOptions options;
  options.retries = 3;
  options.backoff = 250ms;
  options.backoff_max = 9s;
  options.require_worker = true;
  JobHandle served = client->submit("echo", "x", options);
  ASSERT_TRUE(served.id());
  EXPECT_EQ(*served.id(), 77u) << "the broker did not get the retry options";
  EXPECT_FALSE(served.unserved());
  JobHandle unserved = client->submit("nobody", "x");
  ASSERT_TRUE(unserved.id());
  EXPECT_TRUE(unserved.unserved());
}

TEST(ClientProtocolTest, StatusReadsRetriesFailuresAndThePayloadWhenAsked) {
  ScriptedBroker broker(2, answerV2);
  auto client = connectTo(broker);
  ASSERT_TRUE(client);
  Result<JobInfo> info = client->status(8);
  ASSERT_TRUE(info) << info.status().toString();
  EXPECT_EQ(info->state, JobState::kRetrying);
  EXPECT_EQ(info->retries, 3u);
  EXPECT_EQ(info->retried, 2u);
  EXPECT_EQ(info->run_at_ms, 12345u);
  EXPECT_EQ(info->payload, "");
  ASSERT_EQ(info->failures.size(), 2u);
  EXPECT_EQ(info->failures[0].attempt, 1u);
  EXPECT_EQ(info->failures[0].worker, "w0");
  EXPECT_EQ(info->failures[0].started_ms, 11u);
  EXPECT_EQ(info->failures[0].ended_ms, 12u);
  EXPECT_EQ(info->failures[0].error_code, "handler_error");
  EXPECT_EQ(info->failures[1].error_message, "second");

  Result<JobInfo> with_payload = client->status(8, true);
  ASSERT_TRUE(with_payload);
  EXPECT_EQ(with_payload->payload, std::string("\0pl", 3));

  Result<JobInfo> missing = client->status(404);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), errc::kNotFound);
}

TEST(ClientProtocolTest, JobsSendsTheFilterAndReadsEveryJob) {
  ScriptedBroker broker(2, answerV2);
  auto client = connectTo(broker);
  ASSERT_TRUE(client);
  JobFilter filter;
  filter.task = "resize";
  filter.state = JobState::kDead;
  filter.limit = 3;
  auto jobs = client->jobs(filter);
  ASSERT_TRUE(jobs) << jobs.status().toString();
  ASSERT_EQ(jobs->size(), 3u);
  EXPECT_EQ((*jobs)[0].id, 100u);
  EXPECT_EQ((*jobs)[2].id, 98u);
  for (const JobInfo& job : *jobs) {
    EXPECT_EQ(job.task, "resize");
    EXPECT_EQ(job.state, JobState::kDead);
  }
  filter.limit = 0;
  auto none = client->jobs(filter);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  // A bad task name is refused before anything is sent.
  filter.task = std::string(256, 't');
  auto bad = client->jobs(filter);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), errc::kBadRequest);
}

TEST(ClientProtocolTest, ControlRequestsReturnOkCountsAndTheBrokersErrors) {
  ScriptedBroker broker(2, answerV2);
  auto client = connectTo(broker);
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->cancel(5).isOk());
  Status finished = client->cancel(6);
  EXPECT_EQ(finished.code(), errc::kWrongState);
  EXPECT_EQ(finished.message(), "job 6 finished already");
  auto purged = client->purge("echo");
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 4u);
  EXPECT_TRUE(client->pause("stop").isOk());
  EXPECT_TRUE(client->resume("go").isOk());
  EXPECT_EQ(*client->retryDead(12), 1u);
  EXPECT_EQ(*client->retryAllDead(), 9u);
  EXPECT_EQ(*client->retryAllDead("resize"), 3u);
  EXPECT_EQ(*client->purgeDead("", 7s), 7u);
}

// A version 1 broker: SUBMIT and STATUS in their version 1 layout (decoded as version 1 here, so
// a version 2 body would be refused), and the version 2 requests refused by the client itself.
TEST(ClientProtocolTest, AVersion1BrokerGetsVersion1LayoutsAndNoControlRequests) {
  ScriptedBroker broker(1, [](const Frame& frame, std::uint16_t version) -> std::string {
    EXPECT_EQ(version, 1);
    if (frame.type == static_cast<std::uint8_t>(MsgType::kSubmit)) {
      auto submit = protocol::decode<protocol::SubmitMsg>(frame.body, 1);
      if (!submit) return errorFrame(frame.request_id, errc::kBadRequest, "not a version 1 SUBMIT");
      return frameOf(frame.request_id, protocol::SubmittedMsg{9}, 1);
    }
    if (frame.type == static_cast<std::uint8_t>(MsgType::kStatus)) {
      auto status = protocol::decode<protocol::StatusMsg>(frame.body, 1);
      if (!status) return errorFrame(frame.request_id, errc::kBadRequest, "not a version 1 STATUS");
      protocol::JobInfoMsg info{status->job_id, "echo", 4, 0, 1, 1, 2, 3, "w", {""}, "handler_error", "boom",
                                0, 0, 0, {}, {}};
      return frameOf(frame.request_id, info, 1);
    }
    return errorFrame(frame.request_id, errc::kUnknownCommand, "unknown in version 1");
  });
  auto client = connectTo(broker);
  ASSERT_TRUE(client);
  JobHandle job = client->submit("echo", "x");
  auto id = job.id();
  ASSERT_TRUE(id) << id.status().toString();
  EXPECT_EQ(*id, 9u);
  EXPECT_FALSE(job.unserved());
  auto info = client->status(9);
  ASSERT_TRUE(info) << info.status().toString();
  EXPECT_EQ(info->state, JobState::kDead);
  EXPECT_EQ(info->error_message, "boom");
  EXPECT_TRUE(info->failures.empty());

  // Options version 1 cannot carry are refused, not dropped: the job would run once, unretried.
  SubmitOptions retried;
  retried.retries = 2;
  auto refused = client->submit("echo", "x", retried).id();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), errc::kUnsupportedVersion);
  SubmitOptions required;
  required.require_worker = true;
  EXPECT_EQ(client->submit("echo", "x", required).id().status().code(), errc::kUnsupportedVersion);

  Status cancel = client->cancel(9);
  EXPECT_EQ(cancel.code(), errc::kUnsupportedVersion);
  EXPECT_NE(cancel.message().find("CANCEL_JOB needs version 2"), std::string::npos) << cancel.message();
  EXPECT_EQ(client->jobs({}).status().code(), errc::kUnsupportedVersion);
  EXPECT_EQ(client->purgeDead().status().code(), errc::kUnsupportedVersion);
  for (std::uint8_t type : broker.requests()) {
    EXPECT_LT(type, static_cast<std::uint8_t>(MsgType::kCancelJob)) << "a version 2 request reached the broker";
  }
}

// A version 3 broker has no fairness keys: a job with one is refused, not queued without it
// (where it would wait behind any flood); one without a key goes through.
TEST(ClientProtocolTest, AVersion3BrokerIsNotSentAFairKey) {
  ScriptedBroker broker(3, [](const Frame& frame, std::uint16_t version) -> std::string {
    EXPECT_EQ(version, 3);
    if (frame.type == static_cast<std::uint8_t>(MsgType::kSubmit)) {
      auto submit = protocol::decode<protocol::SubmitMsg>(frame.body, 3);
      if (!submit) return errorFrame(frame.request_id, errc::kBadRequest, "not a version 3 SUBMIT");
      return frameOf(frame.request_id, protocol::SubmittedMsg{7}, 3);
    }
    return errorFrame(frame.request_id, errc::kUnknownCommand, "unexpected");
  });
  auto client = connectTo(broker);
  ASSERT_TRUE(client);
  SubmitOptions keyed;
  keyed.fair_key = "tenant-1";
  auto refused = client->submit("echo", "x", keyed).id();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), errc::kUnsupportedVersion);
  EXPECT_NE(refused.status().message().find("fairness keys"), std::string::npos) << refused.status().message();
  auto plain = client->submit("echo", "x").id();
  ASSERT_TRUE(plain) << plain.status().toString();
  EXPECT_EQ(*plain, 7u);
  // A key the broker would refuse is refused here already.
  SubmitOptions too_long;
  too_long.fair_key = std::string(256, 'k');
  EXPECT_EQ(client->submit("echo", "x", too_long).id().status().code(), errc::kBadRequest);
}

TEST(ClientProtocolTest, ExplainReadsTheJobTheReasonAndEveryEvent) {
  ScriptedBroker broker(5, [](const Frame& frame, std::uint16_t version) -> std::string {
    if (frame.type != static_cast<std::uint8_t>(MsgType::kExplain)) {
      return errorFrame(frame.request_id, errc::kUnknownCommand, "unexpected");
    }
    auto explain = protocol::decode<protocol::ExplainMsg>(frame.body, version);
    if (!explain) return errorFrame(frame.request_id, errc::kBadRequest, "malformed EXPLAIN");
    if (explain->job_id != 9) return errorFrame(frame.request_id, errc::kNotFound, "no job");
    protocol::ExplanationMsg m;
    m.job.job_id = 9;
    m.job.task = "nobody";
    m.job.state = static_cast<std::uint8_t>(JobState::kQueued);
    m.job.submitted_ms = 1000;
    m.reason_code = "no_worker";
    m.reason = "no connected worker serves task 'nobody'";
    m.events = {{1000, "submitted", 0, "", ""}, {2000, "requeued", 1, "w1", "worker_lost"}};
    return frameOf(frame.request_id, m, version);
  });
  auto client = connectTo(broker);
  ASSERT_TRUE(client);
  Result<JobExplanation> got = client->explain(9);
  ASSERT_TRUE(got) << got.status().toString();
  EXPECT_EQ(got->job.id, 9u);
  EXPECT_EQ(got->job.task, "nobody");
  EXPECT_EQ(got->job.state, JobState::kQueued);
  EXPECT_EQ(got->reason_code, "no_worker");
  EXPECT_EQ(got->reason, "no connected worker serves task 'nobody'");
  ASSERT_EQ(got->events.size(), 2u);
  EXPECT_EQ(got->events[0].kind, "submitted");
  EXPECT_EQ(got->events[1].time_ms, 2000u);
  EXPECT_EQ(got->events[1].kind, "requeued");
  EXPECT_EQ(got->events[1].attempt, 1u);
  EXPECT_EQ(got->events[1].worker, "w1");
  EXPECT_EQ(got->events[1].detail, "worker_lost");
  Result<JobExplanation> missing = client->explain(404);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), errc::kNotFound);
}

TEST(ClientProtocolTest, ExplainIsNotSentToAVersion4Broker) {
  ScriptedBroker broker(4, [](const Frame& frame, std::uint16_t) -> std::string {
    return errorFrame(frame.request_id, errc::kUnknownCommand, "unexpected");
  });
  auto client = connectTo(broker);
  ASSERT_TRUE(client);
  Result<JobExplanation> refused = client->explain(9);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), errc::kUnsupportedVersion);
  EXPECT_TRUE(broker.requests().empty()) << "EXPLAIN was sent to a broker that does not know it";
}

// A broker that chooses a version this build does not speak is not spoken to.
TEST(ClientProtocolTest, AWelcomeWithAnUnknownVersionIsRefused) {
  ScriptedBroker broker(protocol::kVersion + 1, answerV2);
  ClientOptions options;
  options.endpoint = broker.endpoint();
  options.connect_timeout = 300ms;
  auto client = Client::connect(options);
  ASSERT_FALSE(client);
  EXPECT_NE(client.status().message().find("unsupported_version"), std::string::npos) << client.status().toString();
}

}  // namespace
}  // namespace corvee
