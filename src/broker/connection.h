// Connection: one peer's TCP socket (or TLS stream over it) on the broker's loop.
//
// Reads as much as is available into its FrameDecoder, hands every complete frame to the Core, then
// asks the Server for an end-of-turn flush. Frames the Core writes for this peer collect in
// `output_` and go out in one write when the Server starts it after the flush. While a write is in
// flight, new frames collect behind it. When more than the high-water mark waits, reading pauses:
// a peer that does not read its replies is slowed down, never allowed to grow the broker's memory.
//
// The stream is a template parameter, so the plain-TCP connection is the same code it always was
// (no branch, wrapper or copy per frame) and TLS adds only its own: BasicConnection<tcp::socket> is
// Connection, BasicConnection<ssl::stream<tcp::socket>> TlsConnection. A TLS connection first runs
// the handshake (asynchronously, on the loop); until it completes, nothing is read as frames and
// nothing is written (a PING the housekeeping queues meanwhile waits). A peer that never completes
// it is silent as far as the Server is concerned, and is closed after the peer timeout like any
// silent peer. A failed handshake is logged as one line and the connection closed; a peer whose
// first bytes were no TLS at all (plain TCP on the TLS port) is first sent a TLS alert, which tells
// it at once what is wrong.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <string>
#include <type_traits>

#include "broker/outbox.h"
#include "broker/peer_link.h"
#include "platform/clock.h"
#include "protocol/frame_decoder.h"

namespace corvee::broker {

class Server;

template <typename Stream>
class BasicConnection final : public PeerLink, public std::enable_shared_from_this<BasicConnection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, boost::asio::ip::tcp::socket>;

  // `remote` ("address:port") names the peer in the log line of a failed TLS handshake.
  BasicConnection(Server& server, PeerId id, Stream&& stream, std::uint32_t max_frame_length, MonoTime now,
                  std::string remote);
  // Starts reading (after the TLS handshake, for a TLS connection).
  void start();

  // PeerLink.
  void startWrite() override;
  void closeAfterFlush() override;
  void close() override;
  void notifyWhenDrained() override { notify_drained_ = true; }
  MonoTime lastRead() const override { return last_read_; }
  MonoTime lastWrite() const override { return last_write_; }
  bool throttled() const override { return throttled_; }

 private:
  void onHandshake(const boost::system::error_code& error);
  // Writes a TLS alert to a peer whose first bytes were not TLS, so that it knows why it is closed.
  void tellPlainPeer();
  void readSome();
  void onRead(const boost::system::error_code& error, std::size_t n);
  void onWrite(const boost::system::error_code& error);
  std::size_t pendingBytes() const { return buffered() + writing_.size(); }

  auto& socket() { return stream_.lowest_layer(); }

  Server& server_;
  Stream stream_;
  protocol::FrameDecoder decoder_;
  std::string writing_;  // frames of the write in flight
  bool reading_ = false;
  std::size_t read_chunk_;      // what the next read asks room for (see kFirstReadChunk)
  std::size_t read_asked_ = 0;  // the room the read in flight was given
  bool writing_now_ = false;
  bool closing_ = false;  // closeAfterFlush() was called
  bool throttled_ = false;       // reading paused by flow control
  bool notify_drained_ = false;  // the core waits to hear that output drained
  bool handshaking_ = kTls;      // the TLS handshake has not completed: no frames either way yet
  MonoTime last_read_;
  MonoTime last_write_;
  std::string remote_;  // "address:port", for the log
};

using Connection = BasicConnection<boost::asio::ip::tcp::socket>;
using TlsConnection = BasicConnection<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;
extern template class BasicConnection<boost::asio::ip::tcp::socket>;
extern template class BasicConnection<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;

}  // namespace corvee::broker
