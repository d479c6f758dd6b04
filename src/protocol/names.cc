#include "protocol/names.h"

#include <cstdint>

#include "corvee/errors.h"
#include "protocol/utf8.h"

namespace corvee::protocol {



std::string quoteName(std::string_view name) {
  constexpr std::size_t kShown = 64;  // enough to recognise a name, short enough for one line
  std::string out = "'";
  std::string_view rest = name;
  // Whole characters only, so a long name is never cut in the middle of one.
  while (!rest.empty() && name.size() - rest.size() < kShown) {
    std::size_t length = utf8CharLength(rest);
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
