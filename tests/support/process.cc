#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#ifndef CORVEE_DEFAULT_BIN
#define CORVEE_DEFAULT_BIN "corvee"
#endif

namespace corvee::testing {

namespace {

std::string tempDir() {
  const char* dir = std::getenv("TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

// Creates an empty temporary file and returns its path; the caller unlinks it.
std::string makeTempFile(const char* tag) {
  std::string pattern = tempDir() + "/corvee-test-" + tag + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  int fd = ::mkostemp(buffer.data(), O_CLOEXEC);
  if (fd < 0) return {};
  ::close(fd);
  return std::string(buffer.data());
}

std::string readFile(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool writeFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  return static_cast<bool>(out);
}

ExitInfo fromWaitStatus(int status) {
  ExitInfo info;
  if (WIFEXITED(status)) {
    info.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
  }
  return info;
}

std::string tail(const std::string& text, std::size_t n) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

// Closes every descriptor from 3 up in a freshly forked child: asio's sockets and other tests'
// files must not leak into it (a leaked socket would keep a connection open after the test
// closed it). Only async-signal-safe calls.
void closeInheritedDescriptors() {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
#endif
  struct rlimit limit {};
  long max_fd = 4096;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    max_fd = static_cast<long>(limit.rlim_cur);
  }
  if (max_fd > 65536) max_fd = 65536;
  for (long fd = 3; fd < max_fd; ++fd) ::close(static_cast<int>(fd));
}

}  // namespace

std::string corveeBinary() {
  const char* from_env = std::getenv("CORVEE_BIN");
  if (from_env != nullptr && *from_env != '\0') return from_env;
  return CORVEE_DEFAULT_BIN;
}

std::string ExitInfo::toString() const {
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  return "exit code " + std::to_string(code);
}

std::string CommandResult::describe() const {
  std::string text = timed_out ? "TIMED OUT (killed)" : (signal != 0 ? "signal " + std::to_string(signal)
                                                                      : "exit " + std::to_string(exit_code));
  return text + "\n--- stdout ---\n" + tail(out, 4000) + "\n--- stderr ---\n" + tail(err, 4000);
}

// ---------------------------------------------------------------------------------------------
// ChildProcess

ChildProcess::~ChildProcess() { reset(); }

ChildProcess::ChildProcess(ChildProcess&& other) noexcept { *this = std::move(other); }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this == &other) return *this;
  reset();
  pid_ = std::exchange(other.pid_, -1);
  exit_ = std::exchange(other.exit_, std::nullopt);
  argv_ = std::move(other.argv_);
  out_path_ = std::exchange(other.out_path_, {});
  err_path_ = std::exchange(other.err_path_, {});
  in_path_ = std::exchange(other.in_path_, {});
  cwd_ = std::move(other.cwd_);
  file_size_limit_ = other.file_size_limit_;
  descriptor_limit_ = other.descriptor_limit_;
  return *this;
}

void ChildProcess::reset() {
  if (pid_ > 0 && !exit_) {
    ::kill(pid_, SIGKILL);
    reap(/*block=*/true);
  }
  for (std::string* path : {&out_path_, &err_path_, &in_path_}) {
    if (!path->empty()) ::unlink(path->c_str());
    path->clear();
  }
  pid_ = -1;
  exit_.reset();
}

