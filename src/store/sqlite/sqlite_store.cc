#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <cerrno>

#include "platform/filesystem.h"
#include "platform/random.h"

namespace corvee {

namespace {

constexpr std::int64_t kSchemaVersion = 1;
// SQLite's own default for its automatic checkpoint, which this store runs itself (see open()).
constexpr int kCheckpointPages = 1000;

// Appended to errors that come from the file system refusing access.
constexpr const char* kPermissionHint =
    " (check the permissions of the file and its directory, whether the file system is mounted read-only, and "
    "attributes such as chattr +i)";

// An I/O error whose system cause is a refusal, not a failing disk: EACCES, EPERM (e.g. an
// immutable file, even for root), EROFS.
bool permissionErrno(int error) { return error == EACCES || error == EPERM || error == EROFS; }

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
  id                INTEGER PRIMARY KEY,
  task              TEXT    NOT NULL,
  payload           BLOB,
  priority          INTEGER NOT NULL,
  state             INTEGER NOT NULL,
  attempt           INTEGER NOT NULL,
  timeout_ms        INTEGER NOT NULL,
  run_timeout_ms    INTEGER NOT NULL,
  assign_timeout_ms INTEGER NOT NULL,
  submitted_ms      INTEGER NOT NULL,
  started_ms        INTEGER NOT NULL,
  finished_ms       INTEGER NOT NULL,
  worker            TEXT    NOT NULL,
  result            BLOB,
  error_code        TEXT    NOT NULL,
  error_message     TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_unfinished ON jobs(id) WHERE state < 3;
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(finished_ms) WHERE state >= 3;
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', 1), ('max_id', 0);
)sql";

constexpr const char* kColumns =
    "id, task, payload, priority, state, attempt, timeout_ms, run_timeout_ms, assign_timeout_ms, submitted_ms, "
    "started_ms, finished_ms, worker, result, error_code, error_message";
// The same columns in the same order, with NULL where the payload would be.
constexpr const char* kColumnsPayloadless =
    "id, task, NULL, priority, state, attempt, timeout_ms, run_timeout_ms, assign_timeout_ms, submitted_ms, "
    "started_ms, finished_ms, worker, result, error_code, error_message";

}  // namespace

