// A cgroup (v2) made for one child process and everything it starts, so that all of them can be
// killed at once, including processes that left the child's process group (`setsid`, daemons).
// Process groups cannot do that: a process may leave its group, but not its cgroup (unless it is
// root and moves itself on purpose).
//
// The cgroup is made inside the cgroup this process is in, as `corvee-<pid>-<n>`. That needs a
// mounted, writable cgroup v2 hierarchy (pure v2 at /sys/fs/cgroup, or the hybrid layout's
// /sys/fs/cgroup/unified) and cgroup.kill (Linux 5.14). Where any of that is missing (not root, a
// read-only cgroup mount in a container, cgroup v1 only, an older kernel), create() returns null
// and the caller is expected to rely on process groups alone. The first create() of a process
// also removes the empty cgroups left by processes that died without removing theirs (kill -9).
//
// Thread-safety: create() and available() may be called from any thread. One ChildCgroup is used
// by one thread, except killAll(), which any thread may call while the object lives.
#pragma once

#include <memory>
#include <string>

namespace corvee {

class ChildCgroup {
 public:
  // Makes a new, empty cgroup. Null when cgroups v2 are not usable here; never an error, since
  // the caller has a fallback.
  static std::unique_ptr<ChildCgroup> create();
  // True when create() works here: probed once per process (makes and removes one cgroup).
  static bool available();
  // The sweep create() runs once per process, run again now. For tests.
  static void TEST_sweepStale();

  // Kills whatever is still in the cgroup (SIGKILL), waits up to a second for it to be empty and
  // removes it. A process stuck in the kernel (uninterruptible sleep) can outlive that second: the
  // directory is then left behind rather than blocking the caller.
  ~ChildCgroup();
  ChildCgroup(const ChildCgroup&) = delete;
  ChildCgroup& operator=(const ChildCgroup&) = delete;

  // The cgroup.procs file: a child joins by writing "0" to it between fork and exec (open and
  // write are async-signal-safe), so the command and all it starts are in the cgroup from the
  // first instruction of the command on.
  const std::string& procsFile() const { return procs_file_; }
  // SIGKILL to every process in the cgroup, at once, by the kernel (cgroup.kill), so no pid is
  // ever read and signalled later (it could have been reused by then).
  void killAll() const;
  // True while any process is in the cgroup (its cgroup.events says `populated 1`).
  bool populated() const;

 private:
  explicit ChildCgroup(std::string dir);

  std::string dir_;
  std::string procs_file_;
};

}  // namespace corvee
