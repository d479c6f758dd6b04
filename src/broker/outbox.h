// Outbox: where the broker core puts what it says to peers. The server implements it over
// sockets; unit tests implement it over strings. The core appends whole frames to a peer's output
// buffer; the server writes all of a peer's buffered frames in one write at the end of the turn.
#pragma once

#include <cstdint>
#include <string>

namespace corvee::broker {

using PeerId = std::uint64_t;

class Outbox {
 public:
  virtual ~Outbox() = default;
  // The output buffer of a connected peer for frames that report durable state (SUBMITTED,
  // RESULT, ...): they leave only after the store has committed what they report. nullptr when
  // the peer is gone.
  virtual std::string* output(PeerId peer) = 0;
  // For frames that promise nothing about the store (ASSIGN, CANCEL, ERROR, PONG, ...): they may
  // leave before the next commit, so workers need not wait for disk syncs. Frames here may
  // overtake frames in output(); the protocol matches replies by request id, not by order.
  virtual std::string* urgentOutput(PeerId peer) { return output(peer); }
  // Closes the peer once its buffered output is written. The core calls this only for protocol
  // violations that leave the stream unusable, after queueing an ERROR frame that says why.
  virtual void closeAfterFlush(PeerId peer) = 0;
  // Asks for Core::onOutputDrained(peer) once the peer has read most of its waiting output. The
  // core stops dealing to a worker whose output is over the high-water mark and calls this.
  virtual void notifyWhenDrained(PeerId peer) {}
};

}  // namespace corvee::broker
