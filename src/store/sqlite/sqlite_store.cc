#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <functional>

#include "platform/filesystem.h"
#include "platform/random.h"

namespace corvee {

namespace {

// 1: issue 8's jobs table. 2: retry policy columns, the failures and paused_tasks tables, and
// indexes that name the live and the finished states. 3: unique keys, fairness keys, task_settings
// in place of paused_tasks, and the crons table. 4: the counters table and the jobs' history column
// (docs/store-schema.md).
constexpr std::int64_t kSchemaVersion = 4;
// SQLite's own default for its automatic checkpoint, which this store runs itself (see open()).
constexpr int kCheckpointPages = 1000;

// Appended to errors that come from the file system refusing access.
constexpr const char* kPermissionHint =
    " (check the permissions of the file and its directory, whether the file system is mounted read-only, and "
    "attributes such as chattr +i)";

// An I/O error whose system cause is a refusal, not a failing disk: EACCES, EPERM (e.g. an
// immutable file, even for root), EROFS.
bool permissionErrno(int error) { return error == EACCES || error == EPERM || error == EROFS; }

// The current schema, created on a fresh database; an older one is brought here by kUpgrade first.
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
  error_message     TEXT    NOT NULL,
  retries           INTEGER NOT NULL DEFAULT 0,
  retried           INTEGER NOT NULL DEFAULT 0,
  backoff_ms        INTEGER NOT NULL DEFAULT 1000,
  backoff_max_ms    INTEGER NOT NULL DEFAULT 3600000,
  run_at_ms         INTEGER NOT NULL DEFAULT 0,
  unique_key        TEXT    NOT NULL DEFAULT '',
  unique_for_ms     INTEGER NOT NULL DEFAULT 0,
  fair_key          TEXT    NOT NULL DEFAULT '',
  history           BLOB
);
CREATE TABLE IF NOT EXISTS failures (
  job_id        INTEGER NOT NULL,
  attempt       INTEGER NOT NULL,
  worker        TEXT    NOT NULL,
  started_ms    INTEGER NOT NULL,
  ended_ms      INTEGER NOT NULL,
  error_code    TEXT    NOT NULL,
  error_message TEXT    NOT NULL,
  PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS task_settings (
  task   TEXT PRIMARY KEY,
  paused INTEGER NOT NULL DEFAULT 0,
  rate   TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS crons (
  name           TEXT    PRIMARY KEY,
  spec           TEXT    NOT NULL,
  tz             TEXT    NOT NULL,
  task           TEXT    NOT NULL,
  submit         BLOB    NOT NULL,
  submit_version INTEGER NOT NULL,
  paused         INTEGER NOT NULL,
  created_ms     INTEGER NOT NULL,
  last_fire_ms   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
  task  TEXT    NOT NULL,
  name  TEXT    NOT NULL,
  value INTEGER NOT NULL,
  PRIMARY KEY (task, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_live ON jobs(id) WHERE (state < 3 OR state >= 6);
CREATE INDEX IF NOT EXISTS jobs_done ON jobs(state, finished_ms) WHERE state BETWEEN 3 AND 5;
CREATE INDEX IF NOT EXISTS jobs_unique_done ON jobs(finished_ms) WHERE state = 3 AND unique_for_ms > 0;
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', 4), ('max_id', 0);
)sql";

// Version 1 to 2, run before kSchema in the same transaction. Adding a column with a constant
// default rewrites no row, so this is quick on a big database; kSchema then creates the new
// tables and indexes. The old indexes' predicates (state < 3, state >= 3) would file retrying jobs
// (6) as finished and cancelled ones (5) rightly but by accident.
constexpr const char* kUpgradeFrom1 = R"sql(
ALTER TABLE jobs ADD COLUMN retries        INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN retried        INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN backoff_ms     INTEGER NOT NULL DEFAULT 1000;
ALTER TABLE jobs ADD COLUMN backoff_max_ms INTEGER NOT NULL DEFAULT 3600000;
ALTER TABLE jobs ADD COLUMN run_at_ms      INTEGER NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS jobs_unfinished;
DROP INDEX IF EXISTS jobs_finished;
UPDATE meta SET value = 2 WHERE key = 'schema_version';
)sql";

// Version 2 to 3, after kUpgradeFrom1 when that ran, before kSchema, in the same transaction: the
// unique and fairness key columns (constant defaults: no row is rewritten; kSchema then adds the
// unique keys' index), and the paused tasks become rows of task_settings, which holds every stored
// per-task setting; kSchema also adds the crons table. (A version 1 database, just upgraded to 2,
// has no paused_tasks yet: it is made empty first.)
constexpr const char* kUpgradeFrom2 = R"sql(
ALTER TABLE jobs ADD COLUMN unique_key    TEXT    NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN unique_for_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN fair_key      TEXT    NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS paused_tasks (task TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE task_settings (
  task   TEXT PRIMARY KEY,
  paused INTEGER NOT NULL DEFAULT 0,
  rate   TEXT
) WITHOUT ROWID;
INSERT INTO task_settings(task, paused) SELECT task, 1 FROM paused_tasks;
DROP TABLE paused_tasks;
UPDATE meta SET value = 3 WHERE key = 'schema_version';
)sql";

// Version 3 to 4, after the earlier steps, before kSchema, in the same transaction: the totals
// that survive a restart (the table starts empty; kSchema's CREATE IF NOT EXISTS then finds it),
// and the stored part of the jobs' history (store/job_history.h), NULL for the rows already there:
// no row is rewritten, and their ordinary events are derived from their columns like any job's.
constexpr const char* kUpgradeFrom3 = R"sql(
CREATE TABLE counters (
  task  TEXT    NOT NULL,
  name  TEXT    NOT NULL,
  value INTEGER NOT NULL,
  PRIMARY KEY (task, name)
) WITHOUT ROWID;
ALTER TABLE jobs ADD COLUMN history BLOB;
UPDATE meta SET value = 4 WHERE key = 'schema_version';
)sql";

// The bytes of a BLOB or TEXT argument; empty for NULL.
std::string_view bytesOf(sqlite3_value* value) {
  const void* data = sqlite3_value_blob(value);
  return data == nullptr ? std::string_view()
                         : std::string_view(static_cast<const char*>(data),
                                            static_cast<std::size_t>(sqlite3_value_bytes(value)));
}

void resultHistory(sqlite3_context* context, const std::string& blob) {
  if (blob.empty()) return sqlite3_result_null(context);
  sqlite3_result_blob(context, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
}

// The SQL functions that keep the stored part of a history (store/job_history.h), called only for
// the unusual changes: an ordinary job never calls them.
//   history_add(history, attempt, worker, started_ms, event) is history::addEvent();
//   history_settle(history, state, attempt, worker, started_ms, finished_ms, error_code) is
//   history::settleFinished(). The columns are the row's before the UPDATE, as SQLite evaluates them.
void historyAdd(sqlite3_context* context, int, sqlite3_value** args) {
  std::string blob(bytesOf(args[0]));
  JobRecord row;
  row.attempt = static_cast<std::uint32_t>(sqlite3_value_int64(args[1]));
  row.worker = std::string(bytesOf(args[2]));
  row.started_ms = static_cast<std::uint64_t>(sqlite3_value_int64(args[3]));
  history::addEvent(blob, row, bytesOf(args[4]));
  resultHistory(context, blob);
}

void historySettle(sqlite3_context* context, int, sqlite3_value** args) {
  std::string blob(bytesOf(args[0]));
  JobRecord row;
  row.state = static_cast<JobState>(sqlite3_value_int64(args[1]));
  row.attempt = static_cast<std::uint32_t>(sqlite3_value_int64(args[2]));
  row.worker = std::string(bytesOf(args[3]));
  row.started_ms = static_cast<std::uint64_t>(sqlite3_value_int64(args[4]));
  row.finished_ms = static_cast<std::uint64_t>(sqlite3_value_int64(args[5]));
  row.error_code = std::string(bytesOf(args[6]));
  history::settleFinished(blob, row);
  resultHistory(context, blob);
}

// The succeeded jobs whose unique key may still be held, spelled as jobs_unique_done's WHERE.
constexpr const char* kHoldsKey = "state = 3 AND unique_for_ms > 0";

// The states' predicates, spelled exactly as in the partial indexes' WHERE clauses: SQLite uses a
// partial index only for a query that repeats its condition. Not as IN lists: SQLite checks an
// index's IN list against a temporary table it builds at every run of an INSERT or UPDATE, which
// made each insert of a job 2.5 times slower (measured with SQLite 3.40 on 1M inserts).
constexpr const char* kLive = "(state < 3 OR state >= 6)";
constexpr const char* kDone = "state BETWEEN 3 AND 5";

// The columns insert() writes: a job's ordinary life writes no history (store/job_history.h).
constexpr const char* kInsertColumns =
    "id, task, payload, priority, state, attempt, timeout_ms, run_timeout_ms, assign_timeout_ms, submitted_ms, "
    "started_ms, finished_ms, worker, result, error_code, error_message, retries, retried, backoff_ms, "
    "backoff_max_ms, run_at_ms, unique_key, unique_for_ms, fair_key";
// Every column, as find() reads them: kInsertColumns and the stored part of the history.
constexpr const char* kColumns =
    "id, task, payload, priority, state, attempt, timeout_ms, run_timeout_ms, assign_timeout_ms, submitted_ms, "
    "started_ms, finished_ms, worker, result, error_code, error_message, retries, retried, backoff_ms, "
    "backoff_max_ms, run_at_ms, unique_key, unique_for_ms, fair_key, history";
// The same columns in the same order, with NULL where the payload and the history would be.
constexpr const char* kColumnsPayloadless =
    "id, task, NULL, priority, state, attempt, timeout_ms, run_timeout_ms, assign_timeout_ms, submitted_ms, "
    "started_ms, finished_ms, worker, result, error_code, error_message, retries, retried, backoff_ms, "
    "backoff_max_ms, run_at_ms, unique_key, unique_for_ms, fair_key, NULL";
// And with NULL for the result too, as listFinished() returns records.
constexpr const char* kColumnsListed =
    "id, task, NULL, priority, state, attempt, timeout_ms, run_timeout_ms, assign_timeout_ms, submitted_ms, "
    "started_ms, finished_ms, worker, NULL, error_code, error_message, retries, retried, backoff_ms, "
    "backoff_max_ms, run_at_ms, unique_key, unique_for_ms, fair_key, NULL";
// A failure's columns after its job id, for Statement::failure().
constexpr const char* kFailureColumns = "attempt, worker, started_ms, ended_ms, error_code, error_message";

// Keeps `failures` in attempt order with one entry per attempt, as the table's primary key does.
void addFailure(std::vector<AttemptFailure>& failures, const AttemptFailure& failure) {
  auto at = failures.begin();
  while (at != failures.end() && at->attempt < failure.attempt) ++at;
  if (at != failures.end() && at->attempt == failure.attempt) {
    *at = failure;
  } else {
    failures.insert(at, failure);
  }
}

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
    r.retries = static_cast<std::uint32_t>(integer(16));
    r.retried = static_cast<std::uint32_t>(integer(17));
    r.backoff_ms = static_cast<std::uint32_t>(integer(18));
    r.backoff_max_ms = static_cast<std::uint32_t>(integer(19));
    r.run_at_ms = static_cast<std::uint64_t>(integer(20));
    r.unique_key = text(21);
    r.unique_for_ms = static_cast<std::uint32_t>(integer(22));
    r.fair_key = text(23);
    r.history = text(24);
    return r;
  }
  // Reads the `kFailureColumns` starting at column `first`.
  AttemptFailure failure(int first) {
    AttemptFailure f;
    f.attempt = static_cast<std::uint32_t>(integer(first));
    f.worker = text(first + 1);
    f.started_ms = static_cast<std::uint64_t>(integer(first + 2));
    f.ended_ms = static_cast<std::uint64_t>(integer(first + 3));
    f.error_code = text(first + 4);
    f.error_message = text(first + 5);
    return f;
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
  if (in_transaction_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  // A clean stop folds the WAL back into the database, so the next start reads one file.
  sqlite3_exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  // The prepared statements are members, finalized after this body: close_v2 closes the
  // connection (and drops its lock) when the last of them goes, where close would refuse.
  sqlite3_close_v2(db_);
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
  bool has_meta = false;
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
    has_meta = schema.integer(1) > 0;
  }
  // A database of a newer broker is refused before anything here writes to it.
  std::int64_t found_version = 0;
  if (has_meta) {
    Result<std::int64_t> version = store->readSchemaVersion();
    if (!version) return version.status();
    found_version = *version;
    if (found_version > kSchemaVersion) {
      return Status::error("unavailable", path + " has schema version " + std::to_string(found_version) +
                                              ", newer than the version " + std::to_string(kSchemaVersion) +
                                              " this broker reads: it was written by a newer Corvee (the file was "
                                              "left untouched)");
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
  // In this same transaction as the rest of the schema, so a failure leaves the file as it was.
  if (found_version == 1) {
    if (Status s = store->exec(kUpgradeFrom1); !s) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
  }
  if (found_version == 1 || found_version == 2) {
    if (Status s = store->exec(kUpgradeFrom2); !s) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
  }
  if (found_version >= 1 && found_version <= 3) {
    if (Status s = store->exec(kUpgradeFrom3); !s) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
  }
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
  constexpr int kFlags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY;
  if (sqlite3_create_function_v2(db, "history_add", 5, kFlags, nullptr, historyAdd, nullptr, nullptr, nullptr) !=
          SQLITE_OK ||
      sqlite3_create_function_v2(db, "history_settle", 7, kFlags, nullptr, historySettle, nullptr, nullptr,
                                 nullptr) != SQLITE_OK) {
    return store->sqliteError("registering the history functions");
  }
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
  if (sqlite3_prepare_v2(db, "SELECT task, paused, rate IS NOT NULL, rate FROM task_settings", -1, &raw, nullptr) !=
      SQLITE_OK) {
    return store->sqliteError("reading the task settings");
  }
  Statement read_settings(raw);
  while ((rc = read_settings.step()) == SQLITE_ROW) {
    TaskSettings settings;
    settings.paused = read_settings.integer(1) != 0;
    if (read_settings.integer(2) != 0) settings.rate = read_settings.text(3);
    store->settings_.emplace(read_settings.text(0), std::move(settings));
  }
  if (rc != SQLITE_DONE) return store->sqliteError("reading the task settings");
  return store;
}

Result<std::int64_t> SqliteStore::readSchemaVersion() {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &raw, nullptr) != SQLITE_OK) {
    return sqliteError("reading the schema version");
  }
  Statement read(raw);
  int rc = read.step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqliteError("reading the schema version");
  return rc == SQLITE_ROW ? read.integer(0) : std::int64_t{0};
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
  bool ok =
      prepare(begin_, "BEGIN") && prepare(commit_, "COMMIT") && prepare(rollback_, "ROLLBACK") &&
      // The ordinary changes (insert, running, finished) write no history: find() derives their
      // events from these columns. Only a job inserted with stored events (a scheduled one) takes
      // the second INSERT.
      prepare(insert_, std::string("INSERT INTO jobs(") + kInsertColumns +
                           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                           "?19, ?20, ?21, ?22, ?23, ?24)") &&
      prepare(insert_history_, std::string("INSERT INTO jobs(") + kColumns +
                                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                                   "?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)") &&
      prepare(running_, "UPDATE jobs SET state = 2, attempt = ?2, worker = ?3, started_ms = ?4 WHERE id = ?1") &&
      prepare(queued_, "UPDATE jobs SET state = 1 WHERE id = ?1") &&
      // A dead job keeps its payload for markRevived(); no other finished job needs it again.
      prepare(finished_,
              "UPDATE jobs SET state = ?2, attempt = ?3, finished_ms = ?4, result = ?5, error_code = ?6, "
              "error_message = ?7, payload = CASE WHEN ?2 = 4 THEN payload ELSE NULL END WHERE id = ?1") &&
      // An event with the columns it may need: the running attempt's, before the UPDATE.
      prepare(event_,
              "UPDATE jobs SET history = history_add(history, attempt, worker, started_ms, ?2) WHERE id = ?1") &&
      // Only for a job the store holds (a failure of a purged job must not outlive it), and once
      // per attempt.
      prepare(failure_, std::string("INSERT OR REPLACE INTO failures(job_id, ") + kFailureColumns +
                            ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?1)") &&
      prepare(retrying_,
              "UPDATE jobs SET state = 6, run_at_ms = ?2, retried = ?3, error_code = ?4, error_message = ?5 "
              "WHERE id = ?1") &&
      prepare(revived_,
              "UPDATE jobs SET state = 1, retried = 0, run_at_ms = 0, finished_ms = 0, error_code = '', "
              "error_message = '', result = NULL, history = history_settle(history, state, attempt, worker, "
              "started_ms, finished_ms, error_code) WHERE id = ?1 AND state = 4") &&
      prepare(set_task_, "INSERT OR REPLACE INTO task_settings(task, paused, rate) VALUES (?1, ?2, ?3)") &&
      prepare(unset_task_, "DELETE FROM task_settings WHERE task = ?1") &&
      prepare(save_cron_,
              "INSERT OR REPLACE INTO crons(name, spec, tz, task, submit, submit_version, paused, created_ms, "
              "last_fire_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)") &&
      prepare(remove_cron_, "DELETE FROM crons WHERE name = ?1") &&
      prepare(add_counter_,
              "INSERT INTO counters(task, name, value) VALUES (?1, ?2, ?3) "
              "ON CONFLICT(task, name) DO UPDATE SET value = value + excluded.value") &&
      prepare(find_, std::string("SELECT ") + kColumns + " FROM jobs WHERE id = ?1") &&
      prepare(find_failures_,
              std::string("SELECT ") + kFailureColumns + " FROM failures WHERE job_id = ?1 ORDER BY attempt") &&
      prepare(count_, std::string("SELECT count(*) FROM jobs WHERE ") + kDone + " AND state = ?1") &&
      prepare(max_id_update_, "UPDATE meta SET value = ?1 WHERE key = 'max_id'") &&
      prepare(payload_, std::string("SELECT payload FROM jobs WHERE id = ?1 AND ") + kLive);
  return ok ? Status::ok() : sqliteError("preparing statements");
}

std::unique_ptr<SqliteStore::Statement> SqliteStore::prepareOnce(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return nullptr;
  return std::make_unique<Statement>(stmt);
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
  // Payloads stay on disk (NULL in their column here): the broker loads each when it deals the
  // job, so a restart with a million queued jobs reads and holds a fraction of the data.
  auto scan = prepareOnce(std::string("SELECT ") + kColumnsPayloadless + " FROM jobs WHERE " + kLive + " ORDER BY id");
  // The failures, in the same job order: one scan merged with the jobs', not a query per job.
  // Those of finished jobs are stepped over.
  auto failures = prepareOnce(std::string("SELECT job_id, ") + kFailureColumns + " FROM failures ORDER BY job_id, attempt");
  if (!scan || !failures) return sqliteError("reading jobs");
  int failure_rc = failures->step();
  int rc;
  while ((rc = scan->step()) == SQLITE_ROW) {
    JobRecord record = scan->record();
    while (failure_rc == SQLITE_ROW && static_cast<JobId>(failures->integer(0)) < record.id) {
      failure_rc = failures->step();
    }
    while (failure_rc == SQLITE_ROW && static_cast<JobId>(failures->integer(0)) == record.id) {
      record.failures.push_back(failures->failure(1));
      failure_rc = failures->step();
    }
    if (failure_rc != SQLITE_ROW && failure_rc != SQLITE_DONE) return sqliteError("reading failures");
    max_id_ = std::max(max_id_, record.id);
    visit(std::move(record));
  }
  if (rc != SQLITE_DONE) return sqliteError("reading jobs");
  return max_id_;
}

void SqliteStore::insert(const JobRecord& job) { insert(JobRecord(job)); }

void SqliteStore::insert(JobRecord&& job) {
  max_id_ = std::max(max_id_, job.id);
  if (!job.history.empty()) job.history = history::storedPart(job.history);
  record({Change::Kind::kInsert, std::move(job), {}});
}

void SqliteStore::markRunning(JobId id, std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms) {
  Change change{Change::Kind::kRunning, {}, {}};
  change.job.id = id;
  change.job.attempt = attempt;
  change.job.worker = std::string(worker);
  change.job.started_ms = started_ms;
  record(std::move(change));
}

void SqliteStore::recordEvent(JobId id, const HistoryEvent& event) {
  Change change{Change::Kind::kEvent, {}, {}};
  change.job.id = id;
  change.job.history = history::encodeEvent(event);
  record(std::move(change));
}

void SqliteStore::markQueued(JobId id) {
  Change change{Change::Kind::kQueued, {}, {}};
  change.job.id = id;
  record(std::move(change));
}

void SqliteStore::recordFailure(JobId id, const AttemptFailure& failure) {
  Change change{Change::Kind::kFailure, {}, {}};
  change.job.id = id;
  change.job.failures.push_back(failure);
  record(std::move(change));
}

void SqliteStore::markRetrying(JobId id, std::uint64_t run_at_ms, std::uint32_t retried, std::string_view error_code,
                               std::string_view error_message) {
  Change change{Change::Kind::kRetrying, {}, {}};
  change.job.id = id;
  change.job.run_at_ms = run_at_ms;
  change.job.retried = retried;
  change.job.error_code = std::string(error_code);
  change.job.error_message = std::string(error_message);
  record(std::move(change));
}

void SqliteStore::markRevived(JobId id) {
  Change change{Change::Kind::kRevived, {}, {}};
  change.job.id = id;
  record(std::move(change));
}

void SqliteStore::setTaskSettings(std::string_view task, const TaskSettings& settings) {
  Change change{Change::Kind::kTaskSettings, {}, settings};
  change.job.task = std::string(task);
  settings_unsynced_ = true;
  record(std::move(change));
}

void SqliteStore::addCounter(std::string_view task, std::string_view name, std::uint64_t delta) {
  Change change{Change::Kind::kCounter, {}, {}};
  change.job.task = std::string(task);
  change.job.error_code = std::string(name);
  change.job.run_at_ms = delta;
  record(std::move(change));
}

Result<std::vector<CounterTotal>> SqliteStore::counters() {
  auto scan = prepareOnce("SELECT task, name, value FROM counters ORDER BY task, name");
  if (!scan) return sqliteError("reading the counters");
  std::vector<CounterTotal> totals;
  int rc;
  while ((rc = scan->step()) == SQLITE_ROW) {
    totals.push_back({scan->text(0), scan->text(1), static_cast<std::uint64_t>(scan->integer(2))});
  }
  if (rc != SQLITE_DONE) return sqliteError("reading the counters");
  return totals;
}

void SqliteStore::saveCron(const CronRecord& cron) {
  Change change{Change::Kind::kSaveCron, {}};
  change.cron = std::make_unique<CronRecord>(cron);
  record(std::move(change));
}

void SqliteStore::removeCron(std::string_view name) {
  Change change{Change::Kind::kRemoveCron, {}};
  change.cron = std::make_unique<CronRecord>();
  change.cron->name = std::string(name);
  record(std::move(change));
}

Result<std::vector<CronRecord>> SqliteStore::crons() {
  auto scan = prepareOnce(
      "SELECT name, spec, tz, task, submit, submit_version, paused, created_ms, last_fire_ms FROM crons ORDER BY name");
  if (!scan) return sqliteError("reading the cron entries");
  std::vector<CronRecord> out;
  int rc;
  while ((rc = scan->step()) == SQLITE_ROW) {
    CronRecord& cron = out.emplace_back();
    cron.name = scan->text(0);
    cron.spec = scan->text(1);
    cron.tz = scan->text(2);
    cron.task = scan->text(3);
    cron.submit = scan->text(4);
    cron.submit_version = static_cast<std::uint16_t>(scan->integer(5));
    cron.paused = scan->integer(6) != 0;
    cron.created_ms = static_cast<std::uint64_t>(scan->integer(7));
    cron.last_fire_ms = static_cast<std::uint64_t>(scan->integer(8));
  }
  if (rc != SQLITE_DONE) return sqliteError("reading the cron entries");
  return out;
}

void SqliteStore::markFinished(const JobRecord& job) { markFinished(JobRecord(job)); }

void SqliteStore::markFinished(JobRecord&& job) {
  Change change{Change::Kind::kFinished, std::move(job), {}};
  // The row has the payload already (and keeps it for a dead job): no copy to hold for a replay.
  std::string().swap(change.job.payload);
  change.job.failures.clear();
  record(std::move(change));
}

void SqliteStore::record(Change&& change) {
  if (!failed_.isOk()) return;
  bytes_since_check_ += change.job.payload.size() + change.job.result.size() + change.job.error_message.size() +
                        change.job.history.size() + 256;
  if (change.cron) bytes_since_check_ += change.cron->submit.size();
  for (const AttemptFailure& failure : change.job.failures) bytes_since_check_ += failure.error_message.size();
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
      stmt = job.history.empty() ? insert_.get() : insert_history_.get();
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
          .bindText(16, job.error_message)
          .bind(17, job.retries)
          .bind(18, job.retried)
          .bind(19, job.backoff_ms)
          .bind(20, job.backoff_max_ms)
          .bind(21, static_cast<std::int64_t>(job.run_at_ms))
          .bindText(22, job.unique_key)
          .bind(23, job.unique_for_ms)
          .bindText(24, job.fair_key);
      if (!job.history.empty()) stmt->bindBlob(25, job.history);
      break;
    case Change::Kind::kRunning:
      stmt = running_.get();
      stmt->bind(1, static_cast<std::int64_t>(job.id))
          .bind(2, job.attempt)
          .bindText(3, job.worker)
          .bind(4, static_cast<std::int64_t>(job.started_ms));
      break;
    case Change::Kind::kEvent:
      stmt = event_.get();
      stmt->bind(1, static_cast<std::int64_t>(job.id)).bindBlob(2, job.history);
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
    case Change::Kind::kFailure: {
      const AttemptFailure& failure = job.failures.front();
      stmt = failure_.get();
      stmt->bind(1, static_cast<std::int64_t>(job.id))
          .bind(2, failure.attempt)
          .bindText(3, failure.worker)
          .bind(4, static_cast<std::int64_t>(failure.started_ms))
          .bind(5, static_cast<std::int64_t>(failure.ended_ms))
          .bindText(6, failure.error_code)
          .bindText(7, failure.error_message);
      break;
    }
    case Change::Kind::kRetrying:
      stmt = retrying_.get();
      stmt->bind(1, static_cast<std::int64_t>(job.id))
          .bind(2, static_cast<std::int64_t>(job.run_at_ms))
          .bind(3, job.retried)
          .bindText(4, job.error_code)
          .bindText(5, job.error_message);
      break;
    case Change::Kind::kRevived:
      stmt = revived_.get();
      stmt->bind(1, static_cast<std::int64_t>(job.id));
      break;
    case Change::Kind::kTaskSettings:
      if (change.settings.isDefault()) {
        stmt = unset_task_.get();
        stmt->bindText(1, job.task);
      } else {
        stmt = set_task_.get();
        stmt->bindText(1, job.task).bind(2, change.settings.paused ? 1 : 0);
        if (change.settings.rate) stmt->bindText(3, *change.settings.rate);  // else NULL: none set
      }
      break;
    case Change::Kind::kSaveCron: {
      const CronRecord& cron = *change.cron;
      stmt = save_cron_.get();
      stmt->bindText(1, cron.name)
          .bindText(2, cron.spec)
          .bindText(3, cron.tz)
          .bindText(4, cron.task)
          .bindBlob(5, cron.submit)
          .bind(6, cron.submit_version)
          .bind(7, cron.paused ? 1 : 0)
          .bind(8, static_cast<std::int64_t>(cron.created_ms))
          .bind(9, static_cast<std::int64_t>(cron.last_fire_ms));
      break;
    }
    case Change::Kind::kRemoveCron:
      stmt = remove_cron_.get();
      stmt->bindText(1, change.cron->name);
      break;
    case Change::Kind::kCounter:
      stmt = add_counter_.get();
      stmt->bindText(1, job.task).bindText(2, job.error_code).bind(3, static_cast<std::int64_t>(job.run_at_ms));
      break;
  }
  if (stmt->run() == SQLITE_DONE) return true;
  if (lastErrorIsFull()) {
    enterFull();
  } else if (change.cron) {
    fail("recording cron entry '" + change.cron->name + "'");
  } else if (change.kind == Change::Kind::kTaskSettings) {
    fail("recording the settings of task '" + job.task + "'");
  } else if (change.kind == Change::Kind::kCounter) {
    fail("recording the totals of task '" + job.task + "'");
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
  if (settings_unsynced_) {
    for (const Change& change : unsynced_) {
      if (change.kind != Change::Kind::kTaskSettings) continue;
      if (change.settings.isDefault()) {
        if (auto it = settings_.find(change.job.task); it != settings_.end()) settings_.erase(it);
      } else {
        settings_.insert_or_assign(change.job.task, change.settings);
      }
    }
    settings_unsynced_ = false;
  }
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
    // Task and cron changes carry job id 0, which no job has.
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
      case Change::Kind::kEvent:
        if (base) history::addEvent(base->history, *base, change.job.history);
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
        if (change.job.state != JobState::kDead) base->payload.clear();
        break;
      case Change::Kind::kFailure:
        if (base) addFailure(base->failures, change.job.failures.front());
        break;
      case Change::Kind::kRetrying:
        // The same columns as the `retrying_` statement sets.
        if (!base) break;
        base->state = JobState::kRetrying;
        base->run_at_ms = change.job.run_at_ms;
        base->retried = change.job.retried;
        base->error_code = change.job.error_code;
        base->error_message = change.job.error_message;
        break;
      case Change::Kind::kRevived:
        // The same columns as the `revived_` statement sets.
        if (!base || base->state != JobState::kDead) break;
        history::settleFinished(base->history, *base);
        base->state = JobState::kQueued;
        base->retried = 0;
        base->run_at_ms = 0;
        base->finished_ms = 0;
        base->error_code.clear();
        base->error_message.clear();
        base->result.clear();
        break;
      case Change::Kind::kTaskSettings:
      case Change::Kind::kCounter:
      case Change::Kind::kSaveCron:
      case Change::Kind::kRemoveCron:
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
  if (found) {
    find_failures_->bind(1, static_cast<std::int64_t>(id));
    while ((rc = find_failures_->step()) == SQLITE_ROW) found->failures.push_back(find_failures_->failure(0));
    find_failures_->reset();
    if (rc != SQLITE_DONE) return sqliteError("reading the failures of job " + std::to_string(id));
  }
  // While full, the database misses the changes since the last commit; normally the open
  // transaction holds them and this read sees them already.
  if (full_) found = withUnsynced(id, std::move(found));
  if (found) found->history = history::complete(*found);
  return found;
}

Result<std::vector<JobRecord>> SqliteStore::listFinished(const JobFilter& filter) {
  // For one state, the jobs_done index finds its jobs (a top-`limit` sort by id follows; a few
  // thousand dead jobs, typically). For all of them, walking the table down from before_id stops
  // after `limit` rows, where the index would have every finished job sorted first.
  std::string sql = std::string("SELECT ") + kColumnsListed + (filter.state ? " FROM jobs" : " FROM jobs NOT INDEXED") +
                    " WHERE " + kDone;
  // The state is one of our enum's values, not user text: it goes in as a number.
  if (filter.state) sql += " AND state = " + std::to_string(static_cast<int>(*filter.state));
  if (!filter.task.empty()) sql += " AND task = ?1";
  if (filter.before_id != 0) sql += " AND id < ?2";
  sql += " ORDER BY id DESC LIMIT ?3";
  auto list = prepareOnce(sql);
  if (!list) return sqliteError("listing finished jobs");
  if (!filter.task.empty()) list->bindText(1, filter.task);
  if (filter.before_id != 0) list->bind(2, static_cast<std::int64_t>(filter.before_id));
  list->bind(3, static_cast<std::int64_t>(filter.limit));
  std::vector<JobRecord> listed;
  int rc;
  while ((rc = list->step()) == SQLITE_ROW) listed.push_back(list->record());
  if (rc != SQLITE_DONE) return sqliteError("listing finished jobs");
  return listed;
}

Result<std::uint64_t> SqliteStore::deleteJobs(const std::string& select_ids,
                                              const std::function<void(Statement&)>& bind, const char* what) {
  if (full_) return std::uint64_t{0};
  if (!beginIfNeeded()) return failed_;
  // Failures first, while the jobs that name them are still there to be selected.
  for (const std::string& sql : {"DELETE FROM failures WHERE job_id IN (" + select_ids + ")",
                                 "DELETE FROM jobs WHERE id IN (" + select_ids + ")"}) {
    auto del = prepareOnce(sql);
    if (!del) {
      fail(what);
      return failed_;
    }
    bind(*del);
    if (del->run() == SQLITE_DONE) continue;
    if (lastErrorIsFull()) {
      enterFull();
      return std::uint64_t{0};
    }
    fail(what);
    return failed_;
  }
  return static_cast<std::uint64_t>(sqlite3_changes64(db_));
}

Result<std::uint64_t> SqliteStore::purgeFinished(const PurgeFilter& filter) {
  // Every state listed, even when all are meant: then jobs_done yields one finished_ms range per
  // state, where a range of states would be read whole to test each entry's finished_ms.
  std::string states;
  for (JobState state : filter.states) states += (states.empty() ? "" : ", ") + std::to_string(static_cast<int>(state));
  if (states.empty()) states = "3, 4, 5";
  std::string select = std::string("SELECT id FROM jobs WHERE ") + kDone + " AND state IN (" + states + ")";
  if (!filter.task.empty()) select += " AND task = ?1";
  if (filter.finished_before_ms != 0) select += " AND finished_ms < ?2";
  return deleteJobs(
      select,
      [&](Statement& del) {
        if (!filter.task.empty()) del.bindText(1, filter.task);
        if (filter.finished_before_ms != 0) del.bind(2, static_cast<std::int64_t>(filter.finished_before_ms));
      },
      "purging finished jobs");
}

Result<std::uint64_t> SqliteStore::countFinished(JobState state) {
  count_->bind(1, static_cast<std::int64_t>(state));
  int rc = count_->step();
  std::uint64_t count = rc == SQLITE_ROW ? static_cast<std::uint64_t>(count_->integer(0)) : 0;
  count_->reset();
  if (rc != SQLITE_ROW) return sqliteError("counting finished jobs");
  return count;
}

Result<std::uint64_t> SqliteStore::trimFinished(JobState state, std::uint64_t keep) {
  // The jobs_done index holds (state, finished_ms, id) in order: the newest `keep` are skipped at
  // its end and the rest read from there, with no sort.
  std::string select = std::string("SELECT id FROM jobs WHERE ") + kDone +
                       " AND state = " + std::to_string(static_cast<int>(state)) +
                       " ORDER BY finished_ms DESC, id DESC LIMIT -1 OFFSET ?1";
  return deleteJobs(
      select, [&](Statement& del) { del.bind(1, static_cast<std::int64_t>(keep)); }, "trimming finished jobs");
}

Result<std::vector<JobRecord>> SqliteStore::uniqueKeysHeld(std::uint64_t now_ms) {
  // A window is at most UINT32_MAX ms: jobs_unique_done is read from the earliest finish that can
  // still hold its key, not from the start.
  std::uint64_t earliest = now_ms > UINT32_MAX ? now_ms - UINT32_MAX : 0;
  // Not ORDER BY id: SQLite would walk the whole table in rowid order for it. INDEXED BY makes a
  // schema that loses the index fail here, loudly, rather than scan.
  auto held = prepareOnce(std::string("SELECT ") + kColumnsListed + " FROM jobs INDEXED BY jobs_unique_done WHERE " +
                          kHoldsKey + " AND finished_ms > ?1 AND finished_ms + unique_for_ms > ?2 AND unique_key != ''");
  if (!held) return sqliteError("reading the unique keys held");
  held->bind(1, static_cast<std::int64_t>(earliest)).bind(2, static_cast<std::int64_t>(now_ms));
  std::vector<JobRecord> jobs;
  int rc;
  while ((rc = held->step()) == SQLITE_ROW) jobs.push_back(held->record());
  if (rc != SQLITE_DONE) return sqliteError("reading the unique keys held");
  std::sort(jobs.begin(), jobs.end(), [](const JobRecord& a, const JobRecord& b) { return a.id < b.id; });
  return jobs;
}

Result<std::vector<std::pair<std::string, TaskSettings>>> SqliteStore::taskSettings() {
  return std::vector<std::pair<std::string, TaskSettings>>(settings_.begin(), settings_.end());
}

}  // namespace corvee
