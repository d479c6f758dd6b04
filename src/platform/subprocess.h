// Runs a shell command as a child process with a given stdin, collecting stdout and stderr.
//
// Used by `corvee worker --exec NAME=COMMAND`. The child runs in its own process group so that
// terminate() reaches everything it started. Thread-safe between run() (on the job's thread) and
// terminate() (from the worker's network thread).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <string>

#include "corvee/status.h"

namespace corvee {

struct SubprocessResult {
  int exit_code = -1;   // the exit status, or -1 when killed by a signal
  int signal = 0;       // the signal that ended it, or 0
  std::string out;
  std::string err;
};

class Subprocess {
 public:
  // Runs `/bin/sh -c command` with `input` on its stdin and waits for it to end.
  // Fails only when the child cannot be started.
  Result<SubprocessResult> run(const std::string& command, const std::string& input);
  // Sends SIGTERM to the child's process group, then SIGKILL after `grace`. Safe to call at any
  // time, also before run() started or after it returned (then it does nothing).
  void terminate(std::chrono::milliseconds grace);

 private:
  std::atomic<pid_t> pid_{0};
  std::atomic<bool> terminated_{false};
  std::chrono::milliseconds grace_{0};  // written before terminated_ is set
};

}  // namespace corvee
