#include "worker/exec_handler.h"

#include <memory>

#include "corvee/errors.h"
#include "platform/subprocess.h"
#include "protocol/utf8.h"

namespace corvee {
namespace {

// The output limit when the job does not know the broker's (a JobContext made outside a worker):
// the broker's default --max-payload.
constexpr std::size_t kDefaultMaxOutput = 16 * 1024 * 1024;

// The failure message of a command that failed: its stderr, of which the tail is kept, since that
// is where a failing program says why (the last line of a traceback, the final error).
std::string failureMessage(SubprocessResult& ran) {
  std::string& err = ran.err;
  while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
  if (ran.err_dropped > 0) {
    // Cut at a byte count: start at a whole character, so the message stays valid UTF-8.
    std::size_t partial = protocol::continuationBytesAt(err, 0);
    return "[first " + std::to_string(ran.err_dropped + partial) + " bytes of stderr dropped] " + err.substr(partial);
  }
  if (!err.empty()) return std::move(err);
  return ran.signal != 0 ? "killed by signal " + std::to_string(ran.signal)
                         : "exited with status " + std::to_string(ran.exit_code);
}

}  // namespace

Result<ExecSpec> parseExecSpec(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    return Status::error(errc::kBadRequest, "--exec wants NAME=COMMAND, got '" + text + "'");
  }
  return ExecSpec{text.substr(0, eq), text.substr(eq + 1)};
}

Handler makeExecHandler(std::string command, std::chrono::milliseconds kill_grace) {
  return [command = std::move(command), kill_grace](JobContext& job) -> Result<std::string> {
    auto process = std::make_shared<Subprocess>();
    job.onCancel([process, kill_grace] { process->terminate(kill_grace); });
    SubprocessOptions options;
    options.max_out = job.maxResultBytes() > 0 ? job.maxResultBytes() : kDefaultMaxOutput;
    options.max_err = kMaxStderrBytes;
    // The job, for the command: its id, attempt, task and the run time it has (0: no limit).
    options.env = {{"CORVEE_JOB_ID", std::to_string(job.id())},
                   {"CORVEE_ATTEMPT", std::to_string(job.attempt())},
                   {"CORVEE_TASK", job.task()},
                   {"CORVEE_DEADLINE_MS", std::to_string(job.runTimeout().count())}};
    Result<SubprocessResult> ran = process->run(command, job.payload(), options);
    if (!ran) return Status::error(errc::kHandlerError, "cannot run '" + command + "': " + ran.status().message());
    if (ran->out_overflow) {
      return Status::error(errc::kResultTooLarge, "the command's output passed the broker's limit of " +
                                                      std::to_string(options.max_out) + " bytes; it was killed");
    }
    if (ran->exit_code == 0 && ran->signal == 0) return std::move(ran->out);
    // Exit status 65 (EX_DATAERR, "the input data was incorrect") says retrying cannot help.
    bool permanent = ran->signal == 0 && ran->exit_code == errc::kPermanentExitStatus;
    return Status::error(permanent ? errc::kPermanentError : errc::kHandlerError, failureMessage(*ran));
  };
}

}  // namespace corvee
