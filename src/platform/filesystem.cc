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

}  // namespace corvee
