// How many connections the broker serves at once when `--max-connections` does not say.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace corvee::broker {

// Descriptors kept back from connections. Besides one per connection the broker needs a few for
// its store (SQLite's database, WAL and shared-memory files, a journal while checkpointing), its
// logs and standard streams, the listening socket, the event loop (epoll, eventfd, timerfd) and
// the spare descriptor it refuses connections with when descriptors run out; 64 covers them with
// room to spare.
inline constexpr std::uint64_t kDescriptorReserve = 64;
// Used when the process has no descriptor limit at all.
inline constexpr std::size_t kUnlimitedDescriptorsMaxConnections = 1'000'000;

// The descriptor limit minus kDescriptorReserve, so that connections over the limit are refused
// cleanly before accept() ever fails for want of a descriptor; half the limit when it is too small
// for that (below twice the reserve), and at least 1.
std::size_t defaultMaxConnections(std::optional<std::uint64_t> descriptor_limit);

}  // namespace corvee::broker
