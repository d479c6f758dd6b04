// Every wire message type, by index, for the fuzz targets and their seed generator: the first byte
// of a `messages` input picks a type and a protocol version (selector()), the rest is the body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include "protocol/constants.h"
#include "protocol/messages.h"

namespace corvee::fuzz {

using namespace corvee::protocol;

using AllMessages =
    std::tuple<HelloMsg, WelcomeMsg, PingMsg, PongMsg, ErrorMsg, OkMsg, SubmitMsg, SubmittedMsg, SubscribeMsg, ResultMsg,
               StatusMsg, JobInfoMsg, StatsMsg, StatsReplyMsg, MetricsMsg, MetricsTextMsg, RegisterMsg, AssignMsg,
               CompleteMsg, FailMsg, CancelMsg, DrainMsg, CancelJobMsg, PurgeMsg, PauseMsg, ListJobsMsg, JobListMsg,
               DeadRetryMsg, DeadPurgeMsg, CountMsg, CronAddMsg, CronRemoveMsg, CronPauseMsg, CronListMsg,
               CronEntriesMsg, RateMsg, ExplainMsg, ExplanationMsg>;
inline constexpr std::size_t kMessageCount = std::tuple_size_v<AllMessages>;
inline constexpr std::size_t kVersionCount = kVersion - kMinVersion + 1;
// One selector byte names any (type, version) pair.
static_assert(kMessageCount * kVersionCount <= 256, "the selector byte no longer covers every type and version");

// Calls f(std::type_identity<Msg>{}) for the message type at `index` (< kMessageCount).
template <typename F>
void withMessage(std::size_t index, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((index == I ? (f(std::type_identity<std::tuple_element_t<I, AllMessages>>{}), 0) : 0), ...);
  }(std::make_index_sequence<kMessageCount>{});
}

// Calls f(std::type_identity<Msg>{}) for every message type, in index order.
template <typename F>
void forEachMessage(F&& f) {
  for (std::size_t i = 0; i < kMessageCount; ++i) withMessage(i, f);
}

inline std::uint8_t selector(std::size_t index, std::uint16_t version) {
  return static_cast<std::uint8_t>(index + kMessageCount * (version - kMinVersion));
}
inline std::size_t selectedIndex(std::uint8_t selector) { return selector % kMessageCount; }
inline std::uint16_t selectedVersion(std::uint8_t selector) {
  return static_cast<std::uint16_t>(kMinVersion + (selector / kMessageCount) % kVersionCount);
}

}  // namespace corvee::fuzz
