// SqliteStore: what only the SQLite backend does (the shared contract is in store_conformance_test):
// the exclusive lock, refusing files it must not touch, opening through openStore, and staying
// bounded in size under a steady load.
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "store/paused_tasks.h"
#include "store/temp_dir.h"
#include "support/small_tmpfs.h"

namespace corvee {
namespace {

using corvee::testing::pausedTasks;
using corvee::testing::setPaused;
using corvee::testing::TempDir;

JobRecord makeJob(JobId id, std::size_t payload_size = 16) {
  JobRecord rec;
  rec.id = id;
  rec.task = "echo";
  rec.payload.assign(payload_size, static_cast<char>('a' + id % 26));
  rec.submitted_ms = 1'700'000'000'000ULL + id;
  return rec;
}

// The retention purge's filter: every finished job that finished before `ms`.
PurgeFilter finishedBefore(std::uint64_t ms) {
  PurgeFilter filter;
  filter.finished_before_ms = ms;
  return filter;
}

JobRecord finishedAt(JobId id, std::uint64_t finished_ms) {
  JobRecord rec = makeJob(id);
  rec.state = JobState::kSucceeded;
  rec.attempt = 1;
  rec.finished_ms = finished_ms;
  rec.result = "ok";
  return rec;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "writing " << path;
}

std::uint64_t fileSize(const std::string& path) {
  std::error_code error;
  auto size = std::filesystem::file_size(path, error);
  return error ? 0 : static_cast<std::uint64_t>(size);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::unique_ptr<SqliteStore> openOk(const std::string& path, SyncMode sync = SyncMode::kFull) {
  auto opened = SqliteStore::open(path, sync);
  EXPECT_TRUE(opened.isOk()) << opened.status().toString();
  return opened.isOk() ? std::move(*opened) : nullptr;
}

// ---- the exclusive lock ----

TEST(SqliteStoreTest, SecondOpenOfAnOpenDatabaseFailsNamingAnotherBroker) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  auto first = openOk(path);
  ASSERT_NE(first, nullptr);
  first->insert(makeJob(1));
  ASSERT_TRUE(first->commit().isOk());

  auto second = SqliteStore::open(path, SyncMode::kFull);
  ASSERT_FALSE(second.isOk()) << "two brokers must not share one database";
  EXPECT_EQ(second.status().code(), "unavailable");
  EXPECT_TRUE(contains(second.status().message(), "another broker")) << second.status().message();
  EXPECT_TRUE(contains(second.status().message(), path)) << second.status().message();

  // The refused open disturbed neither the first store nor its data.
  first->insert(makeJob(2));
  ASSERT_TRUE(first->commit().isOk());
  auto found = first->find(1);
  ASSERT_TRUE(found.isOk());
  EXPECT_TRUE(found->has_value());

  // Once the first broker is gone, the database opens again with everything in it.
  first.reset();
  auto third = openOk(path);
  ASSERT_NE(third, nullptr);
  std::vector<JobId> ids;
  auto max_id = third->recover([&](JobRecord&& rec) { ids.push_back(rec.id); });
  ASSERT_TRUE(max_id.isOk()) << max_id.status().toString();
  EXPECT_EQ(ids, (std::vector<JobId>{1, 2}));
  EXPECT_EQ(*max_id, 2u);
}

// What SqliteStore::open(path) does in a separate process, as a second broker would be.
enum class ChildOpen { kOpened = 10, kRefusedAsLocked = 11, kRefusedOtherwise = 12 };

void PrintTo(ChildOpen outcome, std::ostream* os) {
  switch (outcome) {
    case ChildOpen::kOpened: *os << "opened"; return;
    case ChildOpen::kRefusedAsLocked: *os << "refused: another broker"; return;
    case ChildOpen::kRefusedOtherwise: *os << "refused for another reason"; return;
  }
  *os << "exit status " << static_cast<int>(outcome);
}

constexpr const char* kChildOpenEnv = "CORVEE_STORE_TEST_CHILD_OPEN";

// The child is this test binary run again with kChildOpenEnv set: it opens that path before main()
// and exits with a ChildOpen. A fresh exec, not a bare fork: a forked child would inherit SQLite's
// in-process record of the parent's locks and refuse the file without ever asking the kernel.
const bool kIsChild = [] {
  const char* path = std::getenv(kChildOpenEnv);
  if (path == nullptr) return false;
  auto opened = SqliteStore::open(path, SyncMode::kFull);
  ChildOpen outcome = opened.isOk() ? ChildOpen::kOpened
                      : contains(opened.status().message(), "another broker") ? ChildOpen::kRefusedAsLocked
                                                                               : ChildOpen::kRefusedOtherwise;
  std::_Exit(static_cast<int>(outcome));
}();

ChildOpen openInAnotherProcess(const std::string& path) {
  // Built before fork(): the child only calls execve.
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string env_entry = std::string(kChildOpenEnv) + "=" + path;
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  envp.push_back(env_entry.data());
  envp.push_back(nullptr);
  char* argv[] = {self.data(), nullptr};

  pid_t pid = fork();
  if (pid == 0) {
    execve(self.c_str(), argv, envp.data());
    _exit(127);
  }
  EXPECT_GT(pid, 0) << "fork failed";
  if (pid <= 0) return ChildOpen::kRefusedOtherwise;
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << "the child did not exit normally";
  EXPECT_NE(WEXITSTATUS(status), 127) << "could not run " << self;
  return static_cast<ChildOpen>(WEXITSTATUS(status));
}

TEST(SqliteStoreTest, AnotherProcessCannotOpenAReopenedDatabase) {
  // The usual case: a broker restarted on its existing database, then a second one started.
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  {
    auto store = openOk(path);
    ASSERT_NE(store, nullptr);
    store->insert(makeJob(1));
    ASSERT_TRUE(store->commit().isOk());
  }
  auto store = openOk(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(openInAnotherProcess(path), ChildOpen::kRefusedAsLocked);
  // The exclusive lock keeps SQLite's WAL index in the broker's memory: no shared-memory file.
  EXPECT_FALSE(std::filesystem::exists(path + "-shm"));
  // The first broker carries on.
  store->insert(makeJob(2));
  EXPECT_TRUE(store->commit().isOk());
  store.reset();
  EXPECT_EQ(openInAnotherProcess(path), ChildOpen::kOpened);
}

TEST(SqliteStoreTest, AnotherProcessCannotOpenAFreshlyCreatedDatabase) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  auto store = openOk(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(openInAnotherProcess(path), ChildOpen::kRefusedAsLocked);
}

// ---- files it must refuse ----

TEST(SqliteStoreTest, GarbageFileIsRefusedAsDamagedAndLeftUntouched) {
  TempDir dir;
  // Several pages of non-SQLite bytes, and one short text file.
  std::string garbage;
  for (int i = 0; i < 3 * 4096; ++i) garbage.push_back(static_cast<char>((i * 131 + 17) % 256));
  const std::vector<std::pair<std::string, std::string>> files = {
      {dir.file("garbage.db"), garbage},
      {dir.file("notes.txt"), "this is not a database\n"},
  };
  for (const auto& [path, bytes] : files) {
    SCOPED_TRACE(path);
    writeFile(path, bytes);
    auto opened = SqliteStore::open(path, SyncMode::kFull);
    ASSERT_FALSE(opened.isOk()) << "a file that is not a Corvee database must be refused";
    EXPECT_EQ(opened.status().code(), "unavailable");
    const std::string& message = opened.status().message();
    EXPECT_TRUE(contains(message, path)) << message;
    EXPECT_TRUE(contains(message, "damaged") && contains(message, "not a Corvee database")) << message;
    EXPECT_TRUE(readFile(path) == bytes) << "the refused file was modified";
    EXPECT_EQ(fileSize(path), bytes.size());
  }
}

TEST(SqliteStoreTest, PathInAMissingDirectoryFailsNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/corvee.db");
  auto opened = SqliteStore::open(path, SyncMode::kFull);
  ASSERT_FALSE(opened.isOk());
  EXPECT_EQ(opened.status().code(), "unavailable");
  EXPECT_TRUE(contains(opened.status().message(), path)) << opened.status().message();
  EXPECT_TRUE(contains(opened.status().message(), "unable to open")) << opened.status().message();
  // SqliteStore does not make directories (openStore does, for --data-dir).
  EXPECT_FALSE(std::filesystem::exists(dir.file("no")));
}

TEST(SqliteStoreTest, ReadOnlyDirectoryFailsClearly) {
  if (geteuid() == 0) GTEST_SKIP() << "running as root: directory permissions do not bind, so nothing is refused";
  TempDir dir;
  const std::string fresh_dir = dir.file("fresh");
  const std::string existing_dir = dir.file("existing");
  ASSERT_EQ(mkdir(fresh_dir.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(existing_dir.c_str(), 0755), 0);
  {
    auto store = openOk(existing_dir + "/corvee.db");
    ASSERT_NE(store, nullptr);
    store->insert(makeJob(1));
    ASSERT_TRUE(store->commit().isOk());
  }
  ASSERT_EQ(chmod(fresh_dir.c_str(), 0555), 0);
  ASSERT_EQ(chmod(existing_dir.c_str(), 0555), 0);

  // A new database cannot be created there.
  const std::string fresh = fresh_dir + "/corvee.db";
  auto created = SqliteStore::open(fresh, SyncMode::kFull);
  EXPECT_FALSE(created.isOk());
  if (!created.isOk()) {
    EXPECT_EQ(created.status().code(), "unavailable");
    EXPECT_TRUE(contains(created.status().message(), fresh)) << created.status().message();
    EXPECT_TRUE(contains(created.status().message(), "unable to open")) << created.status().message();
  }
  EXPECT_FALSE(std::filesystem::exists(fresh));

  // An existing database cannot keep its write-ahead log next to it, so it is refused rather
  // than opened for writes that could never be made durable.
  const std::string existing = existing_dir + "/corvee.db";
  auto reopened = SqliteStore::open(existing, SyncMode::kFull);
  EXPECT_FALSE(reopened.isOk());
  if (!reopened.isOk()) {
    EXPECT_EQ(reopened.status().code(), "unavailable");
    EXPECT_TRUE(contains(reopened.status().message(), existing)) << reopened.status().message();
    EXPECT_TRUE(contains(reopened.status().message(), "permissions")) << reopened.status().message();
  }

  ASSERT_EQ(chmod(fresh_dir.c_str(), 0755), 0);
  ASSERT_EQ(chmod(existing_dir.c_str(), 0755), 0);
}

TEST(SqliteStoreTest, TruncatedDatabaseFailsLoudlyInsteadOfLosingJobs) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  constexpr JobId kJobs = 2'000;
  {
    auto store = openOk(path);
    ASSERT_NE(store, nullptr);
    for (JobId id = 1; id <= kJobs; ++id) store->insert(makeJob(id, 200));
    ASSERT_TRUE(store->commit().isOk());
  }  // a clean close folds the WAL into the database file
  ASSERT_FALSE(std::filesystem::exists(path + "-wal") && fileSize(path + "-wal") > 0);
  const std::uint64_t full_size = fileSize(path);
  ASSERT_GT(full_size, 100u * 4096u);
  std::filesystem::resize_file(path, full_size / 2);

  // SQLite keeps the database's page count in its header (bytes 28..31), and refuses a file
  // shorter than that as malformed (SQLITE_CORRUPT) the first time it reads it, which is during
  // open. So a torn file never opens and recover() cannot silently hand back fewer jobs.
  auto opened = SqliteStore::open(path, SyncMode::kFull);
  if (opened.isOk()) {
    // Should SQLite ever open it, recover() must still not pass the loss off as success.
    std::vector<JobId> ids;
    auto recovered = (*opened)->recover([&](JobRecord&& rec) { ids.push_back(rec.id); });
    ASSERT_FALSE(recovered.isOk() && ids.size() < kJobs)
        << "a truncated database silently recovered " << ids.size() << " of " << kJobs << " jobs";
    FAIL() << "the truncated database opened and recovered " << ids.size() << " jobs";
  }
  EXPECT_EQ(opened.status().code(), "unavailable");
  EXPECT_TRUE(contains(opened.status().message(), path)) << opened.status().message();
  EXPECT_TRUE(contains(opened.status().message(), "damaged")) << opened.status().message();
  EXPECT_EQ(fileSize(path), full_size / 2) << "the damaged file must be left as it was";
}

TEST(SqliteStoreTest, ZeroedPagesMakeRecoverFailInsteadOfLosingJobs) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  constexpr JobId kJobs = 2'000;
  {
    auto store = openOk(path);
    ASSERT_NE(store, nullptr);
    for (JobId id = 1; id <= kJobs; ++id) store->insert(makeJob(id, 200));
    ASSERT_TRUE(store->commit().isOk());
  }
  // A torn write that lost the second half of the file's contents but not its length: the header
  // and the small tables at the front are intact, so the damage shows only when the jobs are read.
  std::string bytes = readFile(path);
  ASSERT_GT(bytes.size(), 100u * 4096u);
  const std::size_t half = bytes.size() / 2 / 4096 * 4096;
  std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(half), bytes.end(), '\0');
  writeFile(path, bytes);

