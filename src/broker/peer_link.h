// PeerLink: how the Server reaches one peer of the Core.
//
// A peer is usually a TCP connection speaking the wire protocol (Connection), but it may live in
// the broker's own process: the HTTP API turns each request into wire messages from a peer of its
// own (http::CoreLink), so every capability the protocol has reaches HTTP through the same Core
// handlers. The Core writes frames into a link's buffers; the Server releases the durable ones
// after each commit and calls startWrite(); what "writing" means is the link's business: a
// socket write, or handing the frames to an HTTP request in the same process.
//
// Lives on the broker's loop thread; the Server holds every link by shared_ptr and forgets it
// when it closes.
#pragma once

#include <string>

#include "broker/outbox.h"
#include "platform/clock.h"

namespace corvee::broker {

class PeerLink {
 public:
  explicit PeerLink(PeerId id) : id_(id) {}
  virtual ~PeerLink() = default;
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  PeerId id() const { return id_; }
  // Frames appended here leave once a commit has released them.
  std::string& output() { return output_; }
  // Frames appended here leave at the next startWrite(), commit or not.
  std::string& urgentOutput() { return urgent_; }
  // True when output() holds bytes no commit has released yet.
  bool awaitingCommit() const { return output_.size() > released_; }
  // Called by the Server after the store committed: everything in output() so far may now leave.
  // Bytes appended later wait for the next commit, even when a write completes in between; that
  // is what keeps an acknowledgement from leaving before its commit.
  void release() { released_ = output_.size(); }
  bool closed() const { return closed_; }

  // Sends the urgent bytes and the released ones (unless a send is under way: its completion
  // sends the rest).
  virtual void startWrite() = 0;
  // Stops taking frames from the peer and closes once buffered output has left.
  virtual void closeAfterFlush() = 0;
  // Closes now; the Server forgets the peer.
  virtual void close() = 0;
  // Asks for Core::onOutputDrained once the waiting output has mostly left.
  virtual void notifyWhenDrained() {}

  // Liveness: a supervised link is sent PINGs when quiet and closed when silent for a peer
  // timeout. An in-process link cannot fall silent and is not supervised.
  virtual bool supervised() const { return true; }
  // When the peer last sent something (or reading resumed after flow control).
  virtual MonoTime lastRead() const { return MonoTime{}; }
  virtual MonoTime lastWrite() const { return MonoTime{}; }
  // True while reading is paused because the peer does not read its replies (flow control).
  virtual bool throttled() const { return false; }

  // Set while the Server's list of links to write this turn holds this one.
  bool in_dirty_list = false;
  // Set while the Server's list of links waiting for the next commit holds this one.
  bool in_commit_list = false;

 protected:
  // Moves the bytes that may leave now (the urgent ones first, then those a commit released) to
  // the end of `into`.
  void takeWritable(std::string& into);
  // Bytes buffered and not yet taken.
  std::size_t buffered() const { return output_.size() + urgent_.size(); }

  PeerId id_;
  bool closed_ = false;

 private:
  std::string output_;   // frames for the next writes; the first released_ bytes may leave
  std::size_t released_ = 0;
  std::string urgent_;   // frames that need no commit, sent first
};

}  // namespace corvee::broker
