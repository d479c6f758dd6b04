// Store: the broker's durable journal of jobs, behind which memory, SQLite, PostgreSQL and Redis
// backends sit.
//
// The broker keeps live jobs in memory and tells the store every change. Changes are buffered and
// made durable together by commit(), which the broker calls once per turn of its event loop, before
// it sends the acknowledgements for those changes (group commit). After a restart, recover() hands
// back every unfinished job. Finished jobs stay findable until purged by retention.
//
// Not thread-safe: the broker's loop thread is the only caller. A backend that does slow I/O keeps
// its own threads behind this interface.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "corvee/status.h"
#include "store/cron_record.h"
#include "store/job_history.h"
#include "store/job_record.h"

namespace corvee {

// What an operator set for one task at run time, stored so that it survives a restart.
struct TaskSettings {
  bool paused = false;  // `corvee pause`: its queued jobs wait
  // `corvee rate TASK N/s[:BURST]`: the dispatch rate as broker::RateSpec reads it; "" for
  // `corvee rate TASK off` (no limit, whatever the broker's --rate says); nullopt when none was set
  // at run time, so the broker's --rate flag applies.
  std::optional<std::string> rate;
  bool isDefault() const { return !paused && !rate; }
  bool operator==(const TaskSettings&) const = default;
};

// One total the store keeps across restarts (docs/store-schema.md, `counters`): jobs of `task`
// counted under `name` ("succeeded", ...; broker/task_metrics.h names them).
struct CounterTotal {
  std::string task;
  std::string name;
  std::uint64_t value = 0;
  bool operator==(const CounterTotal&) const = default;
};

// Which finished jobs purgeFinished() deletes: all conditions hold.
struct PurgeFilter {
  std::vector<JobState> states;          // finished states; empty: every finished state
  std::string task;                      // empty: every task
  std::uint64_t finished_before_ms = 0;  // 0: no bound
};

class Store {
 public:
  virtual ~Store() = default;

  // Calls `visit` for every queued or running job, in id order, and returns the highest id the
  // store ever held (0 when empty), so new ids never repeat old ones. Called once, before any write.
  // A backend may leave `payload` empty to keep recovery fast; loadPayload() then provides it.
  virtual Result<JobId> recover(const std::function<void(JobRecord&&)>& visit) = 0;

  // Buffered changes; durable once commit() returns OK. Together they make the job's history
  // (store/job_history.h), which find() returns whole: the record's `history` given to insert()
  // (its first events), the running event of each markRunning() and the final event of
  // markFinished(), and the events recordEvent() is given for the other changes, which the broker
  // names (why a job was queued again, the time of its retry, ...). A journaling store writes
  // only what its record's columns cannot tell (history::addEvent(), history::settleFinished()) and
  // derives the rest when read (history::complete()), so that a job's ordinary life costs no history
  // write; the volatile store keeps every event.
  virtual void insert(const JobRecord& job) = 0;
  // The same, from a caller done with `job`: a store that keeps the record takes it without a copy.
  virtual void insert(JobRecord&& job) { insert(static_cast<const JobRecord&>(job)); }
  // The job started attempt `attempt` on `worker`.
  virtual void markRunning(JobId id, std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms) = 0;
  // The job went back to its queue: its worker was lost, or its retry came due.
  virtual void markQueued(JobId id) = 0;
  // An attempt failed; appended to the job's failures (kept until the job is purged).
  virtual void recordFailure(JobId id, const AttemptFailure& failure) = 0;
  // The job waits for its next attempt until `run_at_ms`, having used `retried` retries; its
  // error_code/error_message become the last failure's.
  virtual void markRetrying(JobId id, std::uint64_t run_at_ms, std::uint32_t retried, std::string_view error_code,
                            std::string_view error_message) = 0;
  // A dead job goes back to the queue with fresh retries (`dead retry`): state queued, retried 0,
  // finished_ms 0, error cleared; attempt and failures are kept (attempt numbers never repeat).
  // A job that is not dead is left alone.
  virtual void markRevived(JobId id) = 0;
  // Appends `event` to the job's history; a job the store does not hold is left alone.
  virtual void recordEvent(JobId id, const HistoryEvent& event) = 0;
  // A task's settings (pause, rate), stored with the jobs so they survive a restart. Replaces
  // what was stored for the task; default settings remove it.
  virtual void setTaskSettings(std::string_view task, const TaskSettings& settings) = 0;
  // The job finished: state, attempt, result or error, finished_ms are taken from `job`. Its other
  // fields carry the job's last known values, for a store that keeps no journal of live jobs (see
  // journalsLiveJobs()); its payload is set for a dead job only, whose payload every store keeps
  // (a journaling store already has it) so that markRevived() can bring it back.
  virtual void markFinished(const JobRecord& job) = 0;
  virtual void markFinished(JobRecord&& job) { markFinished(static_cast<const JobRecord&>(job)); }

  // Makes every buffered change durable. Fails with `store_full` when the disk has no room: then
  // nothing was written, the changes stay buffered, full() turns true, and a later commit()
  // retries them all (the broker keeps its acknowledgements until one succeeds). On any other
  // failure the store refuses further writes until restart: the state on disk is unknown, and the
  // broker must not acknowledge anything.
  virtual Status commit() = 0;
  // True while the disk is full: changes since the last commit wait in memory for commit() to
  // succeed, and the broker takes no new jobs (they would only grow that backlog).
  virtual bool full() const { return false; }

