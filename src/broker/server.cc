#include "broker/server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/connection.h"
#include "corvee/errors.h"
#include "broker/connection_limit.h"
#include "broker/listen.h"
#include "net/tls_context.h"
#include "platform/descriptors.h"
#include "protocol/constants.h"

namespace corvee::broker {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// How often expired results are purged from the store: a tenth of --result-ttl, so a result
// outlives its TTL by at most a tenth of it (plus a housekeeping period), but at least every
// minute and at most every second. A purge that finds nothing is one index lookup, and a long TTL
// still costs one purge a minute.
std::chrono::milliseconds purgeInterval(std::chrono::milliseconds result_ttl) {
  return std::clamp<std::chrono::milliseconds>(result_ttl / 10, std::chrono::seconds(1), std::chrono::seconds(60));
}
// How often a commit is retried while the disk is full: often enough to resume within a second of
// space returning, rarely enough that retrying costs nothing.
constexpr auto kStoreFullRetry = std::chrono::seconds(1);
}  // namespace

Server::Server(asio::io_context& io, const BrokerOptions& options, Store& store, Clock& clock)
    : io_(io),
      options_(options),
      store_(store),
      clock_(clock),
      core_(options_, store, clock, *this),
      acceptor_(io),
      accept_loop_(acceptor_, clock, [this] { return connections_.size(); },
                   [this](tcp::socket&& socket) { onAccepted(std::move(socket)); }),
      deadline_timer_(io),
      housekeeping_timer_(io),
      commit_timer_(io),
      store_retry_timer_(io),
      last_purge_(clock.now()) {}

Server::~Server() = default;

Result<protocol::Endpoint> Server::start() {
  auto endpoint = protocol::parseEndpoint(options_.bind);
  if (!endpoint) return endpoint.status();
  if (options_.tls_cert.empty() != options_.tls_key.empty()) {
    return Status::error(errc::kBadRequest, "--tls-cert and --tls-key go together: give both or neither");
  }
  if (!options_.tls_client_ca.empty() && options_.tls_cert.empty()) {
    return Status::error(errc::kBadRequest, "--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (!options_.tls_cert.empty()) {
    auto context = net::makeServerContext(options_.tls_cert, options_.tls_key, options_.tls_client_ca);
    if (!context) return context.status();
    tls_ = std::move(*context);
  }
  // Before the first peer can connect: no moment in which anyone is let in without a token.
  if (Status tokens = reloadTokens(); !tokens) return tokens;
  if (Status recovered = core_.recover(); !recovered) {
    return Status::error(recovered.code(), "recovering jobs from " + store_.describe() + ": " + recovered.message());
  }
  auto port = listenOn(acceptor_, *endpoint);
  if (!port) {
    if (port.status().code() != errc::kUnavailable) return port.status();
    return Status::error(errc::kUnavailable, "cannot listen on " + endpoint->toString() + ": " + port.status().message());
  }
  protocol::Endpoint bound{endpoint->host, *port};
  if (store_.full()) {
    commit_refused_ = true;  // recovery's own changes may be waiting; the retry timer commits them
    onStoreFull(Status::error(errc::kStoreFull, store_.describe() + ": the disk is full"));
  }
  accept_loop_.start(connectionLimit(), options_.max_connections_per_address);
  armHousekeeping();
  armDeadlineTimer();
  return bound;
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  accept_loop_.stop();
  acceptor_.close(ignored);
  deadline_timer_.cancel();
  housekeeping_timer_.cancel();
  commit_timer_.cancel();
  store_retry_timer_.cancel();
  // What was handled but not yet committed becomes durable; its acknowledgements are not sent.
  if (fatal_.isOk()) {
    if (Status committed = core_.commit(); !committed) spdlog::error("final commit failed: {}", committed.toString());
  }
  // Closing erases from connections_, so close from a copy.
  auto connections = connections_;
  for (auto& [id, connection] : connections) connection->close();
}

Status Server::health() const {
  if (!fatal_.isOk()) return fatal_;
  if (stopped_) return Status::error(errc::kShuttingDown, "the broker is stopping");
  if (store_full_since_) return Status::error(errc::kStoreFull, store_.describe() + ": the disk is full");
  return Status::ok();
}

std::size_t Server::connectionLimit() const {
  std::optional<std::uint64_t> descriptors = openDescriptorLimit();
  std::size_t fitting = defaultMaxConnections(descriptors);
  std::string limit_text = descriptors ? std::to_string(*descriptors) : std::string("none");
  if (options_.max_connections == 0) {
    spdlog::info("serving at most {} connections (descriptor limit {})", fitting, limit_text);
    return fitting;
  }
  if (options_.max_connections > fitting) {
    spdlog::warn("--max-connections {} is more than the descriptor limit ({}) leaves room for (about {}); "
                 "connections beyond that are refused as descriptors run out",
                 options_.max_connections, limit_text, fitting);
  }
  return options_.max_connections;
}

void Server::onAccepted(tcp::socket&& socket) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto remote = socket.remote_endpoint(ignored);
  std::string remote_text = remote.address().to_string() + ":" + std::to_string(remote.port());
  PeerId id = next_peer_++;
  if (options_.max_connections_per_address > 0) addresses_.emplace(id, remote.address());
  std::uint32_t max_frame = options_.max_payload + protocol::kFrameOverhead;
  if (tls_) {
    auto connection = std::make_shared<TlsConnection>(
        *this, id, asio::ssl::stream<tcp::socket>(std::move(socket), *tls_), max_frame, clock_.now(), remote_text);
    connections_.emplace(id, connection);
    core_.onConnect(id, std::move(remote_text));
    connection->start();
    return;
  }
  auto connection = std::make_shared<Connection>(*this, id, std::move(socket), max_frame, clock_.now(), remote_text);
  connections_.emplace(id, connection);
  core_.onConnect(id, std::move(remote_text));
  connection->start();
}

