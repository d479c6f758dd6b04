#include "platform/descriptors.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace corvee {

std::optional<std::uint64_t> openDescriptorLimit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

SpareDescriptor::~SpareDescriptor() { release(); }

bool SpareDescriptor::reserve() {
  if (fd_ < 0) fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd_ >= 0;
}

void SpareDescriptor::release() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace corvee
