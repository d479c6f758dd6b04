// corvee_bench: end-to-end figures for a real broker, measured through the public client and
// worker libraries.
//
//   W1 "throughput": one Client submits N no-op jobs as fast as it can (the client pipelines them);
//      an onComplete callback counts results. Jobs/s from the first submit to the last result;
//      the median of --repeat runs.
//   W2 "latency": one job at a time (submit, wait for its result, next); percentiles of the
//      submit-to-result time in microseconds.
//
// The broker is a separate process (`corvee broker --bind tcp://127.0.0.1:0 --store memory`) that
// this harness starts and stops, unless --connect names one already running. The workers are
// in-process corvee::Worker objects serving the task "noop". Output: a readable table, then one
// `RESULT ...` line per figure for scripts. Every wait is bounded; the broker it started is killed
// on every exit path (normal, failure, SIGINT/SIGTERM, and via PR_SET_PDEATHSIG if we crash).
//
// Benchmark code, not product code: it reads std::chrono::steady_clock directly.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <spdlog/spdlog.h>
#include <string>
#include <thread>
#include <vector>

#include "corvee/client.h"
#include "corvee/worker.h"
#include "cpu_meter.h"
#include "raw_probe.h"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration;
using std::chrono::milliseconds;

constexpr const char* kTask = "noop";
// Unfinished jobs the raw W1 probe keeps in flight: their replies (~50 bytes each) stay far below
// the broker's 4 MiB output high-water mark, so blocking writes cannot deadlock.
constexpr std::size_t kRawWindow = 8192;

// --tls-ca/--tls-cert/--tls-key: every client and worker of the run speaks TLS with them (the
// broker, started with --connect, must serve TLS).
struct TlsFiles {
  std::string ca;
  std::string cert;
  std::string key;
};
TlsFiles g_tls;

struct Args {
  std::string corvee;   // path of the corvee binary; empty: ../corvee beside this binary's dir
  std::string connect;  // an already running broker; empty: start one
  long broker_pid = 0;  // with --connect: that broker's pid, so its CPU is not counted as "other"
  std::string store = "memory";  // the broker's --store, and the label in RESULT lines
  std::size_t jobs = 100000;
  std::size_t payload = 100;
  int repeat = 3;
  std::size_t latency_jobs = 5000;
  std::size_t warmup = 2000;
  std::uint32_t slots = 4;
  std::uint32_t prefetch = 0;
  int workers = 1;
  bool echo = false;  // the handler returns the payload instead of an empty result
  bool skip_w1 = false;
  bool skip_w2 = false;
  bool raw = false;  // also run the raw-socket probes (broker alone, no client/worker library)
  std::size_t raw_window = kRawWindow;
  std::vector<std::uint32_t> raw_slots;  // slot counts for the raw W1 probe; default: --slots x --workers, 1024
  int timeout_s = 300;  // upper bound on any one run
};

void usage() {
  std::fprintf(stderr,
               "usage: corvee_bench [options]\n"
               "  --corvee PATH        corvee binary to start the broker with (default: ../corvee next to\n"
               "                       the directory holding corvee_bench)\n"
               "  --connect EP         use a running broker at tcp://HOST:PORT instead of starting one\n"
               "  --broker-pid PID     with --connect: the broker's pid, for the CPU split\n"
               "  --store SPEC         broker store, also the label in RESULT lines (default memory)\n"
               "  --jobs N             W1 jobs per run (default 100000)\n"
               "  --payload BYTES      payload size (default 100)\n"
               "  --repeat R           W1 runs; the median is reported (default 3)\n"
               "  --latency-jobs M     W2 jobs (default 5000)\n"
               "  --warmup K           jobs run before measuring (default 2000)\n"
               "  --slots N            slots per in-process worker (default 4)\n"
               "  --prefetch K         jobs each worker holds beyond its slots (default 0)\n"
               "  --workers K          in-process workers (default 1)\n"
               "  --echo               the handler returns the payload (default: empty result)\n"
               "  --only w1|w2         run one workload\n"
               "  --raw                also run W1 and W2 over raw sockets from one thread, without the\n"
               "                       client and worker libraries (what the broker alone costs)\n"
               "  --raw-window W       unfinished jobs the raw W1 probe keeps in flight (default 8192, max)\n"
               "  --raw-slots N        slots of the raw W1 probe's worker; repeatable (default: --slots x\n"
               "                       --workers, then 1024)\n"
               "  --timeout-s S        give up on a run after S seconds (default 300)\n"
               "  --tls-ca FILE        clients and workers speak TLS, trusting this CA (with --connect to a\n"
               "                       broker run with --tls-cert); --tls-cert FILE --tls-key FILE: mutual TLS\n"
               "environment: CORVEE_BENCH_LATENCY_DUMP=FILE writes every W2 sample (us), in order\n");
}

