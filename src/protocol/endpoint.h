// Endpoints as written by users: "tcp://HOST:PORT".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "corvee/status.h"

namespace corvee::protocol {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  // IPv6 hosts are bracketed, as parseEndpoint() expects them.
  std::string toString() const {
    bool ipv6 = host.find(':') != std::string::npos;
    return "tcp://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

// Parses "tcp://HOST:PORT" (HOST may be a name, an IPv4 address or a bracketed IPv6 address; PORT
// 0 is allowed, meaning "any free port" when binding). Fails with bad_request saying what is wrong.
Result<Endpoint> parseEndpoint(std::string_view text);

}  // namespace corvee::protocol
