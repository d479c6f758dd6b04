// corvee::Client — submits jobs to a broker and receives their results.
//
// Thread-safe: every method may be called from any thread. The client owns one background thread
// that speaks to the broker; submissions from all threads are batched into few socket writes, so
// thousands of jobs can be in flight at once without a round trip per job. When the connection
// drops, the client reconnects by itself with backoff, sends again what the broker had not yet
// acknowledged, and subscribes again to the results it is still waiting for.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "corvee/job.h"
#include "corvee/status.h"

namespace corvee {

struct ClientOptions {
  std::string endpoint = "tcp://127.0.0.1:7600";
  // ({} so that designated initializers leaving it out raise no -Wmissing-field-initializers)
  std::string name{};  // shown in the broker's stats; defaults to host:pid
  // The token a broker run with --auth-tokens requires (docs/security.md); empty for none. A client
  // token submits and reads; controls (cancel, purge, pause, ...) need an admin token. A refused
  // token fails connect() and requests at once with `unauthenticated` or `permission_denied`.
  std::string token{};
  // How long connect() and requests wait for an unreachable broker before failing `unavailable`
  // (or `too_many_connections`, when the broker refused the connection for that reason).
  std::chrono::milliseconds connect_timeout{5000};
  // Most submissions awaiting the broker's acknowledgement; submit() blocks beyond it.
  std::size_t max_in_flight = 65536;
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{2000};
  // TLS (docs/security.md). Set tls_ca_file to speak TLS to a broker run with --tls-cert: the
  // broker's certificate must be signed by this CA (PEM) and name the endpoint's host (a DNS name
  // or an IP address in its subjectAltName). tls_cert_file and tls_key_file (PEM, both or neither)
  // are this peer's certificate, for a broker that requires one (--tls-client-ca); given without a
  // CA file, the broker is checked against the system's trust store. All empty: plain TCP. A file
  // that cannot be used fails with bad_request; a failed handshake with tls_error.
  std::string tls_ca_file{};
  std::string tls_cert_file{};
  std::string tls_key_file{};
};

namespace detail {
struct JobShared;
class ClientImpl;
}  // namespace detail

// A submitted job. Cheap to copy; all copies see the same job. Thread-safe.
class JobHandle {
 public:
  // The broker-assigned id, waiting up to the client's connect_timeout for the acknowledgement.
  // Fails with the broker's refusal (e.g. payload_too_large, queue_full) or `unavailable`.
  Result<JobId> id() const;
  // Asks the broker for the job's state now.
  Result<JobState> status() const;
  // Waits up to `limit` for the outcome. The outcome of a job that failed on the broker (timeout,
  // handler_error, ...) is a value with state kDead (or kCancelled); the Status is an error only when no outcome
  // could be had: the submission was refused, the broker is unreachable, or `wait_timeout`.
  Result<JobOutcome> wait(std::chrono::milliseconds limit) const;
  // True once the outcome (or a refusal) is known.
  bool done() const;
  // True when the broker, acknowledging the job, said no connected worker serves its task (the
  // job is queued all the same, for a worker that comes later). False before id() succeeded.
  bool unserved() const;
  // True when the broker made no new job because another job of the task holds the submission's
  // unique key (SubmitOptions::unique_key): id() is that job's, and wait() its outcome. False before
  // id() succeeded.
  bool duplicate() const;
  // Calls `callback` once with the outcome, on the client's thread (at once, on the caller's
  // thread, if already known). A refused submission is reported as a failed outcome with id 0.
  // The callback must not block.
  void onComplete(std::function<void(const JobOutcome&)> callback) const;

