#include "platform/filesystem.h"

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

Result<std::uint64_t> freeDiskBytes(const std::string& path) {
  std::error_code error;
  std::filesystem::space_info space = std::filesystem::space(path, error);
  if (error) return Status::error("unavailable", "cannot read the free space of " + path + ": " + error.message());
  return static_cast<std::uint64_t>(space.available);
}

}  // namespace corvee
