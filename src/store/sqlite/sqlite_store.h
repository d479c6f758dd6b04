// SqliteStore: the embedded durable store (docs/store-schema.md). One SQLite database in WAL mode,
// opened with an exclusive lock; all of a turn's changes go in one transaction.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace corvee {

enum class SyncMode { kFull, kNormal, kOff };

// "full", "normal", "off"; fails with bad_request otherwise.
Result<SyncMode> parseSyncMode(std::string_view text);

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database at `path`. Fails with a message naming the file when it
  // cannot be created or written, is not a Corvee database, is corrupt, or is locked by another
  // broker.
  // `disk_reserve`: while the disk has less free space than this, full() is true (new jobs are
  // refused) though writes still succeed: the room is kept for the changes that finish jobs.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, SyncMode sync,
                                                   std::uint64_t disk_reserve = 0);
  ~SqliteStore() override;

  Result<JobId> recover(const std::function<void(JobRecord&&)>& visit) override;
  void insert(const JobRecord& job) override;
  void insert(JobRecord&& job) override;
  void markRunning(JobId id, std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms) override;
  void markQueued(JobId id) override;
  void recordFailure(JobId id, const AttemptFailure& failure) override;
  void markRetrying(JobId id, std::uint64_t run_at_ms, std::uint32_t retried, std::string_view error_code,
                    std::string_view error_message) override;
  void markRevived(JobId id) override;
  void recordEvent(JobId id, const HistoryEvent& event) override;
  void setTaskSettings(std::string_view task, const TaskSettings& settings) override;
  void markFinished(const JobRecord& job) override;
  void markFinished(JobRecord&& job) override;
  Status commit() override;
  bool full() const override { return full_ || low_space_; }
  // While the disk is full, find() adds the changes waiting in memory; listFinished() and
  // countFinished() read the database alone (the finished jobs as last committed).
  Result<std::optional<JobRecord>> find(JobId id) override;
  Result<std::string> loadPayload(JobId id) override;
  Result<std::vector<JobRecord>> listFinished(const JobFilter& filter) override;
  Result<std::uint64_t> purgeFinished(const PurgeFilter& filter) override;
  Result<std::uint64_t> countFinished(JobState state) override;
  Result<std::uint64_t> trimFinished(JobState state, std::uint64_t keep) override;
  Result<std::vector<std::pair<std::string, TaskSettings>>> taskSettings() override;
  void saveCron(const CronRecord& cron) override;
  void removeCron(std::string_view name) override;
  Result<std::vector<CronRecord>> crons() override;
  void addCounter(std::string_view task, std::string_view name, std::uint64_t delta) override;
  Result<std::vector<CounterTotal>> counters() override;
  Result<std::vector<JobRecord>> uniqueKeysHeld(std::uint64_t now_ms) override;
  std::uint64_t identity() const override { return identity_; }
  std::string describe() const override { return "sqlite:" + path_; }

 private:
  class Statement;
  // One change since the last commit, kept so that a commit the full disk refused can be replayed.
  struct Change {
    enum class Kind : std::uint8_t {
      kInsert, kRunning, kQueued, kFinished, kFailure, kRetrying, kRevived, kEvent, kTaskSettings, kSaveCron,
      kRemoveCron, kCounter
    };
    Kind kind;
    // kInsert, kFinished: the record; kRunning: id, attempt, worker, started_ms; kQueued, kRevived:
    // id; kEvent: id. `history` holds, but for kInsert, the one encoded event to append. kFailure:
    // id and the one failure in `failures`; kRetrying: id, run_at_ms, retried, error_code,
    // error_message; kTaskSettings: task, with `settings`; kCounter: task, the counter's name in
    // error_code and the delta in run_at_ms.
    JobRecord job;
    TaskSettings settings{};
    // kSaveCron: the entry; kRemoveCron: its name. Apart, so job changes do not pay for it.
    std::unique_ptr<CronRecord> cron{};
  };
  SqliteStore(sqlite3* db, std::string path);
  // The schema_version in `meta` (which must exist); 0 when it has none.
  Result<std::int64_t> readSchemaVersion();
  Status prepareAll();
  // Prepares `sql` for one use (a query whose text depends on its filter). Null on failure.
  std::unique_ptr<Statement> prepareOnce(const std::string& sql);
  // Deletes the finished jobs `select_ids` (a SELECT of job ids) names, and their failures, in the
  // turn's transaction; returns how many jobs went. Binds with `bind` before each of the two runs.
  Result<std::uint64_t> deleteJobs(const std::string& select_ids, const std::function<void(Statement&)>& bind,
                                   const char* what);
  // Runs `sql` with no result rows. For schema and pragmas.
  Status exec(const char* sql);
  // Starts the turn's transaction if none is open. False once the store has failed.
  bool beginIfNeeded();
  // Records the first failure; every later write and commit() reports it. A full disk is not a
  // failure but a pause (enterFull).
  void fail(const std::string& what);
  // Runs `change`'s statement in the open transaction. False when it failed (see fail()).
  bool apply(const Change& change);
  // Journals `change` and applies it unless the disk is full.
  void record(Change&& change);
  // The disk is full: rolls back the open transaction; unsynced_ keeps every change for replay.
  void enterFull();
  // Copies the WAL back into the database once it has grown; errors are harmless (the WAL keeps
  // the data) and are retried after a later commit.
  void checkpointIfDue();
  // Reads the disk's free space when enough was written since the last look, or when `now`.
  void checkSpace(bool now);
  // True when the last SQLite error was SQLITE_FULL.
  bool lastErrorIsFull() const;
  // Replays unsynced_ in one transaction and commits it. Fails with store_full or for real.
  Status replay();
  // While full: the job as the unsynced changes leave it, starting from `base` (the database's
  // row, if any). Nullopt when neither knows the job.
  std::optional<JobRecord> withUnsynced(JobId id, std::optional<JobRecord> base) const;
  Status sqliteError(const std::string& what) const;

  sqlite3* db_;
  std::string path_;
  bool in_transaction_ = false;
  JobId max_id_ = 0;
  std::uint64_t identity_ = 0;  // meta 'store_id', chosen at random when the database was created
  JobId committed_max_id_ = 0;
  Status failed_;
  std::vector<Change> unsynced_;  // changes since the last successful commit
  std::map<std::string, TaskSettings, std::less<>> settings_;  // the task settings as committed
  bool settings_unsynced_ = false;                              // unsynced_ holds a kTaskSettings
  bool full_ = false;             // the disk is full; unsynced_ waits for a commit that fits
  int wal_pages_ = 0;             // frames in the WAL after the last commit (its wal hook says)
  std::uint64_t disk_reserve_ = 0;         // see open()
  bool low_space_ = false;                 // the disk's free space is below disk_reserve_
  std::uint64_t bytes_since_check_ = 0;    // journaled since the free space was last read
  std::unique_ptr<Statement> begin_, commit_, rollback_, insert_, insert_history_, running_, queued_, finished_, event_, failure_, retrying_,
      revived_, set_task_, unset_task_, save_cron_, remove_cron_, add_counter_, find_, find_failures_, count_,
      max_id_update_, payload_;
};

}  // namespace corvee
