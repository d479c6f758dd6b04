// Handlers that run a shell command per job (`corvee worker --exec NAME=COMMAND`): the payload is
// the command's stdin, its stdout is the result, and a non-zero exit fails the job with
// handler_error and the command's stderr as the message (its last kMaxStderrBytes). Exit status 65
// (errc::kPermanentExitStatus) fails it with permanent_error instead: no retry can help.
//
// Limits, so a command cannot make the worker grow or hang:
// - stdout is read up to the broker's max_payload (JobContext::maxResultBytes()); beyond it the
//   command is killed and the job fails with result_too_large;
// - cancelling the job (`corvee cancel`, run limit, deadline, lost connection, second SIGTERM to the
//   worker) sends SIGTERM to the command's process group, then SIGKILL to the group and, where
//   cgroup v2 is usable, to everything the command started, after `kill_grace` (5 s by default;
//   platform/subprocess.h);
// - whatever the command leaves running when it ends is killed.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "corvee/status.h"
#include "corvee/worker.h"

namespace corvee {

// How much of a failed command's stderr its error message keeps: the tail. Under the protocol's
// 65535-byte limit on a message, with room to say how much was dropped.
inline constexpr std::size_t kMaxStderrBytes = 60 * 1024;

// The default time a cancelled command gets between SIGTERM and SIGKILL.
inline constexpr std::chrono::milliseconds kDefaultKillGrace{5000};

struct ExecSpec {
  std::string task;
  std::string command;
};

// Parses "NAME=COMMAND". Fails with bad_request when NAME or COMMAND is empty.
Result<ExecSpec> parseExecSpec(const std::string& text);

Handler makeExecHandler(std::string command, std::chrono::milliseconds kill_grace = kDefaultKillGrace);

}  // namespace corvee
