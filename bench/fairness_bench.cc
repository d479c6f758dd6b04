// fairness_bench: how long jobs of small keys wait behind one flooding key (issue 11: with one key
// holding 100,000 queued jobs and nine keys submitting one job a second, the nine keys' jobs wait
// no longer than one job's run time). bench/fairness runs it against a fresh broker.
//
// The client first submits --flood jobs of key "flood" to task "fair" and waits until the broker
// has them all; an in-process worker with --slots slots (no prefetch) runs every job for
// --run-ms. Then nine keys ("tenant-1".."tenant-9") each submit one job a second for --duration-s
// seconds, spread evenly over each second. Each tenant payload is its submission time on the
// steady clock, which the worker's handler (in the same process) reads when the job starts: the
// wait is queueing in the broker plus the trips there and back, what a tenant sees. With
// --no-keys every job is submitted without a key, for comparison: the tenants then wait behind the
// whole flood, and the bench reports how many of them started at all within the run.
#include <corvee/client.h>
#include <corvee/worker.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Steady = std::chrono::steady_clock;

std::int64_t steadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Steady::now().time_since_epoch()).count();
}

struct Args {
  std::string endpoint;
  std::uint64_t flood = 100'000;
  std::uint64_t keys = 9;
  std::uint64_t duration_s = 30;
  std::uint64_t run_ms = 20;
  std::uint32_t slots = 4;
  bool keyed = true;
};

bool parse(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--no-keys") {
      args.keyed = false;
      continue;
    }
    if (i + 1 >= argc) return false;
    std::string value = argv[++i];
    auto number = [&] { return std::strtoull(value.c_str(), nullptr, 10); };
    if (flag == "--connect") {
      args.endpoint = value;
    } else if (flag == "--flood") {
      args.flood = number();
    } else if (flag == "--keys") {
      args.keys = number();
    } else if (flag == "--duration-s") {
      args.duration_s = number();
    } else if (flag == "--run-ms") {
      args.run_ms = number();
    } else if (flag == "--slots") {
      args.slots = static_cast<std::uint32_t>(number());
    } else {
      return false;
    }
  }
  return !args.endpoint.empty() && args.keys > 0 && args.duration_s > 0 && args.slots > 0;
}

double percentileMs(const std::vector<std::int64_t>& sorted_us, double p) {
  auto index = static_cast<std::size_t>(p * static_cast<double>(sorted_us.size() - 1));
  return static_cast<double>(sorted_us[index]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: fairness_bench --connect tcp://HOST:PORT [--flood N] [--keys K] [--duration-s S] "
                 "[--run-ms MS] [--slots N] [--no-keys]\n");
    return 2;
  }
  std::mutex mutex;
  std::vector<std::int64_t> waits_us;  // tenants' jobs, guarded by mutex
  std::atomic<std::uint64_t> flood_started{0};

  corvee::WorkerOptions worker_options;
  worker_options.endpoint = args.endpoint;
  worker_options.name = "fairness-bench-worker";
  worker_options.slots = args.slots;
  corvee::Worker worker(worker_options);
  worker.handle("fair", [&](corvee::JobContext& job) -> corvee::Result<std::string> {
    const std::string& payload = job.payload();
    if (!payload.empty() && payload[0] == 't') {
      std::int64_t waited = steadyMicros() - std::strtoll(payload.c_str() + 1, nullptr, 10);
      std::lock_guard lock(mutex);
      waits_us.push_back(waited);
    } else {
      flood_started.fetch_add(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(args.run_ms));
    return std::string();
  });

  auto client = corvee::Client::connect({.endpoint = args.endpoint});
  if (!client) {
    std::fprintf(stderr, "fairness_bench: %s\n", client.status().toString().c_str());
    return 3;
  }
  // The flood is all queued before the worker starts, as a backlog a tenant finds.
  auto flood_start = Steady::now();
  {
    corvee::SubmitOptions options;
    if (args.keyed) options.fair_key = "flood";
    std::vector<corvee::JobHandle> handles;
    handles.reserve(args.flood);
    for (std::uint64_t i = 0; i < args.flood; ++i) handles.push_back((*client)->submit("fair", "f", options));
    std::uint64_t refused = 0;
    for (auto& handle : handles) refused += handle.id() ? 0 : 1;
    std::printf("queued %llu flood jobs in %.1f s (%llu refused)\n", static_cast<unsigned long long>(args.flood),
                std::chrono::duration<double>(Steady::now() - flood_start).count(),
                static_cast<unsigned long long>(refused));
  }
  std::thread worker_thread([&] {
    corvee::Status ran = worker.run();
    if (!ran) std::fprintf(stderr, "fairness_bench: worker stopped: %s\n", ran.toString().c_str());
  });
  // Let the worker reach full speed on the flood first.
  std::this_thread::sleep_for(std::chrono::seconds(1));

  std::uint64_t total = args.keys * args.duration_s;
  auto start = Steady::now();
  auto gap = std::chrono::microseconds(1'000'000 / args.keys);
  std::vector<corvee::JobHandle> tenants;
  tenants.reserve(total);
  for (std::uint64_t i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + gap * i);
    corvee::SubmitOptions options;
    if (args.keyed) options.fair_key = "tenant-" + std::to_string(i % args.keys + 1);
    tenants.push_back((*client)->submit("fair", "t" + std::to_string(steadyMicros()), options));
  }
  // Wait for the tenants' jobs: a few seconds past the run with keys; without them they sit
  // behind the flood, so only what started within that grace counts.
  auto grace = Steady::now() + std::chrono::seconds(5);
  for (auto& handle : tenants) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(grace - Steady::now());
    if (left.count() <= 0 || !handle.id()) break;
    (void)handle.wait(left);
  }
  double window_s = std::chrono::duration<double>(Steady::now() - start).count();
  worker.stop();
  worker_thread.join();

  std::vector<std::int64_t> waits;
  {
    std::lock_guard lock(mutex);
    waits = waits_us;
  }
  std::sort(waits.begin(), waits.end());
  std::printf("%s: %u slots, %llu ms per job; %llu flood jobs started in %.1f s while %llu keys submitted "
              "1 job/s for %llu s\n",
              args.keyed ? "with keys" : "without keys", args.slots, static_cast<unsigned long long>(args.run_ms),
              static_cast<unsigned long long>(flood_started.load()), window_s,
              static_cast<unsigned long long>(args.keys), static_cast<unsigned long long>(args.duration_s));
  std::printf("tenants' jobs started: %zu of %llu\n", waits.size(), static_cast<unsigned long long>(total));
  if (waits.empty()) {
    std::printf("RESULT fairness started 0\n");
    return args.keyed ? 1 : 0;
  }
  std::printf("tenants' wait ms: p50 %.2f p90 %.2f p99 %.2f max %.2f (job run time %llu ms)\n",
              percentileMs(waits, 0.5), percentileMs(waits, 0.9), percentileMs(waits, 0.99),
              static_cast<double>(waits.back()) / 1000.0, static_cast<unsigned long long>(args.run_ms));
  std::printf("RESULT fairness p50_ms %.2f p99_ms %.2f max_ms %.2f run_ms %llu started %zu/%llu\n",
              percentileMs(waits, 0.5), percentileMs(waits, 0.99), static_cast<double>(waits.back()) / 1000.0,
              static_cast<unsigned long long>(args.run_ms), waits.size(), static_cast<unsigned long long>(total));
  return 0;
}
