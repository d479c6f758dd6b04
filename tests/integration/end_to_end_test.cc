// End to end: a real broker, real `corvee worker --builtin` processes, and in-process
// corvee::Client instances (include/corvee/client.h) driving many jobs at once.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

#include "corvee/client.h"
#include "corvee/errors.h"
#include "support/process.h"

namespace corvee::testing {
namespace {

using nlohmann::json;

class EndToEndTest : public ::testing::Test {
 protected:
  // A broker and `count` builtin workers named w1, w2, ... with `slots` each.
  void startCluster(int count, int slots) {
    ASSERT_TRUE(broker_.start());
    workers_.resize(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(workers_[static_cast<std::size_t>(i)].start(broker_.endpoint(), slots,
                                                               {"--name", "w" + std::to_string(i + 1)}));
    }
    ASSERT_TRUE(waitForWorkers(broker_.endpoint(), static_cast<std::size_t>(count)));
  }

  std::unique_ptr<Client> connect(const std::string& name) {
    ClientOptions options;
    options.endpoint = broker_.endpoint();
    options.name = name;
    options.connect_timeout = std::chrono::seconds(10);
    auto client = Client::connect(options);
    EXPECT_TRUE(client) << client.status().toString();
    return client ? std::move(*client) : nullptr;
  }

  json stats(Client& client) {
    Result<std::string> text = client.stats();
    EXPECT_TRUE(text) << text.status().toString();
    if (!text) return json::object();
    json doc = json::parse(*text, nullptr, false);
    EXPECT_TRUE(doc.is_object()) << *text;
    return doc.is_object() ? doc : json::object();
  }

  BrokerProcess broker_;
  std::vector<WorkerProcess> workers_;
};

// Per job: its handle, the payload it carried, and what its onComplete callback saw.
struct Tracked {
  std::string payload;
  std::optional<JobHandle> handle;
  std::atomic<int> callbacks{0};
  JobOutcome seen;  // written once by the callback, read after all callbacks arrived
};

TEST_F(EndToEndTest, FiveThousandJobsFromTwoClientsFinishExactlyOnceWithTheirOwnPayloads) {
  startCluster(2, 4);
  auto first = connect("client-1");
  auto second = connect("client-2");
  ASSERT_TRUE(first && second);
  constexpr int kPerClient = 2500;
  constexpr int kTotal = 2 * kPerClient;
  std::vector<Tracked> jobs(kTotal);
  std::mutex mutex;
  std::condition_variable all_done;
  int finished = 0;

  auto submitAll = [&](Client& client, int offset) {
    for (int i = 0; i < kPerClient; ++i) {
      Tracked& job = jobs[static_cast<std::size_t>(offset + i)];
      job.payload = "payload-" + std::to_string(offset + i) + "-" + std::string(static_cast<std::size_t>(i % 17), '*');
      job.handle = client.submit("echo", job.payload);
      job.handle->onComplete([&job, &mutex, &all_done, &finished](const JobOutcome& outcome) {
        job.seen = outcome;
        job.callbacks.fetch_add(1);
        std::lock_guard lock(mutex);
        ++finished;
        all_done.notify_all();
      });
    }
  };
  std::thread a([&] { submitAll(*first, 0); });
  std::thread b([&] { submitAll(*second, kPerClient); });
  a.join();
  b.join();

  {
    std::unique_lock lock(mutex);
    bool complete = all_done.wait_for(lock, std::chrono::seconds(60), [&] { return finished >= kTotal; });
    ASSERT_TRUE(complete) << "only " << finished << " of " << kTotal << " jobs finished within 60 s";
  }
  std::unordered_set<JobId> ids;
  int bad = 0;
  for (int i = 0; i < kTotal; ++i) {
    Tracked& job = jobs[static_cast<std::size_t>(i)];
    if (job.callbacks.load() != 1 || !job.seen.succeeded() || job.seen.result != job.payload || job.seen.attempt != 1) {
      if (++bad <= 10) {
        ADD_FAILURE() << "job #" << i << " (id " << job.seen.id << "): callbacks " << job.callbacks.load()
                      << ", state " << toString(job.seen.state) << ", attempt " << job.seen.attempt << ", result '"
                      << job.seen.result << "', expected '" << job.payload << "', error " << job.seen.error_code
                      << ": " << job.seen.error_message;
      }
    }
    EXPECT_TRUE(ids.insert(job.seen.id).second) << "job id " << job.seen.id << " finished for two submissions";
    // The handle agrees with the callback.
    Result<JobOutcome> waited = job.handle->wait(std::chrono::milliseconds(0));
    ASSERT_TRUE(waited) << waited.status().toString();
    EXPECT_EQ(waited->id, job.seen.id);
    EXPECT_EQ(waited->result, job.seen.result);
    Result<JobId> id = job.handle->id();
    ASSERT_TRUE(id);
    EXPECT_EQ(*id, job.seen.id);
  }
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kTotal));
  EXPECT_EQ(ids.count(0), 0u);

