#include "store/memory_store.h"

namespace corvee {

Result<std::unique_ptr<Store>> openStore(std::string_view spec) {
  if (spec == "memory") return std::unique_ptr<Store>(std::make_unique<MemoryStore>());
  return Status::error("bad_request", "unknown store '" + std::string(spec) + "' (this build knows: memory)");
}

}  // namespace corvee
