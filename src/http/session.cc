#include "http/session.h"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "corvee/errors.h"
#include "corvee/version.h"

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
}  // namespace

Session::Session(asio::ip::tcp::socket socket, broker::Server& server, const Api& api, std::uint64_t body_limit,
                 std::function<void()> on_end)
    : stream_(std::move(socket)), server_(server), api_(api), body_limit_(body_limit), on_end_(std::move(on_end)) {
  boost::system::error_code ignored;
  auto remote = stream_.socket().remote_endpoint(ignored);
  remote_ = remote.address().to_string() + ":" + std::to_string(remote.port());
}

void Session::start() { readRequest(); }

void Session::readRequest() {
  if (closed_) return;
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(body_limit_);
  stream_.expires_after(kIoLimit);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](const boost::system::error_code& error, std::size_t) {
                      self->onRead(error);
                    });
}

void Session::onRead(const boost::system::error_code& error) {
  if (closed_) return;
  if (error) {
    if (error == bhttp::error::end_of_stream || error == asio::error::eof || error == beast::error::timeout ||
        error == asio::error::operation_aborted || error == asio::error::connection_reset) {
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
  stream_.expires_never();  // a request waiting for a job may take as long as it asked
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
  call_->respond = [self = shared_from_this(), current](Response response) {
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

void Session::answer(Response response) {
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
  stream_.expires_after(kIoLimit);
  bhttp::async_write(stream_, response_, [self = shared_from_this()](const boost::system::error_code& error, std::size_t) {
    self->onWrite(error);
  });
}

void Session::onWrite(const boost::system::error_code& error) {
  if (closed_) return;
  if (error) return close();
  if (!keep_alive_) return lingerThenClose();
  readRequest();
}

// A client told "413" or "431" may still be sending the rest of its request. Closing with those
// bytes unread makes the kernel reset the connection, and a reset can destroy the response before
// the client reads it. So the sending side is shut (the client sees the response, then EOF), and
// what still arrives is read and dropped until the client closes, within limits.
void Session::lingerThenClose() {
  boost::system::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLingerLimit);
  drain();
}

void Session::drain() {
  stream_.async_read_some(asio::buffer(discard_),
                          [self = shared_from_this()](const boost::system::error_code& error, std::size_t n) {
                            if (self->closed_) return;
                            self->discarded_ += n;
                            if (error || self->discarded_ > kLingerBytes) return self->close();
                            self->drain();
                          });
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();
  if (link_) link_->close();
  link_.reset();
  call_.reset();
  if (on_end_) on_end_();
}

}  // namespace corvee::http
