#include "platform/random.h"

#include <random>

namespace corvee {

std::uint64_t randomNonZeroU64() {
  std::random_device device;
  std::uint64_t value = 0;
  while (value == 0) value = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  return value;
}

namespace {

class SeededRandom final : public Random {
 public:
  SeededRandom() : engine_(randomNonZeroU64()) {}
  std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) override {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(engine_);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace

Random& threadRandom() {
  thread_local SeededRandom random;
  return random;
}

}  // namespace corvee
