// UTF-8 helpers for the worker's builtin tasks and the messages of failed `--exec` commands.
// Pure functions on bytes; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace corvee {

// True when `text` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
// above U+10FFFF, no truncated sequence.
bool isValidUtf8(std::string_view text);

// The code points of `text` in reverse order. REQUIRES: isValidUtf8(text).
std::string reverseCodePoints(std::string_view text);

// How many bytes to skip from `pos` so that `text` is cut at the start of a character, not inside
// one: the UTF-8 continuation bytes there (at most 3). For text cut at an arbitrary byte.
std::size_t continuationBytesAt(std::string_view text, std::size_t pos);

}  // namespace corvee
