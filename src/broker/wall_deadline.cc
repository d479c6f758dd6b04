#include "broker/wall_deadline.h"

#include <algorithm>

namespace corvee::broker {

MonoTime monoTimeAt(MonoTime now, std::uint64_t wall_now_ms, std::uint64_t at_ms) {
  const auto far = static_cast<std::uint64_t>(kFarFuture.count());
  if (at_ms >= wall_now_ms) return now + Millis(static_cast<Millis::rep>(std::min(at_ms - wall_now_ms, far)));
  return now - Millis(static_cast<Millis::rep>(std::min(wall_now_ms - at_ms, far)));
}

}  // namespace corvee::broker
