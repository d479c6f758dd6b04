#include "protocol/names.h"

#include <cstdint>

#include "corvee/errors.h"

namespace corvee::protocol {

namespace {

// Length of the well-formed UTF-8 sequence at the start of `text`, or 0 when there is none.
// The ranges of the second byte are RFC 3629's table ("UTF8-2" to "UTF8-4"): they exclude
// overlong forms, surrogates and code points above U+10FFFF in one comparison each.
std::size_t sequenceLength(std::string_view text) {
  auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  auto continuation = [&](std::size_t i) { return i < text.size() && (byte(i) & 0xC0) == 0x80; };
  std::uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  std::uint8_t low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // below: overlong
    if (lead == 0xED) high = 0x9F;  // above: surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // below: overlong
    if (lead == 0xF4) high = 0x8F;  // above: beyond U+10FFFF
  } else {
    return 0;  // a continuation byte, an overlong 2-byte lead (C0, C1), or F5..FF
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (!continuation(i)) return 0;
  }
  return length;
}

}  // namespace

bool isValidUtf8(std::string_view text) {
  while (!text.empty()) {
    std::size_t length = sequenceLength(text);
    if (length == 0) return false;
    text.remove_prefix(length);
  }
  return true;
}

std::string quoteName(std::string_view name) {
  constexpr std::size_t kShown = 64;  // enough to recognise a name, short enough for one line
  std::string out = "'";
  std::string_view rest = name;
  // Whole characters only, so a long name is never cut in the middle of one.
  while (!rest.empty() && name.size() - rest.size() < kShown) {
    std::size_t length = sequenceLength(rest);
    auto lead = static_cast<unsigned char>(rest[0]);
    if (length == 0 || (length == 1 && (lead < 0x20 || lead == 0x7F))) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[lead >> 4];
      out += kHex[lead & 0xF];
      length = 1;
    } else {
      out.append(rest.substr(0, length));
    }
    rest.remove_prefix(length);
  }
  out += rest.empty() ? "'" : "'...";
  return out;
}

Status checkName(std::string_view what, std::string_view name) {
  std::string subject(what);
  if (name.empty()) return Status::error(errc::kBadRequest, subject + " is empty (it must be 1 to 255 bytes)");
  if (name.size() > kMaxNameBytes) {
    return Status::error(errc::kBadRequest, subject + " " + quoteName(name) + " is " + std::to_string(name.size()) +
                                                " bytes long (the limit is 255 bytes)");
  }
  if (!isValidUtf8(name)) {
    return Status::error(errc::kBadRequest, subject + " " + quoteName(name) + " is not valid UTF-8");
  }
  return Status::ok();
}

Status checkTaskName(std::string_view name) { return checkName("task name", name); }

}  // namespace corvee::protocol