  auto opened = SqliteStore::open(path, SyncMode::kFull);
  Status failure = opened.status();
  if (opened.isOk()) {
    std::vector<JobId> ids;
    auto recovered = (*opened)->recover([&](JobRecord&& rec) { ids.push_back(rec.id); });
    ASSERT_FALSE(recovered.isOk()) << "a damaged database silently recovered " << ids.size() << " of " << kJobs
                                   << " jobs";
    // SQLite finds the damage only when the scan reaches it, so some records were visited
    // before the error: the caller must not use them unless recover() returns OK.
    failure = recovered.status();
  }
  EXPECT_EQ(failure.code(), "unavailable");
  EXPECT_TRUE(contains(failure.message(), path)) << failure.message();
  EXPECT_TRUE(contains(failure.message(), "damaged")) << failure.message();
}

TEST(SqliteStoreTest, ForeignSqliteDatabaseIsRefusedAndLeftUntouched) {
  TempDir dir;
  const std::string path = dir.file("app.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE users(name TEXT); INSERT INTO users VALUES ('ada');", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  const std::string before = readFile(path);
  auto opened = SqliteStore::open(path, SyncMode::kFull);
  ASSERT_FALSE(opened.isOk()) << "another application's database must not become a Corvee store";
  EXPECT_EQ(opened.status().code(), "unavailable");
  EXPECT_TRUE(contains(opened.status().message(), path)) << opened.status().message();
  EXPECT_TRUE(contains(opened.status().message(), "not a Corvee database")) << opened.status().message();
  EXPECT_TRUE(readFile(path) == before) << "the refused database was modified";
}

// A copy of the files taken while the store is open is what a `kill -9` of the broker leaves on
// disk: the committed turns are there, recovered from the write-ahead log; the open one is not.
TEST(SqliteStoreTest, CommittedTurnsSurviveACrash) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  auto store = openOk(path);
  ASSERT_NE(store, nullptr);
  for (JobId id = 1; id <= 3; ++id) store->insert(makeJob(id));
  ASSERT_TRUE(store->commit().isOk());
  store->markRunning(2, 1, "worker-a", 100);
  ASSERT_TRUE(store->commit().isOk());
  // A turn still open when the process dies.
  store->insert(makeJob(4));
  store->markFinished(finishedAt(1, 200));

  const std::string crashed = dir.file("crashed.db");
  std::filesystem::copy_file(path, crashed);
  if (std::filesystem::exists(path + "-wal")) std::filesystem::copy_file(path + "-wal", crashed + "-wal");
  store.reset();

  auto after = openOk(crashed);
  ASSERT_NE(after, nullptr);
  std::vector<JobRecord> records;
  auto max_id = after->recover([&](JobRecord&& rec) { records.push_back(std::move(rec)); });
  ASSERT_TRUE(max_id.isOk()) << max_id.status().toString();
  EXPECT_EQ(*max_id, 3u);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].id, 1u);
  EXPECT_EQ(records[0].state, JobState::kQueued);
  auto payload = after->loadPayload(1);
  ASSERT_TRUE(payload.isOk()) << payload.status().toString();
  EXPECT_EQ(*payload, makeJob(1).payload);
  EXPECT_EQ(records[1].id, 2u);
  EXPECT_EQ(records[1].state, JobState::kRunning);
  EXPECT_EQ(records[1].worker, "worker-a");
  EXPECT_EQ(records[2].id, 3u);
}

