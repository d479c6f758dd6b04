#include "platform/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace corvee {
namespace {

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

Result<SubprocessResult> Subprocess::run(const std::string& command, const std::string& input) {
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
    ::signal(SIGPIPE, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &saved_mask, nullptr);
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::syscall(SYS_close_range, 3U, ~0U, 0U);  // the worker's broker socket must not leak into the command
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    const char msg[] = "cannot run /bin/sh\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent, so terminate() works even before the child ran
  pid_.store(pid);
  if (terminated_.load()) ::kill(-pid, SIGTERM);  // terminate() ran before the pid was known
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  int to_child = in_pipe[1], from_out = out_pipe[0], from_err = err_pipe[0];
  ::fcntl(to_child, F_SETFL, O_NONBLOCK);

  SubprocessResult result;
  std::size_t written = 0;
  if (input.empty()) closeFd(to_child);
  auto kill_after = std::chrono::steady_clock::time_point::max();
  char buf[65536];
  while (from_out >= 0 || from_err >= 0) {
    pollfd fds[3];
    int n = 0;
    int out_idx = -1, err_idx = -1, in_idx = -1;
    if (from_out >= 0) { out_idx = n; fds[n++] = {from_out, POLLIN, 0}; }
    if (from_err >= 0) { err_idx = n; fds[n++] = {from_err, POLLIN, 0}; }
    if (to_child >= 0) { in_idx = n; fds[n++] = {to_child, POLLOUT, 0}; }
    int ready = ::poll(fds, n, 50);
    if (terminated_.load() && kill_after == std::chrono::steady_clock::time_point::max()) {
      kill_after = std::chrono::steady_clock::now() + grace_;
    }
    if (std::chrono::steady_clock::now() >= kill_after) ::kill(-pid, SIGKILL);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    auto drain = [&](int idx, int& fd, std::string& into) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t got = ::read(fd, buf, sizeof(buf));
      if (got > 0) into.append(buf, static_cast<std::size_t>(got));
      else if (got == 0 || (errno != EINTR && errno != EAGAIN)) closeFd(fd);
    };
    drain(out_idx, from_out, result.out);
    drain(err_idx, from_err, result.err);
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
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Discard the SIGPIPE our own writes raised, then restore the thread's mask.
  if (!sigpipe_was_pending) {
    timespec no_wait{0, 0};
    while (::sigtimedwait(&sigpipe_only, nullptr, &no_wait) == SIGPIPE) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  pid_.store(0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

void Subprocess::terminate(std::chrono::milliseconds grace) {
  grace_ = grace;
  terminated_.store(true);
  pid_t pid = pid_.load();
  // The pid stays valid while run() has not reaped it, and run() polls terminated_ to escalate.
  if (pid > 0) ::kill(-pid, SIGTERM);
}

}  // namespace corvee
