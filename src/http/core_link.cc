#include "http/core_link.h"

#include <cstring>

#include <strings.h>

#include "broker/core.h"
#include "corvee/errors.h"
#include "protocol/constants.h"

namespace corvee::http {

std::shared_ptr<CoreLink> CoreLink::open(broker::Server& server, const std::string& remote) {
  auto link = std::make_shared<CoreLink>(server, server.newPeerId());
  server.attach(link, remote);
  protocol::HelloMsg hello;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  std::string name = "http:" + remote;
  hello.name = name;
  // WELCOME needs no answer; it arrives with no request waiting for it and is dropped.
  link->deliver(static_cast<std::uint8_t>(protocol::MsgType::kHello), link->next_request_id_++,
                protocol::encodeBody(hello));
  return link;
}

CoreLink::CoreLink(broker::Server& server, broker::PeerId id)
    : PeerLink(id),
      server_(server),
      decoder_(server.options().max_payload + protocol::kFrameOverhead),
      wait_timer_(server.io()) {}

Status CoreLink::authorize(std::string_view authorization) {
  broker::Core& core = server_.core();
  std::string_view token;
  constexpr std::string_view kScheme = "bearer ";
  // The scheme is case-insensitive (RFC 9110); spaces may follow it.
  if (authorization.size() > kScheme.size() && strncasecmp(authorization.data(), kScheme.data(), kScheme.size()) == 0) {
    token = authorization.substr(kScheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  }
  if (core.authRequired() && token.empty()) {
    return Status::error(errc::kUnauthenticated,
                         "this broker requires a token: send the header `Authorization: Bearer TOKEN`");
  }
  std::optional<broker::Access> access = core.accessFor(token);
  if (!access) return Status::error(errc::kUnauthenticated, "the bearer token is not valid");
  core.setAccess(id_, *access);
  return Status::ok();
}

void CoreLink::deliver(std::uint8_t type, std::uint32_t request_id, const std::string& body) {
  if (closed_) return;
  protocol::Frame frame{type, request_id, body};
  server_.core().onFrame(id_, frame);
  server_.requestFlush();
}

void CoreLink::awaitResult(std::uint64_t job_id, std::chrono::milliseconds limit, OnResult on_result) {
  awaited_job_ = job_id;
  on_result_ = std::move(on_result);
  std::uint64_t generation = ++wait_generation_;
  wait_timer_.expires_after(limit);
  wait_timer_.async_wait([this, self = shared_from_this(), generation](const boost::system::error_code& error) {
    if (!error && generation == wait_generation_ && awaited_job_ != 0) endWait(nullptr);
  });
}

void CoreLink::endWait(const protocol::ResultMsg* result) {
  awaited_job_ = 0;
  ++wait_generation_;
  wait_timer_.cancel();
  OnResult done = std::move(on_result_);
  on_result_ = nullptr;
  if (done) done(result);
}

void CoreLink::forgetPending() {
  replies_.clear();
  awaited_job_ = 0;
  ++wait_generation_;
  on_result_ = nullptr;
  wait_timer_.cancel();
}

void CoreLink::startWrite() {
  if (closed_) return;
  taken_.clear();
  takeWritable(taken_);
  if (!taken_.empty()) {
    // Whole frames only: the Core writes complete frames, so what is taken decodes completely.
    char* area = decoder_.prepare(taken_.size());
    std::memcpy(area, taken_.data(), taken_.size());
    decoder_.commit(taken_.size());
    protocol::Frame frame;
    while (!closed_ && decoder_.next(frame) == protocol::DecodeEvent::kFrame) onFrame(frame);
  }
  if (closing_ && !closed_ && output().empty()) close();
}

void CoreLink::onFrame(const protocol::Frame& frame) {
  if (frame.type == static_cast<std::uint8_t>(protocol::MsgType::kResult)) {
    if (awaited_job_ == 0) return;
    auto result = protocol::decode<protocol::ResultMsg>(frame.body);
    if (result && result->job_id == awaited_job_) endWait(&*result);
    return;
  }
  auto it = replies_.find(frame.request_id);
  if (frame.request_id == 0 || it == replies_.end()) return;  // WELCOME, PING, replies nobody waits for
  OnReply on_reply = std::move(it->second);
  replies_.erase(it);
  on_reply(frame);
}

void CoreLink::closeAfterFlush() { closing_ = true; }

void CoreLink::close() {
  if (closed_) return;
  closed_ = true;
  forgetPending();
  server_.forget(id_);
}

}  // namespace corvee::http
