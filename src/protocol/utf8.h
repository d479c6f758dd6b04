// UTF-8 checks for the protocol's `str` fields (docs/protocol.md, section 2).
//
// Every `str` on the wire is UTF-8, and the broker renders names and messages into JSON documents
// (STATS, job listings) whose writers refuse invalid UTF-8. So invalid text is refused where it
// enters, at the decoder, and text the broker shortens is cut on a character boundary.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace corvee::protocol {

// The length of the well-formed UTF-8 character at the start of `text` (1 to 4), or 0 when it does
// not start with one (or is empty).
std::size_t utf8CharLength(std::string_view text);

// True when `text` is well-formed UTF-8 (RFC 3629): no stray continuation bytes, no overlong
// forms, no UTF-16 surrogates, nothing above U+10FFFF. The empty string is valid.
bool isValidUtf8(std::string_view text);

// How many UTF-8 continuation bytes (10xxxxxx, at most 3) start at `pos`: skipping them cuts
// `text` at the start of a character. For text cut at an arbitrary byte (the tail of a stream).
std::size_t continuationBytesAt(std::string_view text, std::size_t pos);

// The longest prefix of `text` of at most `max_bytes` bytes that does not end inside a character.
// REQUIRES: `text` is valid UTF-8 (otherwise the cut is only guaranteed to be at most max_bytes).
std::string_view truncateUtf8(std::string_view text, std::size_t max_bytes);

// `text` with every invalid byte sequence replaced by U+FFFD, for text from outside the protocol
// (a command's stderr) that must travel as a `str`.
std::string toValidUtf8(std::string_view text);

}  // namespace corvee::protocol