PeerLink* Server::dirtyLink(PeerId peer) {
  auto it = connections_.find(peer);
  if (it == connections_.end() || it->second->closed()) return nullptr;
  PeerLink& connection = *it->second;
  if (!connection.in_dirty_list) {
    connection.in_dirty_list = true;
    dirty_.push_back(peer);
  }
  return &connection;
}

void Server::attach(std::shared_ptr<PeerLink> link, std::string remote) {
  PeerId id = link->id();
  connections_.emplace(id, std::move(link));
  core_.onConnect(id, std::move(remote), /*trusted=*/true);
}

Status Server::reloadTokens() {
  if (options_.auth_tokens.empty()) return Status::ok();
  auto tokens = TokenTable::load(options_.auth_tokens);
  if (!tokens) return tokens.status();
  spdlog::info("{} tokens from {}", tokens->size(), options_.auth_tokens);
  core_.setTokens(std::make_shared<const TokenTable>(std::move(*tokens)));
  requestFlush();  // refusals of peers whose tokens went away
  return Status::ok();
}

std::string* Server::output(PeerId peer) {
  PeerLink* connection = dirtyLink(peer);
  if (connection == nullptr) return nullptr;
  if (!connection->in_commit_list) {
    connection->in_commit_list = true;
    awaiting_commit_.push_back(peer);
  }
  return &connection->output();
}

std::string* Server::urgentOutput(PeerId peer) {
  PeerLink* connection = dirtyLink(peer);
  return connection == nullptr ? nullptr : &connection->urgentOutput();
}

void Server::closeAfterFlush(PeerId peer) {
  auto it = connections_.find(peer);
  if (it == connections_.end()) return;
  it->second->closeAfterFlush();
  urgentOutput(peer);  // puts it on this turn's write list, so the close happens after the write
}

void Server::notifyWhenDrained(PeerId peer) {
  auto it = connections_.find(peer);
  if (it != connections_.end()) it->second->notifyWhenDrained();
}

void Server::forget(PeerId peer) {
  if (connections_.erase(peer) == 0) return;
  if (auto address = addresses_.find(peer); address != addresses_.end()) {
    accept_loop_.released(address->second);
    addresses_.erase(address);
  }
  core_.onPeerGone(peer);
  requestFlush();  // the peer's jobs may now go to other workers
}

void Server::requestFlush() {
  if (flush_posted_ || stopped_) return;
  flush_posted_ = true;
  // Posted, not called: reads that are already complete run first, so one flush serves them all.
  asio::post(io_, [this] {
    flush_posted_ = false;
    flushTurn();
  });
}

void Server::flushTurn() {
  if (!fatal_.isOk() || stopped_) return;
  core_.deal();
  // ASSIGNs and other urgent frames leave now, so workers run while the disk syncs.
  writeDirty();
  if (commit_refused_) {
    // The disk is full: store_retry_timer_ retries the commit; replies wait for it.
  } else if (commit_timer_armed_) {
    // A deferred commit is already due; it will cover this turn too.
  } else if (clock_.now() - last_commit_end_ >= commit_delay_) {
    if (commitNow()) {
      writeDirty();
    } else if (!fatal_.isOk()) {
      return;
    }
  } else {
    commit_timer_armed_ = true;
    commit_timer_.expires_at(last_commit_end_ + commit_delay_);
    commit_timer_.async_wait([this](const boost::system::error_code& error) {
      commit_timer_armed_ = false;
      if (error || stopped_ || !fatal_.isOk()) return;
      if (commitNow()) writeDirty();
    });
  }
  armDeadlineTimer();
}

