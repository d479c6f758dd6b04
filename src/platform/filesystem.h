// The few filesystem operations Corvee needs outside its database engines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "corvee/status.h"

namespace corvee {

// Creates `path` and its parents if missing. Fails with `unavailable` naming the path and the
// reason (permissions, a file in the way, ...).
Status ensureDirectory(const std::string& path);

// `path` made absolute against the working directory, without its "." components ("./a/b"
// gives "/cwd/a/b"); ".." and symbolic links are left as they are. Fails with `unavailable` when the working
// directory cannot be read.
Result<std::string> absolutePath(const std::string& path);

// Bytes an unprivileged writer may still use on the filesystem holding `path`. Fails with
// `unavailable` naming the path and the reason.
Result<std::uint64_t> freeDiskBytes(const std::string& path);

// The whole content of the regular file at `path`, which must be at most `max_bytes` long (for
// small files: certificates, keys). Fails with `unavailable` naming the path and the reason (it does
// not exist, cannot be read, is a directory, is larger).
Result<std::string> readSmallFile(const std::string& path, std::size_t max_bytes);

// True when something (a file, a directory, a dangling symbolic link) is at `path`.
bool pathExists(const std::string& path);

// Writes `content` to a new file at `path` with permission bits `mode` (e.g. 0600), flushed to
// disk. Fails with `unavailable` when the file exists (unless `replace`, which then truncates it
// and sets `mode`) or cannot be written.
Status writeNewFile(const std::string& path, const std::string& content, unsigned mode, bool replace);

}  // namespace corvee
