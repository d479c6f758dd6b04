// `corvee explain ID`: why a job is not running, in plain words, then its history as a table.
#include <iostream>
#include <string>

#include "cli/client_command.h"
#include "cli/common.h"
#include "cli/job_output.h"
#include "cli/table.h"
#include "cli/validators.h"
#include "corvee/client.h"

namespace corvee::cli {

namespace {

struct ExplainArgs {
  ClientArgs client;
  JobId id = 0;
  bool json = false;
};

// An event's time to the millisecond: events of one turn of the broker are apart by less than a second.
std::string eventTime(std::uint64_t ms) {
  if (ms == 0) return "-";
  std::string millis = std::to_string(1000 + ms % 1000).substr(1);
  return utcTime(ms) + "." + millis;
}

// The detail as a person reads it: the kinds whose detail is a time show it as one.
std::string eventDetail(const JobEvent& event) {
  if (event.kind == "scheduled" || event.kind == "retry") {
    std::uint64_t ms = 0;
    try {
      ms = std::stoull(event.detail);
    } catch (const std::exception&) {
      return cell(event.detail, 60);
    }
    return "until " + eventTime(ms);
  }
  if (event.kind == "omitted") return event.detail + " events not kept";
  return cell(event.detail, 60);
}

nlohmann::json explanationJson(const JobExplanation& explanation) {
  nlohmann::json doc;
  doc["job"] = jobDetailJson(explanation.job);
  doc["reason_code"] = explanation.reason_code;
  doc["reason"] = explanation.reason;
  doc["events"] = nlohmann::json::array();
  for (const JobEvent& event : explanation.events) {
    doc["events"].push_back({{"time_ms", event.time_ms},
                             {"kind", event.kind},
                             {"attempt", event.attempt},
                             {"worker", event.worker},
                             {"detail", event.detail}});
  }
  return doc;
}

void printExplanation(std::ostream& out, const JobExplanation& explanation) {
  const JobInfo& job = explanation.job;
  out << "job " << job.id << " (task " << cell(job.task, 255) << "): " << toString(job.state);
  if (job.attempt > 0) out << ", attempt " << job.attempt;
  if (job.state == JobState::kRunning && !job.worker.empty()) out << " on worker " << cell(job.worker, 255);
  if ((job.state == JobState::kDead || job.state == JobState::kCancelled) && !job.error_code.empty()) {
    out << " (" << cell(job.error_code, 255) << ": " << cell(job.error_message, 200) << ")";
  }
  out << "\n";
  if (!explanation.reason_code.empty()) {
    out << "waiting: " << explanation.reason << " [" << explanation.reason_code << "]\n";
  }
  out << "\n";
  if (explanation.events.empty()) {
    out << "no history kept for this job\n";
    out.flush();
    return;
  }
  std::vector<std::vector<std::string>> rows{{"TIME", "EVENT", "ATTEMPT", "WORKER", "DETAIL"}};
  for (const JobEvent& event : explanation.events) {
    rows.push_back({eventTime(event.time_ms), cell(event.kind, 20),
                    event.attempt == 0 ? "-" : std::to_string(event.attempt),
                    event.worker.empty() ? "-" : cell(event.worker, 40), eventDetail(event)});
  }
  printTable(out, rows);
}

int runExplain(const ExplainArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Result<JobExplanation> explanation = (*client)->explain(args.id);
  if (!explanation) return failWith(explanation.status());
  if (args.json) {
    std::cout << dumpJson(explanationJson(*explanation)) << std::endl;
  } else {
    printExplanation(std::cout, *explanation);
  }
  return kExitOk;
}

}  // namespace

void addExplainCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ExplainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "explain",
      "say why a job is not running (no worker serves its task, paused, rate-limited, delayed, every slot busy, "
      "...) and show its history: each state change with its time, attempt and worker. Exit 0, or 1 for an "
      "unknown job");
  cmd->add_option("id", args->id, "the job id printed by submit")->required()->transform(jobId());
  cmd->add_flag("--json", args->json, "one JSON document: the job, reason_code, reason and events");
  addClientOptions(*cmd, args->client);
  cmd->callback([args, &exit_code] { exit_code = runExplain(*args); });
}

}  // namespace corvee::cli
