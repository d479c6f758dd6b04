#include "corvee/job.h"

#include <array>
#include <utility>

namespace corvee {

namespace {

constexpr std::array<std::pair<JobState, std::string_view>, 7> kStateNames{{
    {JobState::kQueued, "queued"},
    {JobState::kRunning, "running"},
    {JobState::kSucceeded, "succeeded"},
    {JobState::kDead, "dead"},
    {JobState::kCancelled, "cancelled"},
    {JobState::kRetrying, "retrying"},
    {JobState::kScheduled, "scheduled"},
}};

}  // namespace

std::string_view toString(JobState state) {
  for (const auto& [value, name] : kStateNames) {
    if (value == state) return name;
  }
  return "unknown";
}

std::optional<JobState> jobStateFromString(std::string_view name) {
  for (const auto& [value, text] : kStateNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

}  // namespace corvee