bool parseArgs(int argc, char** argv, Args& args) {
  auto number = [](const char* text, unsigned long long max, unsigned long long& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v > max) return false;
    out = v;
    return true;
  };
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") return false;
    if (flag == "--echo" || flag == "--raw") {
      (flag == "--echo" ? args.echo : args.raw) = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "corvee_bench: %s needs a value\n", flag.c_str());
      return false;
    }
    const char* value = argv[++i];
    unsigned long long n = 0;
    bool ok = true;
    if (flag == "--corvee") {
      args.corvee = value;
    } else if (flag == "--connect") {
      args.connect = value;
    } else if (flag == "--tls-ca") {
      g_tls.ca = value;
    } else if (flag == "--tls-cert") {
      g_tls.cert = value;
    } else if (flag == "--tls-key") {
      g_tls.key = value;
    } else if (flag == "--broker-pid") {
      ok = number(value, 1u << 22, n) && n > 0;
      args.broker_pid = static_cast<long>(n);
    } else if (flag == "--store") {
      args.store = value;
    } else if (flag == "--jobs") {
      ok = number(value, 100000000, n) && n > 0;
      args.jobs = n;
    } else if (flag == "--payload") {
      ok = number(value, 16 * 1024 * 1024, n);
      args.payload = n;
    } else if (flag == "--repeat") {
      ok = number(value, 100, n) && n > 0;
      args.repeat = static_cast<int>(n);
    } else if (flag == "--latency-jobs") {
      ok = number(value, 10000000, n) && n > 0;
      args.latency_jobs = n;
    } else if (flag == "--warmup") {
      ok = number(value, 10000000, n);
      args.warmup = n;
    } else if (flag == "--slots") {
      ok = number(value, 1024, n) && n > 0;
      args.slots = static_cast<std::uint32_t>(n);
    } else if (flag == "--prefetch") {
      ok = number(value, 65536, n);
      args.prefetch = static_cast<std::uint32_t>(n);
    } else if (flag == "--workers") {
      ok = number(value, 64, n) && n > 0;
      args.workers = static_cast<int>(n);
    } else if (flag == "--raw-window") {
      ok = number(value, kRawWindow, n) && n > 0;
      args.raw_window = n;
    } else if (flag == "--raw-slots") {
      ok = number(value, 1000000, n) && n > 0;
      args.raw_slots.push_back(static_cast<std::uint32_t>(n));
    } else if (flag == "--timeout-s") {
      ok = number(value, 86400, n) && n > 0;
      args.timeout_s = static_cast<int>(n);
    } else if (flag == "--only") {
      std::string which = value;
      ok = which == "w1" || which == "w2";
      args.skip_w1 = which == "w2";
      args.skip_w2 = which == "w1";
    } else {
      std::fprintf(stderr, "corvee_bench: unknown option %s\n", flag.c_str());
      return false;
    }
    if (!ok) {
      std::fprintf(stderr, "corvee_bench: bad value for %s: %s\n", flag.c_str(), value);
      return false;
    }
  }
  return true;
}

// ---- the broker process ----

std::atomic<pid_t> g_broker_pid{0};  // read by the signal handler

void onSignal(int signal) {
  pid_t pid = g_broker_pid.load();
  if (pid > 0) kill(pid, SIGKILL);
  _exit(128 + signal);
}

