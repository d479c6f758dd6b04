#include "cli/client_command.h"

#include <iostream>

#include "cli/common.h"
#include "cli/job_output.h"
#include "platform/terminal.h"

namespace corvee::cli {

void addClientOptions(CLI::App& command, ClientArgs& args) {
  addConnectTimeoutOption(command, args.connect_timeout_ms);
  addConnectOption(command, args.endpoint);
  addTokenOption(command, args.token);
  addTlsPeerOptions(command, args.tls_ca, args.tls_cert, args.tls_key);
  // From the environment, only the connection settings (a job's own are not for a whole shell).
  addEnvironmentNames(command, {"connect-timeout-ms"});
}

Result<std::unique_ptr<Client>> connectClient(const ClientArgs& args) {
  ClientOptions options;
  options.endpoint = args.endpoint;
  options.connect_timeout = std::chrono::milliseconds(args.connect_timeout_ms);
  options.token = args.token;
  options.tls_ca_file = args.tls_ca;
  options.tls_cert_file = args.tls_cert;
  options.tls_key_file = args.tls_key;
  return Client::connect(options);
}

int failWith(const Status& status) {
  printError(status.message().empty() ? status.code() : status.code() + ": " + status.message());
  return exitCodeFor(status);
}

int listJobs(const ClientArgs& args, const JobFilter& filter, bool json) {
  auto client = connectClient(args);
  if (!client) return failWith(client.status());
  Result<std::vector<JobInfo>> jobs = (*client)->jobs(filter);
  if (!jobs) return failWith(jobs.status());
  printJobs(std::cout, *jobs, !json && stdoutIsTerminal());
  return kExitOk;
}

}  // namespace corvee::cli
