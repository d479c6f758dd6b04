// CoreTest: the fixture every broker::Core test uses. Frames in through a real FrameDecoder, frames
// out through a RecordingOutbox, time from a FakeClock, jobs in a MemoryStore.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "broker/core.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_random.h"
#include "fakes/recording_outbox.h"
#include "protocol/constants.h"
#include "protocol/messages.h"
#include "store/memory_store.h"
#include "store/volatile_store.h"

namespace corvee::broker::test {

using corvee::testing::FakeClock;
using corvee::testing::FakeRandom;
using corvee::testing::ReceivedFrame;
using corvee::testing::RecordingOutbox;
using protocol::MsgType;
using std::chrono::milliseconds;

// Owned copies of what peers receive; the decoded messages themselves only view their frames.
struct Assigned {
  JobId id = 0;
  std::uint32_t attempt = 0;
  std::string task;
  std::string payload;
  std::uint32_t run_timeout_ms = 0;
};
struct Err {
  std::uint32_t request_id = 0;
  std::string code;
  std::string message;
};
struct Res {
  std::uint32_t request_id = 0;
  JobId id = 0;
  JobState state = JobState::kQueued;
  std::uint32_t attempt = 0;
  std::string result;
  std::string error_code;
  std::string error_message;
};
struct Cancelled {
  JobId id = 0;
  std::uint32_t attempt = 0;
  std::string code;
};
struct Info {
  std::uint32_t request_id = 0;
  JobId id = 0;
  std::string task;
  JobState state = JobState::kQueued;
  std::int32_t priority = 0;
  std::uint32_t attempt = 0;
  std::uint64_t submitted_ms = 0, started_ms = 0, finished_ms = 0;
  std::string worker, result, error_code, error_message;
};

inline std::vector<JobId> idsOf(const std::vector<Assigned>& assigned) {
  std::vector<JobId> ids;
  for (const auto& a : assigned) ids.push_back(a.id);
  return ids;
}

class CoreTest : public ::testing::Test {
 protected:
  // The core logs every refused or lost thing at warn; the tests provoke those on purpose.
  CoreTest() { spdlog::set_level(spdlog::level::err); }
  ~CoreTest() override { spdlog::set_level(spdlog::level::info); }

  // Created on first use, so a test may change options_ first.
  Core& core() {
    if (!core_) {
      Store& store = store_override_ != nullptr ? *store_override_
                     : use_volatile_store_   ? static_cast<Store&>(volatile_store_)
                                             : store_;
      core_ = std::make_unique<Core>(options_, store, clock_, outbox_, random_, selection_override_);
    }
    return *core_;
  }

  PeerId connect() {
    PeerId id = next_peer_++;
    outbox_.connect(id);
    core().onConnect(id, "127.0.0.1:" + std::to_string(40000 + id));
    return id;
  }

  // The connection closes (or fell silent): what the server reports.
  void lose(PeerId peer) {
    core().onPeerGone(peer);
    outbox_.disconnect(peer);
    inbox_.erase(peer);
  }

  // Delivers bytes as the server does: through a real FrameDecoder, then onFrame().
  void deliver(PeerId peer, const std::string& wire) {
    protocol::FrameDecoder decoder(UINT32_MAX);
    std::copy(wire.begin(), wire.end(), decoder.prepare(wire.size()));
    decoder.commit(wire.size());
    protocol::Frame frame;
    while (decoder.next(frame) == protocol::DecodeEvent::kFrame) core().onFrame(peer, frame);
    EXPECT_EQ(decoder.buffered(), 0u);
  }

  // Sends `msg` with a fresh request id and returns that id.
  template <typename Msg>
  std::uint32_t send(PeerId peer, const Msg& msg) {
    std::uint32_t rid = next_request_++;
    std::string wire;
    protocol::encode(wire, rid, msg);
    deliver(peer, wire);
    return rid;
  }

  // A frame with any type and body, for the malformed cases.
  std::uint32_t sendRaw(PeerId peer, std::uint8_t type, std::string_view body) {
    std::uint32_t rid = next_request_++;
    std::string wire;
    protocol::WireWriter w(wire);
    w.u32(static_cast<std::uint32_t>(protocol::kMinLength + body.size()));
    w.u8(type);
    w.u32(rid);
    wire.append(body);
    deliver(peer, wire);
    return rid;
  }

