#include "http/session.h"

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/err.h>
#include <spdlog/spdlog.h>

#include "corvee/errors.h"
#include "corvee/version.h"
#include "net/tls_context.h"

namespace corvee::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {
// A client has this long to send a whole request, and to take a whole response.
constexpr auto kIoLimit = std::chrono::seconds(60);
// After a connection's last response: how long, and how many bytes, of what the client still
// sends are read and dropped before closing.
constexpr auto kLingerLimit = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 1024 * 1024;

// The answer to a plain-HTTP request on the HTTPS port, sent in plain text since the client
// speaks nothing else (OpenSSL recognises such a request in place of a TLS hello).
constexpr std::string_view kPlainRequestOnTlsPort =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 61\r\n\r\n"
    "This broker serves HTTPS on this port: use https:// instead.\n";
}  // namespace

template <typename Stream>
BasicSession<Stream>::BasicSession(Stream&& stream, broker::Server& server, const Api& api, std::uint64_t body_limit,
                                   std::function<void()> on_end)
    : stream_(std::move(stream)), server_(server), api_(api), body_limit_(body_limit), on_end_(std::move(on_end)) {
  boost::system::error_code ignored;
  auto remote = tcp().socket().remote_endpoint(ignored);
  remote_ = remote.address().to_string() + ":" + std::to_string(remote.port());
}

template <typename Stream>
void BasicSession<Stream>::start() {
  if constexpr (kTls) {
    tcp().expires_after(kIoLimit);
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = this->shared_from_this()](const boost::system::error_code& error) {
                              self->onHandshake(error);
                            });
  } else {
    readRequest();
  }
}

template <typename Stream>
void BasicSession<Stream>::onHandshake(const boost::system::error_code& error) {
  if (closed_) return;
  if (!error) return readRequest();
  if constexpr (kTls) {
    if (net::peerSentPlainHttp(error)) {
      ERR_clear_error();
      spdlog::debug("http: {} sent a plain-HTTP request to the HTTPS port; answered 400", remote_);
      tcp().expires_after(kLingerLimit);
      asio::async_write(tcp().socket(), asio::buffer(kPlainRequestOnTlsPort.data(), kPlainRequestOnTlsPort.size()),
                        [self = this->shared_from_this()](const boost::system::error_code&, std::size_t) {
                          self->close();
                        });
      return;
    }
    // A client that gave up, or does not trust our certificate: one line, at debug level for the
    // ordinary endings (a port scan or a health probe must not fill the log).
    if (error == asio::error::eof || error == beast::error::timeout || error == asio::error::connection_reset) {
      spdlog::debug("http: TLS handshake with {} ended: {}", remote_, error.message());
    } else {
      spdlog::warn("http: TLS handshake with {} failed: {}", remote_, net::describeTlsError(error, stream_.native_handle()));
    }
  }
  close();
}

template <typename Stream>
void BasicSession<Stream>::readRequest() {
  if (closed_) return;
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(body_limit_);
  tcp().expires_after(kIoLimit);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = this->shared_from_this()](const boost::system::error_code& error, std::size_t) {
                      self->onRead(error);
                    });
}

