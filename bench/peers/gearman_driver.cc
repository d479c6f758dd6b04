// Gearman driver: libgearman (the C library shipped with gearmand). One client plus --consumers
// worker threads, each with its own gearman_worker_st and connection, in this one process.
//
//  W1  The client submits background jobs in batches of 1,000 (add_task_background, then one
//      run_tasks: the submissions of a batch go out back to back and their JOB_CREATED replies are
//      read together). Each worker runs a no-op function; a job counts as completed when the
//      function returns (libgearman then sends WORK_COMPLETE on its own). The Gearman worker
//      protocol takes one job per GRAB_JOB: there is no prefetch knob.
//  W2  A foreground job (gearman_client_do): the worker's result travels back to the submitting
//      client through gearmand. One trip = SUBMIT_JOB -> worker -> WORK_COMPLETE -> client.
//  W3  Background jobs into a function no worker serves.
//
// Durable mode is the server's (--queue-type libsqlite3): gearmand persists background jobs only,
// so W2's foreground jobs are never durable and the harness does not run W2 durable.
#include <libgearman-1.0/gearman.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "driver_common.h"

namespace {

constexpr const char* kSystem = "gearman";
constexpr long kBatch = 1000;  // background submissions per run_tasks

using peers::Options;

struct WorkerContext {
  peers::Counter* done;
  bool reply;  // W2: return a small result, as the other peers' replies
};

void* noop(gearman_job_st*, void* context, size_t* result_size, gearman_return_t* ret) {
  auto* ctx = static_cast<WorkerContext*>(context);
  *ret = GEARMAN_SUCCESS;
  ctx->done->add();
  if (!ctx->reply) {
    *result_size = 0;
    return nullptr;
  }
  *result_size = 2;
  return ::strdup("ok");  // libgearman frees the result with free()
}

// --consumers worker threads serving `function` until destroyed.
class Workers {
 public:
  Workers(const Options& o, const std::string& function, peers::Counter& done, bool reply)
      : ctx_{&done, reply} {
    peers::Counter registered;
    registered.reset(o.consumers);
    for (int i = 0; i < o.consumers; ++i) {
      threads_.emplace_back([this, &o, function, &registered] {
        gearman_worker_st* w = gearman_worker_create(nullptr);
        if (w == nullptr) peers::die(kSystem, "gearman_worker_create failed");
        if (gearman_worker_add_server(w, o.host.c_str(), static_cast<in_port_t>(o.port)) != GEARMAN_SUCCESS) {
          peers::die(kSystem, std::string("worker add_server: ") + gearman_worker_error(w));
        }
        gearman_worker_add_function(w, function.c_str(), 0, noop, &ctx_);
        // Connect and register (CAN_DO) before the client submits: an echo round trip forces the
        // connection, and the function list goes out with it. A durable gearmand may still be
        // busy deleting the previous run's jobs from SQLite, hence the generous timeout here.
        gearman_worker_set_timeout(w, 60000);
        if (gearman_worker_echo(w, "x", 1) != GEARMAN_SUCCESS) {
          peers::die(kSystem, std::string("worker echo: ") + gearman_worker_error(w));
        }
        // From here the timeout only bounds how long an idle worker takes to see the stop flag.
        gearman_worker_set_timeout(w, 100);
        registered.add();
        while (!stop_.load(std::memory_order_relaxed)) {
          gearman_return_t ret = gearman_worker_work(w);
          if (ret == GEARMAN_SUCCESS || ret == GEARMAN_TIMEOUT || ret == GEARMAN_IO_WAIT ||
              ret == GEARMAN_NO_JOBS || ret == GEARMAN_NO_ACTIVE_FDS) {
            continue;
          }
          peers::die(kSystem, std::string("worker: ") + gearman_worker_error(w));
        }
        gearman_worker_free(w);
      });
    }
    registered.wait(std::chrono::seconds(30), kSystem);
  }
  ~Workers() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }

 private:
  WorkerContext ctx_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

gearman_client_st* connect_client(const Options& o) {
  gearman_client_st* c = gearman_client_create(nullptr);
  if (c == nullptr) peers::die(kSystem, "gearman_client_create failed");
  if (gearman_client_add_server(c, o.host.c_str(), static_cast<in_port_t>(o.port)) != GEARMAN_SUCCESS) {
    peers::die(kSystem, std::string("client add_server: ") + gearman_client_error(c));
  }
  return c;
}

// Submits `n` background jobs for `function`, kBatch per run_tasks, and returns once gearmand has
// acknowledged (JOB_CREATED) every one.
void submit_background(gearman_client_st* c, const std::string& function, long n, const std::string& body) {
  for (long sent = 0; sent < n;) {
    long k = std::min(kBatch, n - sent);
    for (long i = 0; i < k; ++i) {
      gearman_return_t ret;
      // No unique id: gearmand then never merges two submissions into one job.
      gearman_client_add_task_background(c, nullptr, nullptr, function.c_str(), nullptr, body.data(), body.size(), &ret);
      if (ret != GEARMAN_SUCCESS) peers::die(kSystem, std::string("add_task_background: ") + gearman_client_error(c));
    }
    gearman_return_t ret = gearman_client_run_tasks(c);
    if (ret != GEARMAN_SUCCESS) peers::die(kSystem, std::string("run_tasks: ") + gearman_client_error(c));
    gearman_client_task_free_all(c);
    sent += k;
  }
}

void w1(const Options& o) {
  const std::string body = peers::make_payload(o.payload);
  peers::Counter done;
  gearman_client_st* client = connect_client(o);
  peers::run_w1(o, kSystem, [&](long jobs, const std::string& function) {
    done.reset(jobs);
    Workers workers(o, function, done, false);
    auto t0 = peers::Clock::now();
    submit_background(client, function, jobs, body);
    done.wait(std::chrono::seconds(o.timeout_s), kSystem);
    return std::chrono::duration<double>(peers::Clock::now() - t0).count();
  });
  gearman_client_free(client);
}

void w2(const Options& o) {
  const std::string body = peers::make_payload(o.payload);
  const std::string function = "w2-" + std::to_string(::getpid());
  peers::Counter done;
  Workers workers(o, function, done, true);
  gearman_client_st* client = connect_client(o);
  peers::run_w2(o, kSystem,
                "foreground SUBMIT_JOB -> gearmand -> a worker -> WORK_COMPLETE with the result -> "
                "gearmand -> the submitting client (gearman_client_do returns)",
                [&] {
                  size_t size = 0;
                  gearman_return_t ret;
                  void* result = gearman_client_do(client, function.c_str(), nullptr, body.data(), body.size(), &size, &ret);
                  if (ret != GEARMAN_SUCCESS) peers::die(kSystem, std::string("do: ") + gearman_client_error(client));
                  auto arrived = peers::Clock::now();
                  std::free(result);
                  return arrived;
                });
  gearman_client_free(client);
}

void w3(const Options& o) {
  gearman_client_st* client = connect_client(o);
  auto t0 = peers::Clock::now();
  submit_background(client, "w3-" + std::to_string(::getpid()), o.jobs, peers::make_payload(o.payload));
  peers::report_fill(kSystem, o, std::chrono::duration<double>(peers::Clock::now() - t0).count());
  gearman_client_free(client);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = peers::parse_options(argc, argv, kSystem);
  if (o.workload == "W1") w1(o);
  else if (o.workload == "W2") w2(o);
  else w3(o);
  return 0;
}