// A prepared statement, reset after each use. Binding indexes are 1-based, as in SQLite.
class SqliteStore::Statement {
 public:
  Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bindText(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Statement& bindBlob(int i, std::string_view v) {
    // A zero-length blob must still be a blob (not NULL), so give SQLite a valid pointer.
    sqlite3_bind_blob(stmt_, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  // Steps once; SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  // Runs to completion and resets; SQLITE_DONE on success.
  int run() {
    int rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return rc;
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::int64_t integer(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) {
    const void* data = sqlite3_column_blob(stmt_, col);
    int size = sqlite3_column_bytes(stmt_, col);
    return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
  }
  // Reads a row of `kColumns`.
  JobRecord record() {
    JobRecord r;
    r.id = static_cast<JobId>(integer(0));
    r.task = text(1);
    r.payload = text(2);
    r.priority = static_cast<std::int32_t>(integer(3));
    r.state = static_cast<JobState>(integer(4));
    r.attempt = static_cast<std::uint32_t>(integer(5));
    r.timeout_ms = static_cast<std::uint32_t>(integer(6));
    r.run_timeout_ms = static_cast<std::uint32_t>(integer(7));
    r.assign_timeout_ms = static_cast<std::uint32_t>(integer(8));
    r.submitted_ms = static_cast<std::uint64_t>(integer(9));
    r.started_ms = static_cast<std::uint64_t>(integer(10));
    r.finished_ms = static_cast<std::uint64_t>(integer(11));
    r.worker = text(12);
    r.result = text(13);
    r.error_code = text(14);
    r.error_message = text(15);
    return r;
  }

 private:
  sqlite3_stmt* stmt_;
};

Result<SyncMode> parseSyncMode(std::string_view text) {
  if (text == "full") return SyncMode::kFull;
  if (text == "normal") return SyncMode::kNormal;
  if (text == "off") return SyncMode::kOff;
  return Status::error("bad_request", "--sync must be full, normal or off, not '" + std::string(text) + "'");
}

SqliteStore::SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

SqliteStore::~SqliteStore() {
  // Statements first: sqlite3_close refuses while any is unfinalized.
  begin_.reset(); commit_.reset(); rollback_.reset(); insert_.reset(); running_.reset(); queued_.reset();
  finished_.reset(); find_.reset(); purge_.reset(); max_id_update_.reset(); payload_.reset();
  if (in_transaction_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  // A clean stop folds the WAL back into the database, so the next start reads one file.
  sqlite3_exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  sqlite3_close(db_);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, SyncMode sync,
                                                      std::uint64_t disk_reserve) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    // SQLite's errno here is that of its last fallback, not the cause, so both causes are named.
    if ((rc & 0xff) == SQLITE_CANTOPEN) {
      why += " (check that its directory exists and that this process may create files there)";
    }
    return Status::error("unavailable", "cannot open the database " + path + ": " + why);
  }
  // SQLite opens a file it may not write read-only, silently, and the first lock then fails as
  // "disk I/O error" (SQLITE_IOERR_LOCK, EBADF): say what is wrong instead. This is the case of a
  // file without write permission, on a read-only mount, or immutable (chattr +i), root or not.
  if (sqlite3_db_readonly(db, "main") == 1) {
    sqlite3_close(db);
    return Status::error("unavailable", "cannot open the database " + path +
                                            " for writing: it is read-only for this process" + kPermissionHint);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, path));
  sqlite3_extended_result_codes(db, 1);
  // No waiting on locks: another broker holding this database is an error to report, not to wait out.
  sqlite3_busy_timeout(db, 0);
  // First, so that SQLite keeps the WAL index in memory (no -shm file) and holds the locks it takes.
  if (Status s = store->exec("PRAGMA locking_mode=EXCLUSIVE"); !s) return s;
  // Another application's database (tables, but no `meta`) is not ours: refuse it before the
  // pragmas below switch it to WAL and the schema adds Corvee's tables to it.
  {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*), coalesce(sum(type = 'table' AND name = 'meta'), 0) FROM sqlite_master",
                           -1, &raw, nullptr) != SQLITE_OK) {
      return store->sqliteError("reading the schema");
    }
    Statement schema(raw);
    if (schema.step() != SQLITE_ROW) return store->sqliteError("reading the schema");
    if (schema.integer(0) > 0 && schema.integer(1) == 0) {
      return Status::error("unavailable", path + ": holds tables of another application (the file is not a Corvee "
                                                 "database; it was left untouched)");
    }
  }
  const char* sync_pragma = sync == SyncMode::kFull     ? "PRAGMA synchronous=FULL"
                            : sync == SyncMode::kNormal ? "PRAGMA synchronous=NORMAL"
                                                        : "PRAGMA synchronous=OFF";
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", sync_pragma, "PRAGMA foreign_keys=OFF", "PRAGMA cache_size=-16384"}) {
    if (Status s = store->exec(pragma); !s) return s;
  }
  // Takes the exclusive lock now (the first write does), so a second broker fails here.
  if (Status s = store->exec("BEGIN IMMEDIATE"); !s) return s;
  if (Status s = store->exec(kSchema); !s) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  // The store's identity is chosen once, when the database is created, and kept for ever after.
  std::string name_it = "INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id', " +
                        std::to_string(static_cast<std::int64_t>(randomNonZeroU64() >> 1)) + ")";
  if (Status s = store->exec(name_it.c_str()); !s) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  if (Status s = store->exec("COMMIT"); !s) return s;
  if (Status s = store->prepareAll(); !s) return s;
  // The automatic checkpoint runs inside COMMIT and reports its own failure (a full disk, while
  // the database file grows) as COMMIT's, though the commit happened: a replay would then insert
  // jobs twice. Replacing the WAL hook turns it off; commit() checkpoints after a clean COMMIT.
  sqlite3_wal_hook(
      db,
      [](void* self, sqlite3*, const char*, int pages) {
        static_cast<SqliteStore*>(self)->wal_pages_ = pages;
        return SQLITE_OK;
      },
      store.get());
  store->disk_reserve_ = disk_reserve;
  store->checkSpace(/*now=*/true);

  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &raw, nullptr) != SQLITE_OK) {
    return store->sqliteError("reading meta");
  }
  Statement read_meta(raw);
  std::int64_t version = 0;
  while ((rc = read_meta.step()) == SQLITE_ROW) {
    std::string key = read_meta.text(0);
    if (key == "schema_version") version = read_meta.integer(1);
    if (key == "max_id") store->max_id_ = store->committed_max_id_ = static_cast<JobId>(read_meta.integer(1));
    if (key == "store_id") store->identity_ = static_cast<std::uint64_t>(read_meta.integer(1));
  }
  if (rc != SQLITE_DONE) return store->sqliteError("reading meta");
  if (version != kSchemaVersion) {
    return Status::error("unavailable", path + " has schema version " + std::to_string(version) +
                                            "; this broker reads version " + std::to_string(kSchemaVersion));
  }
  return store;
}