template <typename Stream>
void BasicSession<Stream>::onRead(const boost::system::error_code& error) {
  if (closed_) return;
  if (error) {
    if (error == bhttp::error::end_of_stream || error == asio::error::eof || error == beast::error::timeout ||
        error == asio::error::operation_aborted || error == asio::error::connection_reset ||
        error == asio::ssl::error::stream_truncated) {  // a TLS client that left without close_notify
      return close();
    }
    // The request cannot be read to its end: answer why, then close.
    keep_alive_ = false;
    unsigned status = 400;
    std::string message = "malformed HTTP request: " + error.message();
    if (error == bhttp::error::body_limit) {
      status = 413;
      message = "the request body is larger than " + std::to_string(body_limit_) + " bytes";
    } else if (error == bhttp::error::header_limit) {
      status = 431;
      message = "the request headers are larger than " + std::to_string(kHeaderLimit) + " bytes";
    }
    Response response = errorResponse(Status::error(status == 413 ? errc::kPayloadTooLarge : errc::kBadRequest, message));
    response.status = status;
    return answer(std::move(response));
  }
  tcp().expires_never();  // a request waiting for a job may take as long as it asked
  auto& request = parser_->get();
  keep_alive_ = request.keep_alive();
  if (!link_) link_ = CoreLink::open(server_, remote_);
  call_ = std::make_shared<Call>();
  call_->request.method = std::string(request.method_string());
  call_->request.body = std::move(request.body());
  if (auto tags = request.find(bhttp::field::if_none_match); tags != request.end()) {
    call_->request.if_none_match = std::string(tags->value());
  }
  if (auto credential = request.find(bhttp::field::authorization); credential != request.end()) {
    call_->request.authorization = std::string(credential->value());
  }
  call_->link = link_;
  // The call keeps the session alive while it waits for the Core (no read or write is pending
  // then); answering it, or closing, drops the call and with it this reference.
  Call* current = call_.get();
  call_->respond = [self = this->shared_from_this(), current](Response response) {
    // Answered once: a late continuation of an answered call (or of a closed session) is dropped.
    if (self->closed_ || self->call_.get() != current) return;
    self->answer(std::move(response));
  };
  if (Status parsed = parseTarget(std::string_view(request.target().data(), request.target().size()), call_->request);
      !parsed) {
    return call_->fail(parsed);
  }
  api_.handle(call_);
}

template <typename Stream>
void BasicSession<Stream>::answer(Response response) {
  if (link_) link_->forgetPending();
  call_.reset();
  response_ = {};
  response_.result(response.status);
  response_.version(11);
  response_.set(bhttp::field::server, std::string("corvee/") + kVersionString);
  response_.set(bhttp::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers) response_.set(name, value);
  response_.keep_alive(keep_alive_);
  response_.body() = std::move(response.body);
  response_.prepare_payload();
  tcp().expires_after(kIoLimit);
  bhttp::async_write(stream_, response_, [self = this->shared_from_this()](const boost::system::error_code& error, std::size_t) {
    self->onWrite(error);
  });
}

template <typename Stream>
void BasicSession<Stream>::onWrite(const boost::system::error_code& error) {
  if (closed_) return;
  if (error) return close();
  if (!keep_alive_) return lingerThenClose();
  readRequest();
}

// A client told "413" or "431" may still be sending the rest of its request. Closing with those
// bytes unread makes the kernel reset the connection, and a reset can destroy the response before
// the client reads it. So the sending side is shut (the client sees the response, then EOF), and
// what still arrives is read and dropped until the client closes, within limits. Over TLS the
// end is TLS's own: close_notify, then the client's, within the same time limit.
template <typename Stream>
void BasicSession<Stream>::lingerThenClose() {
  tcp().expires_after(kLingerLimit);
  if constexpr (kTls) {
    stream_.async_shutdown([self = this->shared_from_this()](const boost::system::error_code&) { self->close(); });
  } else {
    boost::system::error_code ignored;
    tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    drain();
  }
}

template <typename Stream>
void BasicSession<Stream>::drain() {
  stream_.async_read_some(asio::buffer(discard_),
                          [self = this->shared_from_this()](const boost::system::error_code& error, std::size_t n) {
                            if (self->closed_) return;
                            self->discarded_ += n;
                            if (error || self->discarded_ > kLingerBytes) return self->close();
                            self->drain();
                          });
}

template <typename Stream>
void BasicSession<Stream>::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  tcp().close();
  if (link_) link_->close();
  link_.reset();
  call_.reset();
  if (on_end_) on_end_();
}

template class BasicSession<beast::tcp_stream>;
template class BasicSession<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace corvee::http
