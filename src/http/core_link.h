// CoreLink: the peer one HTTP connection is to the broker's Core.
//
// The HTTP API has no handlers of its own for jobs: it turns each HTTP request into the wire
// messages a client would send (SUBMIT, STATUS, CANCEL_JOB, ...) and hands them to the Core as
// this peer, in process, on the broker's loop. The Core's replies come back through the Server
// exactly as they would over TCP, released only after the store committed what they report, and
// this link hands them to whoever asked. So every control the wire protocol has is the same
// control over HTTP, with the same checks, errors and durability.
//
// Lives on the broker's loop thread. The Server holds it like a connection until it closes.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "broker/peer_link.h"
#include "broker/server.h"
#include "corvee/status.h"
#include "protocol/frame_decoder.h"
#include "protocol/messages.h"

namespace corvee::http {

class CoreLink final : public broker::PeerLink, public std::enable_shared_from_this<CoreLink> {
 public:
  // The reply to a request: the expected message's frame, or an ERROR frame.
  using OnReply = std::function<void(const protocol::Frame&)>;
  // A job's RESULT; nullptr when the wait ran out first.
  using OnResult = std::function<void(const protocol::ResultMsg*)>;

  // Joins the Core as a client peer that greets with HELLO at the current protocol version;
  // `remote` names the HTTP client in logs and stats.
  static std::shared_ptr<CoreLink> open(broker::Server& server, const std::string& remote);

  // Sends `msg` to the Core; `on_reply` gets its reply (or ERROR) when the Core sends it.
  template <typename Msg>
  void ask(const Msg& msg, OnReply on_reply) {
    std::uint32_t request_id = next_request_id_++;
    replies_.emplace(request_id, std::move(on_reply));
    deliver(static_cast<std::uint8_t>(Msg::kType), request_id, protocol::encodeBody(msg));
  }
  // Calls `on_result` with job `job_id`'s RESULT when this peer receives it (as the job's owner or
  // after SUBSCRIBE), or with nullptr once `limit` has passed. One wait at a time; a new one
  // replaces the last.
  void awaitResult(std::uint64_t job_id, std::chrono::milliseconds limit, OnResult on_result);
  // Lets this link's requests do what the bearer token in `authorization` (an Authorization
  // header's value, "Bearer TOKEN") allows, until the next call. Fails with unauthenticated when the
  // broker requires a token and this one is missing or not valid.
  Status authorize(std::string_view authorization);
  // Forgets the pending replies and wait: the HTTP request they were for has been answered.
  void forgetPending();

  // broker::PeerLink.
  void startWrite() override;
  void closeAfterFlush() override;
  void close() override;
  bool supervised() const override { return false; }

  CoreLink(broker::Server& server, broker::PeerId id);

 private:
  void deliver(std::uint8_t type, std::uint32_t request_id, const std::string& body);
  void onFrame(const protocol::Frame& frame);
  void endWait(const protocol::ResultMsg* result);

  broker::Server& server_;
  protocol::FrameDecoder decoder_;
  std::string taken_;  // bytes taken from the buffers, fed to decoder_
  std::uint32_t next_request_id_ = 1;
  std::unordered_map<std::uint32_t, OnReply> replies_;
  std::uint64_t awaited_job_ = 0;  // 0: no wait
  // Counts waits, so a timer that fired just as its wait ended cannot end the next one.
  std::uint64_t wait_generation_ = 0;
  OnResult on_result_;
  boost::asio::steady_timer wait_timer_;
  bool closing_ = false;
};

// The reply in `frame` as `Msg`: the Core's ERROR becomes its code and message.
template <typename Msg>
Result<Msg> replyAs(const protocol::Frame& frame) {
  if (frame.type == static_cast<std::uint8_t>(protocol::MsgType::kError)) {
    auto error = protocol::decode<protocol::ErrorMsg>(frame.body);
    if (!error) return error.status();
    return Status::error(std::string(error->code), std::string(error->message));
  }
  if (frame.type != static_cast<std::uint8_t>(Msg::kType)) {
    return Status::error("internal", std::string("the broker answered with ") + protocol::msgTypeName(frame.type));
  }
  return protocol::decode<Msg>(frame.body);
}

}  // namespace corvee::http
