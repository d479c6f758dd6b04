// The C++ example of README.md ("The C++ library"): a worker and a client in one program.
// Usage: consumer [ENDPOINT]; prints the job's result.
#include <corvee/client.h>
#include <corvee/worker.h>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  const std::string endpoint = argc > 1 ? argv[1] : "tcp://127.0.0.1:7600";

  // A worker with four slots. run() blocks until stop(), so it gets a thread of its own.
  corvee::Worker worker({.endpoint = endpoint, .slots = 4});
  worker.handle("greet", [](corvee::JobContext& job) -> corvee::Result<std::string> {
    return "hello, " + job.payload();
  });
  corvee::Status worker_status;
  std::thread worker_thread([&] { worker_status = worker.run(); });
  auto stop_worker = [&] {
    worker.stop();  // drains: running jobs finish, then run() returns
    worker_thread.join();
    if (!worker_status) std::cerr << "worker: " << worker_status.toString() << "\n";
    return worker_status.isOk();
  };

  // A client: submit returns at once; thousands may be in flight.
  auto client = corvee::Client::connect({.endpoint = endpoint});
  if (!client) {
    std::cerr << "connect: " << client.status().toString() << "\n";
    stop_worker();
    return 1;
  }
  corvee::JobHandle job = (*client)->submit("greet", "world", {.timeout = std::chrono::seconds(5)});
  job.onComplete([](const corvee::JobOutcome& o) {  // called once, on the client's thread
    std::clog << "job " << o.id << " finished\n";
  });
  corvee::Result<corvee::JobOutcome> outcome = job.wait(std::chrono::seconds(10));
  if (!outcome) {
    std::cerr << "wait: " << outcome.status().toString() << "\n";  // refused, unreachable, wait_timeout
    stop_worker();
    return 1;
  }
  if (!outcome->succeeded()) {
    std::cerr << "job failed: " << outcome->error_code << ": " << outcome->error_message << "\n";
    stop_worker();
    return 1;
  }
  std::cout << outcome->result << "\n";  // hello, world
  return stop_worker() ? 0 : 1;
}