  json doc = stats(*first);
  EXPECT_EQ(doc["jobs"]["succeeded"], kTotal) << doc.dump();
  EXPECT_EQ(doc["jobs"]["dead"], 0) << doc.dump();
  EXPECT_EQ(doc["jobs"]["stale_refused"], 0) << doc.dump();
  EXPECT_EQ(doc["jobs"]["queued"], 0) << doc.dump();
  EXPECT_EQ(doc["jobs"]["running"], 0) << doc.dump();
  EXPECT_EQ(doc["clients"], 2) << doc.dump();
  ASSERT_EQ(doc["workers"].size(), 2u) << doc.dump();
  for (const json& worker : doc["workers"]) EXPECT_EQ(worker["busy"], 0) << doc.dump();

  // Load balancing: both workers took jobs (the emptiest worker gets each job).
  std::set<std::string> workers_used;
  for (int i = 0; i < 40; ++i) {
    Result<JobInfo> info = first->status(jobs[static_cast<std::size_t>(i)].seen.id);
    ASSERT_TRUE(info) << info.status().toString();
    workers_used.insert(info->worker);
  }
  EXPECT_EQ(workers_used, (std::set<std::string>{"w1", "w2"}));
}

TEST_F(EndToEndTest, JobHandleWaitStatusAndOnComplete) {
  startCluster(1, 2);
  auto client = connect("handle-client");
  ASSERT_TRUE(client);
  JobHandle job = client->submit("sleep", "600");
  Result<JobId> id = job.id();
  ASSERT_TRUE(id) << id.status().toString();
  EXPECT_GT(*id, 0u);

  std::mutex mutex;
  std::optional<JobOutcome> from_callback;
  std::thread::id callback_thread;
  int callback_count = 0;
  job.onComplete([&](const JobOutcome& outcome) {
    std::lock_guard lock(mutex);
    from_callback = outcome;
    callback_thread = std::this_thread::get_id();
    ++callback_count;
  });

  EXPECT_TRUE(eventually([&] {
    Result<JobState> state = job.status();
    return state && *state == JobState::kRunning;
  })) << "the job never showed as running";
  EXPECT_FALSE(job.done());

  // A short local wait runs out; the job goes on.
  Result<JobOutcome> early = job.wait(std::chrono::milliseconds(1));
  ASSERT_FALSE(early);
  EXPECT_EQ(early.status().code(), errc::kWaitTimeout);

  Result<JobOutcome> outcome = job.wait(std::chrono::seconds(30));
  ASSERT_TRUE(outcome) << outcome.status().toString();
  EXPECT_TRUE(outcome->succeeded());
  EXPECT_EQ(outcome->id, *id);
  EXPECT_EQ(outcome->result, "slept 600 ms");
  EXPECT_EQ(outcome->attempt, 1u);
  EXPECT_TRUE(job.done());
  Result<JobState> state = job.status();
  ASSERT_TRUE(state);
  EXPECT_EQ(*state, JobState::kSucceeded);

  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return callback_count == 1;
  }));
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(callback_count, 1);
    EXPECT_NE(callback_thread, std::this_thread::get_id()) << "a pending callback runs on the client's thread";
    EXPECT_EQ(from_callback->result, "slept 600 ms");
  }
  // Registered after the end: runs at once on the caller's thread.
  std::thread::id late_thread;
  std::string late_result;
  job.onComplete([&](const JobOutcome& o) {
    late_thread = std::this_thread::get_id();
    late_result = o.result;
  });
  EXPECT_EQ(late_thread, std::this_thread::get_id());
  EXPECT_EQ(late_result, "slept 600 ms");

  // The full record.
  Result<JobInfo> info = client->status(*id);
  ASSERT_TRUE(info) << info.status().toString();
  EXPECT_EQ(info->task, "sleep");
  EXPECT_EQ(info->state, JobState::kSucceeded);
  EXPECT_EQ(info->worker, "w1");
  EXPECT_EQ(info->attempt, 1u);
  EXPECT_EQ(info->result, "slept 600 ms");
  EXPECT_GE(info->finished_ms, info->started_ms);
  EXPECT_GE(info->started_ms, info->submitted_ms);
}

