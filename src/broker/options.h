// BrokerOptions: everything `corvee broker` can be told, with its defaults.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace corvee::broker {

struct BrokerOptions {
  std::string bind = "tcp://127.0.0.1:7600";
  std::string store = "sqlite";  // "sqlite", "sqlite:PATH" or "memory"
  std::string name = "corvee";
  // Where the HTTP API and dashboard listen, "HOST:PORT"; "off" for none (http/http_server.h).
  std::string http = "127.0.0.1:7680";
  // The token file (auth_tokens.h): when set, every peer must present one of its tokens, and each
  // may do what its role allows (access.h). Empty: no tokens, everyone may do everything.
  std::string auth_tokens;
  std::uint32_t max_payload = 16 * 1024 * 1024;       // bytes of payload or result per job
  std::uint64_t max_queued = 0;                       // queued jobs before SUBMIT is refused; 0 = no limit
  // Waiting jobs (queued, scheduled or retrying) of one task before its SUBMITs are refused with
  // queue_full: one flooded task cannot take the broker's memory from the others. 0 = no limit.
  std::uint64_t max_queued_per_task = 0;
  // SUBMITs from one connection whose acknowledgements wait for the next commit; beyond it SUBMIT
  // is refused with too_many_in_flight. The client library keeps fewer in flight (its
  // max_in_flight, 65,536 by default), so only a peer that ignores acknowledgements meets it.
  std::uint32_t max_in_flight_per_client = 100'000;
  std::uint32_t max_attempts = 5;                     // worker losses before a job fails worker_lost
  std::chrono::milliseconds heartbeat{1000};          // PING after this much idle sending
  std::chrono::milliseconds peer_timeout{5000};       // silence after which a peer is gone
  std::chrono::milliseconds result_ttl{24 * 3600 * 1000};  // how long succeeded and cancelled jobs stay queryable
  std::chrono::milliseconds dead_ttl{7LL * 24 * 3600 * 1000};  // how long dead jobs are kept
  std::uint64_t dead_max = 100'000;  // dead jobs kept at most; the oldest are dropped first
  // Which worker gets a job among those that can take it (worker_selection.h): "least-loaded",
  // "round-robin" or "random".
  std::string select = "least-loaded";
  // Workers' priority ranges (slot_ranges.h): higher priorities that overflow their range take
  // slots only from the lowest range (proletariat's SACRED_GUARANTEES).
  bool strict_guarantees = false;
  // Dispatch rate limits, "TASK=N/s[:BURST]" (rate_limiter.h), one per task.
  std::vector<std::string> rates;
  // Fairness keys: "TASK:KEY=W" weights (default 1) and "TASK=N" caps on the running jobs of one
  // key (fair_keys.h).
  std::vector<std::string> fair_weights;
  std::vector<std::string> key_concurrency;
  // Payload bytes of queued jobs kept in memory. Beyond it, and for jobs recovered at start, the
  // payload stays only in the store and is read back when the job is dealt: a million queued jobs
  // cost the broker their bookkeeping, not their payloads.
  std::size_t payload_memory_budget = 64 * 1024 * 1024;
  // Connections served at once; a connection beyond it is refused with ERROR too_many_connections.
  // 0: computed at start from the descriptor limit (defaultMaxConnections in connection_limit.h).
  std::size_t max_connections = 0;
  // Connections from one remote address served at once (address_counts.h); 0 = no limit.
  std::size_t max_connections_per_address = 0;
  // Output waiting for a slow peer above which the broker stops reading from it (flow control).
  std::size_t output_high_water = 4 * 1024 * 1024;
  // TLS (net/tls_context.h): with a certificate and its key (PEM files), the wire protocol is
  // served over TLS only. With a client CA too, every peer must present a certificate it signed.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
};

}  // namespace corvee::broker
