// `corvee cancel ID`, `corvee purge TASK`, `corvee pause TASK`, `corvee resume TASK`: an
// operator's controls over queued work. Each is one request; the broker's refusal (not_found,
// wrong_state, ...) is printed and sets the exit code.
#include <nlohmann/json.hpp>

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
  std::string rate;
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

// One line per queue that has a rate or had it turned off at run time: TASK, LIMIT and where it comes from.
int printRates(const std::string& stats_json, const std::string& only_task) {
  auto doc = nlohmann::json::parse(stats_json, nullptr, false);
  if (doc.is_discarded() || !doc.contains("queues") || !doc["queues"].is_array()) {
    printError("the broker's stats are not the JSON document expected");
    return kExitUnavailable;
  }
  bool any = false;
  for (const auto& queue : doc["queues"]) {
    std::string task = queue.value("task", "");
    if (!only_task.empty() && task != only_task) continue;
    const auto& origin = queue["rate_origin"];
    const auto& rate = queue["rate"];
    if (origin.is_null() && only_task.empty()) continue;
    std::string limit = rate.is_object() ? rate.value("limit", "?") : "off";
    std::string from = origin == "runtime" ? "set at run time" : origin == "flag" ? "broker --rate" : "no limit set";
    std::cout << protocol::quoteName(task) << " " << limit << " (" << from << ")" << std::endl;
    any = true;
  }
  if (!any) {
    std::cout << (only_task.empty() ? "no rate limits" : "task " + protocol::quoteName(only_task) + ": no limit")
              << std::endl;
  }
  return kExitOk;
}

int runRate(const ControlArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  if (!args.rate.empty()) {
    Status set = (*client)->setRate(args.task, args.rate);
    if (!set) return failWith(set);
    std::cout << "task " << protocol::quoteName(args.task)
              << (args.rate == "off" ? ": no rate limit" : ": rate " + args.rate) << std::endl;
    return kExitOk;
  }
  Result<std::string> stats = (*client)->stats();
  if (!stats) return failWith(stats.status());
  return printRates(*stats, args.task);
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
  {
    auto args = std::make_shared<ControlArgs>();
    CLI::App* cmd = app.add_subcommand(
        "rate",
        "set a task's dispatch rate at run time (stored; after a restart it wins over broker --rate), turn it off, "
        "or with no RATE show it (with no TASK, every task's)");
    cmd->add_option("task", args->task, "the task name")->check(wireName("task name"));
    cmd->add_option("rate", args->rate, "N/s, N/m or N/h with an optional :BURST (10/s:20), or off for no limit")
        ->check(rateOrOff());
    addClientOptions(*cmd, args->client);
    cmd->callback([args, &exit_code] { exit_code = runRate(*args); });
  }
}

}  // namespace corvee::cli
