#include "driver_common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>
#include <unistd.h>

namespace peers {
namespace {

void usage(const char* system) {
  std::fprintf(stderr,
               "usage: %s_driver --port P [options]\n"
               "  --host H            peer address (default 127.0.0.1)\n"
               "  --port P            peer port (required)\n"
               "  --workload W1|W2|W3 throughput, latency, or fill a queue for the memory figure\n"
               "  --jobs N            W1 jobs per run, W3 jobs to fill (default 100000)\n"
               "  --consumers C       consumer threads (default 4)\n"
               "  --payload BYTES     job body size (default 100)\n"
               "  --repeat R          W1 measured runs, median reported (default 3)\n"
               "  --warmup K          W1 warm-up jobs (default 2000)\n"
               "  --latency-jobs M    W2 measured jobs (default 5000)\n"
               "  --latency-warmup K  W2 warm-up jobs (default 500)\n"
               "  --mode memory|durable\n"
               "  --prefetch K        jobs a consumer may hold beyond the one it runs, where the\n"
               "                      peer has such a knob (default 4)\n"
               "  --timeout-s S       give up after S seconds (default 600)\n",
               system);
}

long parse_long(const char* system, const char* flag, const char* text, long min) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < min) {
    die(system, std::string("bad value for ") + flag + ": '" + text + "'");
  }
  return v;
}

}  // namespace

[[noreturn]] void die(const char* system, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", system, message.c_str());
  std::fflush(stdout);
  std::_Exit(1);  // consumer threads may be blocked in reads; do not wait for them
}

Options parse_options(int argc, char** argv, const char* system) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(system);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      usage(system);
      std::exit(2);
    }
    const char* v = argv[++i];
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = static_cast<int>(parse_long(system, argv[i - 1], v, 1));
    else if (a == "--workload") o.workload = v;
    else if (a == "--jobs") o.jobs = parse_long(system, argv[i - 1], v, 1);
    else if (a == "--consumers") o.consumers = static_cast<int>(parse_long(system, argv[i - 1], v, 1));
    else if (a == "--payload") o.payload = static_cast<std::size_t>(parse_long(system, argv[i - 1], v, 1));
    else if (a == "--repeat") o.repeat = static_cast<int>(parse_long(system, argv[i - 1], v, 1));
    else if (a == "--warmup") o.warmup = parse_long(system, argv[i - 1], v, 0);
    else if (a == "--latency-jobs") o.latency_jobs = parse_long(system, argv[i - 1], v, 1);
    else if (a == "--latency-warmup") o.latency_warmup = parse_long(system, argv[i - 1], v, 0);
    else if (a == "--mode") o.mode = v;
    else if (a == "--prefetch") o.prefetch = static_cast<int>(parse_long(system, argv[i - 1], v, 0));
    else if (a == "--timeout-s") o.timeout_s = static_cast<int>(parse_long(system, argv[i - 1], v, 1));
    else {
      std::fprintf(stderr, "%s: unknown option %s\n", system, argv[i - 1]);
      usage(system);
      std::exit(2);
    }
  }
  if (o.port == 0) {
    std::fprintf(stderr, "%s: --port is required\n", system);
    std::exit(2);
  }
  if (o.workload != "W1" && o.workload != "W2" && o.workload != "W3") die(system, "--workload must be W1, W2 or W3");
  if (o.mode != "memory" && o.mode != "durable") die(system, "--mode must be memory or durable");

  // A peer that stops answering would leave a blocking read waiting for ever: end the process
  // with a message instead.
  std::thread([system, limit = o.timeout_s] {
    std::this_thread::sleep_for(std::chrono::seconds(limit));
    die(system, "gave up after --timeout-s " + std::to_string(limit) + " s (the peer stopped answering?)");
  }).detach();
  return o;
}

std::string make_payload(std::size_t bytes) { return std::string(bytes, 'x'); }

void Counter::reset(long target) {
  count_.store(0);
  target_.store(target);
}

void Counter::add(long n) {
  long now = count_.fetch_add(n, std::memory_order_relaxed) + n;
  if (now == target_.load(std::memory_order_relaxed)) {
    std::lock_guard lock(mutex_);
    reached_.notify_all();
  }
}

void Counter::wait(std::chrono::seconds timeout, const char* system) {
  std::unique_lock lock(mutex_);
  bool done = reached_.wait_for(lock, timeout, [&] { return count_.load() >= target_.load(); });
  if (!done) {
    die(system, "only " + std::to_string(count_.load()) + " of " + std::to_string(target_.load()) +
                    " jobs completed within " + std::to_string(timeout.count()) + " s");
  }
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void run_w1(const Options& opts, const char* system, const W1Run& run) {
  const std::string tag = std::to_string(getpid());
  if (opts.warmup > 0) {
    double s = run(opts.warmup, "warm-" + tag);
    std::printf("W1 %s %s warm-up: %ld jobs in %.3f s\n", system, opts.mode.c_str(), opts.warmup, s);
  }
  std::vector<double> rates;
  for (int r = 0; r < opts.repeat; ++r) {
    double s = run(opts.jobs, "w1-" + tag + "-" + std::to_string(r));
    double rate = static_cast<double>(opts.jobs) / s;
    rates.push_back(rate);
    std::printf("W1 %s %s run %d: %ld jobs in %.3f s = %.0f jobs/s\n", system, opts.mode.c_str(), r + 1,
                opts.jobs, s, rate);
    std::fflush(stdout);
  }
  std::sort(rates.begin(), rates.end());
  // The median of an even count is the lower middle: a figure that was actually measured.
  double median = rates[(rates.size() - 1) / 2];
  std::printf("RESULT W1 %s %s %.0f jobs/s\n", system, opts.mode.c_str(), median);
  std::fflush(stdout);
}

void run_w2(const Options& opts, const char* system, const std::string& loop, const W2Trip& trip) {
  for (long i = 0; i < opts.latency_warmup; ++i) trip();
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(opts.latency_jobs));
  for (long i = 0; i < opts.latency_jobs; ++i) {
    auto t0 = Clock::now();
    auto t1 = trip();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  double sum = 0;
  for (double v : us) sum += v;
  std::sort(us.begin(), us.end());
  std::printf("W2 %s %s loop: %s\n", system, opts.mode.c_str(), loop.c_str());
  std::printf("W2 %s %s %ld jobs: p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f mean %.1f us\n", system,
              opts.mode.c_str(), opts.latency_jobs, percentile(us, 50), percentile(us, 90), percentile(us, 99),
              percentile(us, 99.9), us.back(), sum / static_cast<double>(us.size()));
  std::printf("RESULT W2 %s %s %.0f us-p50\n", system, opts.mode.c_str(), percentile(us, 50));
  std::printf("RESULT W2 %s %s %.0f us-p99\n", system, opts.mode.c_str(), percentile(us, 99));
  std::fflush(stdout);
}

void report_fill(const char* system, const Options& opts, double seconds) {
  std::printf("W3 %s %s fill: %ld jobs acknowledged in %.2f s (%.0f jobs/s)\n", system, opts.mode.c_str(),
              opts.jobs, seconds, static_cast<double>(opts.jobs) / seconds);
  std::fflush(stdout);
}

}  // namespace peers
