#include "http/http_server.h"

#include <spdlog/spdlog.h>

#include "broker/listen.h"
#include "http/request_limits.h"
#include "http/session.h"

namespace corvee::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

namespace {
// How long accepting pauses when accept() fails for want of descriptors (the backlog waits).
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
}  // namespace

Result<protocol::Endpoint> parseHttpAddress(const std::string& address) {
  std::string_view rest = address;
  if (rest.rfind("http://", 0) == 0) rest.remove_prefix(7);
  if (rest.rfind("https://", 0) == 0) rest.remove_prefix(8);
  auto endpoint = protocol::parseEndpoint("tcp://" + std::string(rest));
  if (!endpoint) {
    return Status::error("bad_request", "--http wants HOST:PORT (or off), not '" + address + "'");
  }
  return endpoint;
}

HttpServer::HttpServer(broker::Server& server, Api api)
    : server_(server), api_(std::move(api)), acceptor_(server.io()), retry_timer_(server.io()) {}

HttpServer::~HttpServer() { stop(); }

Result<std::string> HttpServer::start(const std::string& address) {
  auto endpoint = parseHttpAddress(address);
  if (!endpoint) return endpoint.status();
  auto port = broker::listenOn(acceptor_, *endpoint);
  if (!port) {
    if (port.status().code() != "unavailable") return Status::error(port.status().code(), port.status().message() + " (--http)");
    return Status::error("unavailable", "cannot serve HTTP on " + address + ": " + port.status().message() +
                                            " (--http HOST:PORT to choose another address, --http off for none)");
  }
  protocol::Endpoint bound{endpoint->host, *port};
  acceptNext();
  std::string url = bound.toString();
  return (server_.tlsContext() != nullptr ? "https://" : "http://") + url.substr(url.find("://") + 3);
}

void HttpServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
  auto sessions = std::move(sessions_);
  sessions_.clear();
  for (auto& [id, weak] : sessions) {
    if (auto session = weak.lock()) session->close();
  }
}

void HttpServer::acceptNext() {
  if (stopped_) return;
  acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
    if (stopped_ || error == asio::error::operation_aborted) return;
    if (error) {
      // Out of descriptors, most likely: the connection waits in the backlog while others end.
      spdlog::warn("http: accept failed: {}; retrying in {} ms", error.message(), kAcceptRetry.count());
      retry_timer_.expires_after(kAcceptRetry);
      retry_timer_.async_wait([this](const boost::system::error_code& timer_error) {
        if (!timer_error) acceptNext();
      });
      return;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::uint64_t id = next_session_++;
    std::uint64_t body_limit = requestBodyLimit(server_.options().max_payload);
    auto on_end = [this, id] { sessions_.erase(id); };
    std::shared_ptr<Session> session;
    if (auto* tls = server_.tlsContext()) {
      session = std::make_shared<TlsSession>(beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls), server_, api_,
                                             body_limit, on_end);
    } else {
      session = std::make_shared<PlainSession>(beast::tcp_stream(std::move(socket)), server_, api_, body_limit, on_end);
    }
    sessions_.emplace(id, session);
    session->start();
    acceptNext();
  });
}

}  // namespace corvee::http
