#include "protocol/messages.h"

namespace corvee::protocol::detail {

std::size_t beginFrame(std::string& out, MsgType type, std::uint32_t request_id) {
  std::size_t start = out.size();
  WireWriter writer(out);
  writer.u32(0);  // patched by endFrame once the body's size is known
  writer.u8(static_cast<std::uint8_t>(type));
  writer.u32(request_id);
  return start;
}

void endFrame(std::string& out, std::size_t start) {
  auto length = static_cast<std::uint32_t>(out.size() - start - kLengthSize);
  for (std::size_t i = 0; i < kLengthSize; ++i) out[start + i] = static_cast<char>((length >> (8 * i)) & 0xff);
}

}  // namespace corvee::protocol::detail
