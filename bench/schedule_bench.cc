// schedule_bench: how late scheduled jobs start (issue 11: 1,000,000 jobs spread over a minute,
// p99 lateness at most 10 ms). bench/schedule runs it against a fresh broker, alone and beside W1.
//
// The client submits N jobs of task "sched" with run_at times spread evenly over --spread-s
// seconds, starting --lead-s seconds after the start (time enough to submit them all). Each
// payload is its job's run_at in Unix milliseconds. An in-process worker notes, as each handler
// starts, how far past its run_at it is: that lateness includes the broker's timer, its dealing and
// the trip to the worker, which is what a user of `--at` sees. Lateness is measured in whole
// milliseconds of the wall clock that both sides share.
#include <corvee/client.h>
#include <corvee/worker.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using std::chrono::milliseconds;

std::int64_t wallMillis() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Args {
  std::string endpoint;
  std::uint64_t jobs = 1'000'000;
  std::uint64_t spread_s = 60;
  std::uint64_t lead_s = 20;
  std::uint32_t slots = 4;
};

bool parse(int argc, char** argv, Args& args) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--connect") {
      args.endpoint = value;
    } else if (flag == "--jobs") {
      args.jobs = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--spread-s") {
      args.spread_s = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--lead-s") {
      args.lead_s = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--slots") {
      args.slots = static_cast<std::uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
    } else {
      return false;
    }
  }
  return !args.endpoint.empty() && args.jobs > 0 && args.spread_s > 0 && args.slots > 0;
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
  auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: schedule_bench --connect tcp://HOST:PORT [--jobs N] [--spread-s S] [--lead-s S] [--slots K]\n");
    return 2;
  }
  std::vector<std::int64_t> lateness(args.jobs, 0);
  std::atomic<std::uint64_t> started{0};

  corvee::WorkerOptions worker_options;
  worker_options.endpoint = args.endpoint;
  worker_options.name = "schedule-bench-worker";
  worker_options.slots = args.slots;
  worker_options.prefetch = args.slots * 4;
  corvee::Worker worker(worker_options);
  worker.handle("sched", [&](corvee::JobContext& job) -> corvee::Result<std::string> {
    std::int64_t late = wallMillis() - std::strtoll(job.payload().c_str(), nullptr, 10);
    std::uint64_t slot = started.fetch_add(1);
    if (slot < lateness.size()) lateness[slot] = late;
    return std::string();
  });
  std::thread worker_thread([&] {
    corvee::Status ran = worker.run();
    if (!ran) std::fprintf(stderr, "schedule_bench: worker stopped: %s\n", ran.toString().c_str());
  });

  auto client = corvee::Client::connect({.endpoint = args.endpoint});
  if (!client) {
    std::fprintf(stderr, "schedule_bench: %s\n", client.status().toString().c_str());
    worker.stop();
    worker_thread.join();
    return 3;
  }
  std::int64_t first = wallMillis() + static_cast<std::int64_t>(args.lead_s * 1000);
  double step_ms = static_cast<double>(args.spread_s * 1000) / static_cast<double>(args.jobs);
  std::vector<corvee::JobHandle> handles;
  handles.reserve(args.jobs);
  for (std::uint64_t i = 0; i < args.jobs; ++i) {
    std::int64_t run_at = first + static_cast<std::int64_t>(static_cast<double>(i) * step_ms);
    corvee::SubmitOptions options;
    options.run_at = std::chrono::system_clock::time_point(milliseconds(run_at));
    handles.push_back((*client)->submit("sched", std::to_string(run_at), options));
  }
  std::uint64_t refused = 0;
  for (auto& handle : handles) refused += handle.id() ? 0 : 1;
  std::int64_t submitted_by = wallMillis();
  std::printf("submitted %llu jobs in %.1f s (%llu refused); the first is due %.1f s after the start\n",
              static_cast<unsigned long long>(args.jobs),
              static_cast<double>(submitted_by - (first - static_cast<std::int64_t>(args.lead_s * 1000))) / 1000.0,
              static_cast<unsigned long long>(refused), static_cast<double>(args.lead_s));
  if (submitted_by > first) std::printf("WARNING: submitting took longer than --lead-s; early jobs are late by that\n");
  for (auto& handle : handles) {
    if (handle.id()) (void)handle.wait(milliseconds(args.spread_s * 1000 + 600'000));
  }
  worker.stop();
  worker_thread.join();

  std::uint64_t count = std::min<std::uint64_t>(started.load(), lateness.size());
  lateness.resize(count);
  if (lateness.empty()) {
    std::printf("no job ran\n");
    return 1;
  }
  std::sort(lateness.begin(), lateness.end());
  std::printf("ran %llu jobs; lateness ms: min %lld p50 %lld p90 %lld p99 %lld p99.9 %lld max %lld\n",
              static_cast<unsigned long long>(count), static_cast<long long>(lateness.front()),
              static_cast<long long>(percentile(lateness, 0.5)), static_cast<long long>(percentile(lateness, 0.9)),
              static_cast<long long>(percentile(lateness, 0.99)), static_cast<long long>(percentile(lateness, 0.999)),
              static_cast<long long>(lateness.back()));
  std::printf("RESULT schedule p99_lateness_ms %lld\n", static_cast<long long>(percentile(lateness, 0.99)));
  return 0;
}
