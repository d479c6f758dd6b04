#include "http/call.h"

#include "common/parse_whole.h"

#include "corvee/errors.h"

namespace corvee::http {

Result<std::uint64_t> Call::numberParam(const std::string& name, std::uint64_t max, std::uint64_t fallback) const {
  auto text = request.param(name);
  if (!text) return fallback;
  std::uint64_t value = 0;
  if (!parseWhole(*text, value) || value > max) {
    return Status::error(errc::kBadRequest, "?" + name + "= must be a whole number from 0 to " + std::to_string(max));
  }
  return value;
}

Result<std::optional<std::chrono::milliseconds>> Call::waitParam(const std::string& name, std::uint64_t max) const {
  if (!request.param(name)) return std::optional<std::chrono::milliseconds>();
  auto ms = numberParam(name, max, 0);
  if (!ms) return ms.status();
  return std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(*ms));
}

}  // namespace corvee::http
