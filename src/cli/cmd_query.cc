// `corvee status ID` and `corvee stats`: read-only questions to the broker, answered as JSON.
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/common.h"
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
  if (status.code() == "bad_request") return kExitUsage;
  if (status.code() == "not_found") return kExitJobFailed;
  return kExitUnavailable;
}

// Payloads are opaque bytes; as JSON strings, bytes that are not UTF-8 are shown as U+FFFD.
nlohmann::json text(const std::string& bytes) { return nlohmann::json(bytes); }

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
  if (info->state == JobState::kSucceeded) doc["result"] = text(info->result);
  if (info->state == JobState::kFailed) doc["error"] = {{"code", info->error_code}, {"message", text(info->error_message)}};
  std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  return kExitOk;
}

int runStats(const QueryArgs& args) {
  auto client = connectFor(args);
  if (!client) return failWith(client.status());
  Result<std::string> stats = (*client)->stats();
  if (!stats) return failWith(stats.status());
  auto doc = nlohmann::json::parse(*stats, nullptr, false);
  std::cout << (doc.is_discarded() ? *stats : doc.dump(2)) << std::endl;
  return kExitOk;
}

}  // namespace

void addStatusCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand("status", "show a job as JSON");
  cmd->add_option("id", args->id, "the job id printed by submit")->required();
  cmd->add_option("--connect-timeout-ms", args->connect_timeout_ms, "how long to try reaching the broker")
      ->capture_default_str();
  addConnectOption(*cmd, args->endpoint);
  cmd->callback([args, &exit_code] { exit_code = runStatus(*args); });
}

void addStatsCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand("stats", "show queues and workers as JSON");
  cmd->add_option("--connect-timeout-ms", args->connect_timeout_ms, "how long to try reaching the broker")
      ->capture_default_str();
  addConnectOption(*cmd, args->endpoint);
  cmd->callback([args, &exit_code] { exit_code = runStats(*args); });
}

}  // namespace corvee::cli
