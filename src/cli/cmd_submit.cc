// `corvee submit TASK [PAYLOAD|-]`: submits one job; with --wait, prints its result.
#include <iostream>
#include <iterator>

#include "cli/common.h"
#include "cli/outcome.h"
#include "cli/validators.h"
#include "corvee/client.h"

namespace corvee::cli {

namespace {

struct SubmitArgs {
  std::string endpoint;
  std::string task;
  std::string payload;
  bool payload_given = false;
  SubmitOptions submit;
  std::int64_t timeout_ms = 0;
  std::int64_t run_timeout_ms = 0;
  std::int64_t assign_timeout_ms = 0;
  std::uint64_t backoff_ms = 1000;
  std::uint64_t backoff_max_ms = 3600 * 1000;
  std::uint64_t delay_ms = 0;
  std::uint64_t at_ms = 0;  // Unix epoch ms; 0: not given
  bool wait = false;
  std::uint64_t connect_timeout_ms = 5000;
};

int runSubmit(SubmitArgs& args) {
  if (args.payload == "-") {
    args.payload.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  args.submit.timeout = std::chrono::milliseconds(args.timeout_ms);
  args.submit.run_timeout = std::chrono::milliseconds(args.run_timeout_ms);
  args.submit.assign_timeout = std::chrono::milliseconds(args.assign_timeout_ms);
  args.submit.backoff = std::chrono::milliseconds(args.backoff_ms);
  args.submit.backoff_max = std::chrono::milliseconds(args.backoff_max_ms);
  args.submit.delay = std::chrono::milliseconds(args.delay_ms);
  if (args.at_ms > 0) args.submit.run_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(args.at_ms));
  ClientOptions options;
  options.endpoint = args.endpoint;
  options.connect_timeout = std::chrono::milliseconds(args.connect_timeout_ms);
  auto client = Client::connect(options);
  if (!client) {
    printError(client.status().message());
    return exitCodeFor(client.status());
  }
  // While waiting, the library's warnings (a lost connection, "reconnecting") tell the user why
  // the result is late; like every log line they go to stderr, never into the result on stdout.
  if (args.wait) setUpLogging("warn");
  JobHandle job = (*client)->submit(args.task, std::move(args.payload), args.submit);
  Result<JobId> id = job.id();
  if (!id) {
    printError("submission refused: " + id.status().toString());
    return kExitUnavailable;
  }
  if (job.unserved()) {
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
  cmd->add_option("--priority", args->submit.priority, "higher runs first")
      ->capture_default_str()
      ->transform(numberIn<std::int32_t>());
  cmd->add_option("--timeout", args->timeout_ms, "ms from submission to result (0: none)")
      ->transform(numberIn<std::int64_t>(0, UINT32_MAX));
  cmd->add_option("--run-timeout", args->run_timeout_ms, "ms one attempt may run on a worker (0: none)")
      ->transform(numberIn<std::int64_t>(0, UINT32_MAX));
  cmd->add_option("--assign-timeout", args->assign_timeout_ms, "ms the job may wait for a worker (0: none)")
      ->transform(numberIn<std::int64_t>(0, UINT32_MAX));
  cmd->add_option("--retries", args->submit.retries,
                  "attempts after a failed one (handler error or run timeout), with exponential backoff")
      ->capture_default_str()
      ->transform(numberIn<std::uint32_t>(0, 1000000));
  cmd->add_option("--backoff", args->backoff_ms,
                  "ms before the first retry (at most; each retry waits a random time up to twice the last)")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, UINT32_MAX));
  cmd->add_option("--backoff-max", args->backoff_max_ms, "the longest wait between retries, in ms")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, UINT32_MAX));
  cmd->add_flag("--require-worker", args->submit.require_worker,
                "refuse the job (no_worker, exit 3) when no connected worker serves the task, instead of "
                "queueing it with a warning");
  auto* delay = cmd->add_option("--delay", args->delay_ms,
                                "run no earlier than this long after the broker takes the job: ms, or 30s, 15m, 2h, "
                                "1d; the job is `scheduled` meanwhile, its time limits counting from then")
                    ->transform(duration(UINT32_MAX));
  cmd->add_option("--at", args->at_ms,
                  "run no earlier than this time, RFC 3339 (2026-12-01T09:00:00Z); a time past runs at once")
      ->transform(wallTime())
      ->excludes(delay);
  cmd->add_option("--fair-key", args->submit.fair_key,
                  "fairness key, e.g. a tenant id: the broker deals a task's jobs round robin across keys, so one "
                  "key's flood does not hold up the others (see broker --fair-weight, --key-concurrency)")
      ->check(wireName("fair key"));
  cmd->add_flag("--wait", args->wait,
                "wait for the job and print its result: exactly its bytes, no newline added (exit 1 with the "
                "error on stderr if the job fails)");
  addConnectTimeoutOption(*cmd, args->connect_timeout_ms);
  addConnectOption(*cmd, args->endpoint);
  // From the environment, only the connection settings (a job's own are not for a whole shell).
  addEnvironmentNames(*cmd, {"connect-timeout-ms"});
  cmd->callback([args, &exit_code] { exit_code = runSubmit(*args); });
}

}  // namespace corvee::cli
