#include "platform/filesystem.h"
#include "store/sqlite/sqlite_store.h"
#include "store/volatile_store.h"

namespace corvee {

Result<std::unique_ptr<Store>> openStore(std::string_view spec, const StoreSettings& settings) {
  if (spec == "memory") return std::unique_ptr<Store>(std::make_unique<VolatileStore>(settings.results));
  std::string path;
  if (spec == "sqlite") {
    if (Status made = ensureDirectory(settings.data_dir); !made) return made;
    path = settings.data_dir + "/corvee.db";
  } else if (spec.substr(0, 7) == "sqlite:") {
    path = std::string(spec.substr(7));
    if (path.empty()) return Status::error("bad_request", "--store sqlite:PATH needs a PATH");
  } else {
    return Status::error("bad_request",
                         "unknown store '" + std::string(spec) + "' (this build knows: sqlite, sqlite:PATH, memory)");
  }
  // Absolute, so the broker's start line (describe()) says where the jobs are whatever the
  // directory it was started from.
  auto absolute = absolutePath(path);
  if (!absolute) return absolute.status();
  path = std::move(*absolute);
  auto sync = parseSyncMode(settings.sync);
  if (!sync) return sync.status();
  auto store = SqliteStore::open(path, *sync, settings.disk_reserve);
  if (!store) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace corvee
