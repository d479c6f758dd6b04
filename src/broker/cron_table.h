// CronTable: the broker's periodic jobs (cron entries) and when each fires next.
//
// Times are wall-clock Unix milliseconds, since cron expressions name wall-clock times. An entry
// is due when its next firing is at or before now; Core then submits its job and calls fired(),
// and stores the entry (with last_fire_ms) in the same commit as that job.
//
// Missed firings fire once: an entry whose firings fell while the broker was down (or stalled)
// fires once when it can, and then resumes at its next firing after now; it never fires a backlog.
// A wall clock stepped back never fires a time again: the next firing is always after both now and
// the last firing. A paused entry has no next firing; resumed, it goes on from now.
//
// Not thread-safe; owned by the broker's loop.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/cron_spec.h"
#include "corvee/status.h"
#include "store/cron_record.h"

namespace corvee::broker {

class CronTable {
 public:
  struct Entry {
    CronRecord record;
    CronSpec spec;
    std::optional<std::uint64_t> next_ms;  // nullopt: paused, or the expression never fires again
  };

  // Takes an entry loaded from the store at start. Its next firing follows its last one (or its
  // creation), so a firing missed while the broker was down is due at once. Fails with
  // bad_request when its expression or zone no longer parses (the caller reports it).
  Status load(CronRecord record);
  // `cron add`: adds the entry or replaces the one of its name (keeping that one's creation and
  // last firing); it next fires after now. Sets *replaced. Fails with bad_request for an invalid
  // expression or zone, or one that never fires.
  Status add(CronRecord record, std::uint64_t now_ms, bool* replaced);
  bool remove(std::string_view name);
  // Pauses or resumes; false when there is no such entry.
  bool setPaused(std::string_view name, bool paused, std::uint64_t now_ms);

  const Entry* find(std::string_view name) const;
  // Every entry, by name.
  const std::map<std::string, Entry, std::less<>>& entries() const { return entries_; }

  // The earliest next firing of any entry; nullopt when none will fire. O(1): the broker asks
  // after every turn of its loop.
  std::optional<std::uint64_t> nextFiringMs() const;
  // The names of the entries due at `now_ms`, by name.
  std::vector<std::string> due(std::uint64_t now_ms) const;
  // The entry fired at `now_ms`: records it as its last firing and moves to its next one.
  // Returns the entry for the caller to store. REQUIRES: `name` exists.
  const CronRecord& fired(std::string_view name, std::uint64_t now_ms);

 private:
  // Sets the entry's next firing, keeping by_time_ in step.
  void setNext(const std::string& name, Entry& entry, std::optional<std::uint64_t> next);

  std::map<std::string, Entry, std::less<>> entries_;  // by name
  std::set<std::pair<std::uint64_t, std::string>> by_time_;  // (next_ms, name) of entries that will fire
};

}  // namespace corvee::broker
