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

namespace corvee::protocol {

// The last version whose HELLO has no token field.
constexpr std::uint16_t kHelloWithoutToken = 5;

Result<HelloMsg> decodeHello(std::string_view body) {
  auto with_token = decode<HelloMsg>(body, kVersion);
  if (with_token) return with_token;
  return decode<HelloMsg>(body, kHelloWithoutToken);
}

void encodeHello(std::string& out, const HelloMsg& hello) {
  encode(out, 0, hello, hello.token.empty() ? kHelloWithoutToken : kVersion);
}

}  // namespace corvee::protocol