// ---- a failed turn ----

TEST(SqliteStoreTest, AFailedWriteFailsTheCommitRollsBackTheTurnAndRefusesLaterWrites) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  auto store = openOk(path);
  ASSERT_NE(store, nullptr);
  store->insert(makeJob(1));
  ASSERT_TRUE(store->commit().isOk());

  store->insert(makeJob(2));
  store->insert(makeJob(1));  // the id is taken: the statement fails
  Status failed = store->commit();
  ASSERT_FALSE(failed.isOk());
  EXPECT_EQ(failed.code(), "unavailable");
  EXPECT_TRUE(contains(failed.message(), path)) << failed.message();

  // Until restart, nothing more is accepted: the broker must not acknowledge anything.
  store->insert(makeJob(3));
  EXPECT_FALSE(store->commit().isOk());
  EXPECT_FALSE(store->purgeFinished(finishedBefore(1'000)).isOk());

  store.reset();
  store = openOk(path);
  ASSERT_NE(store, nullptr);
  std::vector<JobId> ids;
  auto max_id = store->recover([&](JobRecord&& rec) { ids.push_back(rec.id); });
  ASSERT_TRUE(max_id.isOk()) << max_id.status().toString();
  EXPECT_EQ(ids, (std::vector<JobId>{1})) << "nothing of the failed turn, nor after it, was kept";
  EXPECT_EQ(*max_id, 1u);
  store->insert(makeJob(2));
  EXPECT_TRUE(store->commit().isOk()) << "a restart clears the failure";
}

// ---- parseSyncMode and openStore ----

TEST(SqliteStoreTest, ParseSyncModeAcceptsFullNormalOff) {
  auto full = parseSyncMode("full");
  auto normal = parseSyncMode("normal");
  auto off = parseSyncMode("off");
  ASSERT_TRUE(full.isOk());
  ASSERT_TRUE(normal.isOk());
  ASSERT_TRUE(off.isOk());
  EXPECT_EQ(*full, SyncMode::kFull);
  EXPECT_EQ(*normal, SyncMode::kNormal);
  EXPECT_EQ(*off, SyncMode::kOff);
}

TEST(SqliteStoreTest, ParseSyncModeRefusesEverythingElse) {
  for (std::string_view text : {"", "FULL", "Full", "fast", "full ", " off", "extra", "0", "1"}) {
    auto parsed = parseSyncMode(text);
    ASSERT_FALSE(parsed.isOk()) << "'" << text << "'";
    EXPECT_EQ(parsed.status().code(), "bad_request");
    EXPECT_TRUE(contains(parsed.status().message(), "'" + std::string(text) + "'")) << parsed.status().message();
  }
}

TEST(OpenSqliteStoreTest, SqliteCreatesTheDataDirectoryAndCorveeDbInIt) {
  TempDir dir;
  StoreSettings settings;
  settings.data_dir = dir.file("data/nested");
  const std::string db = settings.data_dir + "/corvee.db";
  {
    auto opened = openStore("sqlite", settings);
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    EXPECT_TRUE(std::filesystem::is_directory(settings.data_dir));
    EXPECT_TRUE(std::filesystem::is_regular_file(db));
    EXPECT_EQ((*opened)->describe(), "sqlite:" + db);
    (*opened)->insert(makeJob(7));
    ASSERT_TRUE((*opened)->commit().isOk());
  }
  // The same spelling opens the same database again.
  auto again = openStore("sqlite", settings);
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  std::vector<JobId> ids;
  auto max_id = (*again)->recover([&](JobRecord&& rec) { ids.push_back(rec.id); });
  ASSERT_TRUE(max_id.isOk()) << max_id.status().toString();
  EXPECT_EQ(ids, (std::vector<JobId>{7}));
}

TEST(OpenSqliteStoreTest, SqliteWithAPathOpensThatFile) {
  TempDir dir;
  const std::string path = dir.file("jobs.sqlite");
  auto opened = openStore("sqlite:" + path);
  ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  EXPECT_EQ((*opened)->describe(), "sqlite:" + path);
  EXPECT_TRUE(std::filesystem::is_regular_file(path));
  EXPECT_FALSE(std::filesystem::exists(dir.file("corvee-data"))) << "sqlite:PATH ignores the data directory";
}

TEST(OpenSqliteStoreTest, SqliteWithAnEmptyPathIsRefused) {
  auto opened = openStore("sqlite:");
  ASSERT_FALSE(opened.isOk());
  EXPECT_EQ(opened.status().code(), "bad_request");
  EXPECT_TRUE(contains(opened.status().message(), "PATH")) << opened.status().message();
}

TEST(OpenSqliteStoreTest, AnUnknownSyncModeIsRefusedBeforeTheFileIsCreated) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  StoreSettings settings;
  settings.sync = "fast";
  auto opened = openStore("sqlite:" + path, settings);
  ASSERT_FALSE(opened.isOk());
  EXPECT_EQ(opened.status().code(), "bad_request");
  EXPECT_TRUE(contains(opened.status().message(), "fast")) << opened.status().message();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(OpenSqliteStoreTest, ADataDirectoryThatIsAFileFailsNamingIt) {
  TempDir dir;
  StoreSettings settings;
  settings.data_dir = dir.file("in-the-way");
  writeFile(settings.data_dir, "x");
  auto opened = openStore("sqlite", settings);
  ASSERT_FALSE(opened.isOk());
  EXPECT_EQ(opened.status().code(), "unavailable");
  EXPECT_TRUE(contains(opened.status().message(), settings.data_dir)) << opened.status().message();
  EXPECT_EQ(readFile(settings.data_dir), "x");
}

// ---- growth under a steady load ----

// The database plus its write-ahead log.
std::uint64_t storeFilesSize(const std::string& path) { return fileSize(path) + fileSize(path + "-wal"); }

TEST(SqliteStoreTest, FilesStayBoundedWhenFinishedJobsArePurged) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  // How much is synced does not change how big the files grow; off keeps the test fast.
  auto store = openOk(path, SyncMode::kOff);
  ASSERT_NE(store, nullptr);
  constexpr JobId kBatch = 500;
  constexpr int kCycles = 40;  // 20,000 jobs
  constexpr std::size_t kPayload = 1'024;
  std::uint64_t size_after_5 = 0;
  std::uint64_t largest_after_5 = 0;
  for (int cycle = 1; cycle <= kCycles; ++cycle) {
    const JobId first = static_cast<JobId>(cycle - 1) * kBatch + 1;
    const std::uint64_t now = static_cast<std::uint64_t>(cycle) * 1'000;
    for (JobId id = first; id < first + kBatch; ++id) store->insert(makeJob(id, kPayload));
    ASSERT_TRUE(store->commit().isOk()) << "cycle " << cycle;
    for (JobId id = first; id < first + kBatch; ++id) store->markRunning(id, 1, "worker", now);
    ASSERT_TRUE(store->commit().isOk()) << "cycle " << cycle;
    for (JobId id = first; id < first + kBatch; ++id) store->markFinished(finishedAt(id, now + 500));
    ASSERT_TRUE(store->commit().isOk()) << "cycle " << cycle;
    // Results are kept for one cycle, like a short --result-ttl.
    auto purged = store->purgeFinished(finishedBefore(now));
    ASSERT_TRUE(purged.isOk()) << purged.status().toString();
    EXPECT_EQ(*purged, cycle == 1 ? 0u : kBatch) << "cycle " << cycle;
    ASSERT_TRUE(store->commit().isOk()) << "cycle " << cycle;

    const std::uint64_t size = storeFilesSize(path);
    if (cycle == 5) size_after_5 = size;
    if (cycle > 5) largest_after_5 = std::max(largest_after_5, size);
  }
  const std::uint64_t size_after_40 = storeFilesSize(path);
  // Measured with SQLite 3.40: 1.4 MB of database and a 4.3 MB log (its high-water mark, reached
  // by cycle 4 and reused after each automatic checkpoint), the same from cycle 5 to 40. Without
  // the purge the files reach about 30 MB by cycle 40.
  ASSERT_GT(size_after_5, 0u);
  EXPECT_LE(size_after_40, size_after_5 * 3 / 2) << "the files keep growing with the jobs ever stored";
  EXPECT_LE(largest_after_5, size_after_5 * 3 / 2);
  EXPECT_LE(largest_after_5, 12u << 20);

  std::vector<JobId> ids;
  auto max_id = store->recover([&](JobRecord&& rec) { ids.push_back(rec.id); });
  ASSERT_TRUE(max_id.isOk()) << max_id.status().toString();
  EXPECT_TRUE(ids.empty());
  EXPECT_EQ(*max_id, static_cast<JobId>(kCycles) * kBatch);

  // A clean stop folds the log back: one file, the size of the live data and the free pages.
  store.reset();
  EXPECT_EQ(fileSize(path + "-wal"), 0u);
  EXPECT_LE(fileSize(path), size_after_5 * 3 / 2);
}

}  // namespace
}  // namespace corvee

