// Shared by the peer drivers (beanstalkd, gearman, RabbitMQ): options, the W1/W2/W3 loops, timing,
// percentiles and the RESULT lines. Each driver only says how to submit and consume on its peer;
// everything that decides what a figure means lives here, so all peers are measured the same way
// (and the same way as bench/corvee_bench measures Corvee).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace peers {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string workload = "W1";  // W1, W2 or W3
  long jobs = 100000;           // W1: jobs per run; W3: jobs filled
  int consumers = 4;
  std::size_t payload = 100;
  int repeat = 3;               // W1 runs; the median is reported
  long warmup = 2000;           // W1 warm-up jobs, run once before the measured runs
  long latency_jobs = 5000;     // W2 measured jobs
  long latency_warmup = 500;    // W2 jobs run before measuring
  std::string mode = "memory";  // memory or durable; also the label in RESULT lines
  int prefetch = 4;             // jobs a consumer may hold beyond the one it runs (if the peer can)
  int timeout_s = 600;          // the whole driver gives up (exit 1) after this

  bool durable() const { return mode == "durable"; }
};

// Parses the common flags; prints usage and exits 2 on anything it does not know. Starts a
// watchdog that ends the process with a message after --timeout-s, so a stuck peer never hangs
// the harness.
Options parse_options(int argc, char** argv, const char* system);

// Prints "<system>: <message>" on stderr and exits 1.
[[noreturn]] void die(const char* system, const std::string& message);

// The 100-byte (or --payload) job body every peer gets.
std::string make_payload(std::size_t bytes);

// Completions counted by consumer threads, awaited by the main thread. add() only takes the mutex
// when it reaches the target, so counting costs the consumers one atomic add per job.
class Counter {
 public:
  void reset(long target);
  void add(long n = 1);
  long value() const { return count_.load(std::memory_order_relaxed); }
  // Blocks until the target is reached; dies after `timeout` with how far it got.
  void wait(std::chrono::seconds timeout, const char* system);

 private:
  std::atomic<long> count_{0};
  std::atomic<long> target_{0};
  std::mutex mutex_;
  std::condition_variable reached_;
};

// One W1 run on a fresh queue named `queue`: submit `jobs` jobs, return once consumers have
// completed all of them, and return the seconds from the first submission to the last completion.
using W1Run = std::function<double(long jobs, const std::string& queue)>;

// Runs the warm-up (opts.warmup jobs) and opts.repeat measured runs, each on its own queue, and
// prints one line per run and `RESULT W1 <system> <mode> <median> jobs/s`.
void run_w1(const Options& opts, const char* system, const W1Run& run);

// One W2 round trip: submit one job, and return the moment its result (or completion notice)
// arrived back at this client. The trip may finish protocol chores after that moment (e.g. read a
// publisher confirm that came after the result) before returning; they are not timed.
using W2Trip = std::function<Clock::time_point()>;

// Times opts.latency_jobs trips after opts.latency_warmup, prints the distribution and
// `RESULT W2 <system> <mode> <us> us-p50` / `us-p99`. `loop` says what one trip is on this peer.
void run_w2(const Options& opts, const char* system, const std::string& loop, const W2Trip& trip);

// Nearest-rank percentile of sorted samples: the smallest value with at least p% at or below it.
double percentile(const std::vector<double>& sorted, double p);

// Prints a W3 fill's rate. The figure itself (RSS per job) is the harness's: only it sees the server.
void report_fill(const char* system, const Options& opts, double seconds);

}  // namespace peers
