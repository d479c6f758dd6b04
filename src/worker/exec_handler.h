// Handlers that run a shell command per job (`corvee worker --exec NAME=COMMAND`): the payload is
// the command's stdin, its stdout is the result, and a non-zero exit fails the job with
// handler_error and the command's stderr as the message. Cancelling the job sends SIGTERM to the
// command's process group, then SIGKILL after a grace period.
#pragma once

#include <chrono>
#include <string>

#include "corvee/status.h"
#include "corvee/worker.h"

namespace corvee {

struct ExecSpec {
  std::string task;
  std::string command;
};

// Parses "NAME=COMMAND". Fails with bad_request when NAME or COMMAND is empty.
Result<ExecSpec> parseExecSpec(const std::string& text);

Handler makeExecHandler(std::string command, std::chrono::milliseconds kill_grace = std::chrono::seconds(2));

}  // namespace corvee
