// Test support: a process that has run out of file descriptors, for as long as this object lives.
//
// Lowers this process's soft RLIMIT_NOFILE (so that using up the rest is quick), then opens
// /dev/null until open() fails with EMFILE. The destructor closes them all and restores the limit.
// Header-only, so unit tests can use it without the integration support library. Not thread-safe;
// while it lives, nothing else in the process can open a descriptor.
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <vector>

namespace corvee::testing {

class DescriptorExhaustion {
 public:
  // `limit`: the soft limit while exhausted; must be above the descriptors already open.
  explicit DescriptorExhaustion(rlim_t limit = 256) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    struct rlimit lowered = saved_;
    if (lowered.rlim_cur == RLIM_INFINITY || lowered.rlim_cur > limit) lowered.rlim_cur = limit;
    ::setrlimit(RLIMIT_NOFILE, &lowered);
    for (;;) {
      int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        exhausted_ = errno == EMFILE;
        break;
      }
      held_.push_back(fd);
    }
  }
  ~DescriptorExhaustion() {
    for (int fd : held_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  DescriptorExhaustion(const DescriptorExhaustion&) = delete;
  DescriptorExhaustion& operator=(const DescriptorExhaustion&) = delete;

  // True when open() ended with EMFILE: no descriptor is left.
  bool exhausted() const { return exhausted_; }
  // Closes up to `n` of the descriptors held, so that that many are free again.
  void free(std::size_t n) {
    for (; n > 0 && !held_.empty(); --n) {
      ::close(held_.back());
      held_.pop_back();
    }
  }

 private:
  struct rlimit saved_ {};
  std::vector<int> held_;
  bool exhausted_ = false;
};

}  // namespace corvee::testing
