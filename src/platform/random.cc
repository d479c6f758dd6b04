#include "platform/random.h"

#include <random>

namespace corvee {

std::uint64_t randomNonZeroU64() {
  std::random_device device;
  std::uint64_t value = 0;
  while (value == 0) value = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  return value;
}

}  // namespace corvee
