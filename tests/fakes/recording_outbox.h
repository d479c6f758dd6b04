// RecordingOutbox: an Outbox over strings, for driving broker::Core without sockets.
//
// Each connected peer gets a std::string that the core appends whole frames to, exactly as the
// server's output buffers do. take() decodes a peer's buffered bytes back into frames with the real
// FrameDecoder, so the tests see what would have gone on the wire, framing included.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "broker/outbox.h"
#include "protocol/frame_decoder.h"
#include "protocol/messages.h"

namespace corvee::testing {

// One frame a peer received. Owns its body, so messages decoded from it stay valid as long as it.
struct ReceivedFrame {
  std::uint8_t type = 0;
  std::uint32_t request_id = 0;
  std::string body;

  bool is(protocol::MsgType t) const { return type == static_cast<std::uint8_t>(t); }
  // Decodes the body as Msg; a body that does not decode is a test failure, since the broker
  // must only ever send well-formed frames. String fields view into `body`.
  template <typename Msg>
  Msg as() const {
    EXPECT_TRUE(is(Msg::kType)) << "frame is " << protocol::msgTypeName(type) << ", not "
                                << protocol::msgTypeName(static_cast<std::uint8_t>(Msg::kType));
    auto decoded = protocol::decode<Msg>(body);
    EXPECT_TRUE(decoded.isOk()) << decoded.status().toString();
    return decoded.isOk() ? *decoded : Msg{};
  }
};

class RecordingOutbox final : public broker::Outbox {
 public:
  std::string* output(broker::PeerId peer) override {
    if (connected_.count(peer) == 0) return nullptr;  // like the server: a gone peer has no buffer
    return &out_[peer];
  }
  void closeAfterFlush(broker::PeerId peer) override { closing_.insert(peer); }
  void notifyWhenDrained(broker::PeerId peer) override { drain_wanted_.insert(peer); }

  void connect(broker::PeerId peer) { connected_.insert(peer); }
  void disconnect(broker::PeerId peer) {
    connected_.erase(peer);
    out_.erase(peer);
  }
  bool closing(broker::PeerId peer) const { return closing_.count(peer) != 0; }
  // True when the core asked to hear once `peer`'s output drains.
  bool drainWanted(broker::PeerId peer) const { return drain_wanted_.count(peer) != 0; }
  // The raw bytes buffered for `peer` and not yet taken.
  const std::string& raw(broker::PeerId peer) { return out_[peer]; }

  // Decodes and removes every frame buffered for `peer`. Leftover bytes that do not form a whole
  // frame are a test failure: the core must only append complete frames.
  std::vector<ReceivedFrame> take(broker::PeerId peer) {
    std::vector<ReceivedFrame> frames;
    std::string& bytes = out_[peer];
    protocol::FrameDecoder decoder(UINT32_MAX);
    std::copy(bytes.begin(), bytes.end(), decoder.prepare(bytes.size()));
    decoder.commit(bytes.size());
    protocol::Frame frame;
    for (;;) {
      protocol::DecodeEvent event = decoder.next(frame);
      if (event != protocol::DecodeEvent::kFrame) {
        EXPECT_EQ(event, protocol::DecodeEvent::kNeedMore);
        break;
      }
      frames.push_back({frame.type, frame.request_id, std::string(frame.body)});
    }
    EXPECT_EQ(decoder.buffered(), 0u) << "partial frame left in the output of peer " << peer;
    bytes.clear();
    return frames;
  }

 private:
  std::set<broker::PeerId> connected_;
  std::set<broker::PeerId> closing_;
  std::set<broker::PeerId> drain_wanted_;
  std::map<broker::PeerId, std::string> out_;
};

}  // namespace corvee::testing
