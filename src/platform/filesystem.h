// The few filesystem operations Corvee needs outside its database engines.
#pragma once

#include <string>

#include "corvee/status.h"

namespace corvee {

// Creates `path` and its parents if missing. Fails with `unavailable` naming the path and the
// reason (permissions, a file in the way, ...).
Status ensureDirectory(const std::string& path);

}  // namespace corvee
