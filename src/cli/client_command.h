// What every command that talks to the broker as a client shares: the connection flags, the
// connection itself, and how a failed request is reported.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "corvee/client.h"
#include "corvee/status.h"

namespace corvee::cli {

struct ClientArgs {
  std::string endpoint;
  std::uint64_t connect_timeout_ms = 5000;
  std::string token;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
};

// `--connect-timeout-ms`, `--connect`, `--token` and the TLS options (addTlsPeerOptions); of them
// also from the environment: CORVEE_CONNECT_TIMEOUT_MS, $CORVEE_BROKER, $CORVEE_TOKEN,
// $CORVEE_TLS_*. Call after the command's own options.
void addClientOptions(CLI::App& command, ClientArgs& args);
// Connects as addClientOptions() configured it; fails as Client::connect does.
Result<std::unique_ptr<Client>> connectClient(const ClientArgs& args);
// Prints "corvee: CODE: message" on stderr and returns exitCodeFor(status).
int failWith(const Status& status);
// Prints the jobs `filter` selects (`corvee jobs`, `corvee dead list`): a table on a terminal,
// JSON lines otherwise or with `json`. Returns the exit code.
int listJobs(const ClientArgs& args, const JobFilter& filter, bool json);

}  // namespace corvee::cli