std::string defaultCorveePath() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return "corvee";
  std::string path(self, static_cast<std::size_t>(n));
  // .../build/bench/corvee_bench -> .../build/corvee
  for (int up = 0; up < 2; ++up) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return "corvee";
    path.resize(slash);
  }
  return path + "/corvee";
}

// A broker started by us: killed by the destructor on every path out of main().
class BrokerProcess {
 public:
  BrokerProcess() = default;
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;
  ~BrokerProcess() { stop(); }

  // Starts `corvee broker` on port 0 and returns the endpoint it printed, or an error message.
  bool start(const std::string& binary, const std::string& store, std::string& endpoint, std::string& error) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      error = std::string("pipe: ") + std::strerror(errno);
      return false;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
      error = std::string("fork: ") + std::strerror(errno);
      close(out[0]);
      close(out[1]);
      return false;
    }
    if (pid == 0) {
      // Child: dies with the harness even if the harness crashes.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(out[1], STDOUT_FILENO);
      // No HTTP side: W1 and W2 measure the wire protocol, and a second broker would find port
      // 7680 taken. By the environment, which brokers older than --http ignore.
      setenv("CORVEE_HTTP", "off", 1);
      const char* argv[] = {binary.c_str(), "broker", "--bind", "tcp://127.0.0.1:0", "--store", store.c_str(),
                            "--log-level", "warn", nullptr};
      execv(binary.c_str(), const_cast<char* const*>(argv));
      std::fprintf(stderr, "corvee_bench: cannot run %s: %s\n", binary.c_str(), std::strerror(errno));
      _exit(127);
    }
    close(out[1]);
    pid_ = pid;
    g_broker_pid.store(pid);
    out_fd_ = out[0];
    // Read the "listening on" line, for at most 10 s.
    std::string line;
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        error = "the broker printed no 'listening on' line within 10 s";
        return false;
      }
      pollfd p{out_fd_, POLLIN, 0};
      int ready = poll(&p, 1, static_cast<int>(left));
      if (ready < 0 && errno != EINTR) {
        error = std::string("poll: ") + std::strerror(errno);
        return false;
      }
      if (ready <= 0) continue;
      char buf[512];
      ssize_t n = read(out_fd_, buf, sizeof(buf));
      if (n <= 0) {
        error = "the broker exited before listening (see its stderr above)";
        return false;
      }
      line.append(buf, static_cast<std::size_t>(n));
    }
    line.resize(line.find('\n'));
    const std::string marker = "listening on ";
    auto at = line.find(marker);
    if (at == std::string::npos) {
      error = "unexpected first line from the broker: " + line;
      return false;
    }
    auto from = at + marker.size();
    endpoint = line.substr(from, line.find(' ', from) - from);
    if (endpoint.rfind("tcp://", 0) != 0) {
      error = "cannot parse the endpoint in: " + line;
      return false;
    }
    // Anything else the broker prints to stdout is drained so it can never block on a full pipe.
    drain_ = std::thread([fd = out_fd_] {
      char buf[4096];
      while (read(fd, buf, sizeof(buf)) > 0) {
      }
    });
    return true;
  }

  // SIGTERM, up to 5 s for a clean exit, then SIGKILL. Returns a description of how it ended.
  std::string stop() {
    std::string how;
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      bool gone = false;
      for (int i = 0; i < 500 && !gone; ++i) {  // 500 x 10 ms
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_ || r < 0) {
          gone = true;
        } else {
          std::this_thread::sleep_for(milliseconds(10));
        }
      }
      if (!gone) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        how = "killed (SIGKILL) after not exiting on SIGTERM within 5 s";
      } else if (WIFEXITED(status)) {
        how = "exited with status " + std::to_string(WEXITSTATUS(status));
      } else if (WIFSIGNALED(status)) {
        how = "ended by signal " + std::to_string(WTERMSIG(status));
      }
      g_broker_pid.store(0);
      pid_ = 0;
    }
    if (drain_.joinable()) drain_.join();  // the pipe reached EOF when the broker exited
    if (out_fd_ >= 0) {
      close(out_fd_);
      out_fd_ = -1;
    }
    return how;
  }

  pid_t pid() const { return pid_; }

  // False once the broker we started has exited (it is then reaped). True when we started none.
  bool alive() {
    if (pid_ <= 0) return true;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == 0) return true;
    g_broker_pid.store(0);
    pid_ = 0;
    return false;
  }

 private:
  pid_t pid_ = 0;
  int out_fd_ = -1;
  std::thread drain_;
};

