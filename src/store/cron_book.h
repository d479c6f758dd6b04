// CronBook: the cron entries of a store that keeps them in memory (MemoryStore, VolatileStore),
// where every change is committed at once.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "store/cron_record.h"

namespace corvee {

class CronBook {
 public:
  void save(const CronRecord& cron) { entries_.insert_or_assign(cron.name, cron); }
  void remove(std::string_view name) {
    if (auto it = entries_.find(name); it != entries_.end()) entries_.erase(it);
  }
  std::vector<CronRecord> all() const {
    std::vector<CronRecord> out;
    out.reserve(entries_.size());
    for (const auto& [name, cron] : entries_) out.push_back(cron);
    return out;
  }

 private:
  std::map<std::string, CronRecord, std::less<>> entries_;  // by name
};

}  // namespace corvee
