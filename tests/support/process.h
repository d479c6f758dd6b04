// Test support: real child processes (the `corvee` binary above all) with bounded waits.
//
// Every wait here has a limit and ends the child with SIGKILL when the limit passes, so a hung
// broker or worker fails the test instead of hanging it. Children's stdout and stderr go to
// temporary files, never pipes: a long-running broker that logs a lot can never block on a full
// pipe nobody reads. Children are started with PR_SET_PDEATHSIG(SIGKILL), so they die with the
// thread that started them even if the test process is killed (start long-lived children from the
// test's own thread, not from a helper thread that exits first).
//
// Thread-safety: runCommand() may be called from many threads at once. A ChildProcess (and the
// Broker/WorkerProcess wrappers) is used from one thread at a time.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace corvee::testing {

using namespace std::chrono_literals;

// The `corvee` binary: $CORVEE_BIN (set by ctest), else the path the build configured.
std::string corveeBinary();

// How a child ended: exit code, or the signal that killed it.
struct ExitInfo {
  int code = -1;   // the exit status; -1 when killed by a signal
  int signal = 0;  // the terminating signal, or 0
  bool exitedWith(int expected) const { return signal == 0 && code == expected; }
  std::string toString() const;
};

struct CommandResult {
  int exit_code = -1;       // -1 when the child was killed by a signal (or timed out)
  int signal = 0;           // the signal that ended it, or 0
  bool timed_out = false;   // true when the child had to be killed at the limit
  std::string out;
  std::string err;
  // For assertion messages: the exit, stdout and stderr.
  std::string describe() const;
};

// Runs argv[0] (a path, not searched in PATH) with argv, `input` on its stdin, and waits at most
// `timeout`. On timeout the child is killed with SIGKILL, the result has timed_out set, and a
// gtest failure is recorded (ADD_FAILURE), so a test can never hang on a child.
CommandResult runCommand(const std::vector<std::string>& argv, const std::string& input = {},
                         std::chrono::milliseconds timeout = 30s);
// runCommand with the corvee binary prepended: runCorvee({"submit", "echo", "hi", "--wait"}).
CommandResult runCorvee(const std::vector<std::string>& args, const std::string& input = {},
                        std::chrono::milliseconds timeout = 30s);

// One child process, owned: the destructor kills it (SIGKILL) and reaps it if it still runs.
// Move-only. Never signals a pid after reaping it, so a recycled pid is never hit.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts argv[0] with `input` on stdin. Fails (with a message) when it cannot be started.
  // REQUIRES: not started yet.
  ::testing::AssertionResult start(const std::vector<std::string>& argv, const std::string& input = {});
  // The directory start() runs the child in; empty (the default): the test's own working directory.
  // A child that cannot enter it exits with 127 and says so on its stderr.
  void setWorkingDirectory(std::string dir) { cwd_ = std::move(dir); }
  const std::string& workingDirectory() const { return cwd_; }
  // RLIMIT_FSIZE for the child started next, in bytes (0, the default: no limit), with SIGXFSZ
  // ignored so that a write beyond it fails with EFBIG instead of killing the child: a disk that
  // fills up, for one process.
  void setFileSizeLimit(std::uint64_t bytes) { file_size_limit_ = bytes; }
  // RLIMIT_NOFILE (soft and hard) for the child started next (0, the default: inherited): a
  // process that runs out of file descriptors.
  void setDescriptorLimit(std::uint64_t descriptors) { descriptor_limit_ = descriptors; }
  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // True until the child has exited (and been reaped here). A stopped child is still running.
  bool running();
  // Sends `signal` if the child has not been reaped. Returns false when it already ended.
  bool kill(int signal);
  // Waits up to `timeout` for the child to exit; nullopt if it is still running then.
  std::optional<ExitInfo> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then up to `grace` for it to exit, then SIGKILL (and SIGCONT, for a stopped child).
  // Always reaps; returns how it ended.
  ExitInfo stop(std::chrono::milliseconds grace = 10s);
  // The exit status once reaped.
  std::optional<ExitInfo> exitInfo() const { return exit_; }

  // Everything the child wrote so far.
  std::string out() const;
  std::string err() const;
  // "pid N (argv0 ...)" plus the tail of its stderr, for assertion messages.
  std::string describe() const;

 private:
  void reset();
  bool reap(bool block);

  pid_t pid_ = -1;
  std::optional<ExitInfo> exit_;
  std::vector<std::string> argv_;
  std::string out_path_;
  std::string err_path_;
  std::string in_path_;
  std::string cwd_;
  std::uint64_t file_size_limit_ = 0;
  std::uint64_t descriptor_limit_ = 0;
};

// Where a BrokerProcess keeps its jobs. The default is the memory store, as for every test that
// does not ask otherwise.
struct BrokerStore {
  std::string store = "memory";  // the --store value; empty: no --store flag (the broker's default)
  std::string data_dir;          // --data-dir DIR when not empty
  std::string cwd;               // the broker's working directory when not empty
  // A durable store: `--store sqlite --data-dir DIR`.
  static BrokerStore sqlite(std::string dir) { return BrokerStore{"sqlite", std::move(dir), {}}; }
};