// ---- A full disk (issue 8, item 10): a pause, not a failure.

namespace corvee {
namespace {

using testing::SmallTmpfs;

// Opens a store on a tmpfs of 4 MiB, then fills the disk to about `leave` free bytes.
struct FullDiskFixture {
  SmallTmpfs disk{4 * 1024 * 1024};
  std::unique_ptr<SqliteStore> store;
  bool open(std::uint64_t leave) {
    auto opened = SqliteStore::open(disk.path() + "/corvee.db", SyncMode::kFull);
    if (!opened) {
      ADD_FAILURE() << opened.status().toString();
      return false;
    }
    store = std::move(*opened);
    return disk.fill(leave);
  }
  // Inserts 64 KiB jobs from `next_id`, one commit each, until a commit is refused for space.
  // Returns the id of the job whose commit was refused, or 0 when 64 jobs all fit.
  JobId insertUntilFull(JobId& next_id) {
    for (int i = 0; i < 64; ++i, ++next_id) {
      store->insert(makeJob(next_id, 64 * 1024));
      Status committed = store->commit();
      if (!committed) {
        EXPECT_EQ(committed.code(), "store_full") << committed.toString();
        return next_id++;
      }
    }
    return 0;
  }
};

TEST(SqliteStoreFullDiskTest, ACommitTheDiskHasNoRoomForIsKeptAndRetriedUntilItFits) {
  FullDiskFixture f;
  if (!f.disk.available()) GTEST_SKIP() << f.disk.why();
  ASSERT_TRUE(f.open(512 * 1024));
  JobId next = 1;
  JobId refused = f.insertUntilFull(next);
  ASSERT_NE(refused, 0u) << "the disk never filled";
  EXPECT_TRUE(f.store->full());

  // Reads see every change, committed or waiting.
  auto found = f.store->find(refused);
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->state, JobState::kQueued);
  auto payload = f.store->loadPayload(refused);
  ASSERT_TRUE(payload) << payload.status().toString();
  EXPECT_EQ(payload->size(), 64u * 1024);
  // Changes go on being taken while full, and show.
  f.store->markRunning(1, 1, "w1", 5);
  JobRecord done = finishedAt(refused, 99);
  done.result = "r";
  f.store->markFinished(done);
  found = f.store->find(refused);
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->state, JobState::kSucceeded);
  EXPECT_EQ((*found)->result, "r");
  EXPECT_FALSE(f.store->loadPayload(refused)) << "a finished job has no payload to deal";
  auto running = f.store->find(1);
  ASSERT_TRUE(running && running->has_value());
  EXPECT_EQ((*running)->state, JobState::kRunning);
  EXPECT_EQ((*running)->worker, "w1");
  // Purging is a write too: it waits.
  auto purged = f.store->purgeFinished(finishedBefore(1'000'000));
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 0u);
  // Still no room: still refused, nothing lost.
  Status again = f.store->commit();
  EXPECT_EQ(again.code(), "store_full");

  f.disk.release();
  Status committed = f.store->commit();
  ASSERT_TRUE(committed) << committed.toString();
  EXPECT_FALSE(f.store->full());

  // Everything is on disk: a reopened store finds it.
  f.store.reset();
  auto reopened = SqliteStore::open(f.disk.path() + "/corvee.db", SyncMode::kFull);
  ASSERT_TRUE(reopened) << reopened.status().toString();
  std::vector<JobRecord> live;
  auto max_id = (*reopened)->recover([&](JobRecord&& rec) { live.push_back(std::move(rec)); });
  ASSERT_TRUE(max_id);
  EXPECT_EQ(*max_id, refused);
  ASSERT_EQ(live.size(), refused - 1) << "every job but the finished one is unfinished";
  EXPECT_EQ(live[0].state, JobState::kRunning);
  auto finished = (*reopened)->find(refused);
  ASSERT_TRUE(finished && finished->has_value());
  EXPECT_EQ((*finished)->state, JobState::kSucceeded);
}

TEST(SqliteStoreFullDiskTest, AStoreOpenedOnAFullDiskStartsAndWaitsForRoom) {
  FullDiskFixture f;
  if (!f.disk.available()) GTEST_SKIP() << f.disk.why();
  ASSERT_TRUE(f.open(512 * 1024));
  JobId next = 1;
  ASSERT_NE(f.insertUntilFull(next), 0u);
  f.store.reset();  // the broker stops (or is killed) while the disk is full
  f.disk.fill(0);   // and what little was left is taken too

  auto reopened = SqliteStore::open(f.disk.path() + "/corvee.db", SyncMode::kFull);
  ASSERT_TRUE(reopened) << "opening needs no room: " << reopened.status().toString();
  SqliteStore& store = **reopened;
  std::vector<JobId> ids;
  ASSERT_TRUE(store.recover([&](JobRecord&& rec) { ids.push_back(rec.id); }));
  ASSERT_FALSE(ids.empty());
  store.markRunning(ids[0], 1, "w", 1);  // recovery's own writes
  store.insert(makeJob(next, 64 * 1024));
  Status committed = store.commit();
  if (committed) GTEST_SKIP() << "the changes fit after all";
  EXPECT_EQ(committed.code(), "store_full");
  f.disk.release();
  ASSERT_TRUE(store.commit());
  auto found = store.find(next);
  ASSERT_TRUE(found && found->has_value());
}

}  // namespace
}  // namespace corvee

// ---- schema versions (issue 10): version 1 is upgraded in place, a newer one refused ----

