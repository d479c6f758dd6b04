// AcceptLoop: takes the broker's new connections, and refuses those it cannot serve instead of
// leaving them waiting or spinning on them.
//
// A connection is refused with ERROR too_many_connections (request id 0, before any HELLO) and
// closed, in two cases:
// - the broker already serves `max_connections` (--max-connections);
// - the process is out of file descriptors (EMFILE). accept() would fail for every waiting
//   connection, and the listening socket would stay readable: a loop that only logs and accepts
//   again spins at full CPU. Instead the spare descriptor is given up for one accept that refuses
//   the connection, then taken back. When even that is impossible (ENFILE, or the spare could not
//   be taken back), accepting pauses for kRetryDelay and the connection waits in the backlog.
// Existing connections are served meanwhile. Each episode of refusals is logged once when it
// starts and once when it ends, with how many connections were refused: never a line per
// connection.
//
// Lives on the broker's loop thread and is used only from it. The Server owns it and the
// acceptor, and must outlive the loop's handlers (as for its own).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "broker/address_counts.h"
#include "platform/clock.h"
#include "platform/descriptors.h"

namespace corvee::broker {

class AcceptLoop {
 public:
  using Accepted = std::function<void(boost::asio::ip::tcp::socket&&)>;
  // How long accepting pauses when a connection can neither be accepted nor refused.
  static constexpr std::chrono::milliseconds kRetryDelay{100};

  // `open_connections` says how many connections the broker serves now; `on_accepted` takes each
  // connection under the limit.
  AcceptLoop(boost::asio::ip::tcp::acceptor& acceptor, Clock& clock, std::function<std::size_t()> open_connections,
             Accepted on_accepted);
  // Takes the spare descriptor and starts accepting. REQUIRES: the acceptor is listening.
  // `max_per_address` bounds the connections of one remote address (0: no bound).
  void start(std::size_t max_connections, std::size_t max_per_address = 0);
  // A connection on_accepted took from `address` has closed.
  void released(const boost::asio::ip::address& address) { addresses_.release(address); }
  // Stops accepting (the Server closes the acceptor) and gives the spare descriptor back.
  void stop();

  // Connections refused since start, for tests and stats.
  std::uint64_t refusedTotal() const { return refused_total_; }

 private:
  // A run of refusals for one reason, logged at its start and its end.
  struct Episode {
    bool active = false;
    std::uint64_t refused = 0;
    MonoTime since;
  };

  void acceptNext();
  void onAccept(const boost::system::error_code& error, boost::asio::ip::tcp::socket socket);
  void onAcceptError(const boost::system::error_code& error);
  // Gives up the spare descriptor to accept and refuse one waiting connection, then takes it back.
  // False when no connection was refused: no spare, the backlog was empty, or another error.
  bool shedOne();
  // Accepts again after kRetryDelay.
  void pauseAccepting();
  // Sends ERROR too_many_connections with `message`, then closes the socket.
  void refuse(boost::asio::ip::tcp::socket& socket, const std::string& message);
  void endEpisodes();

  boost::asio::ip::tcp::acceptor& acceptor_;
  Clock& clock_;
  std::function<std::size_t()> open_connections_;
  Accepted on_accepted_;
  boost::asio::steady_timer retry_timer_;
  SpareDescriptor spare_;
  std::size_t max_connections_ = 0;
  bool stopped_ = false;
  Episode at_limit_;      // refusing because max_connections are served
  Episode starved_;       // refusing or pausing because accept() fails (no descriptor)
  Episode crowded_;       // refusing connections from addresses at --max-connections-per-address
  AddressCounts addresses_{0};
  std::uint64_t refused_total_ = 0;
};

}  // namespace corvee::broker