::testing::AssertionResult ChildProcess::start(const std::vector<std::string>& argv, const std::string& input) {
  if (pid_ > 0) return ::testing::AssertionFailure() << "ChildProcess::start called twice";
  if (argv.empty()) return ::testing::AssertionFailure() << "ChildProcess::start: empty argv";
  argv_ = argv;
  out_path_ = makeTempFile("out");
  err_path_ = makeTempFile("err");
  in_path_ = makeTempFile("in");
  if (out_path_.empty() || err_path_.empty() || in_path_.empty()) {
    return ::testing::AssertionFailure() << "cannot create temporary files in " << tempDir() << ": "
                                         << std::strerror(errno);
  }
  if (!writeFile(in_path_, input)) return ::testing::AssertionFailure() << "cannot write " << in_path_;

  int in_fd = ::open(in_path_.c_str(), O_RDONLY | O_CLOEXEC);
  int out_fd = ::open(out_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  int err_fd = ::open(err_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
    int saved = errno;
    for (int fd : {in_fd, out_fd, err_fd}) {
      if (fd >= 0) ::close(fd);
    }
    return ::testing::AssertionFailure() << "cannot open temporary files: " << std::strerror(saved);
  }
  // A broker a test starts serves HTTP on a free port, never on the default 7680 that tests
  // running in parallel (or a broker on this machine) would fight over. Set here, in the test's
  // own environment, so every child inherits it; a test may still pass --http itself.
  ::setenv("CORVEE_HTTP", "127.0.0.1:0", /*overwrite=*/0);
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& arg : argv_) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  const char* cwd = cwd_.empty() ? nullptr : cwd_.c_str();
  const std::uint64_t file_size_limit = file_size_limit_;
  const std::uint64_t descriptor_limit = descriptor_limit_;

  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::dup2(in_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    closeInheritedDescriptors();
    if (cwd != nullptr && ::chdir(cwd) != 0) {
      static const char kNoDir[] = "corvee test support: cannot enter the working directory\n";
      ssize_t ignored = ::write(STDERR_FILENO, kNoDir, sizeof(kNoDir) - 1);
      (void)ignored;
      ::_exit(127);
    }
    if (file_size_limit > 0) {
      struct sigaction ignore {};
      ignore.sa_handler = SIG_IGN;
      ::sigaction(SIGXFSZ, &ignore, nullptr);
      struct rlimit limit {};
      limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(file_size_limit);
      ::setrlimit(RLIMIT_FSIZE, &limit);
    }
    if (descriptor_limit > 0) {
      struct rlimit limit {};
      limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(descriptor_limit);
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(args[0], args.data());
    static const char kFailed[] = "corvee test support: execv failed\n";
    ssize_t ignored = ::write(STDERR_FILENO, kFailed, sizeof(kFailed) - 1);
    (void)ignored;
    ::_exit(127);
  }
  int saved = errno;
  ::close(in_fd);
  ::close(out_fd);
  ::close(err_fd);
  if (pid < 0) return ::testing::AssertionFailure() << "fork failed: " << std::strerror(saved);
  pid_ = pid;
  return ::testing::AssertionSuccess();
}

bool ChildProcess::reap(bool block) {
  if (pid_ <= 0) return false;
  if (exit_) return true;
  int status = 0;
  for (;;) {
    pid_t got = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (got == pid_) {
      exit_ = fromWaitStatus(status);
      return true;
    }
    if (got == 0) return false;
    if (errno == EINTR) continue;
    // ECHILD: someone else reaped it (should not happen); treat it as gone.
    exit_ = ExitInfo{};
    return true;
  }
}

bool ChildProcess::running() { return pid_ > 0 && !reap(false); }

bool ChildProcess::kill(int signal) {
  if (!running()) return false;
  return ::kill(pid_, signal) == 0;
}

std::optional<ExitInfo> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto period = std::chrono::milliseconds(1);
  for (;;) {
    if (reap(false)) return exit_;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(period);
    period = std::min(period * 2, std::chrono::milliseconds(10));
  }
}

ExitInfo ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return ExitInfo{};
  if (exit_) return *exit_;
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT);  // a stopped child cannot act on SIGTERM
  if (auto ended = wait(grace)) return *ended;
  ::kill(pid_, SIGKILL);
  reap(/*block=*/true);
  return *exit_;
}

std::string ChildProcess::out() const { return readFile(out_path_); }
std::string ChildProcess::err() const { return readFile(err_path_); }

std::string ChildProcess::describe() const {
  std::string text = "pid " + std::to_string(pid_) + " (";
  for (std::size_t i = 0; i < argv_.size(); ++i) text += (i ? " " : "") + argv_[i];
  text += ")";
  if (!cwd_.empty()) text += " in " + cwd_;
  if (exit_) text += ", " + exit_->toString();
  text += "\n--- stdout ---\n" + tail(out(), 2000) + "\n--- stderr ---\n" + tail(err(), 4000);
  return text;
}

