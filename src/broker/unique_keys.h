// UniqueKeys: which job holds each unique key (`submit --unique-key K`), and until when.
//
// A key belongs to a task: the same key under two tasks is two keys. A job holds its key from its
// submission while it is scheduled, queued, retrying or running; a submission of the same key
// meanwhile gets that job's id instead of a new job. When the job succeeds, the key stays held for
// its window (`--unique-for`) after the finish, then is free; a job that ends dead or cancelled
// frees its key at once, so a failed job can be submitted again on purpose. Policy only: Core
// decides when a job finishes and asks here who holds a key.
//
// Costs nothing for jobs without a key: only jobs that hold one are indexed (LiveJob::unique marks
// them), by key and by job. Expired windows are dropped lazily, in expiry order, when the index is
// next consulted, so no timer is needed. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "corvee/job.h"
#include "platform/clock.h"

namespace corvee::broker {

class UniqueKeys {
 public:
  // What a job holds: its key and window, as submitted.
  struct Held {
    std::string key;
    std::uint32_t window_ms = 0;
  };

  // The job holding `key` of `task` at `now`; nullopt when it is free (a finished holder's window
  // that ended by `now` frees it).
  std::optional<JobId> holder(std::string_view task, std::string_view key, MonoTime now);
  // `job`, live, takes `key` of `task`, keeping it for `window_ms` after it succeeds. False (and no
  // change) when another job holds the key. REQUIRES: `job` holds no key yet.
  bool hold(std::string_view task, std::string_view key, JobId job, std::uint32_t window_ms, MonoTime now);
  // A job that already finished (succeeded) at the time that makes its window end at `until`
  // holds `key` until then; used at recovery. False when the key is held already or `until` has
  // passed.
  bool holdFinished(std::string_view task, std::string_view key, JobId job, MonoTime until, MonoTime now);
  // Job `job` finished at `now`. Succeeded: its key stays held for its window (none: freed now);
  // otherwise it is freed now. A job holding no key is ignored.
  void finished(JobId job, bool succeeded, MonoTime now);
  // Frees `key` of `task`, whoever holds it (its holder's record is gone).
  void forget(std::string_view task, std::string_view key);
  // The key and window `job` holds while it is live; nullptr for a job that holds none (or has
  // finished).
  const Held* of(JobId job) const;

  // Keys held now, by live and by finished jobs (some of the latter may have expired unnoticed).
  std::size_t size() const { return by_key_.size(); }

 private:
  struct Entry {
    JobId job = 0;
    std::optional<MonoTime> until;  // set once the job finished: held until then
  };
  struct Expiry {
    MonoTime until;
    JobId job;
    std::string slot;  // the by_key_ key
  };
  struct Later {
    bool operator()(const Expiry& a, const Expiry& b) const { return a.until > b.until; }
  };
  // One string for (task, key): the task's length in one byte (names are at most 255 bytes), the
  // task, then the key, so no two pairs share one.
  static std::string slotOf(std::string_view task, std::string_view key);
  // Frees every key whose window ended by `now`.
  void expire(MonoTime now);

  std::unordered_map<std::string, Entry> by_key_;
  struct Live {
    std::string slot;
    Held held;
  };
  std::unordered_map<JobId, Live> by_job_;  // live holders only
  std::priority_queue<Expiry, std::vector<Expiry>, Later> expiries_;  // finished holders' windows
};

}  // namespace corvee::broker
