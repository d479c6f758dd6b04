// Pieces shared by the CLI's subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

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
// `--token TOKEN`, defaulting to $CORVEE_TOKEN: what a broker run with --auth-tokens lets in.
// (An environment variable keeps the token out of `ps` and shell history.)
void addTokenOption(CLI::App& command, std::string& token);
// `--tls-ca FILE`, `--tls-cert FILE`, `--tls-key FILE`: TLS to the broker (ClientOptions'
// tls_*_file), defaulting to $CORVEE_TLS_CA, $CORVEE_TLS_CERT, $CORVEE_TLS_KEY.
void addTlsPeerOptions(CLI::App& command, std::string& ca_file, std::string& cert_file, std::string& key_file);
// `--tls-cert FILE`, `--tls-key FILE`, `--tls-client-ca FILE` of `corvee broker`, defaulting to
// $CORVEE_BROKER_TLS_CERT, ... (not $CORVEE_TLS_CERT, which is a peer's own certificate).
void addTlsBrokerOptions(CLI::App& command, std::string& cert_file, std::string& key_file,
                         std::string& client_ca_file);
// `--connect-timeout-ms MS`: how long a client command tries to reach the broker, 1 ms to ~49 days.
void addConnectTimeoutOption(CLI::App& command, std::uint64_t& milliseconds);
// Gives every long option of `command` that has no environment variable yet one named after it:
// `--data-dir` -> CORVEE_DATA_DIR (CLI11's envname, so the value is checked like a typed one; a
// flag given on the command line wins). Call after all of the command's options are added. With
// `only` not empty, just the options named there (long names without the dashes).
void addEnvironmentNames(CLI::App& command, const std::vector<std::string>& only = {});
// For a parse error `message` that starts with "--FLAG:" (a bad value) of a subcommand that `app`
// parsed, when that value came from the flag's environment variable (set, and the flag not on the
// command line): the variable's name; otherwise "".
std::string environmentSourceOf(const CLI::App& app, const std::string& message, int argc, char** argv);
// `--config FILE`: options read from a TOML file (CLI11's parser: `key = value` lines, the keys the
// long option names without the dashes, `#` comments, strings quoted or not, `true`/`false` for
// flags, `["a", "b"]` for repeated options; a `[SUBCOMMAND]` section holds keys for that subcommand
// only, other sections are skipped). Applied by applyConfigFile().
void addConfigOption(CLI::App& command, std::string& path);
// Sets, from the file at `path` (none when empty), every option that neither the command line nor
// the environment set: so a flag beats its environment variable, which beats the file, which beats
// the default. Values go through the options' own validators. Throws CLI::ParseError (a usage
// error) for a file that cannot be read, an unknown key or a bad value. Call from the command's
// callback, where the command line and the environment have been applied.
void applyConfigFile(CLI::App& command, const std::string& path);
// Logs go to stderr, so stdout carries only results: the CLI's own (spdlog's default logger) and
// the client and worker libraries' (corvee::setLogLevel). `level` is a spdlog level name. May be
// called again to change the level.
// `format` is "text" (the default: time, level, message) or "json" (one object a line:
// {"time": ..., "level": ..., "message": ...}, the message escaped, invalid UTF-8 as U+FFFD; the
// libraries' lines then go through the same logger).
void setUpLogging(const std::string& level, const std::string& format = "text");
// `--log-format text|json` for the long-running commands.
void addLogFormatOption(CLI::App& command, std::string& format);
// Prints "corvee: <message>" on stderr.
void printError(const std::string& message);

// Each subcommand registers itself and, when chosen, stores its exit code in `exit_code`.
void addBrokerCommand(CLI::App& app, int& exit_code);
void addWorkerCommand(CLI::App& app, int& exit_code);
void addSubmitCommand(CLI::App& app, int& exit_code);
void addStatusCommand(CLI::App& app, int& exit_code);
void addExplainCommand(CLI::App& app, int& exit_code);
void addStatsCommand(CLI::App& app, int& exit_code);
void addMetricsCommand(CLI::App& app, int& exit_code);
void addTopCommand(CLI::App& app, int& exit_code);
void addWaitCommand(CLI::App& app, int& exit_code);
void addJobsCommand(CLI::App& app, int& exit_code);
// `corvee certs make DIR`.
void addCertsCommand(CLI::App& app, int& exit_code);
// cancel, purge, pause, resume.
void addControlCommands(CLI::App& app, int& exit_code);
// dead list|show|retry|purge.
void addDeadCommand(CLI::App& app, int& exit_code);
// `corvee cron add|list|remove|pause|resume`.
void addCronCommand(CLI::App& app, int& exit_code);
// Registered last: its script lists the subcommands registered before it.
void addCompletionCommand(CLI::App& app, int& exit_code);

}  // namespace corvee::cli
