// `corvee jobs`: lists jobs; `corvee wait ID`: waits for an existing job's end.
#include <iostream>
#include <string>

#include "cli/client_command.h"
#include "cli/common.h"
#include "cli/job_output.h"
#include "cli/outcome.h"
#include "cli/validators.h"
#include "corvee/client.h"

namespace corvee::cli {

namespace {

struct JobsArgs {
  ClientArgs client;
  std::string task;
  std::string state;
  std::uint32_t limit = 100;
  bool json = false;
};

struct WaitArgs {
  ClientArgs client;
  JobId id = 0;
  std::uint64_t timeout_ms = 0;
};

// Every state name, for --state's check and help.
std::vector<std::string> stateNames() {
  std::vector<std::string> names;
  for (auto state : {JobState::kQueued, JobState::kRunning, JobState::kRetrying, JobState::kSucceeded,
                     JobState::kDead, JobState::kCancelled}) {
    names.emplace_back(toString(state));
  }
  return names;
}

int runJobs(const JobsArgs& args) {
  JobFilter filter;
  filter.task = args.task;
  filter.limit = args.limit;
  // Checked at parse time; an unknown one cannot reach here.
  if (!args.state.empty()) filter.state = jobStateFromString(args.state);
  return listJobs(args.client, filter, args.json);
}

int runWait(const WaitArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  // While waiting, the library's warnings (a lost connection) tell the user why the result is late.
  setUpLogging("warn");
  // Without --timeout, as long as the job runs (its own limits bound that), as `submit --wait`.
  auto limit = args.timeout_ms > 0 ? std::chrono::milliseconds(args.timeout_ms) : std::chrono::hours(24 * 365);
  return printOutcome(args.id, (*client)->wait(args.id, limit));
}

}  // namespace

void addJobsCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<JobsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "jobs", "list jobs, newest first: a table on a terminal, else one JSON object a line");
  cmd->add_option("--task", args->task, "only this task's jobs")->check(wireName("task name"));
  cmd->add_option("--state", args->state, "only jobs in this state: " + CLI::detail::join(stateNames(), ", "))
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            if (jobStateFromString(value)) return {};
            return "'" + value + "' is not a job state (one of " + CLI::detail::join(stateNames(), ", ") + ")";
          },
          "STATE"));
  cmd->add_option("--limit", args->limit, "list at most this many")
      ->capture_default_str()
      ->transform(numberIn<std::uint32_t>(1, 1000000));
  cmd->add_flag("--json", args->json, "JSON lines even on a terminal");
  addClientOptions(*cmd, args->client);
  cmd->callback([args, &exit_code] { exit_code = runJobs(*args); });
}

void addWaitCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<WaitArgs>();
  CLI::App* cmd = app.add_subcommand(
      "wait",
      "wait for a job submitted earlier and print its result as submit --wait does (exit 1 if it is dead, "
      "cancelled or unknown, 3 if --timeout passes first)");
  cmd->add_option("id", args->id, "the job id")->required()->transform(jobId());
  cmd->add_option("--timeout", args->timeout_ms, "give up after this many ms (0: wait as long as the job runs)")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, UINT32_MAX));
  addClientOptions(*cmd, args->client);
  cmd->callback([args, &exit_code] { exit_code = runWait(*args); });
}

}  // namespace corvee::cli
