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
#include "platform/clock.h"
#include "protocol/frame_decoder.h"

namespace corvee::broker {

class Server;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, PeerId id, boost::asio::ip::tcp::socket socket, std::uint32_t max_frame_length,
             MonoTime now);
  void start();
  PeerId id() const { return id_; }
  // Frames appended here are written once a commit has released them.
  std::string& output() { return output_; }
  // Frames appended here are written at the next startWrite(), commit or not.
  std::string& urgentOutput() { return urgent_; }
  // True when output() holds bytes no commit has released yet.
  bool awaitingCommit() const { return output_.size() > released_; }
  // Called by the Server after the store committed: everything in output() so far may now be
  // sent. Bytes appended later wait for the next commit, even when a write completes in between;
  // that is what keeps an acknowledgement from leaving before its commit.
  void release() { released_ = output_.size(); }
  // Writes the urgent bytes and the released ones, unless a write is already under way (its
  // completion writes the rest).
  void startWrite();
  // Stops reading and closes once buffered output is written.
  void closeAfterFlush();
  // Closes now; the Server forgets the peer.
  void close();
  // When the peer last sent something, or when the broker last resumed reading from it.
  MonoTime lastRead() const { return last_read_; }
  // True while reading is paused because the peer's replies are not being read (flow control).
  bool throttled() const { return throttled_; }
  // Asks for Core::onOutputDrained once the waiting output falls under half the high-water mark.
  void notifyWhenDrained() { notify_drained_ = true; }
  MonoTime lastWrite() const { return last_write_; }
  bool closed() const { return closed_; }
  // Set while the Server's list of connections to write this turn holds this one.
  bool in_dirty_list = false;
  // Set while the Server's list of connections waiting for the next commit holds this one.
  bool in_commit_list = false;

 private:
  void readSome();
  void onRead(const boost::system::error_code& error, std::size_t n);
  void onWrite(const boost::system::error_code& error);
  std::size_t pendingBytes() const { return output_.size() + urgent_.size() + writing_.size(); }

  Server& server_;
  PeerId id_;
  boost::asio::ip::tcp::socket socket_;
  protocol::FrameDecoder decoder_;
  std::string output_;   // frames for the next writes; the first released_ bytes may be sent
  std::size_t released_ = 0;
  std::string urgent_;   // frames that need no commit, written first
  std::string writing_;  // frames of the write in flight
  bool reading_ = false;
  bool writing_now_ = false;
  bool closing_ = false;  // closeAfterFlush() was called
  bool closed_ = false;
  bool throttled_ = false;       // reading paused by flow control
  bool notify_drained_ = false;  // the core waits to hear that output drained
  MonoTime last_read_;
  MonoTime last_write_;
};

}  // namespace corvee::broker
