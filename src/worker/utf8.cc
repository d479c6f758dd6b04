#include "worker/utf8.h"

namespace corvee {
namespace {

bool isContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// The length of the well-formed sequence starting at text[pos], or 0 when it is not one.
// The ranges are those of RFC 3629, section 4 (Unicode Table 3-7).
std::size_t sequenceLength(std::string_view text, std::size_t pos) {
  auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = at(pos);
  if (lead < 0x80) return 1;
  std::size_t length;
  unsigned char second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong below U+0800
    if (lead == 0xED) second_max = 0x9F;  // surrogates U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong below U+10000
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // a continuation byte, an overlong 2-byte lead (C0, C1), or F5..FF
  }
  if (text.size() - pos < length) return 0;
  if (at(pos + 1) < second_min || at(pos + 1) > second_max) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (!isContinuation(at(pos + i))) return 0;
  }
  return length;
}

}  // namespace

bool isValidUtf8(std::string_view text) {
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t length = sequenceLength(text, pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

std::string reverseCodePoints(std::string_view text) {
  std::string reversed(text.size(), '\0');
  std::size_t out = text.size();
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t length = sequenceLength(text, pos);
    if (length == 0) length = 1;  // not valid UTF-8 after all: that byte stays a unit
    out -= length;
    reversed.replace(out, length, text.substr(pos, length));
    pos += length;
  }
  return reversed;
}

std::size_t continuationBytesAt(std::string_view text, std::size_t pos) {
  std::size_t skipped = 0;
  while (pos + skipped < text.size() && skipped < 3 && isContinuation(static_cast<unsigned char>(text[pos + skipped]))) {
    ++skipped;
  }
  return skipped;
}

}  // namespace corvee
