// SmallTmpfs: a tmpfs of a few MiB mounted on a fresh directory, for tests of a full disk; unmounted
// and removed when the object dies. Mounting needs root (CAP_SYS_ADMIN): where it fails, available()
// is false and why() says so, for GTEST_SKIP.
//
// fill() takes all but `leave` bytes of free space with a filler file, and release() deletes it:
// the disk fills up and gets space back while the process under test keeps running.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace corvee::testing {

class SmallTmpfs {
 public:
  explicit SmallTmpfs(std::uint64_t bytes) {
    char pattern[] = "/tmp/corvee-tmpfs-XXXXXX";
    if (mkdtemp(pattern) == nullptr) {
      why_ = std::string("mkdtemp: ") + std::strerror(errno);
      return;
    }
    dir_ = pattern;
    std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      why_ = "cannot mount a tmpfs (needs root): " + std::string(std::strerror(errno));
      ::rmdir(dir_.c_str());
      dir_.clear();
      return;
    }
    mounted_ = true;
  }
  ~SmallTmpfs() {
    if (!mounted_) return;
    // Lazily: a process under test that still has files open must not keep the mount alive.
    ::umount2(dir_.c_str(), MNT_DETACH);
    ::rmdir(dir_.c_str());
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  bool available() const { return mounted_; }
  const std::string& why() const { return why_; }
  const std::string& path() const { return dir_; }

  std::uint64_t freeBytes() const {
    struct statvfs info {};
    if (::statvfs(dir_.c_str(), &info) != 0) return 0;
    return static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
  }
  // Writes a filler file so that about `leave` bytes stay free. False when it could not.
  bool fill(std::uint64_t leave) {
    std::uint64_t free_now = freeBytes();
    if (free_now <= leave) return true;
    int fd = ::open((dir_ + "/filler").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return false;
    std::vector<char> block(64 * 1024, 'f');
    std::uint64_t to_write = free_now - leave;
    bool ok = true;
    while (to_write > 0) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(to_write, block.size()));
      ssize_t wrote = ::write(fd, block.data(), n);
      if (wrote <= 0) {
        ok = errno == ENOSPC;
        break;
      }
      to_write -= static_cast<std::uint64_t>(wrote);
    }
    ::close(fd);
    return ok;
  }
  // Deletes the filler: the space comes back.
  void release() { ::unlink((dir_ + "/filler").c_str()); }

 private:
  std::string dir_;
  std::string why_;
  bool mounted_ = false;
};

}  // namespace corvee::testing
