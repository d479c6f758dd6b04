// `corvee cancel ID`, `corvee purge TASK`, `corvee pause TASK`, `corvee resume TASK`: an
// operator's controls over queued work. Each is one request; the broker's refusal (not_found,
// wrong_state, ...) is printed and sets the exit code.
#include <cctype>
#include <iostream>
#include <string>

#include "cli/client_command.h"
#include "cli/common.h"
#include "cli/validators.h"
#include "corvee/client.h"
#include "platform/terminal.h"
#include "protocol/names.h"

namespace corvee::cli {

namespace {

struct ControlArgs {
  ClientArgs client;
  JobId id = 0;
  std::string task;
  bool yes = false;
};

int runCancel(const ControlArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Status cancelled = (*client)->cancel(args.id);
  if (!cancelled) return failWith(cancelled);
  std::cout << "cancelled job " << args.id << std::endl;
  return kExitOk;
}

// Asks `question` on the terminal; true for an answer of y or yes (any case).
bool confirmed(const std::string& question) {
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  for (char& c : answer) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return answer == "y" || answer == "yes";
}

int runPurge(const ControlArgs& args) {
  std::string quoted = protocol::quoteName(args.task);
  if (!args.yes) {
    // Purging cannot be undone: a person is asked; a script must say --yes, rather than have a
    // question it cannot see hang it or a stray line on its stdin answer for it.
    if (!stdinIsTerminal()) {
      printError("purge cancels every queued job of task " + quoted + "; add --yes to confirm (no terminal to ask on)");
      return kExitUsage;
    }
    // The broker counts while it purges (jobs come and go meanwhile), so the question has no number.
    if (!confirmed("Cancel every queued job of task " + quoted + "?")) {
      std::cerr << "nothing purged" << std::endl;
      return kExitJobFailed;
    }
  }
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Result<std::uint64_t> count = (*client)->purge(args.task);
  if (!count) return failWith(count.status());
  std::cout << "cancelled " << *count << (*count == 1 ? " queued job" : " queued jobs") << " of task " << quoted
            << std::endl;
  return kExitOk;
}

int runPause(const ControlArgs& args, bool paused) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Status done = paused ? (*client)->pause(args.task) : (*client)->resume(args.task);
  if (!done) return failWith(done);
  std::cout << (paused ? "paused task " : "resumed task ") << protocol::quoteName(args.task) << std::endl;
  return kExitOk;
}

CLI::App* addTaskCommand(CLI::App& app, const std::string& name, const std::string& description,
                         ControlArgs& args) {
  CLI::App* cmd = app.add_subcommand(name, description);
  cmd->add_option("task", args.task, "the task name")->required()->check(wireName("task name"));
  return cmd;
}

}  // namespace

void addControlCommands(CLI::App& app, int& exit_code) {
  {
    auto args = std::make_shared<ControlArgs>();
    CLI::App* cmd = app.add_subcommand(
        "cancel",
        "cancel a job: a queued or retrying one ends as cancelled at once, a running one is stopped on its worker; "
        "exit 1 for an unknown id, 3 for a finished job (wrong_state)");
    cmd->add_option("id", args->id, "the job id")->required()->transform(jobId());
    addClientOptions(*cmd, args->client);
    cmd->callback([args, &exit_code] { exit_code = runCancel(*args); });
  }
  {
    auto args = std::make_shared<ControlArgs>();
    CLI::App* cmd = addTaskCommand(app, "purge",
                                   "cancel every queued or retrying job of a task and print how many; asks first on "
                                   "a terminal (no: exit 1), needs --yes otherwise",
                                   *args);
    cmd->add_flag("--yes", args->yes, "do not ask");
    addClientOptions(*cmd, args->client);
    cmd->callback([args, &exit_code] { exit_code = runPurge(*args); });
  }
  {
    auto args = std::make_shared<ControlArgs>();
    CLI::App* cmd = addTaskCommand(
        app, "pause", "stop dealing a task's queued jobs (running ones finish) until resume; kept across restarts",
        *args);
    addClientOptions(*cmd, args->client);
    cmd->callback([args, &exit_code] { exit_code = runPause(*args, true); });
  }
  {
    auto args = std::make_shared<ControlArgs>();
    CLI::App* cmd = addTaskCommand(app, "resume", "deal a paused task's jobs again", *args);
    addClientOptions(*cmd, args->client);
    cmd->callback([args, &exit_code] { exit_code = runPause(*args, false); });
  }
}

}  // namespace corvee::cli
