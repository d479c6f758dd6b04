#include "broker/connection_limit.h"

#include <algorithm>

namespace corvee::broker {

std::size_t defaultMaxConnections(std::optional<std::uint64_t> descriptor_limit) {
  if (!descriptor_limit) return kUnlimitedDescriptorsMaxConnections;
  std::uint64_t limit = *descriptor_limit;
  std::uint64_t connections = limit >= 2 * kDescriptorReserve ? limit - kDescriptorReserve : limit / 2;
  return static_cast<std::size_t>(
      std::clamp<std::uint64_t>(connections, 1, kUnlimitedDescriptorsMaxConnections));
}

}  // namespace corvee::broker
