// Little-endian encoding of the protocol's field types (docs/protocol.md, section 2).
//
// WireWriter appends to a caller-owned std::string so a whole batch of frames shares one buffer and
// one socket write. WireReader reads from a borrowed view and records, rather than throws, a
// read past the end and a `str` that is not UTF-8: decoding code reads every field and checks
// once.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/utf8.h"

namespace corvee::protocol {

class WireWriter {
 public:
  explicit WireWriter(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { fixed(v); }
  void u32(std::uint32_t v) { fixed(v); }
  void u64(std::uint64_t v) { fixed(v); }
  void i32(std::int32_t v) { fixed(static_cast<std::uint32_t>(v)); }
  // REQUIRES: s.size() <= 65535 (callers validate lengths before encoding).
  void str(std::string_view s) {
    u16(static_cast<std::uint16_t>(s.size()));
    out_.append(s);
  }
  void bytes(std::string_view b) {
    u32(static_cast<std::uint32_t>(b.size()));
    out_.append(b);
  }
  void strList(const std::vector<std::string>& items) {
    u16(static_cast<std::uint16_t>(items.size()));
    for (const auto& s : items) str(s);
  }
  std::string& buffer() { return out_; }

 private:
  template <typename T>
  void fixed(T v) {
    char raw[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i) raw[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    out_.append(raw, sizeof(T));
  }
  std::string& out_;
};

class WireReader {
 public:
  explicit WireReader(std::string_view in) : in_(in) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(fixed<std::uint8_t>()); }
  std::uint16_t u16() { return fixed<std::uint16_t>(); }
  std::uint32_t u32() { return fixed<std::uint32_t>(); }
  std::uint64_t u64() { return fixed<std::uint64_t>(); }
  std::int32_t i32() { return static_cast<std::int32_t>(fixed<std::uint32_t>()); }
  // A `str` is UTF-8 by definition; one that is not is remembered (invalidText()), because names
  // and messages end up in JSON documents whose writers refuse such bytes.
  std::string_view str() {
    std::string_view text = take(u16());
    if (ok_ && text_ok_ && !isValidUtf8(text)) text_ok_ = false;
    return text;
  }
  std::string_view bytes() { return take(u32()); }
  std::vector<std::string> strList() {
    std::vector<std::string> items;
    std::uint16_t n = u16();
    for (std::uint16_t i = 0; i < n && ok_; ++i) items.emplace_back(str());
    return items;
  }
  // False once any read ran past the end.
  bool ok() const { return ok_; }
  std::size_t remaining() const { return in_.size() - pos_; }
  // Marks the body malformed, e.g. when a list's count exceeds the bytes left.
  void invalidate() { ok_ = false; }
  // True when every byte was read and none was missing: the body matched its layout exactly.
  bool exhausted() const { return ok_ && pos_ == in_.size(); }
  // False once a `str` field held bytes that are not UTF-8.
  bool textValid() const { return text_ok_; }

 private:
  template <typename T>
  T fixed() {
    if (!ok_ || in_.size() - pos_ < sizeof(T)) {
      ok_ = false;
      return 0;
    }
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      v |= static_cast<T>(static_cast<T>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i));
    }
    pos_ += sizeof(T);
    return v;
  }
  std::string_view take(std::size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    std::string_view v = in_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
  bool text_ok_ = true;
};

}  // namespace corvee::protocol
