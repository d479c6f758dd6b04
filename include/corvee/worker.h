// corvee::Worker — runs handlers for named tasks on a number of slots (threads).
//
// Register handlers with handle(), then call run(), which connects (and reconnects) to the broker,
// announces the tasks and slots, and runs jobs until stop() is called or, with handle_signals, a
// SIGINT/SIGTERM arrives. Stopping drains: the broker is told to send no more jobs, running jobs
// finish and their results are sent, then run() returns.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "corvee/job.h"
#include "corvee/status.h"

namespace corvee {

struct WorkerOptions {
  std::string endpoint = "tcp://127.0.0.1:7600";
  // ({} so that designated initializers leaving it out raise no -Wmissing-field-initializers)
  std::string name{};        // shown in the broker's stats; defaults to host:pid
  // The token a broker run with --auth-tokens requires: a worker or admin token. When the broker
  // refuses it, run() returns at once with `unauthenticated` or `permission_denied`.
  std::string token{};
  std::uint32_t slots = 1;   // jobs run at once; one thread each
  // Jobs the worker holds beyond its slots, started in arrival order as slots free. Saves a round
  // trip to the broker per job when jobs are short; with long jobs they wait here while another
  // worker may be idle, so the default is none (docs/protocol.md, "Workers").
  std::uint32_t prefetch = 0;
  // Priority ranges with guaranteed slots (proletariat), "P:K,...": K slots are kept for jobs of
  // priority P and above, and the slots no entry claims form the lowest range; with 100 slots,
  // "1:30,2:20" runs at most 50 jobs of priority below 1, 80 below 2, and 100 in all. Empty: plain
  // slots. A worker with ranges takes no prefetch. The broker checks the spec (bad_request).
  std::string priority_slots{};
  bool handle_signals = false;  // drain on SIGINT/SIGTERM
  // How long run() waits for a broker before failing `unavailable`; 0 waits for ever.
  std::chrono::milliseconds connect_timeout{0};
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

// What a handler sees of its job. The handler may poll cancelled() to stop early once the broker
// has given up on this attempt (run limit passed, global deadline passed, connection lost).
class JobContext {
 public:
  JobContext(JobId id, std::uint32_t attempt, std::string task, std::string payload,
             std::size_t max_result_bytes = 0, std::chrono::milliseconds run_timeout = {})
      : id_(id),
        attempt_(attempt),
        task_(std::move(task)),
        payload_(std::move(payload)),
        max_result_bytes_(max_result_bytes),
        run_timeout_(run_timeout) {}
  JobId id() const { return id_; }
  std::uint32_t attempt() const { return attempt_; }
  const std::string& task() const { return task_; }
  const std::string& payload() const { return payload_; }
  // The largest result the broker takes (its max_payload, from WELCOME); 0 when not known. A
  // longer result fails the job with result_too_large, so a handler whose output can grow without
  // bound (a child process's) may stop at this size instead of producing all of it.
  std::size_t maxResultBytes() const { return max_result_bytes_; }
  // The attempt's run limit (the job's run_timeout), counted from the moment the job took its slot,
  // which is when the handler starts; 0 when it has none. The job's overall timeout is not
  // included: the broker does not send it to workers.
  std::chrono::milliseconds runTimeout() const { return run_timeout_; }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  // Registers a hook run once when the attempt is cancelled (at once if it already is), e.g. to
  // kill a child process. It runs on the worker's network thread and must not block.
  void onCancel(std::function<void()> hook);
  // Marks the attempt cancelled and runs the hook. Called by the worker; idempotent.
  void cancel();

 private:
  JobId id_;
  std::uint32_t attempt_;
  std::string task_;
  std::string payload_;
  std::size_t max_result_bytes_;
  std::chrono::milliseconds run_timeout_;
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;                   // guards cancel_hook_
  std::function<void()> cancel_hook_;  // set by onCancel(), run once by cancel()
};

// A handler returns the job's result, or Status::error(code, message) to fail it (use the code
// "handler_error" unless a better one applies). An exception thrown by a handler fails the job
// with handler_error and the exception's message. A failed job with retries left is retried, unless
// the handler returned permanentError().
using Handler = std::function<Result<std::string>(JobContext&)>;

// A failure that retrying cannot fix (the payload is malformed, say): the job goes straight to
// `dead` whatever retries it has left. Its error code is "permanent_error".
inline Status permanentError(std::string message) { return Status::error("permanent_error", std::move(message)); }

namespace detail {
class WorkerImpl;
}

class Worker {
 public:
  explicit Worker(WorkerOptions options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // REQUIRES: called before run().
  void handle(std::string task, Handler handler);
  // Runs until stopped; returns OK after a clean drain, or `unavailable` when connect_timeout
  // passes without reaching the broker.
  Status run();
  // Starts a drain. Thread-safe; may be called before or during run().
  void stop();

 private:
  std::unique_ptr<detail::WorkerImpl> impl_;
};

}  // namespace corvee
