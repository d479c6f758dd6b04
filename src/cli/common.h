// Pieces shared by the CLI's subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "corvee/status.h"

namespace corvee::cli {

// Exit codes, documented in the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitJobFailed = 1;    // the job ran and failed (or hit a time limit)
inline constexpr int kExitUsage = 2;        // bad flags or arguments
inline constexpr int kExitUnavailable = 3;  // the broker could not be reached, or refused the request

// The exit code for a failure: bad_request (a malformed endpoint, a bad name) is a usage error,
// not_found (an unknown job id) is kExitJobFailed, anything else kExitUnavailable.
int exitCodeFor(const Status& status);

// `--connect EP`, defaulting to $CORVEE_BROKER or tcp://127.0.0.1:7600; a malformed one, from
// either, is a usage error.
void addConnectOption(CLI::App& command, std::string& endpoint);
// `--connect-timeout-ms MS`: how long a client command tries to reach the broker, 1 ms to ~49 days.
void addConnectTimeoutOption(CLI::App& command, std::uint64_t& milliseconds);
// Logs go to stderr, so stdout carries only results: the CLI's own (spdlog's default logger) and
// the client and worker libraries' (corvee::setLogLevel). `level` is a spdlog level name. May be
// called again to change the level.
void setUpLogging(const std::string& level);
// Prints "corvee: <message>" on stderr.
void printError(const std::string& message);

// Each subcommand registers itself and, when chosen, stores its exit code in `exit_code`.
void addBrokerCommand(CLI::App& app, int& exit_code);
void addWorkerCommand(CLI::App& app, int& exit_code);
void addSubmitCommand(CLI::App& app, int& exit_code);
void addStatusCommand(CLI::App& app, int& exit_code);
void addStatsCommand(CLI::App& app, int& exit_code);

}  // namespace corvee::cli