// ---- in-process workers ----

class WorkerPool {
 public:
  WorkerPool(const std::string& endpoint, int count, std::uint32_t slots, std::uint32_t prefetch, bool echo) {
    for (int i = 0; i < count; ++i) {
      corvee::WorkerOptions options;
      options.endpoint = endpoint;
      options.name = "bench-worker-" + std::to_string(i);
      options.slots = slots;
      options.prefetch = prefetch;
      options.connect_timeout = milliseconds(10000);
      options.tls_ca_file = g_tls.ca;
      options.tls_cert_file = g_tls.cert;
      options.tls_key_file = g_tls.key;
      auto worker = std::make_unique<corvee::Worker>(options);
      if (echo) {
        worker->handle(kTask, [](corvee::JobContext& job) -> corvee::Result<std::string> { return job.payload(); });
      } else {
        worker->handle(kTask, [](corvee::JobContext&) -> corvee::Result<std::string> { return std::string(); });
      }
      workers_.push_back(std::move(worker));
    }
    for (auto& worker : workers_) {
      threads_.emplace_back([w = worker.get()] {
        corvee::Status ran = w->run();
        if (!ran) std::fprintf(stderr, "corvee_bench: worker stopped: %s\n", ran.toString().c_str());
      });
    }
  }
  ~WorkerPool() {
    for (auto& worker : workers_) worker->stop();
    for (auto& thread : threads_) thread.join();  // run() drains, bounded by the worker's own limits
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

 private:
  std::vector<std::unique_ptr<corvee::Worker>> workers_;
  std::vector<std::thread> threads_;
};

// Waits (at most 10 s) until the broker lists `count` workers serving kTask.
bool waitForWorkers(corvee::Client& client, int count, std::string& error) {
  for (int i = 0; i < 200; ++i) {  // 200 x 50 ms
    auto stats = client.stats();
    if (!stats) {
      error = "STATS failed: " + stats.status().toString();
      return false;
    }
    auto doc = nlohmann::json::parse(*stats, nullptr, false);
    int seen = 0;
    if (doc.is_object() && doc.contains("workers") && doc["workers"].is_array()) {
      for (const auto& w : doc["workers"]) {
        if (!w.contains("tasks") || !w["tasks"].is_array()) continue;
        for (const auto& t : w["tasks"]) {
          if (t.is_string() && t.get<std::string>() == kTask) ++seen;
        }
      }
    }
    if (seen >= count) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  error = "the workers did not register with the broker within 10 s";
  return false;
}

std::unique_ptr<corvee::Client> connectClient(const std::string& endpoint, const std::string& name, std::string& error) {
  corvee::ClientOptions options;
  options.endpoint = endpoint;
  options.name = name;
  options.tls_ca_file = g_tls.ca;
  options.tls_cert_file = g_tls.cert;
  options.tls_key_file = g_tls.key;
  auto client = corvee::Client::connect(options);
  if (!client) {
    error = "cannot connect: " + client.status().toString();
    return nullptr;
  }
  return std::move(*client);
}

// ---- W1: throughput ----

struct ThroughputRun {
  double seconds = 0;         // first submit to last result
  double submit_seconds = 0;  // first submit to the return of the last submit()
  double jobs_per_second = 0;
  corvee::bench::CpuUse cpu;
};

// Counts completions from the client's network thread.
struct Tally {
  explicit Tally(std::size_t expected) : expected(expected) {}
  const std::size_t expected;
  std::atomic<std::size_t> done{0};
  std::atomic<std::size_t> failed{0};
  std::mutex mutex;
  std::condition_variable all_done;
  bool finished = false;            // guarded by mutex
  Clock::time_point last_result;    // guarded by mutex
  std::string first_error;          // guarded by mutex

  void onResult(const corvee::JobOutcome& outcome) {
    if (!outcome.succeeded()) {
      if (failed.fetch_add(1) == 0) {
        std::lock_guard lock(mutex);
        first_error = outcome.error_code + ": " + outcome.error_message;
      }
    }
    if (done.fetch_add(1) + 1 == expected) {
      auto now = Clock::now();
      std::lock_guard lock(mutex);
      last_result = now;
      finished = true;
      all_done.notify_all();
    }
  }
};

bool runThroughput(const std::string& endpoint, std::size_t jobs, const std::string& payload, int timeout_s,
                   BrokerProcess& broker, corvee::bench::CpuMeter& meter, ThroughputRun& run, std::string& error) {
  Tally tally(jobs);  // outlives the client: a closing client still calls the callbacks
  auto client = connectClient(endpoint, "bench-w1", error);
  if (!client) return false;
  meter.start();
  auto start = Clock::now();
  for (std::size_t i = 0; i < jobs; ++i) {
    client->submit(kTask, payload).onComplete([&tally](const corvee::JobOutcome& o) { tally.onResult(o); });
  }
  auto submitted = Clock::now();
  std::unique_lock lock(tally.mutex);
  const auto deadline = start + std::chrono::seconds(timeout_s);
  // Waits in slices so that a broker that died is noticed at once rather than at the deadline.
  while (!tally.finished) {
    bool timed_out = Clock::now() >= deadline;
    bool died = !timed_out && !broker.alive();
    if (timed_out || died) {
      error = "only " + std::to_string(tally.done.load()) + " of " + std::to_string(jobs) + " results " +
              (died ? std::string("when the broker exited") : "within " + std::to_string(timeout_s) + " s");
      lock.unlock();
      client.reset();
      return false;
    }
    tally.all_done.wait_until(lock, std::min(deadline, Clock::now() + milliseconds(200)));
  }
  auto last = tally.last_result;
  std::string first_error = tally.first_error;
  lock.unlock();
  run.cpu = meter.stop();
  if (tally.failed.load() > 0) {
    error = std::to_string(tally.failed.load()) + " jobs failed, first: " + first_error;
    return false;
  }
  run.seconds = duration<double>(last - start).count();
  run.submit_seconds = duration<double>(submitted - start).count();
  run.jobs_per_second = static_cast<double>(jobs) / run.seconds;
  return true;
}

// ---- W2: latency ----

struct LatencyFigures {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;  // microseconds
  corvee::bench::CpuUse cpu;
};

double percentile(const std::vector<double>& sorted, double p) {
  // Nearest rank: the smallest sample with at least p of the samples at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

LatencyFigures summarize(std::vector<double> samples) {
  LatencyFigures figures;
  double sum = 0;
  for (double s : samples) sum += s;
  std::sort(samples.begin(), samples.end());
  figures.mean = sum / static_cast<double>(samples.size());
  figures.p50 = percentile(samples, 0.50);
  figures.p90 = percentile(samples, 0.90);
  figures.p99 = percentile(samples, 0.99);
  figures.p999 = percentile(samples, 0.999);
  figures.max = samples.back();
  return figures;
}

bool runLatency(const std::string& endpoint, std::size_t jobs, std::size_t warmup, const std::string& payload,
                corvee::bench::CpuMeter& meter, LatencyFigures& figures, std::string& error) {
  auto client = connectClient(endpoint, "bench-w2", error);
  if (!client) return false;
  std::vector<double> samples;
  samples.reserve(jobs);
  const auto limit = milliseconds(10000);
  for (std::size_t i = 0; i < warmup + jobs; ++i) {
    if (i == warmup) meter.start();
    auto t0 = Clock::now();
    auto outcome = client->submit(kTask, payload).wait(limit);
    auto t1 = Clock::now();
    if (!outcome) {
      error = "job " + std::to_string(i) + ": " + outcome.status().toString();
      return false;
    }
    if (!outcome->succeeded()) {
      error = "job " + std::to_string(i) + " failed: " + outcome->error_code + ": " + outcome->error_message;
      return false;
    }
    if (i >= warmup) samples.push_back(duration<double, std::micro>(t1 - t0).count());
  }
  corvee::bench::CpuUse cpu = meter.stop();
  // Diagnostics: every sample in order, one per line, to see whether slow trips cluster in time.
  if (const char* dump = std::getenv("CORVEE_BENCH_LATENCY_DUMP")) {
    if (FILE* out = std::fopen(dump, "w")) {
      for (double sample : samples) std::fprintf(out, "%.1f\n", sample);
      std::fclose(out);
    }
  }
  figures = summarize(samples);
  figures.cpu = cpu;
  return true;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "corvee_bench: %s\n", what.c_str());
  return 1;
}

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// "broker 41% + bench 95% + other 3% of 2 CPUs (idle 30%)"
std::string describeCpu(const corvee::bench::CpuUse& cpu, bool broker_known) {
  auto pct = [&](double s) { return cpu.wall_s > 0 ? 100.0 * s / cpu.wall_s : 0.0; };
  char text[160];
  if (broker_known) {
    std::snprintf(text, sizeof(text), "cpu: broker %.0f%% + bench %.0f%% + other %.0f%% of %d CPUs (idle %.0f%%)",
                  pct(cpu.broker_s), pct(cpu.self_s), pct(cpu.other_s), cpu.cpus, 100.0 * cpu.idleShare());
  } else {
    std::snprintf(text, sizeof(text), "cpu: bench %.0f%% + other (broker included) %.0f%% of %d CPUs (idle %.0f%%)",
                  pct(cpu.self_s), pct(cpu.other_s), cpu.cpus, 100.0 * cpu.idleShare());
  }
  return text;
}

int benchMain(const Args& args) {
  BrokerProcess broker;
  std::string endpoint = args.connect;
  std::string error;
  if (endpoint.empty()) {
    std::string binary = args.corvee.empty() ? defaultCorveePath() : args.corvee;
    if (access(binary.c_str(), X_OK) != 0) return fail("no corvee binary at " + binary + " (give --corvee PATH)");
    if (!broker.start(binary, args.store, endpoint, error)) return fail(error);
    std::printf("broker: %s broker --bind tcp://127.0.0.1:0 --store %s (pid %d) on %s\n", binary.c_str(),
                args.store.c_str(), static_cast<int>(broker.pid()), endpoint.c_str());
  } else {
    std::printf("broker: already running at %s\n", endpoint.c_str());
  }
  const pid_t broker_pid = broker.pid() > 0 ? broker.pid() : static_cast<pid_t>(args.broker_pid);
  const bool broker_known = broker_pid > 0;
  double worst_other = 0;  // the largest share of a CPU other processes took during a measurement
  auto note = [&](const corvee::bench::CpuUse& cpu) {
    if (cpu.wall_s > 0) worst_other = std::max(worst_other, cpu.other_s / cpu.wall_s);
  };
  corvee::bench::CpuMeter meter(broker_pid);
  std::printf("workers: %d in-process, %u slots and prefetch %u each, handler returns %s\n", args.workers,
              args.slots, args.prefetch, args.echo ? "the payload" : "an empty result");
  std::printf("payload: %zu bytes; hardware threads: %u; load average at start: %s\n", args.payload,
              std::thread::hardware_concurrency(), loadAverage().c_str());
  std::fflush(stdout);

  const std::string payload(args.payload, 'x');
  std::vector<ThroughputRun> runs;
  std::optional<LatencyFigures> latency;
  {
    WorkerPool workers(endpoint, args.workers, args.slots, args.prefetch, args.echo);
    {
      auto probe = connectClient(endpoint, "bench-probe", error);
      if (!probe) return fail(error);
      if (!waitForWorkers(*probe, args.workers, error)) return fail(error);
    }
    if (args.warmup > 0) {
      ThroughputRun warm;
      if (!runThroughput(endpoint, args.warmup, payload, args.timeout_s, broker, meter, warm, error)) {
        return fail("warm-up: " + error);
      }
    }
    if (!args.skip_w1) {
      for (int r = 0; r < args.repeat; ++r) {
        ThroughputRun run;
        if (!runThroughput(endpoint, args.jobs, payload, args.timeout_s, broker, meter, run, error)) {
          return fail("W1 run " + std::to_string(r + 1) + ": " + error);
        }
        std::printf("W1 run %d/%d: %zu jobs in %.3f s (all submitted after %.3f s): %.0f jobs/s; %s\n", r + 1,
                    args.repeat, args.jobs, run.seconds, run.submit_seconds, run.jobs_per_second,
                    describeCpu(run.cpu, broker_known).c_str());
        std::fflush(stdout);
        note(run.cpu);
        runs.push_back(run);
      }
    }
    if (!args.skip_w2) {
      LatencyFigures figures;
      if (!runLatency(endpoint, args.latency_jobs, std::min<std::size_t>(args.warmup, 500), payload, meter, figures,
                      error)) {
        return fail("W2: " + error);
      }
      std::printf("W2: %zu jobs one at a time in %.3f s; %s\n", args.latency_jobs, figures.cpu.wall_s,
                  describeCpu(figures.cpu, broker_known).c_str());
      note(figures.cpu);
      latency = figures;
    }
  }  // workers drain and stop here

  // The raw probes run with the library workers gone, so the broker deals only to the raw worker.
  struct RawFigures {
    std::optional<LatencyFigures> latency;
    std::vector<std::pair<std::uint32_t, corvee::bench::RawThroughput>> throughput;  // by slots
  } raw;
  if (args.raw) {
    if (!args.skip_w1) {
      std::vector<std::uint32_t> slot_counts = args.raw_slots;
      if (slot_counts.empty()) {
        slot_counts.push_back(args.slots * static_cast<std::uint32_t>(args.workers));
        if (slot_counts[0] < 1024) slot_counts.push_back(1024);
      }
      for (std::uint32_t slots : slot_counts) {
        corvee::bench::RawThroughput run;
        meter.start();
        if (!corvee::bench::rawThroughput(endpoint, args.jobs, payload, slots, args.raw_window, args.timeout_s, run,
                                          error)) {
          return fail("W1 raw: " + error);
        }
        std::printf("W1 raw, %u slots: %zu jobs in %.3f s: %.0f jobs/s; %s\n", slots, args.jobs, run.seconds,
                    run.jobs_per_second, describeCpu(meter.stop(), broker_known).c_str());
        raw.throughput.emplace_back(slots, run);
      }
    }
    if (!args.skip_w2) {
      std::vector<double> samples;
      meter.start();
      if (!corvee::bench::rawLatency(endpoint, args.latency_jobs, std::min<std::size_t>(args.warmup, 500), payload,
                                     samples, error)) {
        return fail("W2 raw: " + error);
      }
      auto cpu = meter.stop();
      std::printf("W2 raw: %zu jobs one at a time; %s\n", args.latency_jobs, describeCpu(cpu, broker_known).c_str());
      raw.latency = summarize(samples);
    }
  }

  std::string ended = broker.stop();
  if (!ended.empty()) std::printf("broker: %s\n", ended.c_str());
  std::printf("load average at end: %s\n", loadAverage().c_str());

  std::printf("\n");
  std::printf("%-36s %14s\n", "figure", "value");
  std::printf("%-36s %14s\n", "------------------------------------", "--------------");
  if (!runs.empty()) {
    std::vector<ThroughputRun> sorted = runs;
    std::sort(sorted.begin(), sorted.end(),
              [](const ThroughputRun& a, const ThroughputRun& b) { return a.jobs_per_second < b.jobs_per_second; });
    const ThroughputRun& mid = sorted[(sorted.size() - 1) / 2];  // the lower middle when even
    double median = mid.jobs_per_second;
    if (sorted.size() % 2 == 0) median = (median + sorted[sorted.size() / 2].jobs_per_second) / 2;
    char label[64];
    std::snprintf(label, sizeof(label), "W1 throughput (median of %zu)", sorted.size());
    std::printf("%-36s %9.0f jobs/s\n", label, median);
    std::printf("%-36s %9.0f .. %.0f jobs/s\n", "W1 min .. max", sorted.front().jobs_per_second,
                sorted.back().jobs_per_second);
    double jobs = static_cast<double>(args.jobs);
    if (broker_known) std::printf("%-36s %9.2f us/job\n", "W1 broker CPU (median run)", 1e6 * mid.cpu.broker_s / jobs);
    std::printf("%-36s %9.2f us/job\n", "W1 client+worker CPU (median run)", 1e6 * mid.cpu.self_s / jobs);
    std::printf("%-36s %9.0f %%\n", "W1 machine idle (median run)", 100.0 * mid.cpu.idleShare());
    std::printf("%-36s %9.0f %%\n", "W1 other processes (median run)",
                mid.cpu.wall_s > 0 ? 100.0 * mid.cpu.other_s / mid.cpu.wall_s : 0.0);
  }
  if (latency) {
    std::printf("%-36s %11.1f us\n", "W2 latency p50", latency->p50);
    std::printf("%-36s %11.1f us\n", "W2 latency p90", latency->p90);
    std::printf("%-36s %11.1f us\n", "W2 latency p99", latency->p99);
    std::printf("%-36s %11.1f us\n", "W2 latency p99.9", latency->p999);
    std::printf("%-36s %11.1f us\n", "W2 latency max", latency->max);
    std::printf("%-36s %11.1f us\n", "W2 latency mean", latency->mean);
  }
  if (args.raw) {
    for (const auto& [slots, run] : raw.throughput) {
      char label[64];
      std::snprintf(label, sizeof(label), "W1 raw, worker with %u slots", slots);
      std::printf("%-36s %9.0f jobs/s\n", label, run.jobs_per_second);
    }
    if (raw.latency) {
      std::printf("%-36s %11.1f us\n", "W2 raw latency p50", raw.latency->p50);
      std::printf("%-36s %11.1f us\n", "W2 raw latency p99", raw.latency->p99);
      std::printf("%-36s %11.1f us\n", "W2 raw latency p99.9", raw.latency->p999);
    }
  }

  std::printf("\n");
  if (!runs.empty()) {
    std::vector<double> rates;
    for (const auto& run : runs) rates.push_back(run.jobs_per_second);
    std::sort(rates.begin(), rates.end());
    double median = rates[(rates.size() - 1) / 2];
    if (rates.size() % 2 == 0) median = (median + rates[rates.size() / 2]) / 2;
    std::printf("RESULT W1 corvee %s %.0f jobs/s\n", args.store.c_str(), median);
  }
  if (latency) {
    std::printf("RESULT W2 corvee %s %.1f us-p50\n", args.store.c_str(), latency->p50);
    std::printf("RESULT W2 corvee %s %.1f us-p99\n", args.store.c_str(), latency->p99);
    std::printf("RESULT W2 corvee %s %.1f us-p999\n", args.store.c_str(), latency->p999);
  }
  for (const auto& [slots, run] : raw.throughput) {
    std::printf("DIAG W1-raw corvee %s %.0f jobs/s slots=%u\n", args.store.c_str(), run.jobs_per_second, slots);
  }
  if (raw.latency) {
    std::printf("DIAG W2-raw corvee %s %.1f us-p50\n", args.store.c_str(), raw.latency->p50);
    std::printf("DIAG W2-raw corvee %s %.1f us-p99\n", args.store.c_str(), raw.latency->p99);
  }
  if (worst_other > 0.10) {
    std::printf("WARNING: other processes took up to %.0f%% of a CPU during a measurement; the figures are "
                "disturbed\n",
                100.0 * worst_other);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parseArgs(argc, argv, args)) {
    usage();
    return 2;
  }
  if ((!g_tls.ca.empty() || !g_tls.cert.empty()) && (args.raw || args.connect.empty())) {
    std::fprintf(stderr, "corvee_bench: --tls-* needs --connect (a broker run with --tls-cert) and no --raw\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);  // the libraries' info lines would mix with the table
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return benchMain(args);
}
