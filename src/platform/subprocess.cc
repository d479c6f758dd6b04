#include "platform/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

#include "platform/child_cgroup.h"

namespace corvee {
namespace {

using SteadyClock = std::chrono::steady_clock;

// How often the loop looks at terminated_ while nothing else wakes it: the resolution of the
// grace period.
constexpr int kPollMs = 50;
// Without a pidfd, the child's exit wakes nothing: after its output closed, it is checked this
// often instead.
constexpr int kExitCheckMs = 5;
// stderr is trimmed to its tail once it is this much over the limit, so trimming costs about one
// byte moved per byte read.
constexpr std::size_t kTrimSlack = 64 * 1024;

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// A file descriptor that polls readable when the child exits (Linux 5.3); -1 without one. The
// child cannot be reaped by anyone else meanwhile (unless SIGCHLD is ignored; see run()), so its
// pid is still the child's here.
int openPidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

// Appends to `into`, keeping only its last `max` bytes (roughly: trimmed in steps of kTrimSlack).
void appendTail(std::string& into, const char* data, std::size_t size, std::size_t max, std::size_t& dropped) {
  into.append(data, size);
  if (max <= std::numeric_limits<std::size_t>::max() - kTrimSlack && into.size() > max + kTrimSlack) {
    std::size_t cut = into.size() - max;
    into.erase(0, cut);
    dropped += cut;
  }
}

}  // namespace

Result<SubprocessResult> Subprocess::run(const std::string& command, const std::string& input,
                                         const SubprocessOptions& options) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return Status::error("internal", std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]); ::close(in_pipe[1]);
    return Status::error("internal", std::string("pipe: ") + std::strerror(errno));
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]); ::close(in_pipe[1]); ::close(out_pipe[0]); ::close(out_pipe[1]);
    return Status::error("internal", std::string("pipe: ") + std::strerror(errno));
  }
  // The environment is built before fork too: the child of a threaded process may not allocate.
  std::vector<std::string> env_entries;
  std::vector<char*> envp;
  if (!options.env.empty()) {
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
      std::string_view text(*entry);
      std::string_view name = text.substr(0, text.find('='));
      bool replaced = std::any_of(options.env.begin(), options.env.end(),
                                  [&](const auto& variable) { return variable.first == name; });
      if (!replaced) env_entries.emplace_back(text);
    }
    for (const auto& [name, value] : options.env) env_entries.push_back(name + "=" + value);
    for (std::string& entry : env_entries) envp.push_back(entry.data());
    envp.push_back(nullptr);
  }
  // Made before fork: the child only opens and writes its procs file, which is async-signal-safe.
  std::unique_ptr<ChildCgroup> cgroup = options.use_cgroup ? ChildCgroup::create() : nullptr;
  const char* procs_file = cgroup ? cgroup->procsFile().c_str() : nullptr;
  // A child that exits without reading all its stdin makes our writes raise SIGPIPE, whose default
  // action would kill the whole process (the worker, or an application embedding it). Block it in
  // this thread while the child runs; the write then fails with EPIPE, which is handled below.
  sigset_t sigpipe_only, saved_mask;
  sigemptyset(&sigpipe_only);
  sigaddset(&sigpipe_only, SIGPIPE);
  sigset_t pending_before;
  sigpending(&pending_before);
  bool sigpipe_was_pending = sigismember(&pending_before, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &sigpipe_only, &saved_mask);
  pid_t pid = ::fork();
  if (pid < 0) {
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    return Status::error("internal", std::string("fork: ") + std::strerror(fork_errno));
  }
  if (pid == 0) {
    // Child: its own process group, so terminate() reaches grandchildren too.
    ::setpgid(0, 0);
    // And its cgroup, before the command runs, so nothing it starts can be outside. Should this
    // fail, the process group is still there to fall back on.
    if (procs_file != nullptr) {
      int fd = ::open(procs_file, O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        [[maybe_unused]] auto n = ::write(fd, "0", 1);
        ::close(fd);
      }
    }
    ::signal(SIGPIPE, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &saved_mask, nullptr);
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::syscall(SYS_close_range, 3U, ~0U, 0U);  // the worker's broker socket must not leak into the command
    if (envp.empty()) {
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    } else {
      ::execle("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr), envp.data());
    }
    const char msg[] = "cannot run /bin/sh\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent, so terminate() works even before the child ran
  int pidfd = openPidfd(pid);
  {
    std::lock_guard lock(mutex_);
    pid_ = pid;
    if (terminated_.load()) ::kill(-pid, SIGTERM);  // terminate() ran before the pid was known
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  int to_child = in_pipe[1], from_out = out_pipe[0], from_err = err_pipe[0];
  ::fcntl(to_child, F_SETFL, O_NONBLOCK);

  SubprocessResult result;
  std::size_t written = 0;
  if (input.empty()) closeFd(to_child);
  // The child has exited and is a zombie, not yet reaped: its pid (the group's id) is still ours.
  bool child_exited = false;
  // SIGCHLD is ignored in this process, so the kernel reaped the child itself: its pid may already
  // belong to someone else and must never be signalled again.
  bool reaped_by_kernel = false;
  bool killed = false;  // SIGKILL sent to everything the command started
  auto killEverything = [&] {
    if (!reaped_by_kernel) ::kill(-pid, SIGKILL);
    if (cgroup) cgroup->killAll();
    killed = true;
  };
  auto kill_after = SteadyClock::time_point::max();
  char buf[65536];
  for (;;) {
    if (!child_exited) {
      siginfo_t info{};
      int waited = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
      if (waited == 0 && info.si_pid == pid) child_exited = true;
      if (waited < 0 && errno == ECHILD) child_exited = reaped_by_kernel = true;
    }
    bool output_open = from_out >= 0 || from_err >= 0;
    // Done when the command ended and closed its output. After the kill, the output may stay open
    // for ever (held by a process that escaped both the group and the cgroup): the child's death
    // is enough then.
    if (child_exited && (!output_open || killed)) break;
    if (terminated_.load() && kill_after == SteadyClock::time_point::max()) {
      kill_after = SteadyClock::now() + std::chrono::milliseconds(grace_ms_.load());
    }
    if (!killed && SteadyClock::now() >= kill_after) killEverything();

    pollfd fds[4];
    int n = 0;
    int out_idx = -1, err_idx = -1, in_idx = -1;
    if (from_out >= 0) { out_idx = n; fds[n++] = {from_out, POLLIN, 0}; }
    if (from_err >= 0) { err_idx = n; fds[n++] = {from_err, POLLIN, 0}; }
    if (to_child >= 0) { in_idx = n; fds[n++] = {to_child, POLLOUT, 0}; }
    // Level-triggered: polled only until the exit is seen, or it would wake the loop at once.
    if (pidfd >= 0 && !child_exited) fds[n++] = {pidfd, POLLIN, 0};
    int timeout = (pidfd < 0 && !output_open) ? kExitCheckMs : kPollMs;
    int ready = ::poll(fds, static_cast<nfds_t>(n), timeout);
    if (ready < 0 && errno != EINTR) {
      // Cannot happen with valid descriptors; wait for the child without spinning.
      ::poll(nullptr, 0, kPollMs);
      continue;
    }
    if (ready <= 0) continue;
    if (out_idx >= 0 && (fds[out_idx].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t got = ::read(from_out, buf, sizeof(buf));
      if (got > 0) {
        result.out.append(buf, static_cast<std::size_t>(got));
        if (result.out.size() > options.max_out) {
          // The rest of the output is worthless: stop reading, and stop the command making it.
          result.out.resize(options.max_out);
          result.out_overflow = true;
          closeFd(from_out);
          if (!killed) killEverything();
        }
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        closeFd(from_out);
      }
    }
    if (err_idx >= 0 && (fds[err_idx].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t got = ::read(from_err, buf, sizeof(buf));
      if (got > 0) {
        appendTail(result.err, buf, static_cast<std::size_t>(got), options.max_err, result.err_dropped);
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        closeFd(from_err);
      }
    }
    if (in_idx >= 0 && (fds[in_idx].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t put = ::write(to_child, input.data() + written, input.size() - written);
      if (put > 0) written += static_cast<std::size_t>(put);
      // A child that does not read its stdin is not an error: stop feeding it.
      if (put < 0 && errno != EAGAIN && errno != EINTR) closeFd(to_child);
      if (written == input.size()) closeFd(to_child);
    }
  }
  closeFd(to_child);
  closeFd(from_out);
  closeFd(from_err);
  closeFd(pidfd);
  if (result.err.size() > options.max_err) {
    std::size_t cut = result.err.size() - options.max_err;
    result.err.erase(0, cut);
    result.err_dropped += cut;
  }
  // What the command left running (in the background, its output elsewhere) ends with it. The
  // child is an unreaped zombie here, so the group id cannot name anyone else's processes yet.
  if (!reaped_by_kernel) ::kill(-pid, SIGKILL);
  cgroup.reset();  // kills what is left in the cgroup as well, and removes it
  int status = 0;
  {
    // From here on terminate() no longer signals: the pid is about to be freed for reuse.
    std::lock_guard lock(mutex_);
    pid_ = 0;
  }
  // Never blocks: the child has exited (or been reaped already, and this fails with ECHILD).
  if (!reaped_by_kernel) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  // Discard the SIGPIPE our own writes raised, then restore the thread's mask.
  if (!sigpipe_was_pending) {
    timespec no_wait{0, 0};
    while (::sigtimedwait(&sigpipe_only, nullptr, &no_wait) == SIGPIPE) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  if (!reaped_by_kernel && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (!reaped_by_kernel && WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

void Subprocess::terminate(std::chrono::milliseconds grace) {
  grace_ms_.store(grace.count());
  terminated_.store(true);
  // Under the lock, run() cannot reap the child (and free its pid) between the load and the kill.
  // run() polls terminated_ to send the SIGKILL when the grace has passed.
  std::lock_guard lock(mutex_);
  if (pid_ > 0) ::kill(-pid_, SIGTERM);
}

}  // namespace corvee
