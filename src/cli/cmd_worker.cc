// `corvee worker`: serves builtin demo tasks and/or shell commands until SIGINT/SIGTERM.
#include <spdlog/spdlog.h>

#include "broker/slot_ranges.h"
#include "cli/common.h"
#include "cli/validators.h"
#include "corvee/worker.h"
#include "worker/builtin_tasks.h"
#include "worker/exec_handler.h"

namespace corvee::cli {

namespace {

struct WorkerArgs {
  WorkerOptions options;
  bool builtin = false;
  std::vector<std::string> execs;
  std::uint64_t connect_timeout_ms = 0;
  std::uint64_t kill_grace_ms = kDefaultKillGrace.count();
  std::string log_level = "info";
  std::string log_format = "text";
  std::string config;
};

int runWorker(WorkerArgs& args) {
  setUpLogging(args.log_level, args.log_format);
  if (!args.builtin && args.execs.empty()) {
    printError("nothing to serve: give --builtin and/or --exec NAME=COMMAND");
    return kExitUsage;
  }
  if (!args.options.priority_slots.empty()) {
    // Checked against --slots here, where both are known; the broker checks it again.
    auto ranges = broker::SlotRanges::parse(args.options.priority_slots, args.options.slots);
    if (!ranges) {
      printError("--priority-slots: " + ranges.status().message());
      return kExitUsage;
    }
  }
  args.options.handle_signals = true;
  args.options.connect_timeout = std::chrono::milliseconds(args.connect_timeout_ms);
  Worker worker(args.options);
  if (args.builtin) registerBuiltinTasks(worker);
  for (const std::string& text : args.execs) {
    // Checked at parse time already (execSpec()); kept so a spec can never be half-read here.
    auto spec = parseExecSpec(text);
    if (!spec) {
      printError(spec.status().message());
      return kExitUsage;
    }
    worker.handle(spec->task, makeExecHandler(spec->command, std::chrono::milliseconds(args.kill_grace_ms)));
  }
  Status ran = worker.run();
  if (!ran) {
    printError(ran.message());
    return exitCodeFor(ran);
  }
  return kExitOk;
}

}  // namespace

void addWorkerCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<WorkerArgs>();
  CLI::App* cmd = app.add_subcommand("worker", "run a worker");
  addConnectOption(*cmd, args->options.endpoint);
  addTokenOption(*cmd, args->options.token);
  addTlsPeerOptions(*cmd, args->options.tls_ca_file, args->options.tls_cert_file, args->options.tls_key_file);
  cmd->add_option("--slots", args->options.slots, "jobs run at once")
      ->capture_default_str()
      ->transform(numberIn<std::uint32_t>(1, 4096));
  cmd->add_option("--priority-slots", args->options.priority_slots,
                  "P:K,...: K slots kept for jobs of priority P and above, the rest for lower ones (with 100 "
                  "slots, 1:30,2:20 runs at most 50 jobs below priority 1 and 80 below 2); no prefetch then");
  cmd->add_option("--prefetch", args->options.prefetch,
                  "jobs held beyond --slots, started as slots free (faster for short jobs, less fair for long ones)")
      ->capture_default_str()
      ->transform(numberIn<std::uint32_t>(0, 65536));
  // The broker keeps 255 bytes of a name; refusing longer ones here keeps it from cutting one,
  // perhaps in the middle of a character.
  cmd->add_option("--name", args->options.name, "the worker's name in stats, 1 to 255 bytes (default: host:pid)")
      ->check(wireName("worker name"));
  cmd->add_flag("--builtin", args->builtin, "serve the demo tasks echo, reverse, add, sleep and fail");
  // A bad name here would make the broker refuse the worker's whole registration, builtins
  // included, while the worker ran on serving nothing: refused at start instead.
  cmd->add_option("--exec", args->execs,
                  "NAME=COMMAND: run COMMAND for each NAME job, payload on stdin, stdout is the result")
      ->allow_extra_args(false)
      ->check(execSpec());
  cmd->add_option("--kill-grace", args->kill_grace_ms,
                  "an --exec command stopped (time limit passed, job cancelled, broker lost) gets SIGTERM, then SIGKILL after "
                  "this many ms")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, 3600000));
  cmd->add_option("--connect-timeout-ms", args->connect_timeout_ms,
                  "give up when the broker is unreachable this long at start (0: keep trying)")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, UINT32_MAX));
  cmd->add_option("--log-level", args->log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  addLogFormatOption(*cmd, args->log_format);
  addConfigOption(*cmd, args->config);
  addEnvironmentNames(*cmd);
  cmd->callback([args, cmd, &exit_code] {
    applyConfigFile(*cmd, args->config);
    exit_code = runWorker(*args);
  });
}

}  // namespace corvee::cli
