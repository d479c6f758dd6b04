// The paused tasks among a store's task settings, for the store tests written before pausing
// became one of several stored per-task settings (Store::taskSettings).
#pragma once

#include <string>
#include <vector>

#include "store/store.h"

namespace corvee::testing {

// The tasks whose committed settings say paused, in name order.
inline Result<std::vector<std::string>> pausedTasks(Store& store) {
  auto settings = store.taskSettings();
  if (!settings) return settings.status();
  std::vector<std::string> paused;
  for (const auto& [task, set] : *settings) {
    if (set.paused) paused.push_back(task);
  }
  return paused;
}

// Pauses or resumes `task`, leaving it no other setting.
inline void setPaused(Store& store, std::string_view task, bool paused) {
  TaskSettings settings;
  settings.paused = paused;
  store.setTaskSettings(task, settings);
}

}  // namespace corvee::testing