Status SqliteStore::sqliteError(const std::string& what) const {
  int code = sqlite3_extended_errcode(db_);
  std::string message = sqlite3_errmsg(db_);
  int primary = code & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    message += " (is another broker using it?)";
  } else if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
    message += " (the file is damaged or is not a Corvee database; it was left untouched)";
  } else if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN || primary == SQLITE_PERM ||
             permissionErrno(sqlite3_system_errno(db_))) {
    message += kPermissionHint;
  } else if (primary == SQLITE_FULL) {
    message += " (the disk is full)";
  }
  return Status::error("unavailable", path_ + ": " + what + ": " + message);
}

Status SqliteStore::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) == SQLITE_OK) return Status::ok();
  sqlite3_free(error);
  return sqliteError(std::string("running '") + std::string(sql).substr(0, 40) + "'");
}

Status SqliteStore::prepareAll() {
  auto prepare = [this](std::unique_ptr<Statement>& into, const std::string& sql) -> bool {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) return false;
    into = std::make_unique<Statement>(stmt);
    return true;
  };
  bool ok = prepare(begin_, "BEGIN") && prepare(commit_, "COMMIT") && prepare(rollback_, "ROLLBACK") &&
            prepare(insert_, std::string("INSERT INTO jobs(") + kColumns +
                                 ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)") &&
            prepare(running_, "UPDATE jobs SET state = 2, attempt = ?2, worker = ?3, started_ms = ?4 WHERE id = ?1") &&
            prepare(queued_, "UPDATE jobs SET state = 1 WHERE id = ?1") &&
            prepare(finished_,
                    "UPDATE jobs SET state = ?2, attempt = ?3, finished_ms = ?4, result = ?5, error_code = ?6, "
                    "error_message = ?7, payload = NULL WHERE id = ?1") &&
            prepare(find_, std::string("SELECT ") + kColumns + " FROM jobs WHERE id = ?1") &&
            prepare(purge_, "DELETE FROM jobs WHERE state >= 3 AND finished_ms < ?1") &&
            prepare(max_id_update_, "UPDATE meta SET value = ?1 WHERE key = 'max_id'") &&
            prepare(payload_, "SELECT payload FROM jobs WHERE id = ?1 AND state < 3");
  return ok ? Status::ok() : sqliteError("preparing statements");
}

void SqliteStore::fail(const std::string& what) {
  if (failed_.isOk()) failed_ = sqliteError(what);
}

bool SqliteStore::beginIfNeeded() {
  if (!failed_.isOk()) return false;
  if (in_transaction_) return true;
  if (begin_->run() != SQLITE_DONE) {
    fail("starting a transaction");
    return false;
  }
  in_transaction_ = true;
  return true;
}

Result<JobId> SqliteStore::recover(const std::function<void(JobRecord&&)>& visit) {
  sqlite3_stmt* raw = nullptr;
  // Payloads stay on disk (NULL in their column here): the broker loads each when it deals the
  // job, so a restart with a million queued jobs reads and holds a fraction of the data.
  std::string sql = std::string("SELECT ") + kColumnsPayloadless + " FROM jobs WHERE state < 3 ORDER BY id";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) return sqliteError("reading jobs");
  Statement scan(raw);
  int rc;
  while ((rc = scan.step()) == SQLITE_ROW) {
    JobRecord record = scan.record();
    max_id_ = std::max(max_id_, record.id);
    visit(std::move(record));
  }
  if (rc != SQLITE_DONE) return sqliteError("reading jobs");
  return max_id_;
}

void SqliteStore::insert(const JobRecord& job) { insert(JobRecord(job)); }

void SqliteStore::insert(JobRecord&& job) {
  max_id_ = std::max(max_id_, job.id);
  record({Change::Kind::kInsert, std::move(job)});
}

void SqliteStore::markRunning(JobId id, std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms) {
  Change change{Change::Kind::kRunning, {}};
  change.job.id = id;
  change.job.attempt = attempt;
  change.job.worker = std::string(worker);
  change.job.started_ms = started_ms;
  record(std::move(change));
}

void SqliteStore::markQueued(JobId id) {
  Change change{Change::Kind::kQueued, {}};
  change.job.id = id;
  record(std::move(change));
}

void SqliteStore::markFinished(const JobRecord& job) { markFinished(JobRecord(job)); }

void SqliteStore::markFinished(JobRecord&& job) {
  Change change{Change::Kind::kFinished, std::move(job)};
  std::string().swap(change.job.payload);  // a finished job keeps no payload
  record(std::move(change));
}

