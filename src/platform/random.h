// Randomness from the operating system, for identifiers that must not collide across processes.
#pragma once

#include <cstdint>

namespace corvee {

// A random number from the OS entropy source; never 0.
std::uint64_t randomNonZeroU64();

}  // namespace corvee