namespace corvee {
namespace {

// The schema of version 1, as issue 8's broker created it.
constexpr const char* kVersion1Schema = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE jobs (
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
CREATE INDEX jobs_unfinished ON jobs(id) WHERE state < 3;
CREATE INDEX jobs_finished ON jobs(finished_ms) WHERE state >= 3;
INSERT INTO meta(key, value) VALUES ('schema_version', 1), ('max_id', 0);
)sql";

// Runs `sql` on the database at `path` through SQLite directly, with the store closed.
void execRaw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

// The first column of every row of `sql`, as text, read with the store closed.
std::vector<std::string> queryRaw(const std::string& path, const std::string& sql) {
  std::vector<std::string> rows;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    rows.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

// A version 1 database as issue 8's broker left it: job 1 queued, job 2 failed (state 4, now
// "dead", its payload cleared as version 1 did), job 3 succeeded, job 4 running.
void writeVersion1Database(const std::string& path) {
  execRaw(path, std::string(kVersion1Schema) + R"sql(
INSERT INTO jobs VALUES (1, 'resize', X'00FF01', -2, 1, 0, 1000, 200, 300, 1700000000001, 0, 0, '', NULL, '', '');
INSERT INTO jobs VALUES (2, 'email', NULL, 0, 4, 3, 0, 0, 0, 1700000000002, 1700000000500, 1700000000900,
                        'worker-a', NULL, 'handler_error', 'smtp refused');
INSERT INTO jobs VALUES (3, 'email', NULL, 1, 3, 1, 0, 0, 0, 1700000000003, 1700000000600, 1700000000700,
                        'worker-b', X'6F6B', '', '');
INSERT INTO jobs VALUES (4, 'resize', X'AA', 0, 2, 2, 0, 0, 0, 1700000000004, 1700000000800, 0, 'worker-c', NULL, '', '');
UPDATE meta SET value = 4 WHERE key = 'max_id';
INSERT INTO meta(key, value) VALUES ('store_id', 123456789);
)sql");
}

TEST(SqliteStoreSchemaTest, AVersion1DatabaseIsUpgradedInPlaceKeepingEveryJob) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  writeVersion1Database(path);
  {
    auto store = openOk(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->identity(), 123456789u) << "the upgrade keeps the store's name";
    std::vector<JobRecord> live;
    auto max_id = store->recover([&](JobRecord&& rec) { live.push_back(std::move(rec)); });
    ASSERT_TRUE(max_id.isOk()) << max_id.status().toString();
    EXPECT_EQ(*max_id, 4u);
    ASSERT_EQ(live.size(), 2u);
    EXPECT_EQ(live[0].id, 1u);
    EXPECT_EQ(live[0].task, "resize");
    EXPECT_EQ(live[0].state, JobState::kQueued);
    EXPECT_EQ(live[0].priority, -2);
    EXPECT_EQ(live[0].timeout_ms, 1000u);
    // The new columns read as their defaults: no retries, SubmitOptions' backoff.
    EXPECT_EQ(live[0].retries, 0u);
    EXPECT_EQ(live[0].retried, 0u);
    EXPECT_EQ(live[0].backoff_ms, 1000u);
    EXPECT_EQ(live[0].backoff_max_ms, 3'600'000u);
    EXPECT_EQ(live[0].run_at_ms, 0u);
    EXPECT_TRUE(live[0].failures.empty());
    auto payload = store->loadPayload(1);
    ASSERT_TRUE(payload.isOk()) << payload.status().toString();
    EXPECT_EQ(*payload, std::string("\x00\xff\x01", 3));
    EXPECT_EQ(live[1].id, 4u);
    EXPECT_EQ(live[1].state, JobState::kRunning);
    EXPECT_EQ(live[1].worker, "worker-c");

    auto failed = store->find(2);
    ASSERT_TRUE(failed.isOk() && failed->has_value());
    EXPECT_EQ((*failed)->state, JobState::kDead) << "version 1's failed state is the dead state";
    EXPECT_EQ((*failed)->attempt, 3u);
    EXPECT_EQ((*failed)->error_message, "smtp refused");
    auto done = store->find(3);
    ASSERT_TRUE(done.isOk() && done->has_value());
    EXPECT_EQ((*done)->result, "ok");

    // The new operations work on the upgraded database.
    auto dead = store->listFinished({.state = JobState::kDead});
    ASSERT_TRUE(dead.isOk()) << dead.status().toString();
    ASSERT_EQ(dead->size(), 1u);
    EXPECT_EQ((*dead)[0].id, 2u);
    EXPECT_EQ(*store->countFinished(JobState::kDead), 1u);
    EXPECT_EQ(*store->countFinished(JobState::kSucceeded), 1u);
    store->recordFailure(4, AttemptFailure{2, "worker-c", 1'700'000'000'800ULL, 1'700'000'000'850ULL, "run_timeout", "slow"});
    store->markRetrying(4, 1'700'000'009'000ULL, 1, "run_timeout", "slow");
    setPaused(*store, "email", true);
    store->markRevived(2);
    ASSERT_TRUE(store->commit().isOk());
    EXPECT_EQ(*store->countFinished(JobState::kDead), 0u);
    auto trimmed = store->trimFinished(JobState::kSucceeded, 0);
    ASSERT_TRUE(trimmed.isOk()) << trimmed.status().toString();
    EXPECT_EQ(*trimmed, 1u);
    ASSERT_TRUE(store->commit().isOk());
  }
  EXPECT_EQ(queryRaw(path, "SELECT value FROM meta WHERE key = 'schema_version'"), (std::vector<std::string>{"4"}))
      << "version 1 goes through version 2 to the current one";
  EXPECT_EQ(queryRaw(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'jobs_%' ORDER BY name"),
            (std::vector<std::string>{"jobs_done", "jobs_live", "jobs_unique_done"}))
      << "version 1's indexes, whose predicates took retrying jobs for finished ones, are gone";

  // Opened again as the current version: nothing is upgraded twice, and every change is there.
  auto store = openOk(path);
  ASSERT_NE(store, nullptr);
  std::vector<JobRecord> live;
  ASSERT_TRUE(store->recover([&](JobRecord&& rec) { live.push_back(std::move(rec)); }).isOk());
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(live[0].id, 1u);
  EXPECT_EQ(live[1].id, 2u);
  EXPECT_EQ(live[1].state, JobState::kQueued);
  EXPECT_EQ(live[2].id, 4u);
  EXPECT_EQ(live[2].state, JobState::kRetrying);
  EXPECT_EQ(live[2].run_at_ms, 1'700'000'009'000ULL);
  ASSERT_EQ(live[2].failures.size(), 1u);
  EXPECT_EQ(live[2].failures[0].error_message, "slow");
  EXPECT_EQ(*pausedTasks(*store), (std::vector<std::string>{"email"}));
  auto gone = store->find(3);
  ASSERT_TRUE(gone.isOk());
  EXPECT_FALSE(gone->has_value());
}

// The schema of version 2, as issue 10's broker created it.
constexpr const char* kVersion2Schema = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE jobs (
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
  run_at_ms         INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE failures (
  job_id        INTEGER NOT NULL,
  attempt       INTEGER NOT NULL,
  worker        TEXT    NOT NULL,
  started_ms    INTEGER NOT NULL,
  ended_ms      INTEGER NOT NULL,
  error_code    TEXT    NOT NULL,
  error_message TEXT    NOT NULL,
  PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;
CREATE TABLE paused_tasks (
  task TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE INDEX jobs_live ON jobs(id) WHERE (state < 3 OR state >= 6);
CREATE INDEX jobs_done ON jobs(state, finished_ms) WHERE state BETWEEN 3 AND 5;
INSERT INTO meta(key, value) VALUES ('schema_version', 2), ('max_id', 0);
)sql";

// A version 2 database: job 1 queued, job 2 succeeded, job 3 retrying; task "email" paused.
void writeVersion2Database(const std::string& path) {
  execRaw(path, std::string(kVersion2Schema) + R"sql(
INSERT INTO jobs(id, task, payload, priority, state, attempt, timeout_ms, run_timeout_ms, assign_timeout_ms,
                 submitted_ms, started_ms, finished_ms, worker, result, error_code, error_message, retries, retried,
                 backoff_ms, backoff_max_ms, run_at_ms)
VALUES (1, 'resize', X'00FF01', -2, 1, 0, 1000, 200, 300, 1700000000001, 0, 0, '', NULL, '', '', 0, 0, 1000, 3600000, 0),
       (2, 'email', NULL, 1, 3, 1, 0, 0, 0, 1700000000003, 1700000000600, 1700000000700, 'worker-b', X'6F6B', '', '',
        0, 0, 1000, 3600000, 0),
       (3, 'email', X'AA', 0, 6, 1, 0, 0, 0, 1700000000004, 1700000000800, 0, 'worker-c', NULL, 'handler_error',
        'boom', 3, 1, 500, 60000, 1700000009000);
INSERT INTO failures VALUES (3, 1, 'worker-c', 1700000000800, 1700000000850, 'handler_error', 'boom');
INSERT INTO paused_tasks VALUES ('email');
UPDATE meta SET value = 3 WHERE key = 'max_id';
INSERT INTO meta(key, value) VALUES ('store_id', 987654321);
)sql");
}

TEST(SqliteStoreSchemaTest, AVersion2DatabaseIsUpgradedInPlaceKeepingEveryJob) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  writeVersion2Database(path);
  {
    auto store = openOk(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->identity(), 987654321u) << "the upgrade keeps the store's name";
    std::vector<JobRecord> live;
    auto max_id = store->recover([&](JobRecord&& rec) { live.push_back(std::move(rec)); });
    ASSERT_TRUE(max_id.isOk()) << max_id.status().toString();
    EXPECT_EQ(*max_id, 3u);
    ASSERT_EQ(live.size(), 2u);
    EXPECT_EQ(live[0].id, 1u);
    EXPECT_EQ(live[0].priority, -2);
    EXPECT_EQ(live[0].unique_key, "") << "a job of version 2 is not unique";
    EXPECT_EQ(live[0].unique_for_ms, 0u);
    EXPECT_EQ(live[1].id, 3u);
    EXPECT_EQ(live[1].state, JobState::kRetrying);
    EXPECT_EQ(live[1].retried, 1u);
    EXPECT_EQ(live[1].run_at_ms, 1'700'000'009'000ULL);
    ASSERT_EQ(live[1].failures.size(), 1u);
    EXPECT_EQ(*pausedTasks(*store), (std::vector<std::string>{"email"}));
    auto done = store->find(2);
    ASSERT_TRUE(done.isOk() && done->has_value());
    EXPECT_EQ((*done)->result, "ok");
    EXPECT_TRUE(store->uniqueKeysHeld(0).isOk());
    EXPECT_TRUE(store->uniqueKeysHeld(0)->empty());

    // A unique job on the upgraded database.
    JobRecord unique;
    unique.id = 4;
    unique.task = "email";
    unique.unique_key = "nightly";
    unique.unique_for_ms = 60'000;
    store->insert(unique);
    ASSERT_TRUE(store->commit().isOk());
    JobRecord finished = unique;
    finished.state = JobState::kSucceeded;
    finished.attempt = 1;
    finished.finished_ms = 1'700'000'100'000ULL;
    store->markFinished(finished);
    // And a cron entry, in the table version 3 adds.
    CronRecord cron;
    cron.name = "nightly";
    cron.spec = "0 3 * * *";
    cron.task = "email";
    cron.submit = "body";
    cron.submit_version = 4;
    store->saveCron(cron);
    ASSERT_TRUE(store->commit().isOk());
  }
  EXPECT_EQ(queryRaw(path, "SELECT value FROM meta WHERE key = 'schema_version'"), (std::vector<std::string>{"4"}));
  EXPECT_EQ(queryRaw(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'jobs_%' ORDER BY name"),
            (std::vector<std::string>{"jobs_done", "jobs_live", "jobs_unique_done"}));
  EXPECT_EQ(queryRaw(path, "SELECT spec FROM crons"), (std::vector<std::string>{"0 3 * * *"}));
  EXPECT_EQ(queryRaw(path, "SELECT name FROM sqlite_master WHERE name IN ('paused_tasks', 'task_settings')"),
            (std::vector<std::string>{"task_settings"}))
      << "the paused tasks moved into task_settings";
  EXPECT_EQ(queryRaw(path, "SELECT task || ':' || paused || ':' || coalesce(rate, 'none') FROM task_settings"),
            (std::vector<std::string>{"email:1:none"}));

  // Opened again as version 3: nothing is upgraded twice, and the unique job is there.
  auto store = openOk(path);
  ASSERT_NE(store, nullptr);
  auto held = store->uniqueKeysHeld(1'700'000'100'001ULL);
  ASSERT_TRUE(held.isOk()) << held.status().toString();
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ((*held)[0].id, 4u);
  EXPECT_EQ((*held)[0].unique_key, "nightly");
  EXPECT_EQ((*held)[0].unique_for_ms, 60'000u);
  EXPECT_EQ(*pausedTasks(*store), (std::vector<std::string>{"email"}));
}

// The recovery of held keys reads the partial index, not the whole table.
TEST(SqliteStoreSchemaTest, UniqueKeysHeldUsesItsIndex) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  ASSERT_NE(openOk(path), nullptr);
  // EXPLAIN QUERY PLAN's fourth column, `detail`, names the index a step reads.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "EXPLAIN QUERY PLAN SELECT id FROM jobs WHERE state = 3 AND unique_for_ms > 0 AND "
                               "finished_ms > ?1 AND finished_ms + unique_for_ms > ?2 AND unique_key != ''",
                               -1, &stmt, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string all;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* detail = sqlite3_column_text(stmt, 3);
    all += std::string(detail == nullptr ? "" : reinterpret_cast<const char*>(detail)) + "\n";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  EXPECT_TRUE(contains(all, "jobs_unique_done")) << all;
}

// Turns a database this version wrote into what version 3 left: no counters table and no
// history column (the only differences), at schema version 3.
void makeVersion3(const std::string& path) {
  execRaw(path, "ALTER TABLE jobs DROP COLUMN history; DROP TABLE counters; "
                "UPDATE meta SET value = 3 WHERE key = 'schema_version';");
}

TEST(SqliteStoreSchemaTest, AVersion3DatabaseGainsTheHistoryColumnInPlaceKeepingEveryJob) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  {
    // A version 3 database: this schema without the history column, as version 3 wrote it.
    auto store = openOk(path);
    ASSERT_NE(store, nullptr);
    JobRecord queued;
    queued.id = 1;
    queued.task = "resize";
    queued.payload = "p";
    queued.submitted_ms = 1'700'000'000'001ULL;
    store->insert(queued);
    JobRecord done = queued;
    done.id = 2;
    store->insert(done);
    ASSERT_TRUE(store->commit().isOk());
  }
  makeVersion3(path);
  ASSERT_EQ(queryRaw(path, "SELECT count(*) FROM pragma_table_info('jobs') WHERE name = 'history'"),
            (std::vector<std::string>{"0"}));
  {
    auto store = openOk(path);
    ASSERT_NE(store, nullptr);
    std::vector<JobRecord> live;
    ASSERT_TRUE(store->recover([&](JobRecord&& rec) { live.push_back(std::move(rec)); }).isOk());
    ASSERT_EQ(live.size(), 2u);
    auto before = store->find(1);
    ASSERT_TRUE(before.isOk() && before->has_value());
    // Its ordinary events come from its columns: a job written before histories has them too.
    auto before_events = history::decode((*before)->history);
    ASSERT_TRUE(before_events.isOk());
    ASSERT_EQ(before_events->size(), 1u);
    EXPECT_EQ((*before_events)[0].kind, EventKind::kSubmitted);
    EXPECT_EQ((*before_events)[0].time_ms, 1'700'000'000'001ULL);
    store->markRunning(1, 1, "worker-a", 1'700'000'000'100ULL);
    JobRecord finished;
    finished.id = 2;
    finished.state = JobState::kSucceeded;
    finished.finished_ms = 1'700'000'000'200ULL;
    store->markFinished(finished);
    ASSERT_TRUE(store->commit().isOk());
  }
  EXPECT_EQ(queryRaw(path, "SELECT value FROM meta WHERE key = 'schema_version'"), (std::vector<std::string>{"4"}));
  auto store = openOk(path);
  ASSERT_NE(store, nullptr);
  auto running = store->find(1);
  ASSERT_TRUE(running.isOk() && running->has_value());
  auto events = history::decode((*running)->history);
  ASSERT_TRUE(events.isOk()) << events.status().toString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].kind, EventKind::kSubmitted);
  EXPECT_EQ((*events)[1].kind, EventKind::kRunning);
  EXPECT_EQ((*events)[1].worker, "worker-a");
  auto succeeded = store->find(2);
  ASSERT_TRUE(succeeded.isOk() && succeeded->has_value());
  events = history::decode((*succeeded)->history);
  ASSERT_TRUE(events.isOk());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].kind, EventKind::kSubmitted);
  EXPECT_EQ((*events)[1].kind, EventKind::kSucceeded);
}

