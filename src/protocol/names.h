// The rule for names on the wire: task names (SUBMIT, REGISTER) and peer names (HELLO) are `str`
// fields, "UTF-8" in docs/protocol.md, and the broker takes at most 255 bytes of them. Kept here
// once, so the command line, the libraries and the broker refuse the same names.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "corvee/status.h"
#include "protocol/utf8.h"  // isValidUtf8

namespace corvee::protocol {

// The longest name, in bytes (not characters).
inline constexpr std::size_t kMaxNameBytes = 255;

// OK when `name` is 1 to kMaxNameBytes bytes of valid UTF-8. Otherwise bad_request with a message
// that starts with `what` (e.g. "task name"), quotes the name (printable, cut when long) and says
// which part of the rule it breaks.
Status checkName(std::string_view what, std::string_view name);

// checkName("task name", name).
Status checkTaskName(std::string_view name);

// `name` in single quotes for a message: bytes that are not valid UTF-8, and control characters,
// as \xHH; a name longer than 64 bytes is cut after the character that reaches 64, and "..." follows.
std::string quoteName(std::string_view name);

}  // namespace corvee::protocol
