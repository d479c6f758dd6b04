// CounterBook: the totals of a store that keeps them in memory (MemoryStore, VolatileStore), where
// every change is committed at once.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/store.h"

namespace corvee {

class CounterBook {
 public:
  void add(std::string_view task, std::string_view name, std::uint64_t delta) {
    totals_[{std::string(task), std::string(name)}] += delta;
  }
  // By task, then name.
  std::vector<CounterTotal> all() const {
    std::vector<CounterTotal> out;
    out.reserve(totals_.size());
    for (const auto& [key, value] : totals_) out.push_back({key.first, key.second, value});
    return out;
  }

 private:
  std::map<std::pair<std::string, std::string>, std::uint64_t> totals_;
};

}  // namespace corvee
