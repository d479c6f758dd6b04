// `corvee status ID` and `corvee stats`: read-only questions to the broker, answered as JSON.
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/common.h"
#include "cli/validators.h"
#include "corvee/client.h"

namespace corvee::cli {

namespace {

struct QueryArgs {
  std::string endpoint;
  JobId id = 0;
  std::uint64_t connect_timeout_ms = 5000;
};

Result<std::unique_ptr<Client>> connectFor(const QueryArgs& args) {
  ClientOptions options;
  options.endpoint = args.endpoint;
  options.connect_timeout = std::chrono::milliseconds(args.connect_timeout_ms);
  return Client::connect(options);
}

int failWith(const Status& status) {
  printError(status.message().empty() ? status.code() : status.code() + ": " + status.message());
  return exitCodeFor(status);
}

// Results and messages are opaque bytes, and a broker need not check the names it stores, so any
// string in a document may hold bytes that are not UTF-8. dump() throws (type_error.316) on those
// unless told to replace them: they are shown as U+FFFD, and the output is always valid JSON.
std::string dumpJson(const nlohmann::json& doc) {
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

int runStatus(const QueryArgs& args) {
  auto client = connectFor(args);
  if (!client) return failWith(client.status());
  Result<JobInfo> info = (*client)->status(args.id);
  if (!info) return failWith(info.status());
  nlohmann::json doc = {
      {"id", info->id},
      {"task", info->task},
      {"state", std::string(toString(info->state))},
      {"priority", info->priority},
      {"attempt", info->attempt},
      {"submitted_ms", info->submitted_ms},
      {"started_ms", info->started_ms},
      {"finished_ms", info->finished_ms},
      {"worker", info->worker},
  };
  if (info->state == JobState::kSucceeded) doc["result"] = info->result;
  if (info->state == JobState::kDead) doc["error"] = {{"code", info->error_code}, {"message", info->error_message}};
  std::cout << dumpJson(doc) << std::endl;
  // As `submit --wait`: a failed job exits 1 (its error is in the document), so a script can test
  // the outcome without reading the JSON; succeeded, queued and running exit 0.
  return info->state == JobState::kDead ? kExitJobFailed : kExitOk;
}

int runStats(const QueryArgs& args) {
  auto client = connectFor(args);
  if (!client) return failWith(client.status());
  Result<std::string> stats = (*client)->stats();
  if (!stats) return failWith(stats.status());
  auto doc = nlohmann::json::parse(*stats, nullptr, false);
  std::cout << (doc.is_discarded() ? *stats : dumpJson(doc)) << std::endl;
  return kExitOk;
}

}  // namespace

void addStatusCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand(
      "status",
      "show a job as JSON; exit 0 if it succeeded or has not finished, 1 if it failed or the id is unknown");
  cmd->add_option("id", args->id, "the job id printed by submit")->required()->transform(jobId());
  addConnectTimeoutOption(*cmd, args->connect_timeout_ms);
  addConnectOption(*cmd, args->endpoint);
  // From the environment, only the connection settings (a job's own are not for a whole shell).
  addEnvironmentNames(*cmd, {"connect-timeout-ms"});
  cmd->callback([args, &exit_code] { exit_code = runStatus(*args); });
}

void addStatsCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand("stats", "show queues and workers as JSON");
  addConnectTimeoutOption(*cmd, args->connect_timeout_ms);
  addConnectOption(*cmd, args->endpoint);
  // From the environment, only the connection settings (a job's own are not for a whole shell).
  addEnvironmentNames(*cmd, {"connect-timeout-ms"});
  cmd->callback([args, &exit_code] { exit_code = runStats(*args); });
}

}  // namespace corvee::cli
