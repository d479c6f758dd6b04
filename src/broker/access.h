// Access: what a peer may do, granted by the token it presented (auth_tokens.h).
//
// Three levels, each allowing everything the one below does: a client submits and reads; a worker
// also serves jobs (a worker already sees the payloads of the jobs it runs, and handlers often
// submit follow-up jobs); an admin also changes what others see: cancel, purge, pause, rates, dead
// jobs, periodic jobs. Without --auth-tokens every peer is an admin, as before tokens existed.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "protocol/constants.h"

namespace corvee::broker {

enum class Access : std::uint8_t {
  kClient = 1,
  kWorker = 2,
  kAdmin = 3,
};

// "client", "worker", "admin".
std::string_view accessName(Access access);
std::optional<Access> parseAccess(std::string_view name);

// The least access that may send message `type` to the broker (HELLO and PING need none beyond a
// valid token: kClient).
Access neededFor(protocol::MsgType type);

// The least access that may greet with HELLO in `role`.
Access neededFor(protocol::Role role);

}  // namespace corvee::broker
