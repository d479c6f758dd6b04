// `corvee cron add|list|remove|pause|resume`: periodic jobs, stored by the broker. An entry is a
// cron schedule plus the job each firing submits, with the same job flags as `corvee submit`.
#include <iostream>
#include <iterator>

#include "cli/client_command.h"
#include "cli/common.h"
#include "cli/job_options.h"
#include "cli/job_output.h"
#include "cli/table.h"
#include "cli/validators.h"
#include "corvee/client.h"
#include "platform/terminal.h"
#include "protocol/names.h"

namespace corvee::cli {

namespace {

struct CronArgs {
  ClientArgs client;
  CronEntry entry;
  JobOptionArgs job;
  bool json = false;
};

nlohmann::json cronJson(const CronEntry& entry) {
  nlohmann::json doc = {{"name", entry.name},
                        {"spec", entry.spec},
                        {"tz", entry.time_zone},
                        {"task", entry.task},
                        {"paused", entry.paused},
                        {"next_fire_ms", entry.next_fire_ms},
                        {"last_fire_ms", entry.last_fire_ms},
                        {"created_ms", entry.created_ms},
                        {"priority", entry.options.priority}};
  // The job's options that differ from submit's defaults.
  const SubmitOptions& job = entry.options;
  if (job.retries > 0) doc["retries"] = job.retries;
  if (job.delay.count() > 0) doc["delay_ms"] = job.delay.count();
  if (job.timeout.count() > 0) doc["timeout_ms"] = job.timeout.count();
  if (job.run_timeout.count() > 0) doc["run_timeout_ms"] = job.run_timeout.count();
  if (!job.unique_key.empty()) doc["unique_key"] = job.unique_key;
  if (!job.fair_key.empty()) doc["fair_key"] = job.fair_key;
  addPayload(doc, entry.payload);
  return doc;
}

std::string nextFiring(const CronEntry& entry) {
  if (entry.paused) return "paused";
  if (entry.next_fire_ms == 0) return "never";
  return utcTime(entry.next_fire_ms) + " UTC";
}

int runAdd(CronArgs& args) {
  if (args.entry.payload == "-") {
    args.entry.payload.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  args.entry.options = args.job.options();
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  bool replaced = false;
  Result<CronEntry> added = (*client)->cronAdd(args.entry, &replaced);
  if (!added) return failWith(added.status());
  std::cout << (replaced ? "replaced" : "added") << " cron entry " << protocol::quoteName(added->name)
            << "; next firing " << nextFiring(*added) << std::endl;
  return kExitOk;
}

int runList(const CronArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Result<std::vector<CronEntry>> entries = (*client)->cronList();
  if (!entries) return failWith(entries.status());
  if (args.json || !stdoutIsTerminal()) {
    for (const CronEntry& entry : *entries) std::cout << dumpJson(cronJson(entry), -1) << '\n';
    std::cout.flush();
    return kExitOk;
  }
  if (entries->empty()) {
    std::cout << "no cron entries" << std::endl;
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NAME", "SPEC", "TZ", "TASK", "NEXT FIRING", "LAST FIRED (UTC)"});
  for (const CronEntry& entry : *entries) {
    rows.push_back({cell(entry.name, 32), cell(entry.spec, 32), entry.time_zone, cell(entry.task, 32),
                    nextFiring(entry), utcTime(entry.last_fire_ms)});
  }
  printTable(std::cout, rows);
  return kExitOk;
}

int runRemove(const CronArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Status removed = (*client)->cronRemove(args.entry.name);
  if (!removed) return failWith(removed);
  std::cout << "removed cron entry " << protocol::quoteName(args.entry.name) << std::endl;
  return kExitOk;
}

int runPause(const CronArgs& args, bool paused) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  Status done = paused ? (*client)->cronPause(args.entry.name) : (*client)->cronResume(args.entry.name);
  if (!done) return failWith(done);
  std::cout << (paused ? "paused" : "resumed") << " cron entry " << protocol::quoteName(args.entry.name) << std::endl;
  return kExitOk;
}

CLI::App* addNamedCommand(CLI::App& cron, const std::string& name, const std::string& description,
                          CronArgs& args) {
  CLI::App* cmd = cron.add_subcommand(name, description);
  cmd->add_option("name", args.entry.name, "the entry's name")->required()->check(wireName("cron name"));
  addClientOptions(*cmd, args.client);
  return cmd;
}

}  // namespace

void addCronCommand(CLI::App& app, int& exit_code) {
  CLI::App* cron = app.add_subcommand("cron", "periodic jobs on a cron schedule, stored by the broker "
                                              "(add, list, remove, pause, resume)");
  cron->require_subcommand(1);
  {
    auto args = std::make_shared<CronArgs>();
    CLI::App* cmd = cron->add_subcommand(
        "add",
        "add a periodic job, or replace the entry of that name; firings missed while the broker was down fire "
        "once when it starts");
    cmd->add_option("name", args->entry.name, "the entry's name, 1 to 255 bytes of UTF-8")
        ->required()
        ->check(wireName("cron name"));
    cmd->add_option("spec", args->entry.spec,
                    "when it fires: 'MIN HOUR DOM MON DOW', with an optional seconds field first "
                    "('*/5 * * * * *'), or @hourly, @daily, @weekly, @monthly, @yearly (quote it)")
        ->required();
    cmd->add_option("task", args->entry.task, "the task each firing submits")->required()->check(wireName("task name"));
    cmd->add_option("payload", args->entry.payload, "the jobs' payload; - reads it from stdin (default: empty)");
    cmd->add_option("--tz", args->entry.time_zone,
                    "the IANA time zone the spec is read in (Europe/Berlin); daylight saving as cron does it")
        ->capture_default_str();
    addJobOptions(*cmd, args->job, /*with_at=*/false, "each firing");
    addClientOptions(*cmd, args->client);
    cmd->callback([args, &exit_code] { exit_code = runAdd(*args); });
  }
  {
    auto args = std::make_shared<CronArgs>();
    CLI::App* cmd = cron->add_subcommand(
        "list", "list the entries with their next firing: a table on a terminal, else one JSON object a line");
    cmd->add_flag("--json", args->json, "JSON lines even on a terminal");
    addClientOptions(*cmd, args->client);
    cmd->callback([args, &exit_code] { exit_code = runList(*args); });
  }
  {
    auto args = std::make_shared<CronArgs>();
    CLI::App* cmd = addNamedCommand(*cron, "remove", "remove an entry; jobs it already submitted stay", *args);
    cmd->callback([args, &exit_code] { exit_code = runRemove(*args); });
  }
  {
    auto args = std::make_shared<CronArgs>();
    CLI::App* cmd = addNamedCommand(*cron, "pause", "stop an entry firing until it is resumed", *args);
    cmd->callback([args, &exit_code] { exit_code = runPause(*args, true); });
  }
  {
    auto args = std::make_shared<CronArgs>();
    CLI::App* cmd = addNamedCommand(
        *cron, "resume", "let a paused entry fire again, from now on (missed firings are not made up)", *args);
    cmd->callback([args, &exit_code] { exit_code = runPause(*args, false); });
  }
}

}  // namespace corvee::cli
