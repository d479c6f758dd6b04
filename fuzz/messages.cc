// Fuzz target: every message decoder (src/protocol/messages.*).
//
// Input: byte 0 picks a message type and a protocol version (message_table.h), the rest is the
// body, decoded with that type's decoder at that version. Properties: decoding never reads past
// the body; whatever decodes re-encodes to exactly the same bytes (the layout has one encoding per
// value, so that is the round trip), and framed, it comes back out of the frame decoder whole.
// The SUBMIT bodies nested in CRON_ADD and CRON_ENTRIES are decoded as the broker decodes them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "fuzz_check.h"
#include "message_table.h"

namespace corvee::fuzz {
namespace {

template <typename Msg>
void roundTrip(std::string_view body, std::uint16_t version) {
  auto decoded = decode<Msg>(body, version);
  if (!decoded) {
    FUZZ_CHECK(!decoded.status().message().empty());
    return;
  }
  FUZZ_CHECK(encodeBody(*decoded, version) == body);

  std::string wire;
  encode(wire, 0x01020304, *decoded, version);
  FrameDecoder frames(UINT32_MAX);
  std::copy(wire.begin(), wire.end(), frames.prepare(wire.size()));
  frames.commit(wire.size());
  Frame frame;
  FUZZ_CHECK(frames.next(frame) == DecodeEvent::kFrame);
  FUZZ_CHECK(frame.type == static_cast<std::uint8_t>(Msg::kType) && frame.request_id == 0x01020304);
  FUZZ_CHECK(frame.body == body);
  FUZZ_CHECK(frames.buffered() == 0);

  if constexpr (std::is_same_v<Msg, CronAddMsg>) {
    roundTrip<SubmitMsg>(decoded->submit.data, version);
  } else if constexpr (std::is_same_v<Msg, CronEntriesMsg>) {
    for (const auto& entry : decoded->entries) roundTrip<SubmitMsg>(entry.submit.data, version);
  }
}

}  // namespace
}  // namespace corvee::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace corvee::fuzz;
  if (size == 0) return 0;
  std::uint16_t version = selectedVersion(data[0]);
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  withMessage(selectedIndex(data[0]), [&]<typename Msg>(std::type_identity<Msg>) { roundTrip<Msg>(body, version); });
  // The names the broker logs for any type byte.
  FUZZ_CHECK(corvee::protocol::msgTypeName(data[0]) != nullptr);
  (void)corvee::protocol::introducedIn(data[0]);
  return 0;
}