void SqliteStore::record(Change&& change) {
  if (!failed_.isOk()) return;
  bytes_since_check_ += change.job.payload.size() + change.job.result.size() + change.job.error_message.size() + 256;
  unsynced_.push_back(std::move(change));
  // While the disk is full the change only waits in unsynced_ for the replay; apply() switches to
  // that mode itself when this very change finds no room.
  if (full_ || !beginIfNeeded()) return;
  apply(unsynced_.back());
}

bool SqliteStore::apply(const Change& change) {
  const JobRecord& job = change.job;
  Statement* stmt = nullptr;
  switch (change.kind) {
    case Change::Kind::kInsert:
      stmt = insert_.get();
      stmt->bind(1, static_cast<std::int64_t>(job.id))
          .bindText(2, job.task)
          .bindBlob(3, job.payload)
          .bind(4, job.priority)
          .bind(5, static_cast<std::int64_t>(job.state))
          .bind(6, job.attempt)
          .bind(7, job.timeout_ms)
          .bind(8, job.run_timeout_ms)
          .bind(9, job.assign_timeout_ms)
          .bind(10, static_cast<std::int64_t>(job.submitted_ms))
          .bind(11, static_cast<std::int64_t>(job.started_ms))
          .bind(12, static_cast<std::int64_t>(job.finished_ms))
          .bindText(13, job.worker)
          .bindBlob(14, job.result)
          .bindText(15, job.error_code)
          .bindText(16, job.error_message);
      break;
    case Change::Kind::kRunning:
      stmt = running_.get();
      stmt->bind(1, static_cast<std::int64_t>(job.id))
          .bind(2, job.attempt)
          .bindText(3, job.worker)
          .bind(4, static_cast<std::int64_t>(job.started_ms));
      break;
    case Change::Kind::kQueued:
      stmt = queued_.get();
      stmt->bind(1, static_cast<std::int64_t>(job.id));
      break;
    case Change::Kind::kFinished:
      stmt = finished_.get();
      stmt->bind(1, static_cast<std::int64_t>(job.id))
          .bind(2, static_cast<std::int64_t>(job.state))
          .bind(3, job.attempt)
          .bind(4, static_cast<std::int64_t>(job.finished_ms))
          .bindBlob(5, job.result)
          .bindText(6, job.error_code)
          .bindText(7, job.error_message);
      break;
  }
  if (stmt->run() == SQLITE_DONE) return true;
  if (lastErrorIsFull()) {
    enterFull();
  } else {
    fail((change.kind == Change::Kind::kInsert ? "inserting job " : "updating job ") + std::to_string(job.id));
  }
  return false;
}

bool SqliteStore::lastErrorIsFull() const { return (sqlite3_extended_errcode(db_) & 0xff) == SQLITE_FULL; }

void SqliteStore::enterFull() {
  // SQLite may already have rolled the transaction back itself; then ROLLBACK is a no-op error.
  if (!sqlite3_get_autocommit(db_)) rollback_->run();
  in_transaction_ = false;
  full_ = true;
}

Status SqliteStore::commit() {
  if (!failed_.isOk()) {
    if (in_transaction_) rollback_->run();
    in_transaction_ = false;
    return failed_;
  }
  if (full_) return replay();
  if (!in_transaction_) {
    // Nothing to write; the broker calls this every second while full(), to learn of new room.
    if (low_space_) checkSpace(/*now=*/true);
    return Status::ok();
  }
  if (max_id_ != committed_max_id_) {
    max_id_update_->bind(1, static_cast<std::int64_t>(max_id_));
    if (max_id_update_->run() != SQLITE_DONE) {
      if (lastErrorIsFull()) {
        enterFull();
        return Status::error("store_full", path_ + ": the disk is full; " + std::to_string(unsynced_.size()) +
                                               " changes wait in memory until it has room");
      }
      fail("recording the highest job id");
    }
  }
  if (failed_.isOk() && commit_->run() != SQLITE_DONE) {
    if (lastErrorIsFull()) {
      enterFull();
      return Status::error("store_full", path_ + ": the disk is full; " + std::to_string(unsynced_.size()) +
                                             " changes wait in memory until it has room");
    }
    fail("committing");
  }
  if (!failed_.isOk()) {
    rollback_->run();
    in_transaction_ = false;
    return failed_;
  }
  in_transaction_ = false;
  committed_max_id_ = max_id_;
  unsynced_.clear();
  checkpointIfDue();
  checkSpace(/*now=*/false);
  return Status::ok();
}