  // The payload of a queued or running job, for dealing it when the broker did not keep it in
  // memory. Fails with not_found for unknown or finished jobs.
  virtual Result<std::string> loadPayload(JobId id) = 0;

  // A job by id, finished or not, with its failures and history; nullopt when unknown or purged.
  virtual Result<std::optional<JobRecord>> find(JobId id) = 0;
  // Finished jobs matching `filter` (whose state, if set, is a finished one), newest (highest id)
  // first, at most filter.limit, without payload or result.
  virtual Result<std::vector<JobRecord>> listFinished(const JobFilter& filter) = 0;
  // Deletes finished jobs matching `filter`; returns how many. While full(), it deletes nothing
  // and returns 0: a deletion is a write too. Takes effect at once (not at commit()).
  virtual Result<std::uint64_t> purgeFinished(const PurgeFilter& filter) = 0;
  // Finished jobs in `state`.
  virtual Result<std::uint64_t> countFinished(JobState state) = 0;
  // Deletes the jobs in finished `state` that finished first, keeping the newest `keep`; returns
  // how many went. Takes effect at once, like purgeFinished().
  virtual Result<std::uint64_t> trimFinished(JobState state, std::uint64_t keep) = 0;
  // Every task whose settings are not the default, by name, as committed.
  virtual Result<std::vector<std::pair<std::string, TaskSettings>>> taskSettings() = 0;
  // The succeeded jobs that still hold their unique key at wall time `now_ms`: those with a
  // unique_key whose finished_ms + unique_for_ms is later than now_ms, in id order, without
  // payload or result. For the broker's recovery (broker/unique_keys.h); indexed, so its cost
  // follows those jobs, not every finished one.
  virtual Result<std::vector<JobRecord>> uniqueKeysHeld(std::uint64_t now_ms) = 0;

  // Totals that survive restarts. addCounter() adds `delta` to the total of (`task`, `name`),
  // buffered like the job changes and durable with them: the broker calls it at most once per
  // task and name before each commit, with what changed since the last. counters() returns every
  // total the store holds, by task and name: for the broker's start, before any addition.
  virtual void addCounter(std::string_view task, std::string_view name, std::uint64_t delta) = 0;
  virtual Result<std::vector<CounterTotal>> counters() = 0;

  // Periodic jobs. saveCron() inserts or replaces the entry of that name, buffered like the job
  // changes: the broker saves an entry's last_fire_ms in the same commit as the job that firing
  // made, so a firing is neither lost nor doubled by a crash.
  virtual void saveCron(const CronRecord& cron) = 0;
  virtual void removeCron(std::string_view name) = 0;
  // Every cron entry as committed, by name. Called at start.
  virtual Result<std::vector<CronRecord>> crons() = 0;

  // Names this store's data: the same across restarts of a durable store (and for every broker
  // sharing one database), new for each MemoryStore. Clients compare it across reconnections to
  // know whether the job ids they hold still mean anything. Never 0.
  virtual std::uint64_t identity() const = 0;

  // "memory", "sqlite:PATH", ... for logs and stats.
  virtual std::string describe() const = 0;

  // False for a store that keeps only finished jobs (VolatileStore): then recover() finds nothing,
  // find() knows finished jobs only, and loadPayload() cannot help, so the broker must keep every
  // payload of a live job itself.
  virtual bool journalsLiveJobs() const { return true; }
};

// Bounds on the finished jobs a store keeps for STATUS, besides the result TTL: past either one,
// the jobs that finished first are dropped. 0: no bound. The defaults keep a day of results of a
// busy broker queryable while capping what a memory store holds: 100,000 small records cost some
// 30 MiB, and results cost their size, capped at 256 MiB. The memory store enforces them; the
// SQLite store keeps finished jobs on disk until the TTL and does not (yet).
struct ResultLimits {
  std::uint64_t max_count = 100'000;
  std::uint64_t max_bytes = 256ULL * 1024 * 1024;  // result, error and bookkeeping bytes of each job
};

// How `corvee broker` spells where the store lives and what it keeps.
struct StoreSettings {
  std::string data_dir = "corvee-data";  // for "sqlite": the database is DATA_DIR/corvee.db
  std::string sync = "full";             // for SQLite: full, normal or off (docs/store-schema.md)
  ResultLimits results;
  // For SQLite: free disk space kept for the changes that finish jobs. Below it the store counts
  // as full() and the broker refuses new jobs, so results and failures still find room.
  std::uint64_t disk_reserve = 64ULL * 1024 * 1024;
};

// Opens a store from its command-line spelling: "sqlite" (in settings.data_dir), "sqlite:PATH",
// or "memory". Fails with bad_request for an unknown spelling, and with `unavailable` naming the
// file when the database cannot be opened, is locked, damaged, or unwritable.
Result<std::unique_ptr<Store>> openStore(std::string_view spec, const StoreSettings& settings = {});

}  // namespace corvee