bool Server::commitNow() {
  MonoTime start = clock_.now();
  if (Status committed = core_.commit(); !committed) {
    if (committed.code() == errc::kStoreFull) {
      commit_refused_ = true;
      onStoreFull(committed);
      return false;
    }
    // Nothing since the last commit may be acknowledged: the store's state is unknown.
    fatal_ = committed;
    spdlog::critical("store commit failed, stopping without acknowledging: {}", committed.toString());
    stop();
    io_.stop();
    return false;
  }
  last_commit_end_ = clock_.now();
  core_.observeCommit(last_commit_end_ - start);
  commit_refused_ = false;
  if (store_.full()) {
    // Written, but the disk is below its reserve: new jobs are refused until room returns.
    onStoreFull(Status::error(errc::kStoreFull, store_.describe() + ": less free disk space than --disk-reserve"));
  } else if (store_full_since_) {
    spdlog::warn("the store is writable again after {} ms with a full disk; taking new jobs",
                 std::chrono::duration_cast<std::chrono::milliseconds>(last_commit_end_ - *store_full_since_).count());
    store_full_since_.reset();
  }
  // A commit that syncs to disk sets the pace of the next: waiting twice as long as the sync took
  // lets about two thirds of the time go to work rather than to syncing. One that costs nothing
  // (the memory store) adds no delay at all.
  auto took = last_commit_end_ - start;
  commit_delay_ = took < std::chrono::microseconds(100) ? std::chrono::steady_clock::duration(0)
                                                         : std::min<std::chrono::steady_clock::duration>(
                                                               2 * took, std::chrono::milliseconds(4));
  std::vector<PeerId> waiting;
  waiting.swap(awaiting_commit_);
  for (PeerId peer : waiting) {
    PeerLink* connection = dirtyLink(peer);
    if (connection == nullptr) continue;
    connection->in_commit_list = false;
    connection->release();
  }
  return true;
}

void Server::onStoreFull(const Status& why) {
  if (!store_full_since_) {
    store_full_since_ = clock_.now();
    spdlog::error("{}; refusing new jobs with store_full and holding replies that need a commit until "
                  "space returns (retrying every second)",
                  why.message());
  }
  store_retry_timer_.expires_after(kStoreFullRetry);
  store_retry_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || stopped_ || !fatal_.isOk()) return;
    if (commitNow()) writeDirty();
  });
}

void Server::writeDirty() {
  std::vector<PeerId> dirty;
  dirty.swap(dirty_);
  for (PeerId peer : dirty) {
    auto it = connections_.find(peer);
    if (it == connections_.end()) continue;
    // Held here because startWrite() may close the connection, which erases it from the map.
    std::shared_ptr<PeerLink> connection = it->second;
    connection->in_dirty_list = false;
    connection->startWrite();
  }
}

void Server::armDeadlineTimer() {
  std::optional<MonoTime> next = core_.nextDeadline();
  if (!next || (deadline_armed_ && *deadline_armed_ <= *next)) return;
  deadline_armed_ = next;
  deadline_timer_.expires_at(*next);
  deadline_timer_.async_wait([this](const boost::system::error_code& error) { onDeadlineTimer(error); });
}

void Server::onDeadlineTimer(const boost::system::error_code& error) {
  if (error == asio::error::operation_aborted) return;  // re-armed earlier, or stopping
  deadline_armed_.reset();
  core_.tick();
  requestFlush();
  armDeadlineTimer();
}

void Server::armHousekeeping() {
  // Half the heartbeat interval: a PING goes out at most 1.5 intervals after the last frame.
  housekeeping_timer_.expires_after(options_.heartbeat / 2);
  housekeeping_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || stopped_) return;
    housekeeping();
    armHousekeeping();
  });
}

void Server::housekeeping() {
  MonoTime now = clock_.now();
  core_.releaseMemoryWhenQuiet();
  std::vector<std::shared_ptr<PeerLink>> silent;
  for (auto& [id, connection] : connections_) {
    if (!connection->supervised()) continue;
    // A peer the broker stopped reading (flow control) cannot show signs of life: that time is
    // the broker's doing, not the peer's silence, and it has output enough to read meanwhile.
    // Except that a worker holding jobs must go on taking in what it is sent (its jobs, their
    // CANCELs): one whose output has not moved for a peer timeout is frozen, and its jobs must
    // go back to the queue rather than wait for it for ever.
    if (connection->throttled()) {
      if (now - connection->lastWrite() > options_.peer_timeout && core_.holdsJobs(id)) silent.push_back(connection);
      continue;
    }
    if (now - connection->lastRead() > options_.peer_timeout) {
      silent.push_back(connection);
    } else if (now - connection->lastWrite() >= options_.heartbeat) {
      if (std::string* out = urgentOutput(id)) protocol::encode(*out, 0, protocol::PingMsg{});
    }
  }
  for (auto& connection : silent) {
    spdlog::warn("peer {} silent for more than {} ms; closing", connection->id(), options_.peer_timeout.count());
    connection->close();
  }
  if (now - last_purge_ >= purgeInterval(options_.result_ttl)) {
    last_purge_ = now;
    core_.purgeExpiredResults();
  }
  requestFlush();
}

}  // namespace corvee::broker
