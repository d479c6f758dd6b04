// HttpServer: the broker's HTTP side (`corvee broker --http ADDR:PORT`), on the broker's own
// event loop: it accepts connections and gives each to a Session, which answers through the Api.
// No thread and no lock of its own: thousands of waiting requests cost their sockets and little
// memory, and the Core sees each HTTP connection as one more peer. A broker serving the wire
// protocol over TLS (--tls-cert) serves HTTPS here with the same certificate, and with
// --tls-client-ca requires a client certificate here too: no way in is weaker than the others.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <unordered_map>

#include "broker/server.h"
#include "http/api.h"
#include "protocol/endpoint.h"

namespace corvee::http {

class Session;

class HttpServer {
 public:
  HttpServer(broker::Server& server, Api api);
  ~HttpServer();

  // Listens on `address` ("HOST:PORT", port 0 for any free one) and starts accepting. Returns
  // the bound address as "http://HOST:PORT" ("https://" when serving TLS).
  Result<std::string> start(const std::string& address);
  // Stops accepting and closes every connection.
  void stop();

  // The routes, for adding more (the dashboard, metrics) before start().
  Api& api() { return api_; }

 private:
  void acceptNext();

  broker::Server& server_;
  Api api_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions_;
  std::uint64_t next_session_ = 1;
  bool stopped_ = false;
};

// Parses "HOST:PORT" (also "[v6]:PORT", "http://HOST:PORT" and "https://HOST:PORT") for --http.
Result<protocol::Endpoint> parseHttpAddress(const std::string& address);

}  // namespace corvee::http
