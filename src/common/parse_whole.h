// The one rule for numbers written by users (flags, specs, HTTP paths and queries): the whole of
// the text is the number, in decimal; no sign for unsigned types, no '+', no spaces, no suffix,
// and no overflow.
#pragma once

#include <charconv>
#include <string_view>

namespace corvee {

// True when all of `text` is a number of type Int, stored in `out`.
template <typename Int>
bool parseWhole(std::string_view text, Int& out) {
  if (text.empty() || text.front() == '+') return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace corvee
