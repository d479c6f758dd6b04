#include "net/broker_link.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <sys/socket.h>

#include <mutex>

#include "corvee/errors.h"
#include "net/log.h"
#include "net/tls_context.h"
#include "platform/clock.h"
#include "protocol/utf8.h"

namespace corvee::net {

bool refusesAccess(const Status& why) {
  return why.code() == errc::kUnauthenticated || why.code() == errc::kPermissionDenied;
}

bool failsTls(const Status& why) { return why.code() == errc::kTlsError; }

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
// The broker is trusted to respect its own max_payload; this bound only stops a stream that is not
// Corvee at all from making us buffer gigabytes.
constexpr std::uint32_t kFrameLimit = 1u << 30;
// Said whenever the failure looks like one side speaking TLS and the other not.
constexpr const char* kTlsHint = "is the broker using TLS? Then give its CA with --tls-ca (or CORVEE_TLS_CA)";
}  // namespace

template <typename Handler>
void BrokerLink::asyncReadSome(char* area, std::size_t size, Handler&& handler) {
  if (tls_) {
    tls_->async_read_some(asio::buffer(area, size),
                          [stream = tls_, handler = std::forward<Handler>(handler)](
                              const boost::system::error_code& e, std::size_t n) mutable { handler(e, n); });
  } else {
    socket_.async_read_some(asio::buffer(area, size), std::forward<Handler>(handler));
  }
}

template <typename Handler>
void BrokerLink::asyncWrite(const std::string& bytes, Handler&& handler) {
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(bytes),
                      [stream = tls_, handler = std::forward<Handler>(handler)](const boost::system::error_code& e,
                                                                                std::size_t n) mutable {
                        handler(e, n);
                      });
  } else {
    asio::async_write(socket_, asio::buffer(bytes), std::forward<Handler>(handler));
  }
}

BrokerLink::BrokerLink(asio::io_context& io, LinkOptions options, LinkCallbacks callbacks)
    : io_(io),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      socket_(io),
      retry_timer_(io),
      heartbeat_timer_(io),
      connect_timer_(io),
      decoder_(kFrameLimit),
      backoff_(options_.reconnect_min),
      jitter_(std::random_device{}()) {
  // HELLO's name is a `str` of at most 255 bytes of UTF-8, which the broker checks: an application
  // may pass any bytes, so make them fit rather than be refused.
  options_.name = std::string(protocol::truncateUtf8(protocol::toValidUtf8(options_.name), 255));
}

void BrokerLink::start() { connect(); }

void BrokerLink::stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  retry_timer_.cancel();
  heartbeat_timer_.cancel();
  connect_timer_.cancel();
  std::lock_guard lock(direct_mutex_);  // no direct write may start on a closing socket
  direct_open_ = false;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void BrokerLink::connect() {
  if (stopped_) return;
  boost::system::error_code error;
  tcp::resolver resolver(io_);
  auto addresses = resolver.resolve(options_.endpoint.host, std::to_string(options_.endpoint.port), error);
  if (error) {
    lose(Status::error("unavailable", "cannot resolve " + options_.endpoint.host + ": " + error.message()));
    return;
  }
  socket_ = tcp::socket(io_);
  tls_.reset();
  if (options_.tls) {
    tls_ = std::make_shared<asio::ssl::stream<tcp::socket&>>(socket_, *options_.tls);
    if (Status host = expectPeerHost(tls_->native_handle(), options_.endpoint.host); !host) {
      lose(host);
      return;
    }
  }
  connect_timer_.expires_after(options_.connect_attempt_timeout);
  connect_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
    if (!e && !self->connected_) {
      boost::system::error_code ignored;
      self->socket_.close(ignored);  // the pending connect completes with operation_aborted
    }
  });
  asio::async_connect(socket_, addresses,
                      [self = shared_from_this()](const boost::system::error_code& e, const tcp::endpoint&) {
                        self->onConnected(e);
                      });
}

void BrokerLink::onConnected(const boost::system::error_code& error) {
  if (stopped_) return;
  if (error) {
    connect_timer_.cancel();
    lose(Status::error("unavailable", "cannot connect to " + options_.endpoint.toString() + ": " + error.message()));
    return;
  }
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  if (!tls_) {
    connect_timer_.cancel();
    openSession();
    return;
  }
  // The connect timer still runs: a broker that never completes the handshake is given up like
  // one that never accepts.
  tls_->async_handshake(asio::ssl::stream_base::client,
                        [self = shared_from_this(), stream = tls_, gen = generation_](const boost::system::error_code& e) {
                          if (gen != self->generation_) return;
                          self->onHandshake(e);
                        });
}

