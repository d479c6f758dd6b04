// A real broker and an in-process corvee::Worker with prefetch: the worker holds jobs beyond its
// slots, the broker reports them apart from the running ones, and they run in the order dealt
// (the order the broker's prefetch model assumes). Handlers block on a gate the test opens, so
// nothing here depends on the machine's speed.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "corvee/client.h"
#include "corvee/worker.h"
#include "support/process.h"

namespace corvee::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Handlers wait here until the test opens it; the payloads they saw are kept in start order.
class Gate {
 public:
  Result<std::string> pass(JobContext& job) {
    std::unique_lock lock(mutex_);
    started_.push_back(job.payload());
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    return job.payload();
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  bool waitStarted(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 20s, [&] { return started_.size() >= count; });
  }
  std::vector<std::string> started() {
    std::lock_guard lock(mutex_);
    return started_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> started_;
  bool open_ = false;
};

TEST(WorkerPrefetchTest, HeldJobsShowAsPrefetchedAndRunInTheOrderDealt) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  WorkerOptions worker_options;
  worker_options.endpoint = broker.endpoint();
  worker_options.name = "prefetcher";
  worker_options.slots = 1;
  worker_options.prefetch = 2;
  worker_options.connect_timeout = 10s;
  Worker worker(worker_options);
  Gate gate;
  worker.handle("hold", [&gate](JobContext& job) { return gate.pass(job); });
  Status worker_status;
  std::thread worker_thread([&] { worker_status = worker.run(); });
  struct StopWorker {
    Worker& worker;
    Gate& gate;
    std::thread& thread;
    ~StopWorker() {
      gate.open();
      worker.stop();
      thread.join();
    }
  } stop_worker{worker, gate, worker_thread};
  ASSERT_TRUE(waitForWorkers(broker.endpoint(), 1));

  ClientOptions client_options;
  client_options.endpoint = broker.endpoint();
  client_options.connect_timeout = 10s;
  auto client = Client::connect(client_options);
  ASSERT_TRUE(client) << client.status().toString();
  std::vector<JobHandle> jobs;
  for (const char* payload : {"first", "second", "third", "fourth"}) jobs.push_back((*client)->submit("hold", payload));

  // One job in the slot, two in the prefetch, the fourth still queued at the broker.
  ASSERT_TRUE(gate.waitStarted(1));
  json worker_doc;
  bool seen = false;
  for (int i = 0; i < 400 && !seen; ++i) {
    auto text = (*client)->stats();
    ASSERT_TRUE(text) << text.status().toString();
    json doc = json::parse(*text);
    worker_doc = doc["workers"].at(0);
    seen = worker_doc["busy"] == 1 && worker_doc["prefetched"] == 2 && doc["jobs"]["queued"] == 1;
    if (!seen) std::this_thread::sleep_for(25ms);
  }
  EXPECT_TRUE(seen) << worker_doc.dump();
  EXPECT_EQ(worker_doc["prefetch"], 2) << worker_doc.dump();
  EXPECT_EQ(gate.started(), std::vector<std::string>{"first"}) << "the prefetched jobs wait for the slot";

  gate.open();
  for (JobHandle& job : jobs) {
    auto outcome = job.wait(20s);
    ASSERT_TRUE(outcome) << outcome.status().toString();
    EXPECT_TRUE(outcome->succeeded()) << outcome->error_code << ": " << outcome->error_message;
  }
  EXPECT_EQ(gate.started(), (std::vector<std::string>{"first", "second", "third", "fourth"}));
}

}  // namespace
}  // namespace corvee::testing