TEST(SqliteStoreTest, AnOrdinaryJobWritesNoHistoryAndAnUnusualOneOnlyItsUnusualEvents) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  {
    auto store = openOk(path);
    ASSERT_NE(store, nullptr);
    for (JobId id = 1; id <= 2; ++id) {
      JobRecord job;
      job.id = id;
      job.task = "resize";
      job.submitted_ms = 1'000 + id;
      store->insert(job);
      store->markRunning(id, 1, "worker-a", 2'000);
    }
    store->recordEvent(2, {2'500, EventKind::kRequeued, 1, {}, "worker_lost"});
    store->markRunning(2, 2, "worker-b", 3'000);
    for (JobId id = 1; id <= 2; ++id) {
      JobRecord done;
      done.id = id;
      done.state = JobState::kSucceeded;
      done.attempt = static_cast<std::uint32_t>(id);
      done.finished_ms = 4'000;
      store->markFinished(done);
    }
    ASSERT_TRUE(store->commit().isOk());
  }
  // Job 1's events all come from its columns; job 2 stores its requeue and the start it followed.
  EXPECT_EQ(queryRaw(path, "SELECT id FROM jobs WHERE history IS NULL"), (std::vector<std::string>{"1"}));
  auto store = openOk(path);
  ASSERT_NE(store, nullptr);
  auto second = store->find(2);
  ASSERT_TRUE(second.isOk() && second->has_value());
  auto events = history::decode((*second)->history);
  ASSERT_TRUE(events.isOk());
  std::vector<EventKind> kinds;
  for (const HistoryEvent& e : *events) kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<EventKind>{EventKind::kSubmitted, EventKind::kRunning, EventKind::kRequeued,
                                           EventKind::kRunning, EventKind::kSucceeded}));
  EXPECT_EQ((*events)[1].worker, "worker-a");
  EXPECT_EQ((*events)[3].worker, "worker-b");
}

TEST(SqliteStoreSchemaTest, ANewerSchemaVersionIsRefusedAndLeftUntouched) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  writeVersion1Database(path);
  execRaw(path, "UPDATE meta SET value = 99 WHERE key = 'schema_version'");
  const std::string before = readFile(path);
  auto opened = SqliteStore::open(path, SyncMode::kFull);
  ASSERT_FALSE(opened.isOk()) << "a database of a newer broker must not be read as this version";
  EXPECT_EQ(opened.status().code(), "unavailable");
  const std::string& message = opened.status().message();
  EXPECT_TRUE(contains(message, path)) << message;
  EXPECT_TRUE(contains(message, "schema version 99")) << message;
  EXPECT_TRUE(contains(message, "newer")) << message;
  EXPECT_TRUE(readFile(path) == before) << "the refused database was modified";
  EXPECT_EQ(queryRaw(path, "SELECT name FROM sqlite_master WHERE name IN ('failures', 'paused_tasks')"),
            (std::vector<std::string>{}));
}

