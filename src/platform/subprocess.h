// Runs a shell command as a child process with a given stdin, collecting stdout and stderr.
//
// Used by `corvee worker --exec NAME=COMMAND`. The child runs in its own process group, and, where
// cgroup v2 is usable (platform/child_cgroup.h), in a cgroup of its own as well, so that the kill
// reaches everything it started; without cgroups a process that leaves the group (`setsid`) is
// out of reach. Every wait is bounded by the kill path: once terminate() was called and its grace
// has passed, run() returns as soon as the child itself has died, whatever its output pipes do.
// Whatever the command leaves running when it ends (background processes with their output
// redirected) is killed too: through its cgroup, or its process group without one.
//
// Thread-safe between run() (on the job's thread) and terminate() (from the worker's network
// thread). A Subprocess runs one command once.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include <limits>
#include <mutex>
#include <string>

#include "corvee/status.h"

namespace corvee {

struct SubprocessOptions {
  // Stdout beyond this many bytes is not read: the result gets out_overflow and the command is
  // killed (SIGKILL) at once, as its output is useless by then.
  std::size_t max_out = std::numeric_limits<std::size_t>::max();
  // Only the last this many bytes of stderr are kept; the rest is read and dropped.
  std::size_t max_err = std::numeric_limits<std::size_t>::max();
  // Put the child in a cgroup of its own when cgroups are usable. Tests turn it off to exercise
  // the process-group fallback on machines that have cgroups.
  bool use_cgroup = true;
  // Variables added to the command's environment (replacing any of the same name); the rest of
  // the environment is inherited.
  std::vector<std::pair<std::string, std::string>> env;
};

struct SubprocessResult {
  int exit_code = -1;         // the exit status, or -1 when killed by a signal
  int signal = 0;             // the signal that ended it, or 0
  std::string out;            // at most max_out bytes
  std::string err;            // the last max_err bytes at most
  bool out_overflow = false;  // stdout passed max_out: cut off there, and the command was killed
  std::size_t err_dropped = 0;  // bytes of stderr read and dropped before those in `err`
};

class Subprocess {
 public:
  // Runs `/bin/sh -c command` with `input` on its stdin and waits for it to end: its stdout and
  // stderr closed and the child exited, or, after terminate() and its grace, the child killed.
  // Fails only when the child cannot be started.
  Result<SubprocessResult> run(const std::string& command, const std::string& input,
                               const SubprocessOptions& options = {});
  // Sends SIGTERM to the child's process group, then SIGKILL to the group and its cgroup after
  // `grace`. Safe to call at any time, also before run() started (the command is then stopped as
  // soon as it starts) or after it returned (then it does nothing). Does not block.
  void terminate(std::chrono::milliseconds grace);

 private:
  std::mutex mutex_;   // orders terminate()'s kill against run()'s reaping of pid_
  pid_t pid_ = 0;      // the child while it can be signalled (not reaped); guarded by mutex_
  std::atomic<bool> terminated_{false};
  std::atomic<std::int64_t> grace_ms_{0};  // written before terminated_ is set
};

}  // namespace corvee