  void flush() { ASSERT_TRUE(core().flush().isOk()); }

  // ---- Reading what a peer received. Frames not asked for stay for later calls.

  std::deque<ReceivedFrame>& inbox(PeerId peer) {
    for (auto& f : outbox_.take(peer)) inbox_[peer].push_back(std::move(f));
    return inbox_[peer];
  }
  // Removes and returns every received frame of type `type`, in order.
  std::vector<ReceivedFrame> takeType(PeerId peer, MsgType type) {
    std::vector<ReceivedFrame> out;
    auto& box = inbox(peer);
    for (auto it = box.begin(); it != box.end();) {
      if (it->is(type)) {
        out.push_back(std::move(*it));
        it = box.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }
  // Removes and returns everything received.
  std::vector<ReceivedFrame> takeAll(PeerId peer) {
    auto& box = inbox(peer);
    std::vector<ReceivedFrame> out(std::make_move_iterator(box.begin()), std::make_move_iterator(box.end()));
    box.clear();
    return out;
  }
  std::string describe(const std::vector<ReceivedFrame>& frames) {
    std::string s;
    for (const auto& f : frames) s += std::string(protocol::msgTypeName(f.type)) + " ";
    return s.empty() ? "nothing" : s;
  }
  void expectNothing(PeerId peer) {
    auto frames = takeAll(peer);
    EXPECT_TRUE(frames.empty()) << "peer " << peer << " received " << describe(frames);
  }

  std::vector<Assigned> assigns(PeerId worker) {
    std::vector<Assigned> out;
    for (const auto& f : takeType(worker, MsgType::kAssign)) {
      EXPECT_EQ(f.request_id, 0u);  // a push
      auto m = f.as<protocol::AssignMsg>();
      out.push_back({m.job_id, m.attempt, std::string(m.task), std::string(m.payload.data), m.run_timeout_ms});
    }
    return out;
  }
  std::vector<Err> errors(PeerId peer) {
    std::vector<Err> out;
    for (const auto& f : takeType(peer, MsgType::kError)) {
      auto m = f.as<protocol::ErrorMsg>();
      out.push_back({f.request_id, std::string(m.code), std::string(m.message)});
    }
    return out;
  }
  std::vector<Res> results(PeerId peer) {
    std::vector<Res> out;
    for (const auto& f : takeType(peer, MsgType::kResult)) {
      auto m = f.as<protocol::ResultMsg>();
      out.push_back({f.request_id, m.job_id, static_cast<JobState>(m.state), m.attempt, std::string(m.result.data),
                     std::string(m.error_code), std::string(m.error_message)});
    }
    return out;
  }
  std::vector<Cancelled> cancels(PeerId worker) {
    std::vector<Cancelled> out;
    for (const auto& f : takeType(worker, MsgType::kCancel)) {
      auto m = f.as<protocol::CancelMsg>();
      out.push_back({m.job_id, m.attempt, std::string(m.code)});
    }
    return out;
  }
  // Expects exactly one ERROR, answering `rid`, with `code`.
  void expectError(PeerId peer, std::uint32_t rid, std::string_view code) {
    auto errs = errors(peer);
    ASSERT_EQ(errs.size(), 1u) << "expected one ERROR " << code;
    EXPECT_EQ(errs[0].code, code) << errs[0].message;
    EXPECT_EQ(errs[0].request_id, rid);
    EXPECT_FALSE(errs[0].message.empty());
  }
  // Expects exactly one OK answering `rid`.
  void expectOk(PeerId peer, std::uint32_t rid) {
    auto oks = takeType(peer, MsgType::kOk);
    ASSERT_EQ(oks.size(), 1u) << "expected one OK; errors: " << errors(peer).size();
    EXPECT_EQ(oks[0].request_id, rid);
  }

  // ---- Peers and requests.

  PeerId hello(protocol::Role role, std::string_view name) {
    PeerId id = connect();
    protocol::HelloMsg h;
    h.role = static_cast<std::uint8_t>(role);
    h.name = name;
    std::uint32_t rid = send(id, h);
    auto frames = takeAll(id);
    EXPECT_EQ(frames.size(), 1u) << describe(frames);
    EXPECT_TRUE(!frames.empty() && frames[0].is(MsgType::kWelcome) && frames[0].request_id == rid);
    return id;
  }
  PeerId client(std::string_view name = "client") { return hello(protocol::Role::kClient, name); }
  PeerId worker(std::uint32_t slots, std::vector<std::string> tasks = {"echo"}, std::string name = "",
                std::uint32_t prefetch = 0) {
    if (name.empty()) name = "worker-" + std::to_string(next_peer_);
    PeerId id = hello(protocol::Role::kWorker, name);
    expectOk(id, send(id, protocol::RegisterMsg{slots, std::move(tasks), prefetch}));
    return id;
  }
  PeerId prefetchingWorker(std::uint32_t slots, std::uint32_t prefetch) { return worker(slots, {"echo"}, "", prefetch); }

  struct SubmitArgs {
    std::string_view task = "echo";
    std::string_view payload = "payload";
    std::int32_t priority = 0;
    std::uint32_t timeout_ms = 0;
    std::uint32_t run_timeout_ms = 0;
    std::uint32_t assign_timeout_ms = 0;
    std::uint32_t retries = 0;
    std::uint32_t backoff_ms = 1000;
    std::uint32_t backoff_max_ms = 3600000;
    std::uint8_t flags = 0;
    std::string_view fair_key = {};
  };
  static protocol::SubmitMsg submitMsg(const SubmitArgs& a) {
    protocol::SubmitMsg msg{a.task,       {a.payload}, a.priority,       a.timeout_ms, a.run_timeout_ms,
                            a.assign_timeout_ms, a.retries, a.backoff_ms, a.backoff_max_ms, a.flags};
    msg.fair_key = a.fair_key;
    return msg;
  }
  // Sends SUBMIT and returns the SUBMITTED job id (0 on refusal, which fails the test).
  JobId submit(PeerId c, const SubmitArgs& a) {
    std::uint32_t rid = send(c, submitMsg(a));
    auto frames = takeType(c, MsgType::kSubmitted);
    auto errs = errors(c);
    EXPECT_TRUE(errs.empty()) << "SUBMIT refused: " << (errs.empty() ? "" : errs[0].code + ": " + errs[0].message);
    if (frames.size() != 1) {
      ADD_FAILURE() << "expected one SUBMITTED, got " << frames.size();
      return 0;
    }
    EXPECT_EQ(frames[0].request_id, rid);
    return frames[0].as<protocol::SubmittedMsg>().job_id;
  }
  JobId submit(PeerId c) { return submit(c, SubmitArgs{}); }
  JobId submitTask(PeerId c, std::string_view task) { return submit(c, SubmitArgs{.task = task}); }

  void complete(PeerId w, JobId id, std::uint32_t attempt, std::string_view result = "result") {
    send(w, protocol::CompleteMsg{id, attempt, {result}});
  }
  void fail(PeerId w, JobId id, std::uint32_t attempt, std::string_view code = "handler_error",
            std::string_view message = "it broke") {
    send(w, protocol::FailMsg{id, attempt, code, message});
  }
  // The COUNT answering `rid`; fails the test (and returns UINT64_MAX) without one.
  std::uint64_t count(PeerId peer, std::uint32_t rid) {
    auto frames = takeType(peer, MsgType::kCount);
    if (frames.size() != 1) {
      auto errs = errors(peer);
      ADD_FAILURE() << "expected one COUNT, got " << frames.size() << (errs.empty() ? "" : "; ERROR " + errs[0].code + ": " + errs[0].message);
      return UINT64_MAX;
    }
    EXPECT_EQ(frames[0].request_id, rid);
    return frames[0].as<protocol::CountMsg>().count;
  }
  // The full JOB_INFO of a job, decoded and owned.
  JobInfo fullStatus(PeerId peer, JobId id, bool with_payload = false) {
    protocol::StatusMsg request{id, static_cast<std::uint8_t>(with_payload ? protocol::kStatusWithPayload : 0)};
    send(peer, request);
    auto frames = takeType(peer, MsgType::kJobInfo);
    if (frames.size() != 1) {
      ADD_FAILURE() << "expected one JOB_INFO for job " << id << ", got " << frames.size();
      return {};
    }
    auto m = frames[0].as<protocol::JobInfoMsg>();
    JobInfo info;
    info.id = m.job_id;
    info.task = std::string(m.task);
    info.state = static_cast<JobState>(m.state);
    info.priority = m.priority;
    info.attempt = m.attempt;
    info.error_code = std::string(m.error_code);
    info.error_message = std::string(m.error_message);
    info.retries = m.retries;
    info.retried = m.retried;
    info.run_at_ms = m.run_at_ms;
    info.payload = std::string(m.payload.data);
    info.finished_ms = m.finished_ms;
    for (const auto& f : m.failures) {
      info.failures.push_back({f.attempt, std::string(f.worker), f.started_ms, f.ended_ms, std::string(f.error_code),
                               std::string(f.error_message)});
    }
    return info;
  }
  // LIST_JOBS, decoded: (id, state) pairs, newest first.
  std::vector<std::pair<JobId, JobState>> list(PeerId peer, std::string_view task = {}, std::uint8_t state = 0,
                                               std::uint32_t limit = 100, JobId before = 0) {
    send(peer, protocol::ListJobsMsg{task, state, limit, before});
    auto frames = takeType(peer, MsgType::kJobList);
    if (frames.size() != 1) {
      ADD_FAILURE() << "expected one JOB_LIST, got " << frames.size();
      return {};
    }
    std::vector<std::pair<JobId, JobState>> out;
    for (const auto& j : frames[0].as<protocol::JobListMsg>().jobs) out.emplace_back(j.job_id, static_cast<JobState>(j.state));
    return out;
  }

  Info status(PeerId peer, JobId id) {
    std::uint32_t rid = send(peer, protocol::StatusMsg{id});
    auto frames = takeType(peer, MsgType::kJobInfo);
    if (frames.size() != 1) {
      ADD_FAILURE() << "expected one JOB_INFO for job " << id << ", got " << frames.size();
      return {};
    }
    auto m = frames[0].as<protocol::JobInfoMsg>();
    EXPECT_EQ(frames[0].request_id, rid);
    return {frames[0].request_id, m.job_id, std::string(m.task), static_cast<JobState>(m.state),
            m.priority, m.attempt, m.submitted_ms, m.started_ms, m.finished_ms,
            std::string(m.worker), std::string(m.result.data), std::string(m.error_code),
            std::string(m.error_message)};
  }

  nlohmann::json stats(PeerId peer) {
    std::uint32_t rid = send(peer, protocol::StatsMsg{});
    auto frames = takeType(peer, MsgType::kStatsReply);
    if (frames.size() != 1) {
      ADD_FAILURE() << "expected one STATS_REPLY";
      return {};
    }
    EXPECT_EQ(frames[0].request_id, rid);
    return nlohmann::json::parse(frames[0].as<protocol::StatsReplyMsg>().json.data);
  }

  // Restarts the broker on the same store, as after a kill -9: its peers are gone, the store stays.
  void restart() {
    core_.reset();
    outbox_ = RecordingOutbox();
    inbox_.clear();
    ASSERT_TRUE(core().recover().isOk());
  }

  void advance(std::int64_t ms) {
    clock_.advance(milliseconds(ms));
    core().tick();
  }

  BrokerOptions options_;
  MemoryStore store_;
  // `--store memory`'s store, for the tests that set use_volatile_store_ before core() is made.
  VolatileStore volatile_store_;
  bool use_volatile_store_ = false;
  // Any other store, for the tests that set it before core() is made.
  Store* store_override_ = nullptr;
  // A worker selection of the test's own, set before core() is made.
  WorkerSelection* selection_override_ = nullptr;
  FakeClock clock_;
  FakeRandom random_{0.5};
  RecordingOutbox outbox_;
  std::unique_ptr<Core> core_;
  std::map<PeerId, std::deque<ReceivedFrame>> inbox_;
  PeerId next_peer_ = 1;
  std::uint32_t next_request_ = 100;
};

}  // namespace corvee::broker::test
