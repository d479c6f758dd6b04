#include "broker/accept_loop.h"

#include <boost/asio/error.hpp>
#include <spdlog/spdlog.h>

#include "corvee/errors.h"
#include "protocol/messages.h"

namespace corvee::broker {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

long long millisSince(MonoTime since, MonoTime now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count();
}

}  // namespace

AcceptLoop::AcceptLoop(tcp::acceptor& acceptor, Clock& clock, std::function<std::size_t()> open_connections,
                       Accepted on_accepted)
    : acceptor_(acceptor),
      clock_(clock),
      open_connections_(std::move(open_connections)),
      on_accepted_(std::move(on_accepted)),
      retry_timer_(acceptor.get_executor()) {}

void AcceptLoop::start(std::size_t max_connections, std::size_t max_per_address) {
  max_connections_ = max_connections;
  addresses_ = AddressCounts(max_per_address);
  if (!spare_.reserve()) {
    spdlog::warn("no file descriptor free for the spare: when descriptors run out, connections wait instead of "
                 "being refused");
  }
  // Only the synchronous accept of shedOne() is affected: it must never wait for a connection.
  boost::system::error_code ignored;
  acceptor_.non_blocking(true, ignored);
  acceptNext();
}

void AcceptLoop::stop() {
  stopped_ = true;
  retry_timer_.cancel();
  spare_.release();
}

void AcceptLoop::acceptNext() {
  if (stopped_) return;
  acceptor_.async_accept(
      [this](const boost::system::error_code& error, tcp::socket socket) { onAccept(error, std::move(socket)); });
}

void AcceptLoop::onAccept(const boost::system::error_code& error, tcp::socket socket) {
  if (stopped_ || error == asio::error::operation_aborted) return;
  if (error) {
    onAcceptError(error);
    return;
  }
  std::size_t open = open_connections_();
  if (open >= max_connections_) {
    if (!at_limit_.active) {
      at_limit_ = Episode{true, 0, clock_.now()};
      spdlog::warn("{} connections open, the limit (--max-connections); refusing new ones with too_many_connections",
                   open);
    }
    ++at_limit_.refused;
    ++refused_total_;
    refuse(socket, "the broker already serves " + std::to_string(max_connections_) + " connections, its limit");
  } else if (boost::system::error_code ignored; !addresses_.admit(socket.remote_endpoint(ignored).address())) {
    std::string address = socket.remote_endpoint(ignored).address().to_string();
    if (!crowded_.active) {
      crowded_ = Episode{true, 0, clock_.now()};
      spdlog::warn("{} holds {} connections, the limit per address (--max-connections-per-address); refusing "
                   "more from it with too_many_connections",
                   address, addresses_.limit());
    }
    ++crowded_.refused;
    ++refused_total_;
    refuse(socket, "the broker already serves " + std::to_string(addresses_.limit()) + " connections from " + address +
                       ", its limit per address");
  } else {
    endEpisodes();
    on_accepted_(std::move(socket));
  }
  acceptNext();
}

void AcceptLoop::onAcceptError(const boost::system::error_code& error) {
  if (!starved_.active) {
    starved_ = Episode{true, 0, clock_.now()};
    spdlog::error("accept failed: {} ({} connections open); refusing new connections until that changes",
                  error.message(), open_connections_());
  }
  // EMFILE: the process is out of descriptors, and the spare can make room for one refusal.
  if (error == asio::error::no_descriptors && shedOne()) {
    acceptNext();
    return;
  }
  // ENFILE (the whole system is out), ENOBUFS, no spare, or nobody waiting: try again later. A
  // connection waiting meanwhile stays in the backlog.
  pauseAccepting();
}

bool AcceptLoop::shedOne() {
  if (!spare_.held() && !spare_.reserve()) return false;
  spare_.release();
  tcp::socket socket(acceptor_.get_executor());
  boost::system::error_code error;
  acceptor_.accept(socket, error);
  if (!error) {
    ++starved_.refused;
    ++refused_total_;
    refuse(socket, "the broker is out of file descriptors");
  }
  // The refused connection's descriptor is closed, so this normally succeeds; if not, the next
  // error finds no spare and accepting pauses instead.
  spare_.reserve();
  // would_block: the backlog was empty; since accept() takes a descriptor before it looks at the
  // backlog, an immediate retry would fail with EMFILE again, so the caller pauses.
  return !error;
}

void AcceptLoop::pauseAccepting() {
  retry_timer_.expires_after(kRetryDelay);
  retry_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || stopped_) return;
    acceptNext();
  });
}

void AcceptLoop::refuse(tcp::socket& socket, const std::string& message) {
  std::string frame;
  protocol::ErrorMsg refusal;
  refusal.code = errc::kTooManyConnections;
  refusal.message = message;
  protocol::encode(frame, 0, refusal);
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  // What the peer sent already (its HELLO) is read and dropped first: closing a socket with unread
  // input resets the connection, and a reset may destroy the ERROR before the peer reads it.
  char sink[1024];
  for (int i = 0; i < 4; ++i) {
    boost::system::error_code read_error;
    if (socket.read_some(asio::buffer(sink), read_error) == 0 || read_error) break;
  }
  // A new socket's send buffer is empty, so the short frame goes out whole without waiting.
  socket.write_some(asio::buffer(frame), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

void AcceptLoop::endEpisodes() {
  MonoTime now = clock_.now();
  if (starved_.active) {
    spdlog::warn("accepting connections again after {} ms; {} refused meanwhile for want of a file descriptor",
                 millisSince(starved_.since, now), starved_.refused);
    starved_ = Episode{};
  }
  if (crowded_.active) {
    spdlog::info("accepted a connection again after {} ms; {} refused meanwhile from addresses at their limit",
                 millisSince(crowded_.since, now), crowded_.refused);
    crowded_ = Episode{};
  }
  if (at_limit_.active) {
    spdlog::info("below the connection limit again after {} ms; {} connections refused meanwhile",
                 millisSince(at_limit_.since, now), at_limit_.refused);
    at_limit_ = Episode{};
  }
}

}  // namespace corvee::broker