TEST(SqliteStoreSchemaTest, AVersion2DatabaseGainsFairKeysInPlaceKeepingEveryJob) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  // Job 1 queued with retries, job 2 retrying, job 3 dead, job 4 succeeded.
  execRaw(path, std::string(kVersion2Schema) + R"sql(
INSERT INTO jobs VALUES (1, 'resize', X'00FF01', -2, 1, 0, 1000, 200, 300, 1700000000001, 0, 0, '', NULL, '', '',
                         3, 0, 500, 60000, 0);
INSERT INTO jobs VALUES (2, 'resize', X'AA', 0, 6, 1, 0, 0, 0, 1700000000002, 1700000000500, 0, 'worker-a', NULL,
                         'handler_error', 'try again', 2, 1, 1000, 3600000, 1700000009000);
INSERT INTO jobs VALUES (3, 'email', X'BB', 0, 4, 1, 0, 0, 0, 1700000000003, 1700000000600, 1700000000700,
                         'worker-b', NULL, 'handler_error', 'smtp refused', 0, 0, 1000, 3600000, 0);
INSERT INTO jobs VALUES (4, 'email', NULL, 0, 3, 1, 0, 0, 0, 1700000000004, 1700000000600, 1700000000700,
                         'worker-b', X'6F6B', '', '', 0, 0, 1000, 3600000, 0);
INSERT INTO failures VALUES (2, 1, 'worker-a', 1700000000500, 1700000000600, 'handler_error', 'try again');
INSERT INTO paused_tasks VALUES ('email');
UPDATE meta SET value = 4 WHERE key = 'max_id';
INSERT INTO meta(key, value) VALUES ('store_id', 987654321);
)sql");
  {
    auto store = openOk(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->identity(), 987654321u);
    std::vector<JobRecord> live;
    auto max_id = store->recover([&](JobRecord&& rec) { live.push_back(std::move(rec)); });
    ASSERT_TRUE(max_id.isOk()) << max_id.status().toString();
    EXPECT_EQ(*max_id, 4u);
    ASSERT_EQ(live.size(), 2u);
    EXPECT_EQ(live[0].id, 1u);
    EXPECT_EQ(live[0].retries, 3u);
    EXPECT_EQ(live[0].backoff_ms, 500u);
    EXPECT_EQ(live[0].fair_key, "") << "a job written before fairness keys has none";
    EXPECT_EQ(live[1].id, 2u);
    EXPECT_EQ(live[1].state, JobState::kRetrying);
    EXPECT_EQ(live[1].run_at_ms, 1'700'000'009'000ULL);
    ASSERT_EQ(live[1].failures.size(), 1u);
    EXPECT_EQ(live[1].fair_key, "");
    auto dead = store->find(3);
    ASSERT_TRUE(dead.isOk() && dead->has_value());
    EXPECT_EQ((*dead)->state, JobState::kDead);
    EXPECT_EQ((*dead)->payload, "\xbb");
    EXPECT_EQ(*pausedTasks(*store), (std::vector<std::string>{"email"}));
    // A new job with a key is stored whole on the upgraded database.
    JobRecord keyed;
    keyed.id = 5;
    keyed.task = "resize";
    keyed.payload = "p";
    keyed.submitted_ms = 1'700'000'000'005ULL;
    keyed.fair_key = "tenant-42";
    store->insert(keyed);
    ASSERT_TRUE(store->commit().isOk());
  }
  EXPECT_EQ(queryRaw(path, "SELECT value FROM meta WHERE key = 'schema_version'"), (std::vector<std::string>{"4"}));
  EXPECT_EQ(queryRaw(path, "SELECT fair_key FROM jobs ORDER BY id"),
            (std::vector<std::string>{"", "", "", "", "tenant-42"}));
  // Opened again as version 3: nothing is upgraded twice, and the key is there.
  auto store = openOk(path);
  ASSERT_NE(store, nullptr);
  std::vector<JobRecord> live;
  ASSERT_TRUE(store->recover([&](JobRecord&& rec) { live.push_back(std::move(rec)); }).isOk());
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(live[2].id, 5u);
  EXPECT_EQ(live[2].fair_key, "tenant-42");
}

