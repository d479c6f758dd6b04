// `corvee broker`: runs the broker until SIGINT/SIGTERM.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <functional>
#include <iostream>
#include <optional>

#include "broker/server.h"
#include "http/http_server.h"
#include "cli/common.h"
#include "cli/validators.h"
#include "platform/clock.h"

namespace corvee::cli {

namespace {

struct BrokerArgs {
  broker::BrokerOptions options;
  std::uint64_t heartbeat_ms = 1000;
  std::uint64_t peer_timeout_ms = 5000;
  std::uint64_t result_ttl_s = 24 * 3600;
  std::uint64_t dead_ttl_ms = 7ULL * 24 * 3600 * 1000;
  std::string log_level = "info";
  std::string log_format = "text";
  StoreSettings store;
  std::string config;
};

// --http: HOST:PORT or off.
CLI::Validator httpAddress() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value == "off") return {};
        auto parsed = http::parseHttpAddress(value);
        return parsed ? std::string() : parsed.status().message();
      },
      "");
}

// True when every address `host` stands for is a loopback one (127.0.0.0/8, ::1).
bool loopbackOnly(boost::asio::io_context& io, const std::string& host) {
  boost::system::error_code error;
  boost::asio::ip::tcp::resolver resolver(io);
  auto addresses = resolver.resolve(host, "0", error);
  if (error || addresses.empty()) return false;
  for (const auto& entry : addresses) {
    if (!entry.endpoint().address().is_loopback()) return false;
  }
  return true;
}

int runBroker(BrokerArgs& args) {
  setUpLogging(args.log_level, args.log_format);
  broker::BrokerOptions& options = args.options;
  options.heartbeat = std::chrono::milliseconds(args.heartbeat_ms);
  options.peer_timeout = std::chrono::milliseconds(args.peer_timeout_ms);
  options.result_ttl = std::chrono::seconds(args.result_ttl_s);
  options.dead_ttl = std::chrono::milliseconds(args.dead_ttl_ms);
  if (options.peer_timeout <= options.heartbeat) {
    printError("--peer-timeout-ms must be longer than --heartbeat-ms");
    return kExitUsage;
  }
  auto store = openStore(options.store, args.store);
  if (!store) {
    printError(store.status().message());
    return exitCodeFor(store.status());
  }
  boost::asio::io_context io(1);  // the broker is one thread: posts from it need no wake-up
  broker::Server server(io, options, **store, systemClock());
  auto bound = server.start();
  if (!bound) {
    printError(bound.status().message());
    return exitCodeFor(bound.status());
  }
  if (server.tls()) {
    spdlog::info("serving the wire protocol{} over TLS only (certificate {}{})",
                 options.http == "off" ? "" : " and HTTP", options.tls_cert,
                 options.tls_client_ca.empty() ? std::string()
                                               : ", peers must present a certificate signed by " + options.tls_client_ca);
  }
  bool open_to_all = options.auth_tokens.empty();
  if (open_to_all && !loopbackOnly(io, bound->host)) {
    spdlog::warn("listening on {}, which is not a loopback address, without --auth-tokens: anyone who can "
                 "reach this port can submit jobs and serve them as a worker",
                 bound->toString());
  }
  std::optional<http::HttpServer> http_server;
  std::string http_url;
  if (options.http != "off") {
    http_server.emplace(server, http::Api([&server] { return server.health(); }));
    auto url = http_server->start(options.http);
    if (!url) {
      printError(url.status().message());
      return exitCodeFor(url.status());
    }
    http_url = *url;
    auto address = http::parseHttpAddress(options.http);
    if (open_to_all && address && !loopbackOnly(io, address->host)) {
      spdlog::warn("serving HTTP on {}, which is not a loopback address, without --auth-tokens: anyone who can "
                   "reach it can submit and cancel jobs",
                   http_url);
    }
  }
  // Installed before the listening line: whoever reads that line may send SIGTERM at once.
  boost::asio::signal_set reload(io, SIGHUP);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (error) return;
    spdlog::info("signal {}: stopping", signal);
    if (http_server) http_server->stop();
    server.stop();
    reload.cancel();
  });
  // SIGHUP re-reads the token file: tokens added, removed or given another role take effect for
  // new connections and for those already open. A file that no longer parses changes nothing.
  std::function<void()> await_reload = [&] {
    reload.async_wait([&](const boost::system::error_code& error, int) {
      if (error) return;
      if (options.auth_tokens.empty()) {
        spdlog::info("SIGHUP: no --auth-tokens file to re-read");
      } else if (Status reloaded = server.reloadTokens(); !reloaded) {
        spdlog::error("SIGHUP: keeping the tokens in force: {}", reloaded.message());
      }
      await_reload();
    });
  };
  await_reload();
  // Before the listening line, which tells tests and scripts the broker is ready.
  if (http_server) std::cout << "corvee broker http on " << http_url << std::endl;
  // Tests and scripts read this line to learn the port when binding to port 0.
  std::cout << "corvee broker listening on " << bound->toString() << " (store: " << (*store)->describe() << ")"
            << std::endl;
  io.run();
  if (!server.fatal().isOk()) {
    printError(server.fatal().toString());
    return kExitUnavailable;
  }
  return kExitOk;
}

}  // namespace

void addBrokerCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<BrokerArgs>();
  CLI::App* cmd = app.add_subcommand("broker", "run the broker");
  cmd->add_option("--bind", args->options.bind, "endpoint to listen on, tcp://HOST:PORT (port 0: any free port)")
      ->capture_default_str()
      ->check(endpoint());
  args->options.store = "sqlite";
  cmd->add_option("--store", args->options.store,
                  "where jobs are kept: sqlite (in --data-dir), sqlite:PATH, or memory (lost on exit)")
      ->capture_default_str();
  cmd->add_option("--http", args->options.http,
                  "where the HTTP API and dashboard listen, HOST:PORT (port 0: any free port), or off")
      ->capture_default_str()
      ->check(httpAddress());
  cmd->add_option("--auth-tokens", args->options.auth_tokens,
                  "file of `TOKEN ROLE` lines (roles: client, worker, admin): every peer and HTTP request must "
                  "then present one of these tokens, and may do what its role allows; re-read on SIGHUP")
      ->check(CLI::ExistingFile);
  cmd->add_option("--data-dir", args->store.data_dir, "directory of the default sqlite store")
      ->capture_default_str()
      ->check(nonEmpty());
  cmd->add_option("--sync", args->store.sync, "sqlite durability: full (fsync before each ack), normal, off")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "normal", "off"}));
  cmd->add_option("--name", args->options.name, "the broker's name in stats")
      ->capture_default_str()
      ->check(wireName("broker name"));
  cmd->add_option("--max-payload", args->options.max_payload, "largest payload or result, in bytes")
      ->capture_default_str()
      ->transform(numberIn<std::uint32_t>(1, 512u * 1024 * 1024));
  cmd->add_option("--max-queued", args->options.max_queued, "queued jobs before submissions are refused (0: no limit)")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>());
  cmd->add_option("--max-attempts", args->options.max_attempts,
                  "times a job's started attempt may be lost with its worker before the job fails with worker_lost "
                  "(attempts that only waited in a prefetch do not count)")
      ->capture_default_str()
      ->transform(numberIn<std::uint32_t>(1, 1000000));
  cmd->add_option("--heartbeat-ms", args->heartbeat_ms, "heartbeat interval")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(10, 3600000));
  cmd->add_option("--peer-timeout-ms", args->peer_timeout_ms, "silence after which a worker or client is gone")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(20, 36000000));
  // The top (~136 years) keeps the value in milliseconds far from overflowing.
  cmd->add_option("--result-ttl", args->result_ttl_s, "seconds a finished job stays queryable (dropped within a tenth of that more, 1 s to 60 s)")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, UINT32_MAX));
  cmd->add_option("--result-max", args->store.results.max_count,
                  "most finished jobs kept queryable, oldest dropped first (0: no bound; memory store only, "
                  "sqlite keeps them for --result-ttl)")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, UINT64_MAX));
  cmd->add_option("--result-max-bytes", args->store.results.max_bytes,
                  "most bytes of finished jobs' results kept, oldest dropped first (0: no bound; memory store "
                  "only, sqlite keeps them for --result-ttl)")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, UINT64_MAX));
  // The top (~136 years, as --result-ttl) keeps deadlines computed from it far from overflowing.
  cmd->add_option("--dead-ttl", args->dead_ttl_ms,
                  "how long a dead job is kept for `dead retry`: 30s, 15m, 2h, 7d or plain ms")
      ->default_str("7d")
      ->transform(duration(UINT32_MAX * 1000ULL));
  cmd->add_option("--dead-max", args->options.dead_max,
                  "most dead jobs kept; beyond it the oldest are dropped, with a log line (0: no bound)")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>());
  cmd->add_option("--rate", args->options.rates,
                  "TASK=N/s[:BURST] (or N/m, N/h): deal TASK's jobs at most this fast, a token bucket holding "
                  "BURST (default: one second's worth); repeat for more tasks")
      ->allow_extra_args(false)
      ->check(rateLimit());
  cmd->add_option("--fair-weight", args->options.fair_weights,
                  "TASK:KEY=W: TASK's jobs of fairness key KEY get W turns to every other key's 1 (default 1); "
                  "repeat for more keys")
      ->allow_extra_args(false)
      ->check(fairWeight());
  cmd->add_option("--key-concurrency", args->options.key_concurrency,
                  "TASK=N: at most N jobs of one fairness key of TASK run at once; the key's other jobs wait "
                  "while other keys run (0: no cap); repeat for more tasks")
      ->allow_extra_args(false)
      ->check(keyConcurrency());
  cmd->add_flag("--strict-guarantees", args->options.strict_guarantees,
                "workers' --priority-slots: a priority that overflows its range takes slots only from the lowest "
                "range (100 slots, 1:30,2:20: at most 70 jobs of priority 2 and above instead of 100)");
  cmd->add_option("--select", args->options.select,
                  "which worker gets a job among those with room: least-loaded (most free slots), round-robin "
                  "or random")
      ->capture_default_str()
      ->check(CLI::IsMember({"least-loaded", "round-robin", "random"}));
  cmd->add_option("--disk-reserve", args->store.disk_reserve,
                  "sqlite: free disk bytes kept for finishing jobs; below it new jobs are refused with "
                  "store_full until space returns (0: refuse only when a write fails)")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, UINT64_MAX));
  cmd->add_option("--max-connections", args->options.max_connections,
                  "connections served at once; more are refused with too_many_connections "
                  "(default: the open-files limit minus 64)")
      ->transform(numberIn<std::uint64_t>(1, UINT32_MAX));
  cmd->add_option("--max-connections-per-address", args->options.max_connections_per_address,
                  "connections from one address served at once; more are refused with too_many_connections "
                  "(0: no limit)")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, UINT32_MAX));
  cmd->add_option("--max-queued-per-task", args->options.max_queued_per_task,
                  "jobs of one task waiting (queued, scheduled or retrying) before its submissions are refused "
                  "with queue_full (0: no limit)")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, UINT64_MAX));
  cmd->add_option("--max-in-flight-per-client", args->options.max_in_flight_per_client,
                  "submissions from one connection awaiting their acknowledgement; more are refused with "
                  "too_many_in_flight")
      ->capture_default_str()
      ->transform(numberIn<std::uint32_t>(1, UINT32_MAX));
  addTlsBrokerOptions(*cmd, args->options.tls_cert, args->options.tls_key, args->options.tls_client_ca);
  cmd->add_option("--log-level", args->log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  addLogFormatOption(*cmd, args->log_format);
  addConfigOption(*cmd, args->config);
  addEnvironmentNames(*cmd);
  cmd->callback([args, cmd, &exit_code] {
    applyConfigFile(*cmd, args->config);
    exit_code = runBroker(*args);
  });
}

}  // namespace corvee::cli
