#include "platform/filesystem.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace corvee {

Status ensureDirectory(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return Status::error("unavailable", "cannot create the directory " + path + ": " + error.message());
  if (!std::filesystem::is_directory(path, error)) {
    return Status::error("unavailable", path + " exists and is not a directory");
  }
  return Status::ok();
}

Result<std::string> absolutePath(const std::string& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) return Status::error("unavailable", "cannot make " + path + " absolute: " + error.message());
  // Drops "." components only: folding "x/.." could change the meaning when x is a symbolic link.
  std::filesystem::path cleaned;
  for (const std::filesystem::path& part : absolute) {
    if (part != "." && !part.empty()) cleaned /= part;
  }
  return cleaned.string();
}

Result<std::uint64_t> freeDiskBytes(const std::string& path) {
  std::error_code error;
  std::filesystem::space_info space = std::filesystem::space(path, error);
  if (error) return Status::error("unavailable", "cannot read the free space of " + path + ": " + error.message());
  return static_cast<std::uint64_t>(space.available);
}

Result<std::string> readSmallFile(const std::string& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error("unavailable", "cannot read " + path + ": " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status::error("unavailable", "cannot read " + path + ": not a regular file");
  }
  if (static_cast<std::uint64_t>(info.st_size) > max_bytes) {
    ::close(fd);
    return Status::error("unavailable", "cannot read " + path + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string content;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      return Status::error("unavailable", "cannot read " + path + ": " + std::strerror(saved));
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > max_bytes) {
      ::close(fd);
      return Status::error("unavailable", "cannot read " + path + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  ::close(fd);
  return content;
}

bool pathExists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;
}

Status writeNewFile(const std::string& path, const std::string& content, unsigned mode, bool replace) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL);
  int fd = ::open(path.c_str(), flags, static_cast<mode_t>(mode));
  if (fd < 0) {
    if (errno == EEXIST) return Status::error("unavailable", path + " exists already");
    return Status::error("unavailable", "cannot write " + path + ": " + std::strerror(errno));
  }
  // An existing file keeps its mode through O_TRUNC; a key must not stay readable by others.
  bool ok = ::fchmod(fd, static_cast<mode_t>(mode)) == 0;
  std::size_t written = 0;
  while (ok && written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else written += static_cast<std::size_t>(n);
  }
  if (ok) ok = ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) return Status::error("unavailable", "cannot write " + path + ": " + std::strerror(saved));
  return Status::ok();
}

}  // namespace corvee
