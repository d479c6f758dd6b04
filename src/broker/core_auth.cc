// Core: who may connect and what each peer may do (access.h, auth_tokens.h).
#include <spdlog/spdlog.h>

#include "broker/core.h"
#include "corvee/errors.h"

namespace corvee::broker {

namespace {

// The first protocol version whose HELLO carries a token.
constexpr std::uint16_t kTokenVersion = 6;

std::string refusedRole(Access access, protocol::Role role) {
  return std::string("a ") + std::string(accessName(access)) + " token cannot connect as a " +
         (role == protocol::Role::kWorker ? "worker" : "client");
}

// The access a token found in the table (`found`) grants a peer in `role`; `unknown` says why a
// token that is not there was refused.
Result<Access> grant(std::optional<Access> found, protocol::Role role, const char* unknown) {
  if (!found) return Status::error(errc::kUnauthenticated, unknown);
  if (*found < neededFor(role)) return Status::error(errc::kPermissionDenied, refusedRole(*found, role));
  return *found;
}

}  // namespace

Status Core::admit(Peer& peer, const protocol::HelloMsg& hello) const {
  auto role = static_cast<protocol::Role>(hello.role);
  if (!hello.token.empty()) peer.token = TokenTable::digest(hello.token);
  if (!tokens_ || peer.trusted) {
    peer.access = Access::kAdmin;
    return Status::ok();
  }
  if (hello.version < kTokenVersion) {
    return Status::error(errc::kUnauthenticated,
                         "this broker requires a token, which protocol version " + std::to_string(hello.version) +
                             " cannot carry: upgrade this peer to Corvee with protocol version 6 or later");
  }
  if (hello.token.empty()) {
    return Status::error(errc::kUnauthenticated, "this broker requires a token (--token or CORVEE_TOKEN)");
  }
  Result<Access> access = grant(tokens_->find(*peer.token), role, "the token is not valid");
  if (!access) return access.status();
  peer.access = *access;
  return Status::ok();
}

void Core::refuseAccess(PeerId id, const Peer& peer, const protocol::Frame& frame) {
  auto type = static_cast<protocol::MsgType>(frame.type);
  sendError(id, frame.request_id, errc::kPermissionDenied,
            std::string(protocol::msgTypeName(frame.type)) + " needs a token with " +
                std::string(accessName(neededFor(type))) + " access; this connection's has " +
                std::string(accessName(peer.access)) + " access");
}

void Core::setTokens(std::shared_ptr<const TokenTable> tokens) {
  tokens_ = std::move(tokens);
  std::size_t refused = 0;
  for (auto& [id, peer] : peers_) {
    if (!peer.greeted || peer.trusted) continue;
    if (!tokens_) {
      peer.access = Access::kAdmin;
      continue;
    }
    Result<Access> access = grant(peer.token ? tokens_->find(*peer.token) : std::nullopt, peer.role,
                                  "the token this connection presented is not valid any more");
    if (!access) {
      const Status& refusal = access.status();
      spdlog::warn("closing {} ({}): {}", peer.name, peer.remote, refusal.message());
      sendError(id, 0, refusal.code(), refusal.message());
      outbox_.closeAfterFlush(id);
      ++refused;
      continue;
    }
    peer.access = *access;
  }
  if (refused > 0) spdlog::info("{} connections closed: their tokens no longer let them in", refused);
}

std::optional<Access> Core::accessFor(std::string_view token) const {
  if (!tokens_) return Access::kAdmin;
  return tokens_->find(token);
}

void Core::setAccess(PeerId id, Access access) {
  auto it = peers_.find(id);
  if (it != peers_.end() && it->second.trusted) it->second.access = access;
}

}  // namespace corvee::broker