void BrokerLink::onHandshake(const boost::system::error_code& error) {
  connect_timer_.cancel();
  if (stopped_) return;
  if (error) {
    std::string where = "TLS handshake with " + options_.endpoint.toString();
    if (error == asio::error::operation_aborted) {
      // Not certain (failsTls): a busy broker may only be slow. Retried like an unanswered connect.
      lose(Status::error(errc::kUnavailable, where + " did not complete within " +
                                              std::to_string(options_.connect_attempt_timeout.count()) +
                                              " ms (is the broker serving plain TCP?)"));
      return;
    }
    std::string why = describeTlsError(error, tls_->native_handle());
    bool plain = why.find("wrong version number") != std::string::npos ||
                 why.find("packet length too long") != std::string::npos;
    lose(Status::error(errc::kTlsError,
                       where + " failed: " + why + (plain ? " (is the broker serving plain TCP?)" : "")));
    return;
  }
  openSession();
}

void BrokerLink::openSession() {
  connected_ = true;
  received_ = false;
  decoder_ = protocol::FrameDecoder(kFrameLimit);
  output_.clear();
  writing_.clear();
  protocol::HelloMsg hello;
  hello.role = static_cast<std::uint8_t>(options_.role);
  hello.name = options_.name;
  hello.token = options_.token;
  protocol::encodeHello(output_, hello);
  last_read_ = last_write_ = systemClock().now();
  flush();
  readSome();
}

void BrokerLink::readSome() {
  if (reading_ || !connected_) return;
  reading_ = true;
  char* area = decoder_.prepare(kReadChunk);
  asyncReadSome(area, decoder_.writable(),
                [self = shared_from_this(), gen = generation_, area](const boost::system::error_code& e, std::size_t n) {
                  if (gen != self->generation_) return;  // a read from a session already lost
                  self->reading_ = false;
                  // A TLS broker answers a plain HELLO with a TLS alert (or nothing, closing).
                  if (!e && !self->ready_ && !self->received_ && !self->tls_ &&
                      looksLikeTls(std::string_view(area, n))) {
                    self->lose(Status::error(errc::kTlsError, "the broker at " + self->options_.endpoint.toString() +
                                                                  " answered with TLS: " + kTlsHint));
                    return;
                  }
                  self->onRead(e, n);
                });
}

void BrokerLink::onRead(const boost::system::error_code& error, std::size_t n) {
  if (stopped_) return;
  if (error) {
    std::string lost = "connection to " + options_.endpoint.toString() + " lost: ";
    if (tls_ && error.category() == asio::error::get_ssl_category() && error != asio::ssl::error::stream_truncated) {
      // After the handshake, before WELCOME: the broker refused this peer's certificate (TLS 1.3
      // checks it after the client's side of the handshake has completed).
      lose(Status::error(errc::kTlsError, lost + describeTlsError(error, tls_->native_handle()) +
                                              (ready_ ? "" : " (the broker refused this peer's TLS certificate?)")));
      return;
    }
    if (!tls_ && !ready_ && !received_ && error == asio::error::eof) {
      lose(Status::error(errc::kUnavailable, "the broker at " + options_.endpoint.toString() +
                                                 " closed the connection without answering HELLO: " + kTlsHint));
      return;
    }
    lose(Status::error("unavailable", lost + error.message()));
    return;
  }
  received_ = true;
  last_read_ = systemClock().now();
  decoder_.commit(n);
  std::uint64_t gen = generation_;
  protocol::Frame frame;
  for (;;) {
    auto event = decoder_.next(frame);
    if (event == protocol::DecodeEvent::kNeedMore) break;
    if (event != protocol::DecodeEvent::kFrame) {
      lose(Status::error("bad_request", "the broker sent a malformed or oversized frame"));
      return;
    }
    auto type = static_cast<protocol::MsgType>(frame.type);
    if (!ready_) {
      if (type == protocol::MsgType::kWelcome) {
        auto welcome = protocol::decode<protocol::WelcomeMsg>(frame.body);
        if (!welcome) {
          lose(welcome.status());
          return;
        }
        // The broker chooses at most the version HELLO offered; anything else is a broker this build
        // cannot speak to, and its frames would be misread.
        if (welcome->version < protocol::kMinVersion || welcome->version > protocol::kVersion) {
          lose(Status::error("unsupported_version", "the broker chose protocol version " +
                                                        std::to_string(welcome->version) + "; this build speaks " +
                                                        std::to_string(protocol::kMinVersion) + " to " +
                                                        std::to_string(protocol::kVersion)));
          return;
        }
        ready_ = true;
        refused_with_.clear();
        backoff_ = options_.reconnect_min;
        max_payload_ = welcome->max_payload;
        if (welcome->heartbeat_ms > 0) heartbeat_ = std::chrono::milliseconds(welcome->heartbeat_ms);
        if (welcome->peer_timeout_ms > 0) peer_timeout_ = std::chrono::milliseconds(welcome->peer_timeout_ms);
        armHeartbeat();
        if (callbacks_.on_ready) callbacks_.on_ready(*welcome);
        flush();
        if (!writing_now_) setDirectOpen(true);
        readSome();
        return;
      }
      if (type == protocol::MsgType::kError) {
        auto err = protocol::decode<protocol::ErrorMsg>(frame.body);
        Status why = err ? Status::error(std::string(err->code), std::string(err->message))
                         : Status::error("bad_request", "malformed ERROR from broker");
        // A refusal is retried like a failed connect; while the broker keeps refusing for the same
        // reason (too_many_connections until peers leave), it is logged once, not on every retry.
        if (why.code() != refused_with_) {
          // A refused token is the owner's to report (a worker stops; a client fails its calls);
          // the link still retries quietly, in case the broker's token file changes.
          if (refusesAccess(why)) {
            log().error("the broker refused the connection: {}", why.toString());
          } else {
            log().warn("the broker refused the connection: {}; retrying", why.toString());
          }
        }
        refused_with_ = why.code();
        lose(why);
        return;
      }
      continue;
    }
    if (type == protocol::MsgType::kPing) {
      protocol::encode(output_, frame.request_id, protocol::PongMsg{});
      continue;
    }
    if (type == protocol::MsgType::kPong) continue;
    if (callbacks_.on_frame) callbacks_.on_frame(frame);
    if (gen != generation_ || stopped_) return;  // the callback stopped or lost the link
  }
  flush();
  // Posted, so work the frames queued (a worker's hand-off to its slots) runs before the next
  // read, which usually finds nothing yet.
  asio::post(io_, [self = shared_from_this(), gen] {
    if (gen == self->generation_) self->readSome();
  });
}