// Version 3 to 4 (issue 12): the counters table is added, empty; every job stays.
TEST(SqliteStoreSchemaTest, AVersion3DatabaseGainsCountersInPlaceKeepingEveryJob) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  {
    auto store = openOk(path);
    ASSERT_NE(store, nullptr);
    JobRecord job;
    job.id = 1;
    job.task = "echo";
    job.payload = "hi";
    job.submitted_ms = 1'700'000'000'000ULL;
    store->insert(job);
    ASSERT_TRUE(store->commit().isOk());
  }
  makeVersion3(path);
  {
    auto store = openOk(path);
    ASSERT_NE(store, nullptr);
    std::vector<JobRecord> live;
    ASSERT_TRUE(store->recover([&](JobRecord&& rec) { live.push_back(std::move(rec)); }).isOk());
    ASSERT_EQ(live.size(), 1u);
    EXPECT_EQ(live[0].task, "echo");
    auto totals = store->counters();
    ASSERT_TRUE(totals.isOk()) << totals.status().toString();
    EXPECT_TRUE(totals->empty()) << "a version 3 database has no totals yet";
    store->addCounter("echo", "submitted", 1);
    ASSERT_TRUE(store->commit().isOk());
  }
  EXPECT_EQ(queryRaw(path, "SELECT value FROM meta WHERE key = 'schema_version'"), (std::vector<std::string>{"4"}));
  EXPECT_EQ(queryRaw(path, "SELECT task || ':' || name || '=' || value FROM counters"),
            (std::vector<std::string>{"echo:submitted=1"}));
  // Opened again as version 4: nothing is upgraded twice, and the total is there.
  auto store = openOk(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->counters(), (std::vector<CounterTotal>{{"echo", "submitted", 1}}));
}

// Regression: with `state IN (...)` conditions on the partial indexes, every insert and update of
// a job built a temporary table for the list, and inserts took 2.5 times as long.
TEST(SqliteStoreSchemaTest, PartialIndexConditionsAreNotInLists) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  ASSERT_NE(openOk(path), nullptr);
  auto indexes = queryRaw(path, "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '%WHERE%'");
  ASSERT_EQ(indexes.size(), 3u);
  for (const std::string& sql : indexes) EXPECT_FALSE(contains(sql, " IN ")) << sql;
}

TEST(SqliteStoreTest, DeletingJobsDeletesTheirFailures) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  {
    auto store = openOk(path);
    ASSERT_NE(store, nullptr);
    for (JobId id = 1; id <= 6; ++id) {
      store->insert(makeJob(id));
      store->recordFailure(id, AttemptFailure{1, "w", 1, 2, "handler_error", "x"});
      store->recordFailure(id, AttemptFailure{2, "w", 3, 4, "handler_error", "y"});
    }
    JobRecord dead = finishedAt(1, 100);
    dead.state = JobState::kDead;
    for (JobId id : {1, 2, 3}) {
      dead.id = id;
      dead.finished_ms = 100 * id;
      store->markFinished(dead);
    }
    store->markFinished(finishedAt(4, 100));
    ASSERT_TRUE(store->commit().isOk());
    ASSERT_EQ(*store->trimFinished(JobState::kDead, 1), 2u);         // jobs 1 and 2
    ASSERT_EQ(*store->purgeFinished(PurgeFilter{{JobState::kSucceeded}, "", 0}), 1u);  // job 4
    ASSERT_TRUE(store->commit().isOk());
  }
  EXPECT_EQ(queryRaw(path, "SELECT DISTINCT job_id FROM failures ORDER BY job_id"),
            (std::vector<std::string>{"3", "5", "6"}));
}

TEST(SqliteStoreTest, OnlyCommittedPausesSurviveACrash) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  auto store = openOk(path);
  ASSERT_NE(store, nullptr);
  setPaused(*store, "committed", true);
  setPaused(*store, "resumed", true);
  ASSERT_TRUE(store->commit().isOk());
  setPaused(*store, "resumed", false);
  ASSERT_TRUE(store->commit().isOk());
  // A turn still open when the process dies.
  setPaused(*store, "uncommitted", true);
  setPaused(*store, "committed", false);
  EXPECT_EQ(*pausedTasks(*store), (std::vector<std::string>{"committed"})) << "the committed set, not the turn's";

  const std::string crashed = dir.file("crashed.db");
  std::filesystem::copy_file(path, crashed);
  if (std::filesystem::exists(path + "-wal")) std::filesystem::copy_file(path + "-wal", crashed + "-wal");
  store.reset();
  auto after = openOk(crashed);
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(*pausedTasks(*after), (std::vector<std::string>{"committed"}));
}

// ---- the full disk and the changes of issue 10 ----

TEST(SqliteStoreFullDiskTest, RetriesFailuresRevivalsAndPausesWaitForRoomAndAreReplayed) {
  FullDiskFixture f;
  if (!f.disk.available()) GTEST_SKIP() << f.disk.why();
  auto opened = SqliteStore::open(f.disk.path() + "/corvee.db", SyncMode::kFull);
  ASSERT_TRUE(opened) << opened.status().toString();
  f.store = std::move(*opened);
  for (JobId id = 1; id <= 3; ++id) f.store->insert(makeJob(id));
  JobRecord dead3 = finishedAt(3, 50);
  dead3.state = JobState::kDead;
  dead3.result.clear();
  dead3.error_code = "handler_error";
  f.store->markFinished(dead3);
  f.store->markFinished(finishedAt(2, 60));
  ASSERT_TRUE(f.store->commit());
  ASSERT_TRUE(f.disk.fill(512 * 1024));
  JobId next = 4;
  ASSERT_NE(f.insertUntilFull(next), 0u) << "the disk never filled";
  ASSERT_TRUE(f.store->full());

  // Every new kind of change is taken while full, and find() shows it.
  const AttemptFailure failure{1, "w1", 10, 20, "handler_error", "boom"};
  f.store->markRunning(1, 1, "w1", 10);
  f.store->recordFailure(1, failure);
  f.store->markRetrying(1, 9'000, 1, "handler_error", "boom");
  f.store->markRevived(3);
  setPaused(*f.store, "paused-while-full", true);
  auto one = f.store->find(1);
  ASSERT_TRUE(one && one->has_value());
  EXPECT_EQ((*one)->state, JobState::kRetrying);
  EXPECT_EQ((*one)->run_at_ms, 9'000u);
  EXPECT_EQ((*one)->retried, 1u);
  ASSERT_EQ((*one)->failures.size(), 1u);
  EXPECT_EQ((*one)->failures[0].error_message, "boom");
  auto three = f.store->find(3);
  ASSERT_TRUE(three && three->has_value());
  EXPECT_EQ((*three)->state, JobState::kQueued);
  EXPECT_EQ((*three)->finished_ms, 0u);
  EXPECT_EQ((*three)->error_code, "");
  EXPECT_TRUE(pausedTasks(*f.store)->empty()) << "not committed yet";
  // Deletions are writes: they wait.
  EXPECT_EQ(*f.store->trimFinished(JobState::kSucceeded, 0), 0u);
  EXPECT_EQ(*f.store->purgeFinished(PurgeFilter{}), 0u);

  f.disk.release();
  Status committed = f.store->commit();
  ASSERT_TRUE(committed) << committed.toString();
  EXPECT_EQ(*pausedTasks(*f.store), (std::vector<std::string>{"paused-while-full"}));

  f.store.reset();
  auto reopened = SqliteStore::open(f.disk.path() + "/corvee.db", SyncMode::kFull);
  ASSERT_TRUE(reopened) << reopened.status().toString();
  std::vector<JobRecord> live;
  ASSERT_TRUE((*reopened)->recover([&](JobRecord&& rec) { live.push_back(std::move(rec)); }));
  ASSERT_GE(live.size(), 2u);
  EXPECT_EQ(live[0].id, 1u);
  EXPECT_EQ(live[0].state, JobState::kRetrying);
  ASSERT_EQ(live[0].failures.size(), 1u);
  EXPECT_EQ(live[0].failures[0].worker, "w1");
  EXPECT_EQ(live[1].id, 3u);
  EXPECT_EQ(live[1].state, JobState::kQueued);
  auto payload = (*reopened)->loadPayload(3);
  ASSERT_TRUE(payload) << payload.status().toString();
  EXPECT_EQ(*payload, makeJob(3).payload) << "the dead job kept its payload through its revival";
  EXPECT_EQ(*pausedTasks(*(*reopened)), (std::vector<std::string>{"paused-while-full"}));
  auto two = (*reopened)->find(2);
  ASSERT_TRUE(two && two->has_value()) << "the refused trim deleted nothing";
}

}  // namespace
}  // namespace corvee
