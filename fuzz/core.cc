// Fuzz target: the broker's Core (src/broker/core.*) driven by arbitrary frame sequences from a few
// peers, on a fake clock with a memory store, as the server drives it (tests/broker/core_fixture.h
// does the same for the unit tests).
//
// Input: byte 0 picks options (the worker selection, strict guarantees); then records of
// [op u8][peer u8][length u16 little-endian][length bytes]. Ops: connect, bytes from the peer
// (through the peer's own FrameDecoder, in the record's chunk), the peer's connection closes,
// time passes (length ms) and the time limits run, the peer's output drains, the broker restarts
// on its store. After every op the server's turn ends: flush(), then peers the Core asked to close
// are closed. Properties: nothing crashes, throws or leaks; every commit succeeds; the Core writes
// only whole frames to each peer, each a message that decodes (at one of the protocol versions).
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "broker/core.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_random.h"
#include "fuzz_check.h"
#include "message_table.h"
#include "protocol/constants.h"
#include "protocol/frame_decoder.h"
#include "store/memory_store.h"

namespace {

using namespace corvee;
using broker::PeerId;

constexpr std::uint32_t kMaxPayload = 4096;
constexpr std::size_t kPeers = 4;

// True when `frame` is a known message whose body decodes at some protocol version (the harness
// does not track which version each peer chose).
bool decodes(const protocol::Frame& frame) {
  bool ok = false;
  fuzz::forEachMessage([&]<typename Msg>(std::type_identity<Msg>) {
    if (static_cast<std::uint8_t>(Msg::kType) != frame.type) return;
    for (std::uint16_t v = protocol::kMinVersion; v <= protocol::kVersion && !ok; ++v) {
      ok = protocol::decode<Msg>(frame.body, v).isOk();
    }
  });
  return ok;
}

// Like the server's output buffers, with the closes the Core asks for recorded.
class Outbox final : public broker::Outbox {
 public:
  std::string* output(PeerId peer) override { return connected_.count(peer) ? &out_[peer] : nullptr; }
  void closeAfterFlush(PeerId peer) override {
    FUZZ_CHECK(connected_.count(peer) != 0);
    closing_.insert(peer);
  }
  void connect(PeerId peer) { connected_.insert(peer); }
  void disconnect(PeerId peer) {
    connected_.erase(peer);
    closing_.erase(peer);
    // What it was sent must be whole frames.
    check(peer);
    out_.erase(peer);
  }
  bool connected(PeerId peer) const { return connected_.count(peer) != 0; }
  std::set<PeerId> takeClosing() { return std::exchange(closing_, {}); }
  // The peer's output is written: it must be whole frames, none oversized.
  void check(PeerId peer) {
    std::string& bytes = out_[peer];
    protocol::FrameDecoder decoder(kMaxPayload + protocol::kFrameOverhead);
    std::copy(bytes.begin(), bytes.end(), decoder.prepare(bytes.size()));
    decoder.commit(bytes.size());
    protocol::Frame frame;
    protocol::DecodeEvent event;
    while ((event = decoder.next(frame)) == protocol::DecodeEvent::kFrame) FUZZ_CHECK(decodes(frame));
    FUZZ_CHECK(event == protocol::DecodeEvent::kNeedMore && decoder.buffered() == 0);
    bytes.clear();
  }
  void checkAll() {
    for (auto& [peer, bytes] : out_) check(peer);
  }

 private:
  std::set<PeerId> connected_;
  std::set<PeerId> closing_;
  std::map<PeerId, std::string> out_;
};

struct Harness {
  broker::BrokerOptions options;
  MemoryStore store;
  testing::FakeClock clock;
  testing::FakeRandom random{0.5};
  Outbox outbox;
  std::unique_ptr<broker::Core> core;
  // Each connected peer's decoder; a restart's peers get new ids, as new connections do.
  std::map<PeerId, std::unique_ptr<protocol::FrameDecoder>> decoders;
  PeerId generation = 0;

