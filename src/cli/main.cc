// `corvee`: one binary, one subcommand per role. main() only parses and dispatches; each
// subcommand lives in its own cmd_*.cc.
#include <csignal>
#include <iostream>
#include <string>

#include "cli/common.h"
#include "corvee/version.h"
#include "protocol/constants.h"

int main(int argc, char** argv) {
  // A peer that vanishes mid-write must give an error on the socket, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  // The library's logs go to stderr in every subcommand, never into the results on stdout; the
  // one-shot commands show only errors (their own message says what failed), the broker and the
  // worker raise it to their --log-level.
  corvee::cli::setUpLogging("error");
  CLI::App app{"Corvee: a distributed task queue. Run `corvee SUBCOMMAND --help` for details.", "corvee"};
  app.require_subcommand(1);
  // The version comes from project() in CMakeLists.txt, through the generated corvee/version.h.
  const std::string version = std::string("corvee ") + corvee::kVersionString + " (protocol " +
                              std::to_string(corvee::protocol::kVersion) + ")";
  app.set_version_flag("--version", version);
  app.add_subcommand("version", "Print the version and exit")->callback([&version] {
    std::cout << version << "\n";
  });
  // The root's own help, not the `help` subcommand's (App::help() renders the selected subcommand).
  auto root_help = [&app] { return app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal); };
  app.add_subcommand("help", "List the subcommands and exit")->callback([root_help] { std::cout << root_help(); });
  int exit_code = corvee::cli::kExitOk;
  corvee::cli::addBrokerCommand(app, exit_code);
  corvee::cli::addWorkerCommand(app, exit_code);
  corvee::cli::addSubmitCommand(app, exit_code);
  corvee::cli::addStatusCommand(app, exit_code);
  corvee::cli::addExplainCommand(app, exit_code);
  corvee::cli::addStatsCommand(app, exit_code);
  corvee::cli::addMetricsCommand(app, exit_code);
  corvee::cli::addTopCommand(app, exit_code);
  corvee::cli::addWaitCommand(app, exit_code);
  corvee::cli::addJobsCommand(app, exit_code);
  corvee::cli::addControlCommands(app, exit_code);
  corvee::cli::addDeadCommand(app, exit_code);
  corvee::cli::addCronCommand(app, exit_code);
  corvee::cli::addCertsCommand(app, exit_code);
  corvee::cli::addCompletionCommand(app, exit_code);
  if (argc == 1) {
    // Bare `corvee`: show what there is, on stderr, as a usage error.
    std::cerr << root_help();
    return corvee::cli::kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // A bad value from an environment variable is named as such: the message names the flag,
    // which the command line may not hold.
    std::string source = corvee::cli::environmentSourceOf(app, e.what(), argc, argv);
    if (!source.empty()) {
      app.exit(CLI::ValidationError(std::string(e.what()) + " (from $" + source + ")"));
      return corvee::cli::kExitUsage;
    }
    app.exit(e);  // prints the message and the usage line
    return corvee::cli::kExitUsage;
  } catch (const std::exception& e) {
    corvee::cli::printError(e.what());
    return corvee::cli::kExitUnavailable;
  }
  return exit_code;
}
