#include "broker/task_metrics.h"

namespace corvee::broker {

namespace {
constexpr std::array<std::string_view, kTaskCounters> kNames = {
    "submitted", "succeeded",       "dead", "cancelled", "retried", "redelivered", "expired_timeout",
    "expired_assign_timeout", "expired_run_timeout"};
}  // namespace

std::string_view counterName(TaskCounter counter) { return kNames[static_cast<std::size_t>(counter)]; }

std::optional<TaskCounter> counterNamed(std::string_view name) {
  for (std::size_t i = 0; i < kTaskCounters; ++i) {
    if (kNames[i] == name) return static_cast<TaskCounter>(i);
  }
  return std::nullopt;
}

}  // namespace corvee::broker
