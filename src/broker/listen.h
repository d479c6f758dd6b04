// Opening a listening socket, shared by the wire protocol's Server and the HTTP server.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "corvee/status.h"
#include "protocol/endpoint.h"

namespace corvee::broker {

// Resolves `endpoint`'s host, then opens, binds (with SO_REUSEADDR) and listens on `acceptor`.
// Returns the bound port (the real one when 0 was asked for). Fails with bad_request when the host
// does not resolve, unavailable when the address cannot be bound (the message is the system's).
Result<std::uint16_t> listenOn(boost::asio::ip::tcp::acceptor& acceptor, const protocol::Endpoint& endpoint);

}  // namespace corvee::broker