TEST_F(EndToEndTest, ALoneJobLargerThanASocketBufferArrivesWhole) {
  // A lone request, and a lone result, are written by the thread that made them; frames larger
  // than the socket's buffer leave partly that way and partly through the network thread.
  startCluster(1, 1);
  auto client = connect("big");
  ASSERT_TRUE(client);
  std::string payload(12 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 23);
  for (int round = 0; round < 3; ++round) {
    auto outcome = client->submit("echo", payload).wait(std::chrono::seconds(60));
    ASSERT_TRUE(outcome) << outcome.status().toString();
    ASSERT_TRUE(outcome->succeeded()) << outcome->error_code << ": " << outcome->error_message;
    EXPECT_TRUE(outcome->result == payload) << "round " << round << ": " << outcome->result.size() << " bytes back";
  }
}

TEST_F(EndToEndTest, FailedJobIsAnOutcomeNotAnError) {
  startCluster(1, 1);
  auto client = connect("fail-client");
  ASSERT_TRUE(client);
  Result<JobOutcome> outcome = client->submit("fail", "on purpose").wait(std::chrono::seconds(30));
  ASSERT_TRUE(outcome) << outcome.status().toString();
  EXPECT_EQ(outcome->state, JobState::kDead);
  EXPECT_EQ(outcome->error_code, errc::kHandlerError);
  EXPECT_NE(outcome->error_message.find("on purpose"), std::string::npos) << outcome->error_message;
  Result<JobOutcome> bad_add = client->submit("add", "not json").wait(std::chrono::seconds(30));
  ASSERT_TRUE(bad_add);
  EXPECT_EQ(bad_add->error_code, errc::kHandlerError);
}

TEST_F(EndToEndTest, RefusedSubmissionFailsTheHandleAndItsCallback) {
  startCluster(1, 1);
  auto client = connect("refused-client");
  ASSERT_TRUE(client);
  JobHandle job = client->submit("", "no task name");
  Result<JobId> id = job.id();
  ASSERT_FALSE(id);
  EXPECT_EQ(id.status().code(), errc::kBadRequest);
  Result<JobOutcome> waited = job.wait(std::chrono::seconds(5));
  ASSERT_FALSE(waited);
  EXPECT_EQ(waited.status().code(), errc::kBadRequest);
  std::optional<JobOutcome> seen;
  job.onComplete([&](const JobOutcome& o) { seen = o; });
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->state, JobState::kDead);
  EXPECT_EQ(seen->id, 0u);
  EXPECT_EQ(seen->error_code, errc::kBadRequest);
}

