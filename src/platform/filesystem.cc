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

}  // namespace corvee