void SqliteStore::checkSpace(bool now) {
  if (disk_reserve_ == 0) return;
  // A look costs a system call: take one per eighth of the reserve written (at most per MiB), so
  // the reserve cannot be used up between two looks by this store's own writes.
  std::uint64_t every = std::min<std::uint64_t>(disk_reserve_ / 8, 1024 * 1024);
  if (!now && bytes_since_check_ < every && !low_space_) return;
  bytes_since_check_ = 0;
  std::string dir = path_.find('/') == std::string::npos ? "." : path_.substr(0, path_.rfind('/') + 1);
  Result<std::uint64_t> free_bytes = freeDiskBytes(dir);
  if (!free_bytes) return;  // cannot tell: the commits themselves will say when the disk is full
  low_space_ = *free_bytes < disk_reserve_;
}

void SqliteStore::checkpointIfDue() {
  if (wal_pages_ < kCheckpointPages) return;
  // PASSIVE, as the automatic one: with the exclusive lock nobody else reads, so it completes.
  if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) == SQLITE_OK) wal_pages_ = 0;
}

Status SqliteStore::replay() {
  auto stillFull = [this] {
    enterFull();
    return Status::error("store_full", path_ + ": the disk is still full; " + std::to_string(unsynced_.size()) +
                                           " changes wait in memory until it has room");
  };
  if (begin_->run() != SQLITE_DONE) {
    if (lastErrorIsFull()) return stillFull();
    fail("starting a transaction");
    return failed_;
  }
  in_transaction_ = true;
  full_ = false;  // apply() sets it again if the disk is still full
  for (const Change& change : unsynced_) {
    if (!apply(change)) return full_ ? stillFull() : failed_;
  }
  // From here on, commit() is the ordinary one: the whole backlog is in the open transaction.
  Status committed = commit();
  if (!committed && full_) return stillFull();
  return committed;
}

std::optional<JobRecord> SqliteStore::withUnsynced(JobId id, std::optional<JobRecord> base) const {
  for (const Change& change : unsynced_) {
    if (change.job.id != id) continue;
    switch (change.kind) {
      case Change::Kind::kInsert:
        base = change.job;
        break;
      case Change::Kind::kRunning:
        if (!base) break;
        base->state = JobState::kRunning;
        base->attempt = change.job.attempt;
        base->worker = change.job.worker;
        base->started_ms = change.job.started_ms;
        break;
      case Change::Kind::kQueued:
        if (base) base->state = JobState::kQueued;
        break;
      case Change::Kind::kFinished:
        // The same columns as the `finished_` statement sets.
        if (!base) break;
        base->state = change.job.state;
        base->attempt = change.job.attempt;
        base->finished_ms = change.job.finished_ms;
        base->result = change.job.result;
        base->error_code = change.job.error_code;
        base->error_message = change.job.error_message;
        base->payload.clear();
        break;
    }
  }
  return base;
}

Result<std::string> SqliteStore::loadPayload(JobId id) {
  if (full_) {
    // Jobs submitted just before the disk filled may exist only in unsynced_.
    Result<std::optional<JobRecord>> job = find(id);
    if (!job) return job.status();
    if (!job->has_value() || isFinished((*job)->state)) {
      return Status::error("not_found", "no unfinished job " + std::to_string(id));
    }
    return std::move((*job)->payload);
  }
  payload_->bind(1, static_cast<std::int64_t>(id));
  int rc = payload_->step();
  std::optional<std::string> payload;
  if (rc == SQLITE_ROW) payload = payload_->text(0);
  payload_->reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqliteError("reading the payload of job " + std::to_string(id));
  if (!payload) return Status::error("not_found", "no unfinished job " + std::to_string(id));
  return std::move(*payload);
}

Result<std::optional<JobRecord>> SqliteStore::find(JobId id) {
  find_->bind(1, static_cast<std::int64_t>(id));
  int rc = find_->step();
  std::optional<JobRecord> found;
  if (rc == SQLITE_ROW) found = find_->record();
  find_->reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqliteError("reading job " + std::to_string(id));
  // While full, the database misses the changes since the last commit; normally the open
  // transaction holds them and this read sees them already.
  if (full_) return withUnsynced(id, std::move(found));
  return found;
}

Result<std::uint64_t> SqliteStore::purgeFinished(std::uint64_t finished_before_ms) {
  if (full_) return std::uint64_t{0};
  if (!beginIfNeeded()) return failed_;
  purge_->bind(1, static_cast<std::int64_t>(finished_before_ms));
  if (purge_->run() != SQLITE_DONE) {
    if (lastErrorIsFull()) {
      enterFull();
      return std::uint64_t{0};
    }
    fail("purging finished jobs");
    return failed_;
  }
  return static_cast<std::uint64_t>(sqlite3_changes64(db_));
}

}  // namespace corvee