// ---------------------------------------------------------------------------------------------
// TempFile, processAlive

TempFile::TempFile() : path_(makeTempFile("tmp")) {}
TempFile::~TempFile() {
  if (!path_.empty()) ::unlink(path_.c_str());
}
std::string TempFile::read() const { return readFile(path_); }

TempDir::TempDir() {
  std::string pattern = tempDir() + "/corvee-test-dir-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) != nullptr) path_ = buffer.data();
}
TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

bool processAlive(pid_t pid, const std::string& name) {
  if (pid <= 0) return false;
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  auto close_paren = stat.rfind(')');
  if (stat.empty() || close_paren == std::string::npos || close_paren + 2 >= stat.size()) return false;
  if (stat[close_paren + 2] == 'Z' || stat[close_paren + 2] == 'X') return false;
  std::string cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline");
  return cmdline.find(name) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// runCommand

CommandResult runCommand(const std::vector<std::string>& argv, const std::string& input,
                         std::chrono::milliseconds timeout) {
  CommandResult result;
  ChildProcess child;
  ::testing::AssertionResult started = child.start(argv, input);
  if (!started) {
    ADD_FAILURE() << "cannot start " << (argv.empty() ? std::string("?") : argv[0]) << ": " << started.message();
    result.err = started.message();
    return result;
  }
  std::optional<ExitInfo> ended = child.wait(timeout);
  if (!ended) {
    child.kill(SIGKILL);
    ended = child.wait(10s);
    result.timed_out = true;
  }
  if (ended) {
    result.exit_code = ended->code;
    result.signal = ended->signal;
  }
  result.out = child.out();
  result.err = child.err();
  if (result.timed_out) {
    ADD_FAILURE() << child.describe() << "\ndid not finish within " << timeout.count() << " ms and was killed";
  }
  return result;
}

CommandResult runCorvee(const std::vector<std::string>& args, const std::string& input,
                        std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{corveeBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, input, timeout);
}

// ---------------------------------------------------------------------------------------------
// BrokerProcess / WorkerProcess

::testing::AssertionResult BrokerProcess::start(const std::vector<std::string>& extra, const std::string& bind,
                                                std::chrono::milliseconds limit) {
  std::vector<std::string> argv = prefix_;
  argv.insert(argv.end(), {corveeBinary(), "broker", "--bind", bind});
  if (!store_.store.empty()) argv.insert(argv.end(), {"--store", store_.store});
  if (!store_.data_dir.empty()) argv.insert(argv.end(), {"--data-dir", store_.data_dir});
  argv.insert(argv.end(), extra.begin(), extra.end());
  extra_ = extra;
  if (!store_.cwd.empty()) process_.setWorkingDirectory(store_.cwd);
  process_.setFileSizeLimit(file_size_limit_);
  process_.setDescriptorLimit(descriptor_limit_);
  if (auto started = process_.start(argv); !started) return started;
  constexpr std::string_view kMarker = "listening on ";
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    std::string out = process_.out();
    auto at = out.find(kMarker);
    auto line_end = at == std::string::npos ? std::string::npos : out.find('\n', at);
    if (line_end != std::string::npos) {
      std::string rest = out.substr(at + kMarker.size(), line_end - at - kMarker.size());
      endpoint_ = rest.substr(0, rest.find(' '));
      auto colon = endpoint_.rfind(':');
      int port = colon == std::string::npos ? 0 : std::atoi(endpoint_.c_str() + colon + 1);
      if (endpoint_.rfind("tcp://", 0) != 0 || port <= 0 || port > 65535) {
        return ::testing::AssertionFailure() << "cannot parse the broker's listening line: " << out;
      }
      port_ = static_cast<std::uint16_t>(port);
      // "corvee broker http on http://HOST:PORT" (https:// with TLS), printed before the
      // listening line.
      http_port_ = 0;
      constexpr std::string_view kHttpMarker = "http on http";
      if (auto http_at = out.find(kHttpMarker); http_at != std::string::npos && http_at < at) {
        auto http_end = out.find('\n', http_at);
        std::string url = out.substr(http_at + kHttpMarker.size(), http_end - http_at - kHttpMarker.size());
        http_port_ = static_cast<std::uint16_t>(std::atoi(url.c_str() + url.rfind(':') + 1));
      }
      return ::testing::AssertionSuccess();
    }
    if (!process_.running()) {
      return ::testing::AssertionFailure() << "the broker exited before listening: " << process_.describe();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return ::testing::AssertionFailure() << "the broker did not print its listening line within " << limit.count()
                                           << " ms: " << process_.describe();
    }
    std::this_thread::sleep_for(5ms);
  }
}

