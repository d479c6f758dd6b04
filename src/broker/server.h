// Server: the broker's network side on one Boost.Asio event loop. It accepts connections, feeds
// their frames to the Core, runs the end-of-turn flush (deal jobs, commit the store, write every
// peer's replies in one write each), fires the Core's deadlines, and keeps peers alive with
// heartbeats. Everything runs on the loop's single thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "broker/accept_loop.h"
#include "broker/core.h"
#include "broker/options.h"
#include "broker/outbox.h"
#include "protocol/endpoint.h"

namespace corvee::broker {

class PeerLink;

class Server final : public Outbox {
 public:
  Server(boost::asio::io_context& io, const BrokerOptions& options, Store& store, Clock& clock);
  ~Server() override;

  // Loads the TLS certificate and key when the options name them, recovers the store's jobs, binds
  // the listening socket and starts accepting. Returns the bound endpoint (with the real port when 0
  // was asked for). Fails with a message naming what failed: bad_request for TLS files that cannot
  // be used (unreadable, not PEM, a key that does not match the certificate).
  Result<protocol::Endpoint> start();
  // Stops accepting, closes every connection and cancels timers; the loop then runs dry.
  void stop();
  // Non-OK once the store failed; the broker must exit without acknowledging more.
  const Status& fatal() const { return fatal_; }
  // OK while the broker takes new work: not stopped, its store neither failed nor full.
  Status health() const;

  // Outbox.
  std::string* output(PeerId peer) override;
  std::string* urgentOutput(PeerId peer) override;
  void closeAfterFlush(PeerId peer) override;
  void notifyWhenDrained(PeerId peer) override;

  // An in-process peer (the HTTP API's): gets an id, joins the Core as if it had connected from
  // `remote`, and is served like a connection until it closes.
  PeerId newPeerId() { return next_peer_++; }
  void attach(std::shared_ptr<PeerLink> link, std::string remote);
  // Reads --auth-tokens again and applies it to every peer (Core::setTokens). On failure the tokens
  // in force stay, and the error says why. Nothing to do without --auth-tokens.
  Status reloadTokens();
  // The io_context the broker's loop runs.
  boost::asio::io_context& io() { return io_; }
  const BrokerOptions& options() const { return options_; }
  // True when the wire protocol is served over TLS (after start()).
  bool tls() const { return tls_ != nullptr; }
  // The TLS context of --tls-cert (null without): the HTTP API serves HTTPS with it too.
  boost::asio::ssl::context* tlsContext() const { return tls_.get(); }

  // Called by links.
  Core& core() { return core_; }
  Clock& clock() { return clock_; }
  void requestFlush();
  void forget(PeerId peer);
  std::size_t outputHighWater() const { return options_.output_high_water; }

 private:
  // Takes a connection the AcceptLoop accepted under the limit.
  void onAccepted(boost::asio::ip::tcp::socket&& socket);
  // --max-connections, or the default the descriptor limit allows; logs what was chosen.
  std::size_t connectionLimit() const;
  void flushTurn();
  // Commits the store and releases every acknowledgement waiting for it. False when the commit
  // failed: the server has then stopped, or, when the disk is full, it retries later.
  bool commitNow();
  // The store's disk is full: log once per episode and retry the commit on a timer. The broker
  // keeps serving; the store refuses new jobs and replies that need a commit wait.
  void onStoreFull(const Status& why);
  // Starts a write on every connection given output since the last call.
  void writeDirty();
  PeerLink* dirtyLink(PeerId peer);
  void armDeadlineTimer();
  void onDeadlineTimer(const boost::system::error_code& error);
  void armHousekeeping();
  void housekeeping();

  boost::asio::io_context& io_;
  BrokerOptions options_;
  Store& store_;
  Clock& clock_;
  Core core_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // set when serving TLS; shared by every TlsConnection
  boost::asio::ip::tcp::acceptor acceptor_;
  AcceptLoop accept_loop_;
  boost::asio::steady_timer deadline_timer_;
  std::optional<MonoTime> deadline_armed_;  // when deadline_timer_ fires, if armed
  boost::asio::steady_timer housekeeping_timer_;
  std::unordered_map<PeerId, std::shared_ptr<PeerLink>> connections_;
  // Each connection's remote address, kept only under --max-connections-per-address.
  std::unordered_map<PeerId, boost::asio::ip::address> addresses_;
  std::vector<PeerId> dirty_;  // connections given output this turn
  std::vector<PeerId> awaiting_commit_;  // connections holding acknowledgements for the next commit
  // Group commit across turns: right after a commit, the next one waits as long as the last one
  // took, so changes from several turns share one sync while urgent frames keep flowing.
  boost::asio::steady_timer commit_timer_;
  bool commit_timer_armed_ = false;
  MonoTime last_commit_end_;
  std::chrono::steady_clock::duration commit_delay_{0};
  PeerId next_peer_ = 1;
  bool flush_posted_ = false;
  bool stopped_ = false;
  Status fatal_;
  std::optional<MonoTime> store_full_since_;  // set while the store is full (logged once per episode)
  bool commit_refused_ = false;  // the last commit found no room: only store_retry_timer_ commits
  boost::asio::steady_timer store_retry_timer_;
  MonoTime last_purge_;
};

}  // namespace corvee::broker
