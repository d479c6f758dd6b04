// File descriptors as a resource the broker must ration: the process's limit on them, and one held
// in reserve for the moment they run out.
#pragma once

#include <cstdint>
#include <optional>

namespace corvee {

// The soft limit on open descriptors of this process (RLIMIT_NOFILE); nullopt when there is none
// or it cannot be read.
std::optional<std::uint64_t> openDescriptorLimit();

// SpareDescriptor: one descriptor (on /dev/null) kept open so that a process which has run out of
// descriptors can give it up, accept a waiting connection, refuse it properly and close it, then
// take the spare back. Without it, a connection that cannot be accepted stays in the listen
// backlog and keeps the listening socket readable: the accept loop spins. Not thread-safe.
class SpareDescriptor {
 public:
  SpareDescriptor() = default;
  ~SpareDescriptor();
  SpareDescriptor(const SpareDescriptor&) = delete;
  SpareDescriptor& operator=(const SpareDescriptor&) = delete;

  // Opens the spare if not held. False when no descriptor was free for it.
  bool reserve();
  // Closes the spare, so that one descriptor is free for the caller.
  void release();
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace corvee
