#include "broker/connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "broker/server.h"
#include "net/tls_context.h"

namespace corvee::broker {

namespace asio = boost::asio;

namespace {
// One read asks for at least this much room: large enough to take many small frames per call.
// Reads start small and double while they fill what they were given, up to kReadChunk: a busy
// peer soon reads 64 KiB at a time, and an idle one (10,000 of them, say) holds only 4 KiB.
constexpr std::size_t kFirstReadChunk = 4 * 1024;
constexpr std::size_t kReadChunk = 64 * 1024;
}  // namespace

template <typename Stream>
BasicConnection<Stream>::BasicConnection(Server& server, PeerId id, Stream&& stream, std::uint32_t max_frame_length,
                                         MonoTime now, std::string remote)
    : PeerLink(id),
      server_(server),
      stream_(std::move(stream)),
      decoder_(max_frame_length),
      read_chunk_(kFirstReadChunk),
      last_read_(now),
      last_write_(now),
      remote_(std::move(remote)) {}

template <typename Stream>
void BasicConnection<Stream>::start() {
  if constexpr (kTls) {
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = this->shared_from_this()](const boost::system::error_code& error) {
                              self->onHandshake(error);
                            });
  } else {
    readSome();
  }
}

template <typename Stream>
void BasicConnection<Stream>::onHandshake(const boost::system::error_code& error) {
  if constexpr (kTls) {
    if (closed_) return;  // closed meanwhile: silent past the peer timeout, or the broker stopping
    if (error) {
      std::string why = net::describeTlsError(error, stream_.native_handle());
      bool plain = net::peerSpokeNoTls(error);  // a plain-TCP peer's HELLO is no TLS record
      spdlog::warn("peer {} ({}): TLS handshake failed: {}{}; closing", id_, remote_, why,
                   plain ? " (a plain-TCP peer on the TLS port?)" : "");
      if (plain) tellPlainPeer();
      close();
      return;
    }
    handshaking_ = false;
    readSome();
    startWrite();  // anything queued during the handshake (a PING) leaves now
  }
}

template <typename Stream>
void BasicConnection<Stream>::tellPlainPeer() {
  // Seven bytes into a fresh connection's empty send buffer: written at once, without waiting on
  // the loop. A peer that does not take them loses nothing but the reason for the close.
  if constexpr (kTls) {
    boost::system::error_code ignored;
    auto& tcp = stream_.next_layer();
    tcp.non_blocking(true, ignored);
    std::string_view alert = net::plainPeerAlert();
    tcp.write_some(asio::buffer(alert.data(), alert.size()), ignored);
  }
}

template <typename Stream>
void BasicConnection<Stream>::readSome() {
  if (reading_ || closing_ || closed_) return;
  reading_ = true;
  char* area = decoder_.prepare(read_chunk_);
  read_asked_ = decoder_.writable();
  stream_.async_read_some(asio::buffer(area, read_asked_),
                          [self = this->shared_from_this()](const boost::system::error_code& error, std::size_t n) {
                            self->onRead(error, n);
                          });
}

template <typename Stream>
void BasicConnection<Stream>::onRead(const boost::system::error_code& error, std::size_t n) {
  reading_ = false;
  if (closed_) return;
  if (error) {
    if (error != asio::error::eof && error != asio::error::operation_aborted &&
        (!kTls || error != asio::ssl::error::stream_truncated)) {
      spdlog::debug("peer {}: read failed: {}", id_, error.message());
    }
    close();
    return;
  }
  last_read_ = server_.clock().now();
  if (n == read_asked_ && read_chunk_ < kReadChunk) read_chunk_ *= 2;
  decoder_.commit(n);
  Core& core = server_.core();
  protocol::Frame frame;
  for (;;) {
    protocol::DecodeEvent event = decoder_.next(frame);
    if (event == protocol::DecodeEvent::kNeedMore) break;
    if (event == protocol::DecodeEvent::kFrame) {
      core.onFrame(id_, frame);
    } else if (event == protocol::DecodeEvent::kOversized) {
      core.onOversizedFrame(id_, frame);
    } else {
      core.onMalformedStream(id_);
      break;
    }
    if (closing_ || closed_) break;
  }
  server_.requestFlush();
  // Flow control: a peer with too many unwritten replies is not read until they drain.
  if (pendingBytes() < server_.outputHighWater()) {
    // Posted after the flush, so the replies leave before the next read, which usually finds
    // nothing yet (a wasted system call better spent off the reply's path).
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->readSome(); });
  } else {
    throttled_ = true;
  }
}

template <typename Stream>
void BasicConnection<Stream>::startWrite() {
  if (writing_now_ || closed_ || handshaking_) return;
  writing_.clear();
  takeWritable(writing_);
  if (writing_.empty()) {
    if (closing_ && output().empty()) close();
    return;
  }
  writing_now_ = true;
  asio::async_write(stream_, asio::buffer(writing_),
                    [self = this->shared_from_this()](const boost::system::error_code& error, std::size_t) {
                      self->onWrite(error);
                    });
}

template <typename Stream>
void BasicConnection<Stream>::onWrite(const boost::system::error_code& error) {
  writing_now_ = false;
  if (closed_) return;
  if (error) {
    spdlog::debug("peer {}: write failed: {}", id_, error.message());
    close();
    return;
  }
  last_write_ = server_.clock().now();
  writing_.clear();  // written: no longer pending
  startWrite();
  if (closed_) return;
  if (pendingBytes() < server_.outputHighWater() / 2) {
    if (throttled_) {
      // Silence is counted from here: the paused time was the broker's, not the peer's.
      throttled_ = false;
      last_read_ = last_write_;
    }
    if (!reading_) readSome();
    if (notify_drained_) {
      notify_drained_ = false;
      server_.core().onOutputDrained(id_);
      server_.requestFlush();
    }
  }
}

template <typename Stream>
void BasicConnection<Stream>::closeAfterFlush() {
  // The write itself waits for the Server's end-of-turn flush, like every other write, so frames
  // buffered earlier in this turn are never sent before the store has committed them.
  closing_ = true;
}

template <typename Stream>
void BasicConnection<Stream>::close() {
  if (closed_) return;
  closed_ = true;
  // A TLS connection ends without close_notify: the broker closes only peers it is done with, and
  // every frame it sent them had been written whole (the frames carry their own lengths, so a
  // truncation is visible to the peer anyway).
  boost::system::error_code ignored;
  socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
  server_.forget(id_);
}

template class BasicConnection<asio::ip::tcp::socket>;
template class BasicConnection<asio::ssl::stream<asio::ip::tcp::socket>>;

}  // namespace corvee::broker
