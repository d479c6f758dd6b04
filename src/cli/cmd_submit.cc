// `corvee submit TASK [PAYLOAD|-]`: submits one job; with --wait, prints its result.
#include <iostream>
#include <iterator>

#include "cli/client_command.h"
#include "cli/common.h"
#include "cli/job_options.h"
#include "cli/outcome.h"
#include "cli/validators.h"
#include "corvee/client.h"
#include "protocol/names.h"

namespace corvee::cli {

namespace {

struct SubmitArgs {
  ClientArgs client;
  std::string task;
  std::string payload;
  bool payload_given = false;
  JobOptionArgs job;
  bool wait = false;
};

int runSubmit(SubmitArgs& args) {
  if (args.payload == "-") {
    args.payload.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  auto client = connectClient(args.client);
  if (!client) {
    printError(client.status().message());
    return exitCodeFor(client.status());
  }
  // While waiting, the library's warnings (a lost connection, "reconnecting") tell the user why
  // the result is late; like every log line they go to stderr, never into the result on stdout.
  if (args.wait) setUpLogging("warn");
  JobHandle job = (*client)->submit(args.task, std::move(args.payload), args.job.options());
  Result<JobId> id = job.id();
  if (!id) {
    printError("submission refused: " + id.status().toString());
    return kExitUnavailable;
  }
  if (job.duplicate()) {
    // Not an error: the job the key asks for exists. The id printed (and the result waited for,
    // with --wait) is that job's.
    std::cerr << "job " << *id << " already holds unique key " << protocol::quoteName(args.job.submit.unique_key)
              << " of task " << protocol::quoteName(args.task) << "; not submitted again" << std::endl;
  } else if (job.unserved()) {
    // Queued all the same (a worker may come later), but a typo in the task name would otherwise
    // go unnoticed until someone wonders why the job never runs.
    std::cerr << "warning: no connected worker serves task '" << args.task
              << "'; the job waits in the queue until one does" << std::endl;
  }
  if (!args.wait) {
    std::cout << *id << std::endl;
    return kExitOk;
  }
  // The job's own limits bound how long this takes; without any, wait as long as it runs.
  return printOutcome(*id, job.wait(std::chrono::hours(24 * 365)));
}

}  // namespace

void addSubmitCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<SubmitArgs>();
  CLI::App* cmd = app.add_subcommand("submit", "submit a job; prints its id, or with --wait its result");
  cmd->add_option("task", args->task, "the task name, 1 to 255 bytes of UTF-8")
      ->required()
      ->check(wireName("task name"));
  cmd->add_option("payload", args->payload, "the payload; - reads it from stdin (default: empty)");
  addJobOptions(*cmd, args->job, /*with_at=*/true, "the broker takes the job");
  cmd->add_flag("--wait", args->wait,
                "wait for the job and print its result: exactly its bytes, no newline added (exit 1 with the "
                "error on stderr if the job fails)");
  addClientOptions(*cmd, args->client);
  cmd->callback([args, &exit_code] { exit_code = runSubmit(*args); });
}

}  // namespace corvee::cli
