// `corvee dead list|show|retry|purge`: the dead letters, jobs whose last attempt failed, kept with
// their payload and every attempt's error until retried, purged, or dropped by --dead-ttl and
// --dead-max.
#include <iostream>
#include <string>

#include "cli/client_command.h"
#include "cli/common.h"
#include "cli/job_output.h"
#include "cli/validators.h"
#include "corvee/client.h"

namespace corvee::cli {

namespace {

struct DeadArgs {
  ClientArgs client;
  JobId id = 0;
  std::string task;
  std::uint32_t limit = 100;
  bool json = false;
  bool all = false;
  std::uint64_t older_than_ms = 0;
};

std::string jobsWord(std::uint64_t n) { return n == 1 ? " dead job" : " dead jobs"; }

int runList(const DeadArgs& args) {
  JobFilter filter;
  filter.task = args.task;
  filter.state = JobState::kDead;
  filter.limit = args.limit;
  return listJobs(args.client, filter, args.json);
}

int runShow(const DeadArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Result<JobInfo> info = (*client)->status(args.id, /*with_payload=*/true);
  if (!info) return failWith(info.status());
  if (info->state != JobState::kDead) {
    printError("job " + std::to_string(args.id) + " is " + std::string(toString(info->state)) +
               ", not dead (`corvee status " + std::to_string(args.id) + "` shows it)");
    return kExitJobFailed;
  }
  nlohmann::json doc = jobDetailJson(*info);
  addPayload(doc, info->payload);
  std::cout << dumpJson(doc) << std::endl;
  return kExitOk;
}

int runRetry(const DeadArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Result<std::uint64_t> count = args.all ? (*client)->retryAllDead(args.task) : (*client)->retryDead(args.id);
  if (!count) return failWith(count.status());
  std::cout << *count << jobsWord(*count) << " back in the queue" << std::endl;
  return kExitOk;
}

int runPurge(const DeadArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Result<std::uint64_t> count = (*client)->purgeDead(args.task, std::chrono::milliseconds(args.older_than_ms));
  if (!count) return failWith(count.status());
  std::cout << "deleted " << *count << jobsWord(*count) << std::endl;
  return kExitOk;
}

}  // namespace

void addDeadCommand(CLI::App& app, int& exit_code) {
  CLI::App* dead = app.add_subcommand("dead", "dead letters: jobs whose last attempt failed (list, show, retry, purge)");
  dead->require_subcommand(1);
  {
    auto args = std::make_shared<DeadArgs>();
    CLI::App* cmd = dead->add_subcommand(
        "list", "list dead jobs, newest first: a table on a terminal, else one JSON object a line");
    cmd->add_option("--task", args->task, "only this task's jobs")->check(wireName("task name"));
    cmd->add_option("--limit", args->limit, "list at most this many")
        ->capture_default_str()
        ->transform(numberIn<std::uint32_t>(1, 1000000));
    cmd->add_flag("--json", args->json, "JSON lines even on a terminal");
    addClientOptions(*cmd, args->client);
    cmd->callback([args, &exit_code] { exit_code = runList(*args); });
  }
  {
    auto args = std::make_shared<DeadArgs>();
    CLI::App* cmd = dead->add_subcommand(
        "show",
        "show a dead job as JSON with its payload (base64 when not UTF-8, with \"payload_encoding\") and every "
        "failed attempt");
    cmd->add_option("id", args->id, "the job id")->required()->transform(jobId());
    addClientOptions(*cmd, args->client);
    cmd->callback([args, &exit_code] { exit_code = runShow(*args); });
  }
  {
    auto args = std::make_shared<DeadArgs>();
    CLI::App* cmd =
        dead->add_subcommand("retry", "put a dead job (or with --all every one) back in the queue with fresh retries");
    CLI::Option* id = cmd->add_option("id", args->id, "the job id")->transform(jobId());
    CLI::Option* all = cmd->add_flag("--all", args->all, "every dead job (of --task, when given)");
    cmd->add_option("--task", args->task, "with --all: only this task's jobs")
        ->check(wireName("task name"))
        ->needs(all);
    id->excludes(all);
    addClientOptions(*cmd, args->client);
    cmd->callback([args, &exit_code] {
      // Exactly one of ID and --all (excludes() refuses both): retrying everything must be asked
      // for by name.
      if (!args->all && args->id == 0) throw CLI::ValidationError("dead retry needs a job id, or --all");
      exit_code = runRetry(*args);
    });
  }
  {
    auto args = std::make_shared<DeadArgs>();
    CLI::App* cmd = dead->add_subcommand("purge", "delete dead jobs for good (all, or those of --task / --older-than)");
    cmd->add_option("--task", args->task, "only this task's jobs")->check(wireName("task name"));
    cmd->add_option("--older-than", args->older_than_ms,
                    "only jobs dead for longer than this: 30s, 15m, 2h, 7d or plain ms (default: all)")
        ->transform(duration());
    addClientOptions(*cmd, args->client);
    cmd->callback([args, &exit_code] { exit_code = runPurge(*args); });
  }
}

}  // namespace corvee::cli