TEST_F(EndToEndTest, WatchFromASecondClient) {
  startCluster(1, 2);
  auto submitter = connect("submitter");
  auto watcher = connect("watcher");
  ASSERT_TRUE(submitter && watcher);

  // A job still running when the watch starts.
  JobHandle running = submitter->submit("sleep", "500");
  Result<JobId> running_id = running.id();
  ASSERT_TRUE(running_id);
  JobHandle watched = watcher->watch(*running_id);
  std::atomic<int> watch_callbacks{0};
  watched.onComplete([&](const JobOutcome&) { watch_callbacks.fetch_add(1); });
  Result<JobOutcome> via_watch = watched.wait(std::chrono::seconds(30));
  ASSERT_TRUE(via_watch) << via_watch.status().toString();
  EXPECT_TRUE(via_watch->succeeded());
  EXPECT_EQ(via_watch->id, *running_id);
  EXPECT_EQ(via_watch->result, "slept 500 ms");
  Result<JobOutcome> via_owner = running.wait(std::chrono::seconds(30));
  ASSERT_TRUE(via_owner);
  EXPECT_EQ(via_owner->result, via_watch->result);
  EXPECT_TRUE(eventually([&] { return watch_callbacks.load() == 1; }));

  // A job that finished before the watch: the result comes at once.
  Result<JobOutcome> quick = submitter->submit("reverse", "watch me").wait(std::chrono::seconds(30));
  ASSERT_TRUE(quick && quick->succeeded());
  Result<JobOutcome> late = watcher->watch(quick->id).wait(std::chrono::seconds(30));
  ASSERT_TRUE(late) << late.status().toString();
  EXPECT_EQ(late->result, "em hctaw");
  EXPECT_EQ(late->state, JobState::kSucceeded);

  // A failed job is watched as failed.
  Result<JobOutcome> failed = submitter->submit("fail", "x").wait(std::chrono::seconds(30));
  ASSERT_TRUE(failed);
  Result<JobOutcome> failed_watch = watcher->watch(failed->id).wait(std::chrono::seconds(30));
  ASSERT_TRUE(failed_watch);
  EXPECT_EQ(failed_watch->state, JobState::kDead);
  EXPECT_EQ(failed_watch->error_code, errc::kHandlerError);

  // An id the broker never issued.
  Result<JobOutcome> unknown = watcher->watch(987654321).wait(std::chrono::seconds(30));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.status().code(), errc::kNotFound);
  Result<JobInfo> info = watcher->status(987654321);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.status().code(), errc::kNotFound);
}

// watch() follows a job "submitted earlier (by anyone)": also one this same client submitted and
// still waits for, and also twice. Every handle must complete.
TEST_F(EndToEndTest, WatchingAJobFromTheClientThatSubmittedItCompletesBothHandles) {
  startCluster(1, 1);
  auto client = connect("self-watcher");
  ASSERT_TRUE(client);
  JobHandle submitted = client->submit("sleep", "300");
  Result<JobId> id = submitted.id();
  ASSERT_TRUE(id);
  JobHandle watched = client->watch(*id);
  JobHandle watched_again = client->watch(*id);
  Result<JobOutcome> via_watch_again = watched_again.wait(std::chrono::seconds(30));
  // One RESULT settles them all; once one handle has it, the others have had it as long.
  Result<JobOutcome> via_watch = watched.wait(std::chrono::seconds(2));
  Result<JobOutcome> via_submit = submitted.wait(std::chrono::seconds(2));
  ASSERT_TRUE(via_submit) << "the submitting handle: " << via_submit.status().toString();
  ASSERT_TRUE(via_watch) << "the first watch: " << via_watch.status().toString();
  ASSERT_TRUE(via_watch_again) << "the second watch: " << via_watch_again.status().toString();
  EXPECT_EQ(via_submit->result, "slept 300 ms");
  EXPECT_EQ(via_watch->result, "slept 300 ms");
  EXPECT_EQ(via_watch_again->result, "slept 300 ms");
}

