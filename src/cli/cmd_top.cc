// `corvee top`: the broker's queues and workers, read with STATS every --interval and redrawn in
// place on a terminal, or printed as plain blocks one after another otherwise (TopView renders
// them). Ends on Ctrl-C (the default SIGINT), after --count readings, or after one with --once.
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <optional>
#include <thread>

#include "cli/client_command.h"
#include "cli/common.h"
#include "cli/top_view.h"
#include "platform/clock.h"
#include "platform/terminal.h"

namespace corvee::cli {

namespace {

struct TopArgs {
  ClientArgs client;
  std::uint64_t interval_ms = 1000;
  std::uint64_t count = 0;  // 0: until interrupted
  bool once = false;
};

// Moves the cursor home and clears the screen: the next reading replaces the last one.
constexpr const char* kRedraw = "\x1b[H\x1b[2J";

int runTop(const TopArgs& args) {
  auto client = connectClient(args.client);
  if (!client) return failWith(client.status());
  bool terminal = stdoutIsTerminal();
  std::uint64_t readings = args.once ? 1 : args.count;
  Clock& clock = systemClock();
  TopView view;
  std::optional<MonoTime> last;
  for (std::uint64_t n = 0; readings == 0 || n < readings; ++n) {
    if (n > 0) std::this_thread::sleep_for(std::chrono::milliseconds(args.interval_ms));
    Result<std::string> stats = (*client)->stats();
    if (!stats) return failWith(stats.status());
    MonoTime now = clock.now();
    auto doc = nlohmann::json::parse(*stats, nullptr, false);
    if (doc.is_discarded()) return failWith(Status::error("internal", "the broker's STATS document is not JSON"));
    std::optional<double> elapsed;
    if (last) elapsed = std::chrono::duration<double>(now - *last).count();
    last = now;
    std::string screen = view.render(doc, elapsed);
    if (terminal) {
      std::cout << kRedraw << screen << std::flush;
    } else {
      std::cout << screen << std::endl;  // a blank line between readings
    }
  }
  return kExitOk;
}

}  // namespace

void addTopCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<TopArgs>();
  CLI::App* cmd = app.add_subcommand(
      "top",
      "a live view of queues (depth, running, oldest job, jobs done per second) and workers; redrawn in place on a "
      "terminal, plain blocks of lines otherwise");
  cmd->add_option("--interval", args->interval_ms, "milliseconds between readings")
      ->default_val(1000)
      ->check(CLI::Range(std::uint64_t{100}, std::uint64_t{3'600'000}));
  cmd->add_option("--count", args->count, "stop after this many readings (default: until Ctrl-C)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--once", args->once, "print one reading and exit");
  addClientOptions(*cmd, args->client);
  cmd->callback([args, &exit_code] { exit_code = runTop(*args); });
}

}  // namespace corvee::cli
