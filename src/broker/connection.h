// Connection: one peer's TCP socket on the broker's loop.
//
// Reads as much as is available into its FrameDecoder, hands every complete frame to the Core, then
// asks the Server for an end-of-turn flush. Frames the Core writes for this peer collect in
// `output_` and go out in one write when the Server starts it after the flush. While a write is in
// flight, new frames collect behind it. When more than the high-water mark waits, reading pauses:
// a peer that does not read its replies is slowed down, never allowed to grow the broker's memory.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "broker/outbox.h"
#include "broker/peer_link.h"
#include "platform/clock.h"
#include "protocol/frame_decoder.h"

namespace corvee::broker {

class Server;

class Connection final : public PeerLink, public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, PeerId id, boost::asio::ip::tcp::socket socket, std::uint32_t max_frame_length,
             MonoTime now);
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
  void readSome();
  void onRead(const boost::system::error_code& error, std::size_t n);
  void onWrite(const boost::system::error_code& error);
  std::size_t pendingBytes() const { return buffered() + writing_.size(); }

  Server& server_;
  boost::asio::ip::tcp::socket socket_;
  protocol::FrameDecoder decoder_;
  std::string writing_;  // frames of the write in flight
  bool reading_ = false;
  std::size_t read_chunk_;      // what the next read asks room for (see kFirstReadChunk)
  std::size_t read_asked_ = 0;  // the room the read in flight was given
  bool writing_now_ = false;
  bool closing_ = false;  // closeAfterFlush() was called
  bool throttled_ = false;       // reading paused by flow control
  bool notify_drained_ = false;  // the core waits to hear that output drained
  MonoTime last_read_;
  MonoTime last_write_;
};

}  // namespace corvee::broker
