// Session: one HTTP connection on the broker's loop (Boost.Beast). Reads a request, has the Api
// answer it (through this connection's CoreLink), writes the response, and reads the next one
// while the client keeps the connection alive. A request waiting for a job (?wait=) holds no
// thread: only this object and its link, until the job's RESULT or the wait's end.
//
// Malformed requests get 400 (431 for oversized headers, 413 for a body over the limit) and the
// connection closes; nothing a client sends ends the broker.
//
// The stream is a template parameter, as for the wire protocol's Connection: PlainSession reads
// HTTP from the TCP stream, TlsSession (a broker run with --tls-cert) first completes the TLS
// handshake and then reads the same requests through it. A plain-HTTP request on the HTTPS port
// is answered 400 in plain text, saying so, and closed.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "broker/server.h"
#include "http/api.h"
#include "http/core_link.h"
#include "http/request_limits.h"

namespace corvee::http {

// What the HttpServer holds of each connection, whatever its stream.
class Session {
 public:
  virtual ~Session() = default;
  virtual void start() = 0;
  // Closes the connection (and its link) now.
  virtual void close() = 0;
};

template <typename Stream>
class BasicSession final : public Session, public std::enable_shared_from_this<BasicSession<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, boost::beast::tcp_stream>;

  // `on_end` is called once when the connection closes.
  BasicSession(Stream&& stream, broker::Server& server, const Api& api, std::uint64_t body_limit,
               std::function<void()> on_end);
  void start() override;
  void close() override;

 private:
  void onHandshake(const boost::system::error_code& error);
  void readRequest();
  void onRead(const boost::system::error_code& error);
  void answer(Response response);
  void onWrite(const boost::system::error_code& error);
  // Ends a connection after its last response without losing that response (see session.cc).
  void lingerThenClose();
  void drain();

  boost::beast::tcp_stream& tcp() { return boost::beast::get_lowest_layer(stream_); }

  Stream stream_;
  broker::Server& server_;
  const Api& api_;
  std::uint64_t body_limit_;
  std::function<void()> on_end_;
  std::string remote_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  boost::beast::http::response<boost::beast::http::string_body> response_;
  std::shared_ptr<CoreLink> link_;  // opened with the first request
  CallPtr call_;                    // the request being answered
  bool keep_alive_ = false;
  bool closed_ = false;
  std::array<char, 4096> discard_{};  // what a closing client still sends, read and dropped
  std::size_t discarded_ = 0;
};

using PlainSession = BasicSession<boost::beast::tcp_stream>;
using TlsSession = BasicSession<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace corvee::http
