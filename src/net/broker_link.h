// BrokerLink: a client's or worker's connection to the broker.
//
// Lives on one Boost.Asio io_context and is used from that context's thread, except
// trySendDirect(), which any thread may call. It connects,
// sends HELLO, and once WELCOME arrives reports `on_ready`; then it hands every frame to
// `on_frame`, answers PINGs, sends a PING when it has been quiet, and treats a broker silent past
// the agreed timeout as gone. When the connection fails or drops it reports `on_lost` and tries
// again with exponential backoff (with jitter, so a restarted broker is not hit by every peer at
// the same instant), until stop().
//
// With LinkOptions::tls, each connection runs a TLS handshake (checking the broker's certificate and
// host name) before HELLO, and every read and write goes through the TLS stream. trySendDirect() is
// then never taken (an OpenSSL stream must not be written from two threads): all writes go through
// the network thread. A handshake that fails, a broker that refuses this peer's certificate, and a
// plain-TCP peer that finds a TLS broker all end the session with code tls_error.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "corvee/status.h"
#include "platform/clock.h"
#include "protocol/constants.h"
#include "protocol/endpoint.h"
#include "protocol/frame_decoder.h"
#include "protocol/messages.h"

namespace corvee::net {

// True for a broker's refusal of the peer's token (unauthenticated, permission_denied): unlike a
// lost connection, trying again with the same token will not help.
bool refusesAccess(const Status& why);
// True for a TLS failure the broker's answer makes certain (its certificate is not trusted or does
// not name the host, it refused ours, it speaks TLS and we do not, or the reverse): the next
// attempt meets the same certificates. A handshake that merely did not finish in time is not one.
bool failsTls(const Status& why);

struct LinkOptions {
  protocol::Endpoint endpoint;
  std::string name;
  std::string token;  // presented in HELLO; empty for none (a broker without --auth-tokens)
  protocol::Role role = protocol::Role::kClient;
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{2000};
  // A connect attempt that has not completed by then is abandoned and retried.
  // (The TLS handshake counts as part of the attempt.)
  std::chrono::milliseconds connect_attempt_timeout{3000};
  // Speak TLS with this context (net/tls_context.h, makeClientContext); null: plain TCP.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

struct LinkCallbacks {
  std::function<void(const protocol::WelcomeMsg&)> on_ready;
  std::function<void(const protocol::Frame&)> on_frame;  // every frame after WELCOME, PONG excepted
  std::function<void(const Status&)> on_lost;             // called once per lost (or failed) session
};

class BrokerLink : public std::enable_shared_from_this<BrokerLink> {
 public:
  BrokerLink(boost::asio::io_context& io, LinkOptions options, LinkCallbacks callbacks);
  void start();
  void stop();
  bool ready() const { return ready_; }
  // Frames appended here are sent by flush(). Only meaningful while ready(): frames buffered while
  // disconnected are discarded at the next connection, and owners resend from their own state.
  std::string& output() { return output_; }
  void flush();
  // Thread-safe. Writes `frames` (whole frames) to the socket from the calling thread, now, if the
  // session `generation` is still the live one and nothing else is queued or being written, which
  // saves waking the network thread (tens of microseconds on a loaded machine). False when it did
  // not take them; the caller then queues them as usual. Frames it takes may overtake frames
  // appended to output() and not yet flushed; it never splits one.
  bool trySendDirect(std::string_view frames, std::uint64_t generation);
  // Bytes buffered or being written; owners use it for flow control.
  std::size_t pendingBytes() const { return output_.size() + writing_.size(); }
  std::uint32_t maxPayload() const { return max_payload_.load(std::memory_order_relaxed); }  // any thread
  // Counts sessions: a frame received in one session must not be answered in the next.
  std::uint64_t generation() const { return generation_; }

 private:
  void connect();
  void onConnected(const boost::system::error_code& error);
  void onHandshake(const boost::system::error_code& error);
  // The transport is up (TCP connected, TLS handshake done): send HELLO.
  void openSession();
  // The read and write of the session's stream: the TLS stream when there is one, else the socket.
  template <typename Handler>
  void asyncReadSome(char* area, std::size_t size, Handler&& handler);
  template <typename Handler>
  void asyncWrite(const std::string& bytes, Handler&& handler);
  void readSome();
  void onRead(const boost::system::error_code& error, std::size_t n);
  void onWrite(const boost::system::error_code& error);
  void lose(const Status& why);
  void scheduleReconnect();
  void armHeartbeat();
  // Says whether trySendDirect() may write now; network thread, after each change to the writing state.
  void setDirectOpen(bool open);

  boost::asio::io_context& io_;
  LinkOptions options_;
  LinkCallbacks callbacks_;
  boost::asio::ip::tcp::socket socket_;
  // The session's TLS stream over socket_, when options_.tls; a new one per connection. Shared with
  // the handlers of its operations, so a stream outlives an operation still completing after the
  // session was lost.
  std::shared_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer connect_timer_;
  protocol::FrameDecoder decoder_;
  std::string output_;
  std::string writing_;
  bool connected_ = false;
  bool ready_ = false;
  bool reading_ = false;
  bool writing_now_ = false;
  bool stopped_ = false;
  bool received_ = false;  // this session received bytes: an EOF before any is a hint of a TLS broker
  std::uint64_t generation_ = 0;
  std::string refused_with_;  // the code of the broker's last refusal (ERROR before WELCOME) since the last WELCOME
  std::chrono::milliseconds backoff_;
  std::minstd_rand jitter_;
  std::atomic<std::uint32_t> max_payload_{0};
  std::chrono::milliseconds heartbeat_{1000};
  std::chrono::milliseconds peer_timeout_{5000};
  MonoTime last_read_;
  MonoTime last_write_;

  // Shared with trySendDirect() callers.
  std::mutex direct_mutex_;
  bool direct_open_ = false;      // ready, and no asynchronous write in progress
  std::uint64_t direct_generation_ = 0;
  std::string direct_rest_;       // the unsent end of a direct write; goes out before output_
};

}  // namespace corvee::net
