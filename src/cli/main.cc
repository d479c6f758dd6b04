// `corvee`: one binary, one subcommand per role. main() only parses and dispatches; each
// subcommand lives in its own cmd_*.cc.
#include <csignal>
#include <iostream>

#include "cli/common.h"

int main(int argc, char** argv) {
  // A peer that vanishes mid-write must give an error on the socket, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  // The library's logs go to stderr in every subcommand, never into the results on stdout; the
  // one-shot commands show only errors (their own message says what failed), the broker and the
  // worker raise it to their --log-level.
  corvee::cli::setUpLogging("error");
  CLI::App app{"Corvee: a distributed task queue. Run `corvee SUBCOMMAND --help` for details."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "corvee 0.1.0 (protocol 1)");
  int exit_code = corvee::cli::kExitOk;
  corvee::cli::addBrokerCommand(app, exit_code);
  corvee::cli::addWorkerCommand(app, exit_code);
  corvee::cli::addSubmitCommand(app, exit_code);
  corvee::cli::addStatusCommand(app, exit_code);
  corvee::cli::addStatsCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message and the usage line
    return corvee::cli::kExitUsage;
  } catch (const std::exception& e) {
    corvee::cli::printError(e.what());
    return corvee::cli::kExitUnavailable;
  }
  return exit_code;
}