// `corvee broker --bind BIND --store memory [extra...]`, started and waited for until it prints
// its "listening on" line. With a BrokerStore, `--store` and `--data-dir` follow it instead.
class BrokerProcess {
 public:
  BrokerProcess() = default;
  explicit BrokerProcess(BrokerStore store) : store_(std::move(store)) {}
  // Starts the broker and waits (up to `limit`) for its listening line.
  ::testing::AssertionResult start(const std::vector<std::string>& extra = {},
                                   const std::string& bind = "tcp://127.0.0.1:0",
                                   std::chrono::milliseconds limit = 20s);
  // "tcp://127.0.0.1:PORT" as printed by the broker.
  const std::string& endpoint() const { return endpoint_; }
  std::uint16_t port() const { return port_; }
  // The port of its HTTP API (tests run brokers with CORVEE_HTTP=127.0.0.1:0); 0 when it serves none.
  std::uint16_t httpPort() const { return http_port_; }
  ChildProcess& process() { return process_; }
  pid_t pid() const { return process_.pid(); }
  const BrokerStore& store() const { return store_; }
  // ChildProcess::setFileSizeLimit for the broker started next (by start() or restart()); 0: none.
  void limitFileSize(std::uint64_t bytes) { file_size_limit_ = bytes; }
  // ChildProcess::setDescriptorLimit for the broker started next; 0: inherited.
  void limitDescriptors(std::uint64_t descriptors) { descriptor_limit_ = descriptors; }
  // Words run before the broker's own command line, by start() and restart(): {"/usr/sbin/ip",
  // "netns", "exec", "NS"} runs it inside network namespace NS (ip execs the broker, so pid() is
  // still the broker's). Empty, the default: the broker is run directly.
  void setCommandPrefix(std::vector<std::string> prefix) { prefix_ = std::move(prefix); }

  // kill -9, as a crash would, and waits (up to `limit`) until the process is reaped.
  ::testing::AssertionResult killNine(std::chrono::milliseconds limit = 10s);
  // Starts the broker again with the same store and arguments on the same port, once the previous
  // process has ended (killed or stopped); retries while the port is still taken, up to `limit`.
  // `extra`, when given, replaces the arguments of the first start. REQUIRES: started before.
  ::testing::AssertionResult restart(std::chrono::milliseconds limit = 20s);
  ::testing::AssertionResult restart(const std::vector<std::string>& extra, std::chrono::milliseconds limit = 20s);

 private:
  BrokerStore store_;
  std::uint64_t file_size_limit_ = 0;
  std::uint64_t descriptor_limit_ = 0;
  std::vector<std::string> prefix_;
  std::vector<std::string> extra_;
  ChildProcess process_;
  std::string endpoint_;
  std::uint16_t port_ = 0;
  std::uint16_t http_port_ = 0;
};

// `corvee worker [--builtin] --connect EP --slots N [extra...]`.
class WorkerProcess {
 public:
  ::testing::AssertionResult start(const std::string& endpoint, int slots = 1,
                                   const std::vector<std::string>& extra = {}, bool builtin = true);
  ChildProcess& process() { return process_; }
  pid_t pid() const { return process_.pid(); }

 private:
  ChildProcess process_;
};

// A temporary file, removed when this goes out of scope. For pid files and the like.
class TempFile {
 public:
  TempFile();
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  std::string read() const;

 private:
  std::string path_;
};

// A temporary directory, removed with everything in it when this goes out of scope. For data
// directories and working directories of children.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The resident set of `pid` in KiB (VmRSS of /proc/PID/status), or -1 when unreadable.
long long residentKiB(pid_t pid);

// True while `pid` names a live (not zombie) process whose command line contains `name`: a pid
// written by a grandchild can be checked without ever signalling a recycled pid.
bool processAlive(pid_t pid, const std::string& name);

// Runs `corvee stats --connect EP` and returns its document; fails when the command fails or the
// output is not JSON.
::testing::AssertionResult fetchStats(const std::string& endpoint, std::string& json_text);
// Polls `corvee stats` until it lists exactly `count` registered workers, for at most `limit`.
::testing::AssertionResult waitForWorkers(const std::string& endpoint, std::size_t count,
                                          std::chrono::milliseconds limit = 20s);

// Polls `condition` every few milliseconds until it holds or `limit` passes; returns its last value.
template <typename Condition>
bool eventually(Condition&& condition, std::chrono::milliseconds limit = 20s,
                std::chrono::milliseconds period = 20ms);

}  // namespace corvee::testing

#include <thread>

namespace corvee::testing {

template <typename Condition>
bool eventually(Condition&& condition, std::chrono::milliseconds limit, std::chrono::milliseconds period) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(period);
  }
}

}  // namespace corvee::testing