void BrokerLink::flush() {
  if (writing_now_ || !connected_) return;
  {
    std::lock_guard lock(direct_mutex_);
    if (!direct_rest_.empty()) {
      // The end of a direct write that did not fit goes first: it finishes a frame.
      output_.insert(0, direct_rest_);
      direct_rest_.clear();
    }
    if (output_.empty()) return;
    direct_open_ = false;  // the socket is ours until this write completes
  }
  writing_.clear();
  writing_.swap(output_);
  writing_now_ = true;
  asyncWrite(writing_, [self = shared_from_this(), gen = generation_](const boost::system::error_code& e, std::size_t) {
    if (gen != self->generation_) return;
    self->writing_now_ = false;
    self->onWrite(e);
  });
}

void BrokerLink::onWrite(const boost::system::error_code& error) {
  if (stopped_) return;
  if (error) {
    lose(Status::error("unavailable", "connection to " + options_.endpoint.toString() + " lost: " + error.message()));
    return;
  }
  last_write_ = systemClock().now();
  writing_.clear();
  flush();
  if (!writing_now_ && ready_) setDirectOpen(true);
}

void BrokerLink::setDirectOpen(bool open) {
  std::lock_guard lock(direct_mutex_);
  // Never under TLS: a direct write would use the SSL stream from another thread.
  direct_open_ = open && direct_rest_.empty() && !options_.tls;
  direct_generation_ = generation_;
}

bool BrokerLink::trySendDirect(std::string_view frames, std::uint64_t generation) {
  std::lock_guard lock(direct_mutex_);
  if (!direct_open_ || generation != direct_generation_ || frames.empty()) return false;
  ssize_t sent = ::send(socket_.native_handle(), frames.data(), frames.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent <= 0) return false;  // full or failing: the network thread's path copes with both
  if (static_cast<std::size_t>(sent) < frames.size()) {
    // Part of a frame is out: the rest must follow before anything else.
    direct_rest_.assign(frames.substr(static_cast<std::size_t>(sent)));
    direct_open_ = false;
    asio::post(io_, [self = shared_from_this()] { self->flush(); });
  }
  return true;
}

void BrokerLink::lose(const Status& why) {
  bool was_ready = ready_;
  {
    std::lock_guard lock(direct_mutex_);
    direct_open_ = false;
    direct_rest_.clear();
  }
  ++generation_;
  connected_ = false;
  ready_ = false;
  writing_now_ = false;
  reading_ = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
  heartbeat_timer_.cancel();
  output_.clear();
  writing_.clear();
  if (was_ready) log().warn("{}; reconnecting", why.toString());
  if (callbacks_.on_lost) callbacks_.on_lost(why);
  scheduleReconnect();
}

void BrokerLink::scheduleReconnect() {
  if (stopped_) return;
  // Full jitter over [backoff/2, backoff], then double up to the cap.
  auto half = backoff_.count() / 2;
  std::uniform_int_distribution<long> pick(half, std::max<long>(half, backoff_.count()));
  retry_timer_.expires_after(std::chrono::milliseconds(pick(jitter_)));
  backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
  retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
    if (!e) self->connect();
  });
}

void BrokerLink::armHeartbeat() {
  heartbeat_timer_.expires_after(heartbeat_ / 2);
  heartbeat_timer_.async_wait([self = shared_from_this(), gen = generation_](const boost::system::error_code& e) {
    if (e || gen != self->generation_ || self->stopped_) return;
    auto now = systemClock().now();
    if (now - self->last_read_ > self->peer_timeout_) {
      self->lose(Status::error("unavailable", "the broker was silent for more than " +
                                                  std::to_string(self->peer_timeout_.count()) + " ms"));
      return;
    }
    if (now - self->last_write_ >= self->heartbeat_ && self->output_.empty() && !self->writing_now_) {
      protocol::encode(self->output_, 0, protocol::PingMsg{});
      self->flush();
    }
    self->armHeartbeat();
  });
}

}  // namespace corvee::net
