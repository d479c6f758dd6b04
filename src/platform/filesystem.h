// The few filesystem operations Corvee needs outside its database engines.
#pragma once

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

}  // namespace corvee
