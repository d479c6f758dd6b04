// `corvee status ID`, `corvee stats` and `corvee metrics`: read-only questions to the broker,
// answered as JSON (and, for metrics, in the Prometheus text format).
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/client_command.h"
#include "cli/common.h"
#include "cli/job_output.h"
#include "cli/validators.h"
#include "corvee/client.h"

namespace corvee::cli {

namespace {

struct QueryArgs {
  ClientArgs client;
  JobId id = 0;
};

int runStatus(const QueryArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Result<JobInfo> info = (*client)->status(args.id);
  if (!info) return failWith(info.status());
  std::cout << dumpJson(jobDetailJson(*info)) << std::endl;
  // As `submit --wait`: a job that ended without succeeding (dead or cancelled) exits 1 (its error
  // is in the document), so a script can test the outcome without reading the JSON; succeeded and
  // unfinished jobs exit 0.
  bool ended_badly = info->state == JobState::kDead || info->state == JobState::kCancelled;
  return ended_badly ? kExitJobFailed : kExitOk;
}

int runStats(const QueryArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Result<std::string> stats = (*client)->stats();
  if (!stats) return failWith(stats.status());
  auto doc = nlohmann::json::parse(*stats, nullptr, false);
  std::cout << (doc.is_discarded() ? *stats : dumpJson(doc)) << std::endl;
  return kExitOk;
}

int runMetrics(const QueryArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Result<std::string> metrics = (*client)->metrics();
  if (!metrics) return failWith(metrics.status());
  std::cout << *metrics << std::flush;  // ends with its own line feed
  return kExitOk;
}

}  // namespace

void addStatusCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand(
      "status",
      "show a job as JSON, with its failed attempts; exit 0 if it succeeded or has not finished, 1 if it is dead "
      "or cancelled or the id is unknown");
  cmd->add_option("id", args->id, "the job id printed by submit")->required()->transform(jobId());
  addClientOptions(*cmd, args->client);
  cmd->callback([args, &exit_code] { exit_code = runStatus(*args); });
}

void addStatsCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand("stats", "show queues and workers as JSON");
  addClientOptions(*cmd, args->client);
  cmd->callback([args, &exit_code] { exit_code = runStats(*args); });
}

void addMetricsCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand(
      "metrics", "print the broker's metrics in the Prometheus text format (for node_exporter's textfile collector)");
  addClientOptions(*cmd, args->client);
  cmd->callback([args, &exit_code] { exit_code = runMetrics(*args); });
}

}  // namespace corvee::cli
