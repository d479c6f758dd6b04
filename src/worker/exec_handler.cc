#include "worker/exec_handler.h"

#include <memory>

#include "corvee/errors.h"
#include "platform/subprocess.h"

namespace corvee {

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
    Result<SubprocessResult> ran = process->run(command, job.payload());
    if (!ran) return Status::error(errc::kHandlerError, "cannot run '" + command + "': " + ran.status().message());
    if (ran->exit_code == 0 && ran->signal == 0) return std::move(ran->out);
    std::string message = ran->err;
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
    if (message.empty()) {
      message = ran->signal != 0 ? "killed by signal " + std::to_string(ran->signal)
                                 : "exited with status " + std::to_string(ran->exit_code);
    }
    return Status::error(errc::kHandlerError, message);
  };
}

}  // namespace corvee
