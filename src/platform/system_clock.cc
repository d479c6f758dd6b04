#include "platform/clock.h"

namespace corvee {
namespace {

class SystemClock final : public Clock {
 public:
  MonoTime now() const override { return std::chrono::steady_clock::now(); }
  std::uint64_t wallMillis() const override {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
  }
};

}  // namespace

Clock& systemClock() {
  static SystemClock* clock = new SystemClock();  // leaked on purpose: usable during static destruction
  return *clock;
}

}  // namespace corvee