 private:
  friend class detail::ClientImpl;
  explicit JobHandle(std::shared_ptr<detail::JobShared> shared);
  std::shared_ptr<detail::JobShared> shared_;
};

class Client {
 public:
  // Connects and completes the handshake, or fails after connect_timeout: with
  // `too_many_connections` when the broker kept refusing the connection for that reason (it is at
  // its connection limit), else with `unavailable`.
  static Result<std::unique_ptr<Client>> connect(ClientOptions options);
  ~Client();  // closes the connection; pending handles fail with `unavailable`
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Queues a job; never waits for the broker except when max_in_flight is reached.
  JobHandle submit(std::string_view task, std::string payload, const SubmitOptions& options = {});
  // Follows a job submitted earlier (by anyone): its handle completes when the job does.
  JobHandle watch(JobId id);
  // Waits up to `limit` for job `id` (submitted by anyone) to finish: watch(id).wait(limit).
  Result<JobOutcome> wait(JobId id, std::chrono::milliseconds limit);
  // A job's full record, with its failed attempts; with `with_payload`, its payload too.
  Result<JobInfo> status(JobId id, bool with_payload = false);
  // Why job `id` is not running (or what it did), and its history. Fails with not_found for an
  // unknown or purged job, unsupported_version before protocol version 5.
  Result<JobExplanation> explain(JobId id);
  // The broker's statistics as a JSON document (docs/protocol.md, section 6).
  Result<std::string> stats();
  // The broker's metrics in the Prometheus text format, as `GET /metrics` serves them
  // (docs/protocol.md, "Metrics (v5)"). Fails with unsupported_version before protocol version 5.
  Result<std::string> metrics();
  // Lists jobs, newest first (JobFilter); no payload, result or failures.
  Result<std::vector<JobInfo>> jobs(const JobFilter& filter);

  // Control. Each fails with the broker's error code: not_found, wrong_state, bad_request...
  // Ends a queued, scheduled or retrying job as `cancelled` at once; a running one is cancelled on its worker
  // too. Fails with wrong_state for a finished job.
  Status cancel(JobId id);
  // Cancels every queued, scheduled or retrying job of `task`; returns how many.
  Result<std::uint64_t> purge(std::string_view task);
  // A paused task's queued jobs wait (running ones finish) until resume(); stored by the broker.
  Status pause(std::string_view task);
  Status resume(std::string_view task);
  // Limits how fast the broker deals `task`'s jobs: `rate` is "N/s", "N/m" or "N/h" with an
  // optional ":BURST" ("10/s:20"), or "off" for no limit. Takes effect at once, is stored, and
  // after a broker restart wins over the broker's --rate flag. Fails with bad_request for a bad
  // rate, unsupported_version before protocol version 4. `stats()` shows each queue's rate.
  Status setRate(std::string_view task, std::string_view rate);
  // Dead letters: brings dead job `id` back to the queue with fresh retries (wrong_state when it
  // is not dead); returns 1.
  Result<std::uint64_t> retryDead(JobId id);
  // Brings back every dead job, or every dead job of `task`; returns how many.
  Result<std::uint64_t> retryAllDead(std::string_view task = {});
  // Deletes dead jobs (of `task`, when given) dead for longer than `older_than`; returns how many.
  Result<std::uint64_t> purgeDead(std::string_view task = {}, std::chrono::milliseconds older_than = {});

  // Periodic jobs (stored by the broker). Adds the entry, or replaces the one of that name (then
  // *replaced is set), and returns it as the broker holds it, with its next firing. Fails with
  // bad_request for an invalid spec or zone, naming the bad part.
  Result<CronEntry> cronAdd(const CronEntry& entry, bool* replaced = nullptr);
  // Every entry, by name.
  Result<std::vector<CronEntry>> cronList();
  // Each fails with not_found for an unknown name. A resumed entry fires from now on; the firings
  // it missed while paused are not made up.
  Status cronRemove(std::string_view name);
  Status cronPause(std::string_view name);
  Status cronResume(std::string_view name);

 private:
  explicit Client(std::shared_ptr<detail::ClientImpl> impl);
  std::shared_ptr<detail::ClientImpl> impl_;
};

}  // namespace corvee