::testing::AssertionResult BrokerProcess::killNine(std::chrono::milliseconds limit) {
  if (!process_.started()) return ::testing::AssertionFailure() << "the broker was never started";
  if (!process_.kill(SIGKILL)) {
    return ::testing::AssertionFailure() << "the broker had already ended: " << process_.describe();
  }
  if (!process_.wait(limit)) {
    return ::testing::AssertionFailure() << "the broker was not reaped within " << limit.count()
                                         << " ms of SIGKILL: " << process_.describe();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult BrokerProcess::restart(std::chrono::milliseconds limit) {
  std::vector<std::string> extra = extra_;
  return restart(extra, limit);
}

::testing::AssertionResult BrokerProcess::restart(const std::vector<std::string>& extra,
                                                  std::chrono::milliseconds limit) {
  if (port_ == 0) return ::testing::AssertionFailure() << "restart() before a successful start()";
  if (process_.running()) {
    return ::testing::AssertionFailure() << "restart() while the broker still runs: " << process_.describe();
  }
  const std::string bind = endpoint_;
  const std::uint16_t port = port_;
  auto deadline = std::chrono::steady_clock::now() + limit;
  ::testing::AssertionResult started = ::testing::AssertionFailure();
  for (;;) {
    process_ = ChildProcess();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    started = start(extra, bind, std::max(left, std::chrono::milliseconds(1000)));
    if (started) break;
    // Only a port still held by the dying broker's sockets is worth another try.
    bool port_busy = process_.err().find("cannot listen") != std::string::npos;
    if (!port_busy || std::chrono::steady_clock::now() >= deadline) {
      return ::testing::AssertionFailure() << "restarting the broker on " << bind << ": " << started.message();
    }
    std::this_thread::sleep_for(50ms);
  }
  if (port_ != port) {
    return ::testing::AssertionFailure() << "the restarted broker listens on port " << port_ << ", not " << port;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult WorkerProcess::start(const std::string& endpoint, int slots,
                                                const std::vector<std::string>& extra, bool builtin) {
  std::vector<std::string> argv{corveeBinary(), "worker"};
  if (builtin) argv.push_back("--builtin");
  argv.insert(argv.end(), {"--connect", endpoint, "--slots", std::to_string(slots)});
  argv.insert(argv.end(), extra.begin(), extra.end());
  return process_.start(argv);
}

::testing::AssertionResult fetchStats(const std::string& endpoint, std::string& json_text) {
  CommandResult stats = runCorvee({"stats", "--connect", endpoint, "--connect-timeout-ms", "5000"}, {}, 15s);
  if (stats.exit_code != 0) return ::testing::AssertionFailure() << "corvee stats failed: " << stats.describe();
  if (!nlohmann::json::accept(stats.out)) {
    return ::testing::AssertionFailure() << "corvee stats printed something that is not JSON: " << stats.describe();
  }
  json_text = stats.out;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult waitForWorkers(const std::string& endpoint, std::size_t count,
                                          std::chrono::milliseconds limit) {
  std::string last;
  std::size_t seen = 0;
  bool ok = eventually(
      [&] {
        std::string text;
        if (!fetchStats(endpoint, text)) return false;
        last = text;
        auto doc = nlohmann::json::parse(text, nullptr, false);
        if (!doc.is_object() || !doc.contains("workers") || !doc["workers"].is_array()) return false;
        seen = doc["workers"].size();
        return seen == count;
      },
      limit, 50ms);
  if (ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "stats did not show " << count << " workers within " << limit.count()
                                       << " ms (last saw " << seen << "): " << last;
}

long long residentKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

}  // namespace corvee::testing
