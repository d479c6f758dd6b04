// Fuzz target: the frame decoder (src/protocol/frame_decoder.*) over an arbitrary byte stream
// arriving in arbitrary chunks.
//
// Input: byte 0 picks the frame length limit (0xff: none), byte 1 seeds the chunk sizes, the rest is
// the stream. Property: the stream read in those chunks yields exactly the events and frames that
// it yields read whole, and a frame's body never reaches past what was received.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "protocol/frame_decoder.h"

using corvee::protocol::DecodeEvent;
using corvee::protocol::Frame;
using corvee::protocol::FrameDecoder;

namespace {

struct Event {
  DecodeEvent kind;
  std::uint8_t type;
  std::uint32_t request_id;
  std::string body;
  bool operator==(const Event&) const = default;
};

// Feeds `stream` in chunks of the given sizes (the last chunk takes the rest) and records every
// event up to the end of the stream or the first kMalformed, which ends a connection.
std::vector<Event> decode(std::uint32_t max_length, std::string_view stream, const std::vector<std::size_t>& chunks) {
  FrameDecoder decoder(max_length);
  std::vector<Event> events;
  std::size_t pos = 0;
  for (std::size_t i = 0; pos < stream.size(); ++i) {
    std::size_t n = i < chunks.size() ? std::min(chunks[i], stream.size() - pos) : stream.size() - pos;
    char* into = decoder.prepare(n);
    FUZZ_CHECK(decoder.writable() >= n);
    std::copy(stream.begin() + static_cast<std::ptrdiff_t>(pos), stream.begin() + static_cast<std::ptrdiff_t>(pos + n),
              into);
    decoder.commit(n);
    pos += n;
    for (;;) {
      Frame frame;
      DecodeEvent event = decoder.next(frame);
      if (event == DecodeEvent::kNeedMore) break;
      if (event == DecodeEvent::kMalformed) {
        events.push_back({event, 0, 0, {}});
        return events;
      }
      if (event == DecodeEvent::kFrame) FUZZ_CHECK(frame.body.size() + 9 <= max_length + 4ULL);
      if (event == DecodeEvent::kOversized) FUZZ_CHECK(frame.body.empty());
      events.push_back({event, frame.type, frame.request_id, std::string(frame.body)});
    }
    FUZZ_CHECK(decoder.buffered() <= pos);
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::uint32_t max_length = data[0] == 0xff ? UINT32_MAX : 5 + std::uint32_t{data[0]} * 16;
  std::uint32_t seed = data[1] | 1u;
  std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
  // Chunk sizes from 1 to 64 bytes, drawn from the seed (xorshift).
  std::vector<std::size_t> chunks;
  for (std::size_t covered = 0; covered < stream.size();) {
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    chunks.push_back(1 + seed % 64);
    covered += chunks.back();
  }
  std::vector<Event> whole = decode(max_length, stream, {});
  std::vector<Event> split = decode(max_length, stream, chunks);
  FUZZ_CHECK(whole == split);
  return 0;
}