TEST_F(EndToEndTest, HigherPriorityRunsFirst) {
  startCluster(0, 1);
  auto client = connect("priority-client");
  ASSERT_TRUE(client);
  // No worker yet: every job is queued before any is dealt, so the order is the queue's alone.
  std::mutex mutex;
  std::vector<std::string> order;
  std::vector<JobHandle> handles;
  auto submit = [&](const std::string& payload, int priority) {
    SubmitOptions options;
    options.priority = priority;
    JobHandle handle = client->submit("echo", payload, options);
    handle.onComplete([&](const JobOutcome& o) {
      std::lock_guard lock(mutex);
      order.push_back(o.result);
    });
    handles.push_back(handle);
  };
  submit("low-1", 0);
  submit("low-2", 0);
  submit("high", 10);
  submit("negative", -5);
  submit("low-3", 0);
  submit("higher", 11);
  for (const JobHandle& handle : handles) ASSERT_TRUE(handle.id());  // acknowledged: queued
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker_.endpoint(), 1));  // one slot: one job at a time, in queue order
  for (const JobHandle& handle : handles) ASSERT_TRUE(handle.wait(std::chrono::seconds(30)));
  // wait() returns once the outcome is recorded; the callbacks run just after, on the client's thread.
  EXPECT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return order.size() == handles.size();
  }));
  std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<std::string>{"higher", "high", "low-1", "low-2", "low-3", "negative"}));
}

TEST_F(EndToEndTest, ClientsSeeStatsWithWorkersAndClients) {
  startCluster(2, 3);
  auto client = connect("stats-client");
  ASSERT_TRUE(client);
  json doc = stats(*client);
  ASSERT_TRUE(doc.contains("workers"));
  ASSERT_EQ(doc["workers"].size(), 2u) << doc.dump();
  std::set<std::string> names;
  for (const json& worker : doc["workers"]) {
    names.insert(worker.value("name", ""));
    EXPECT_EQ(worker["slots"], 3) << doc.dump();
    EXPECT_EQ(worker["draining"], false) << doc.dump();
  }
  EXPECT_EQ(names, (std::set<std::string>{"w1", "w2"}));
  EXPECT_EQ(doc["clients"], 1) << doc.dump();
  EXPECT_EQ(doc["broker"], "corvee") << doc.dump();
}

// A worker stopped with SIGTERM drains: it finishes the job it has, takes no more, and exits 0.
TEST_F(EndToEndTest, WorkerDrainsOnSigterm) {
  startCluster(1, 1);
  auto client = connect("drain-client");
  ASSERT_TRUE(client);
  JobHandle job = client->submit("sleep", "800");
  ASSERT_TRUE(eventually([&] {
    Result<JobState> state = job.status();
    return state && *state == JobState::kRunning;
  }));
  ASSERT_TRUE(workers_[0].process().kill(SIGTERM));
  Result<JobOutcome> outcome = job.wait(std::chrono::seconds(30));
  ASSERT_TRUE(outcome) << outcome.status().toString();
  EXPECT_TRUE(outcome->succeeded()) << outcome->error_code << ": " << outcome->error_message;
  auto result_seen = std::chrono::steady_clock::now();
  std::optional<ExitInfo> exit = workers_[0].process().wait(std::chrono::seconds(20));
  auto exited = std::chrono::steady_clock::now();
  ASSERT_TRUE(exit.has_value()) << "the drained worker did not exit: " << workers_[0].process().describe();
  EXPECT_TRUE(exit->exitedWith(0)) << exit->toString() << "\n" << workers_[0].process().describe();
  EXPECT_TRUE(waitForWorkers(broker_.endpoint(), 0));
  // Its last result has been delivered, so nothing is left to send: the worker should close at
  // once. The one duration checked in this suite, with a wide margin: a worker that instead sits
  // out its 2 s fallback (200 checks of 10 ms) is caught, a slow machine is not.
  EXPECT_LT(exited - result_seen, std::chrono::milliseconds(1900))
      << "the drained worker waited for its buffers to empty although everything was sent";
}

}  // namespace
}  // namespace corvee::testing
