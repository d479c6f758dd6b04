// Call: one HTTP request being answered. Handlers turn it into wire messages through its link and
// answer it once; continuations hold it by shared_ptr across the Core's replies.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/core_link.h"
#include "http/json_codec.h"
#include "http/request.h"

namespace corvee::http {

struct Call {
  using Respond = std::function<void(Response)>;

  Request request;
  std::shared_ptr<CoreLink> link;
  Respond respond;              // answers the HTTP request; called once
  std::vector<std::string> captures;  // the path's parameters, in the route's order

  void reply(unsigned status, const Json& doc) { respond(jsonResponse(status, doc)); }
  void fail(const Status& status) { respond(errorResponse(status)); }
  // `?NAME=MS`, at most `max` ms; nullopt when absent. Fails the call (and returns an error) when malformed.
  Result<std::optional<std::chrono::milliseconds>> waitParam(const std::string& name, std::uint64_t max) const;
  // `?NAME=N` as a number no larger than `max`, or `fallback` when absent.
  Result<std::uint64_t> numberParam(const std::string& name, std::uint64_t max, std::uint64_t fallback) const;
};
using CallPtr = std::shared_ptr<Call>;

// Asks the Core `msg` on the call's link and answers the call with ERROR replies as errors; a
// reply of type Msg goes to `then`.
template <typename Reply, typename Msg, typename Then>
void askThen(const CallPtr& call, const Msg& msg, Then then) {
  call->link->ask(msg, [call, then = std::move(then)](const protocol::Frame& frame) {
    auto reply = replyAs<Reply>(frame);
    if (!reply) return call->fail(reply.status());
    then(*reply);
  });
}

}  // namespace corvee::http