  void start() {
    core = std::make_unique<broker::Core>(options, store, clock, outbox, random);
    FUZZ_CHECK(core->recover());
  }
  PeerId id(std::uint8_t peer) const { return generation * kPeers + peer % kPeers + 1; }

  void connect(PeerId peer) {
    if (outbox.connected(peer)) return;
    outbox.connect(peer);
    decoders[peer] = std::make_unique<protocol::FrameDecoder>(options.max_payload + protocol::kFrameOverhead);
    core->onConnect(peer, "127.0.0.1:" + std::to_string(40000 + peer));
  }
  void gone(PeerId peer) {
    if (!outbox.connected(peer)) return;
    core->onPeerGone(peer);
    outbox.disconnect(peer);
    decoders.erase(peer);
  }
  // What Connection::onRead does with the bytes of one read.
  void receive(PeerId peer, std::string_view bytes) {
    connect(peer);
    protocol::FrameDecoder& decoder = *decoders[peer];
    std::copy(bytes.begin(), bytes.end(), decoder.prepare(bytes.size()));
    decoder.commit(bytes.size());
    protocol::Frame frame;
    for (;;) {
      protocol::DecodeEvent event = decoder.next(frame);
      if (event == protocol::DecodeEvent::kNeedMore) break;
      if (event == protocol::DecodeEvent::kFrame) {
        core->onFrame(peer, frame);
      } else if (event == protocol::DecodeEvent::kOversized) {
        core->onOversizedFrame(peer, frame);
      } else {
        core->onMalformedStream(peer);
        break;
      }
      if (!outbox.connected(peer)) break;
    }
  }
  // The end of the server's turn: deal, commit, write, close what was asked to close.
  void endTurn() {
    FUZZ_CHECK(core->flush());
    outbox.checkAll();
    for (PeerId peer : outbox.takeClosing()) gone(peer);
  }
  void restart() {
    for (PeerId peer = generation * kPeers + 1; peer <= (generation + 1) * kPeers; ++peer) {
      if (outbox.connected(peer)) outbox.disconnect(peer);
    }
    decoders.clear();
    core.reset();
    ++generation;
    start();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void)quiet;
  if (size == 0) return 0;
  Harness h;
  h.options.max_payload = kMaxPayload;
  h.options.payload_memory_budget = 2 * kMaxPayload;  // beyond it, payloads are read back from the store
  h.options.max_connections = kPeers;
  static const char* const kSelections[] = {"least-loaded", "round-robin", "random"};
  h.options.select = kSelections[data[0] % 3];
  h.options.strict_guarantees = (data[0] & 4) != 0;
  h.options.max_queued = (data[0] & 8) != 0 ? 8 : 0;
  h.start();

  std::size_t pos = 1;
  int restarts = 0;
  while (size - pos >= 4) {
    std::uint8_t op = data[pos];
    PeerId peer = h.id(data[pos + 1]);
    std::size_t length = std::min<std::size_t>(data[pos + 2] | (std::size_t{data[pos + 3]} << 8), size - pos - 4);
    std::string_view bytes(reinterpret_cast<const char*>(data + pos + 4), length);
    pos += 4 + length;
    switch (op % 6) {
      case 0: h.connect(peer); break;
      case 1: h.receive(peer, bytes); break;
      case 2: h.gone(peer); break;
      case 3:
        h.clock.advance(std::chrono::milliseconds(length * 100));
        h.core->tick();
        h.core->purgeExpiredResults();
        break;
      case 4:
        if (h.outbox.connected(peer)) h.core->onOutputDrained(peer);
        break;
      case 5:
        if (restarts++ < 2) h.restart();
        break;
    }
    h.endTurn();
    (void)h.core->nextDeadline();
  }
  FUZZ_CHECK(h.core->statsJson());
  (void)h.core->metricsText();
  return 0;
}
