// Durability of the embedded SQLite store with real processes (issue 3, docs/store-schema.md):
// nothing a client saw acknowledged is lost to a `kill -9` of the broker, of a worker, or of both;
// queued jobs come back in their order; a damaged or locked database is a loud failure, never a
// silent reset.
//
// Every wait is bounded and every assertion is about outcomes, never about how long something
// took. The kill moments of the first test are pseudo-random from a seed that is printed; set
// CORVEE_DURABILITY_SEED to replay one.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "corvee/client.h"
#include "corvee/errors.h"
#include "support/process.h"

namespace corvee::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::unique_ptr<Client> connectTo(const std::string& endpoint, const std::string& name) {
  ClientOptions options;
  options.endpoint = endpoint;
  options.name = name;
  // Long enough to ride out a broker restart (which takes well under a second); it only bounds a hang.
  options.connect_timeout = std::chrono::seconds(30);
  options.reconnect_min = std::chrono::milliseconds(20);
  options.reconnect_max = std::chrono::milliseconds(200);
  auto client = Client::connect(options);
  EXPECT_TRUE(client) << client.status().toString();
  return client ? std::move(*client) : nullptr;
}

std::string readFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void writeFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::chrono::milliseconds leftUntil(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(1));
}

// `corvee status ID` as JSON; a null document (and a test failure) when the command fails.
json cliStatus(const std::string& endpoint, JobId id) {
  CommandResult status = runCorvee({"status", std::to_string(id), "--connect", endpoint}, {}, 15s);
  json doc = json::parse(status.out, nullptr, false);
  // Exit 1 with the document: the job failed.
  bool failed = status.exit_code == 1 && doc.is_object() && doc.value("state", "") == "dead";
  EXPECT_TRUE(status.exit_code == 0 || failed) << "corvee status " << id << ": " << status.describe();
  if (status.exit_code != 0 && !failed) return json();
  EXPECT_TRUE(doc.is_object()) << status.out;
  return doc.is_object() ? doc : json();
}

// Collects failures of one kind, printing the first few in full and counting the rest, so a bad
// run over thousands of jobs reports clearly instead of with thousands of lines.
class Failures {
 public:
  explicit Failures(std::string what) : what_(std::move(what)) {}
  void add(const std::string& detail) {
    if (count_++ < 10) examples_ += "\n  " + detail;
  }
  std::size_t count() const { return count_; }
  std::string report() const {
    return std::to_string(count_) + " " + what_ + (count_ > 10 ? " (first 10 shown)" : "") + ":" + examples_;
  }

 private:
  std::string what_;
  std::size_t count_ = 0;
  std::string examples_;
};

std::uint64_t seedFromEnvironment() {
  const char* text = std::getenv("CORVEE_DURABILITY_SEED");
  if (text != nullptr && *text != '\0') return std::strtoull(text, nullptr, 10);
  return (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
}

// ---------------------------------------------------------------------------------------------
// 1. kill -9 the broker repeatedly under a stream of submissions.

struct Submission {
  JobHandle handle;
  std::string payload;
};

// One submitting thread with its own client. `all` is touched by that thread only until joined.
struct Lane {
  std::unique_ptr<Client> client;
  std::vector<Submission> all;
  std::atomic<std::size_t> acked{0};  // id() succeeded while submitting
  std::size_t id_failures = 0;        // id() failed while submitting (the broker away for connect_timeout)
  std::string first_failure;
};

constexpr std::size_t kBatch = 64;           // submissions sent before their ids are read
constexpr std::size_t kMaxPerLane = 60'000;  // bounds the loop whatever the machine's speed

void runLane(Lane& lane, int number, const std::atomic<bool>& stop, std::atomic<int>& finished) {
  struct Done {
    std::atomic<int>& finished;
    ~Done() { finished.fetch_add(1); }
  } done{finished};
  std::uint64_t seq = 0;
  while (!stop.load() && lane.all.size() < kMaxPerLane) {
    std::size_t begin = lane.all.size();
    for (std::size_t i = 0; i < kBatch; ++i) {
      std::string payload = "lane" + std::to_string(number) + "-job" + std::to_string(seq++);
      JobHandle handle = lane.client->submit("echo", payload);
      lane.all.push_back({std::move(handle), std::move(payload)});
    }
    for (std::size_t i = begin; i < lane.all.size(); ++i) {
      Result<JobId> id = lane.all[i].handle.id();
      if (id) {
        lane.acked.fetch_add(1);
      } else {
        if (lane.id_failures++ == 0) lane.first_failure = lane.all[i].payload + ": " + id.status().toString();
      }
    }
  }
}

// Stops and joins the submitting threads however the test leaves its scope.
class LaneThreads {
 public:
  ~LaneThreads() { stopAndJoin(); }
  void start(Lane& lane, int number) {
    threads_.emplace_back([this, &lane, number] { runLane(lane, number, stop_, finished_); });
  }
  // Threads that ran out of submissions (kMaxPerLane) or were stopped.
  int finished() const { return finished_.load(); }
  void stopAndJoin() {
    stop_.store(true);
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> finished_{0};
  std::vector<std::thread> threads_;
};

// Run with each --sync mode: docs/store-schema.md promises that a process crash loses nothing
// committed in any of them (only power loss tells them apart).
class DurabilitySync : public ::testing::TestWithParam<const char*> {};

TEST_P(DurabilitySync, KillNineBrokerRepeatedlyLosesNothingAcknowledged) {
  const std::string sync = GetParam();
  const std::uint64_t seed = seedFromEnvironment();
  std::cout << "[durability] --sync " << sync << ", seed " << seed << " (replay with CORVEE_DURABILITY_SEED=" << seed
            << ")" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 random(seed);

  TempDir data;
  ASSERT_FALSE(data.path().empty());
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start({"--sync", sync}));
  ASSERT_NE(broker.process().out().find("sqlite:" + data.file("corvee.db")), std::string::npos)
      << broker.process().out();
  WorkerProcess first_worker;
  WorkerProcess second_worker;
  ASSERT_TRUE(first_worker.start(broker.endpoint(), 4, {"--name", "echo-1"}));
  ASSERT_TRUE(second_worker.start(broker.endpoint(), 4, {"--name", "echo-2"}));
  ASSERT_TRUE(waitForWorkers(broker.endpoint(), 2));

  Lane lanes[2];
  for (int i = 0; i < 2; ++i) {
    lanes[i].client = connectTo(broker.endpoint(), "submitter-" + std::to_string(i));
    ASSERT_TRUE(lanes[i].client);
  }
  auto acked = [&] { return lanes[0].acked.load() + lanes[1].acked.load(); };
  {
    LaneThreads threads;
    for (int i = 0; i < 2; ++i) threads.start(lanes[i], i);

    // Each kill comes once this broker acknowledged a random number of fresh submissions, then a
    // random pause: moments in the stream that do not depend on the machine's speed, and a total
    // far below what the submitters may send (kMaxPerLane), so they never run dry first.
    const int kills = 3 + static_cast<int>(random() % 3);
    for (int kill = 1; kill <= kills; ++kill) {
      const std::size_t fresh = 300 + random() % 2700;
      const std::size_t before = acked();
      ASSERT_TRUE(eventually([&] { return acked() >= before + fresh || threads.finished() == 2; }, 60s))
          << "no progress before kill " << kill << " (acknowledged: " << acked() << ")";
      ASSERT_LT(threads.finished(), 2) << "the submitters stopped before kill " << kill;
      const auto pause = std::chrono::milliseconds(random() % 50);
      std::this_thread::sleep_for(pause);
      std::cout << "[durability] kill -9 #" << kill << " of " << kills << " (pid " << broker.pid() << ", " << pause.count()
                << " ms after " << fresh << " fresh acks; " << acked() << " acknowledged so far)" << std::endl;
      ASSERT_TRUE(broker.killNine());
      ASSERT_TRUE(broker.restart());
    }
    // The last broker also takes submissions before the submitters stop.
    const std::size_t before = acked();
    ASSERT_TRUE(eventually([&] { return acked() >= before + 300 || threads.finished() == 2; }, 60s))
        << "no progress after the last restart";
    threads.stopAndJoin();
  }

  // Every submission is acknowledged by now: those the broker never got are sent again by the
  // client, and the broker is up.
  std::map<JobId, const Submission*> by_id;
  std::unordered_set<std::string> payloads;
  Failures unacknowledged("submissions without an id");
  Failures reused("ids acknowledged twice");
  std::size_t submitted = 0;
  std::size_t failed_while_submitting = 0;
  for (Lane& lane : lanes) {
    failed_while_submitting += lane.id_failures;
    if (lane.id_failures > 0) std::cout << "[durability] id() failed while submitting: " << lane.first_failure << std::endl;
    for (const Submission& sub : lane.all) {
      ++submitted;
      payloads.insert(sub.payload);
      Result<JobId> id = sub.handle.id();
      if (!id) {
        unacknowledged.add(sub.payload + ": " + id.status().toString());
        continue;
      }
      auto [it, fresh] = by_id.emplace(*id, &sub);
      if (!fresh) reused.add("job " + std::to_string(*id) + " for " + it->second->payload + " and " + sub.payload);
    }
  }
  EXPECT_EQ(unacknowledged.count(), 0u) << unacknowledged.report();
  ASSERT_EQ(reused.count(), 0u) << reused.report();
  ASSERT_FALSE(by_id.empty());

  // Every acknowledged job completes, with its own payload as its result.
  const auto deadline = Clock::now() + 90s;
  Failures lost("acknowledged jobs without their own result");
  std::size_t rerun_by_outcome = 0;
  for (auto& [id, sub] : by_id) {
    Result<JobOutcome> outcome = sub->handle.wait(leftUntil(deadline));
    if (!outcome) {
      lost.add("job " + std::to_string(id) + " (" + sub->payload + "): " + outcome.status().toString());
    } else if (!outcome->succeeded() || outcome->id != id || outcome->result != sub->payload) {
      lost.add("job " + std::to_string(id) + " (" + sub->payload + "): state " + std::string(toString(outcome->state)) +
               ", id " + std::to_string(outcome->id) + ", result '" + outcome->result + "', " + outcome->error_code +
               " " + outcome->error_message);
    } else if (outcome->attempt > 1) {
      ++rerun_by_outcome;
    }
  }
  ASSERT_EQ(lost.count(), 0u) << lost.report();

  // The store says the same of every one of them, and of every job it holds between them: ids that
  // no client saw acknowledged are submissions whose acknowledgement died with a broker and that the
  // client sent again. Those ran too, with one of our payloads.
  auto checker = connectTo(broker.endpoint(), "checker");
  ASSERT_TRUE(checker);
  Failures wrong("jobs whose stored record is wrong");
  std::size_t ran_more_than_once = 0;
  std::size_t unacknowledged_duplicates = 0;
  const JobId max_id = by_id.rbegin()->first;
  for (JobId id = 1; id <= max_id; ++id) {
    Result<JobInfo> info = checker->status(id);
    auto mine = by_id.find(id);
    if (!info) {
      wrong.add("job " + std::to_string(id) + (mine != by_id.end() ? " (acknowledged)" : "") + ": " +
                info.status().toString());
      continue;
    }
    if (info->state != JobState::kSucceeded) {
      wrong.add("job " + std::to_string(id) + ": state " + std::string(toString(info->state)));
      continue;
    }
    if (mine != by_id.end()) {
      if (info->result != mine->second->payload) {
        wrong.add("job " + std::to_string(id) + ": result '" + info->result + "', not '" + mine->second->payload + "'");
      }
    } else {
      ++unacknowledged_duplicates;
      if (payloads.count(info->result) == 0) wrong.add("job " + std::to_string(id) + ": unknown result '" + info->result + "'");
    }
    if (info->attempt > 1) ++ran_more_than_once;
  }
  EXPECT_EQ(wrong.count(), 0u) << wrong.report();
  EXPECT_TRUE(waitForWorkers(broker.endpoint(), 2)) << "the workers did not come back by themselves";
  EXPECT_TRUE(first_worker.process().running());
  EXPECT_TRUE(second_worker.process().running());

  std::cout << "[durability] submitted " << submitted << ", acknowledged " << by_id.size() << " (" << acked()
            << " while submitting; " << failed_while_submitting << " id() failures while submitting), all completed"
            << "; store ids 1.." << max_id << "; ran more than once (attempt > 1): " << ran_more_than_once
            << " (by outcome: " << rerun_by_outcome << "); jobs from resent submissions whose first ack was lost: "
            << unacknowledged_duplicates << std::endl;
  RecordProperty("acknowledged", std::to_string(by_id.size()));
  RecordProperty("ran_more_than_once", std::to_string(ran_more_than_once));
  RecordProperty("unacknowledged_duplicates", std::to_string(unacknowledged_duplicates));
}

INSTANTIATE_TEST_SUITE_P(Sync, DurabilitySync, ::testing::Values("full", "normal", "off"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

// ---------------------------------------------------------------------------------------------
// 1b. The acknowledgement of a submission means it is in the store: a kill -9 right after the
// client read its ids finds every one of them after the restart. The client is closed before the
// restart, so nothing is sent again and an acknowledged job that was not committed stays missing
// instead of being replaced by a resent copy.

TEST(Durability, AcknowledgedSubmissionsAreInTheStoreWhenTheBrokerDiesAtOnce) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start({"--sync", "full"}));
  constexpr int kRounds = 8;
  constexpr int kJobs = 2000;
  Failures missing("acknowledged jobs missing or different after kill -9");
  std::size_t acknowledged = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::map<JobId, std::int32_t> tag_of;  // the priority is each job's tag: status shows it
    {
      auto client = connectTo(broker.endpoint(), "round-" + std::to_string(round));
      ASSERT_TRUE(client);
      std::vector<std::pair<JobHandle, std::int32_t>> handles;
      for (int i = 0; i < kJobs; ++i) {
        SubmitOptions options;
        options.priority = round * 100'000 + i;
        handles.emplace_back(client->submit("never-served", "r" + std::to_string(round) + "-" + std::to_string(i), options),
                             options.priority);
      }
      for (auto& [handle, tag] : handles) {
        Result<JobId> id = handle.id();
        ASSERT_TRUE(id) << id.status().toString();
        ASSERT_TRUE(tag_of.emplace(*id, tag).second) << "id " << *id << " acknowledged twice";
      }
      // At once after the last acknowledgement.
      ASSERT_TRUE(broker.killNine());
    }
    ASSERT_TRUE(broker.restart());
    auto checker = connectTo(broker.endpoint(), "checker-" + std::to_string(round));
    ASSERT_TRUE(checker);
    for (auto& [id, tag] : tag_of) {
      ++acknowledged;
      Result<JobInfo> info = checker->status(id);
      if (!info) {
        missing.add("round " + std::to_string(round) + ": job " + std::to_string(id) + ": " + info.status().toString());
      } else if (info->priority != tag || info->task != "never-served") {
        missing.add("round " + std::to_string(round) + ": job " + std::to_string(id) + " is another job (task " +
                    info->task + ", tag " + std::to_string(info->priority) + " instead of " + std::to_string(tag) + ")");
      }
    }
  }
  std::cout << "[durability] " << missing.count() << " of " << acknowledged
            << " acknowledged submissions missing after an immediate kill -9" << std::endl;
  EXPECT_EQ(missing.count(), 0u) << missing.report();
}

// ---------------------------------------------------------------------------------------------
// 2. A worker and the broker die together.

TEST(Durability, KillNineWorkerAndBrokerTogether) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start({"--sync", "full"}));
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 2, {"--name", "sleeper-1"}));
  ASSERT_TRUE(waitForWorkers(broker.endpoint(), 1));
  auto client = connectTo(broker.endpoint(), "together-client");
  ASSERT_TRUE(client);

  // Two slots, five jobs: the first two run, three wait.
  std::vector<JobHandle> handles;
  std::vector<JobId> ids;
  for (int i = 0; i < 5; ++i) {
    handles.push_back(client->submit("sleep", "2000"));
    Result<JobId> id = handles.back().id();
    ASSERT_TRUE(id) << id.status().toString();
    ids.push_back(*id);
  }
  std::set<JobId> interrupted;
  ASSERT_TRUE(eventually([&] {
    interrupted.clear();
    for (JobId id : ids) {
      Result<JobInfo> info = client->status(id);
      if (!info) return false;
      if (info->state == JobState::kRunning) interrupted.insert(id);
    }
    return interrupted.size() == 2;
  })) << "two jobs never ran at once";
  EXPECT_EQ(interrupted, (std::set<JobId>{ids[0], ids[1]}));

  ASSERT_TRUE(worker.process().kill(SIGKILL));
  ASSERT_TRUE(broker.process().kill(SIGKILL));
  ASSERT_TRUE(worker.process().wait(10s).has_value());
  ASSERT_TRUE(broker.process().wait(10s).has_value());
  EXPECT_EQ(broker.process().exitInfo()->signal, SIGKILL);

  ASSERT_TRUE(broker.restart());
  WorkerProcess second;
  ASSERT_TRUE(second.start(broker.endpoint(), 2, {"--name", "sleeper-2"}));

  for (std::size_t i = 0; i < handles.size(); ++i) {
    Result<JobOutcome> outcome = handles[i].wait(60s);
    ASSERT_TRUE(outcome) << "job " << ids[i] << ": " << outcome.status().toString();
    EXPECT_TRUE(outcome->succeeded()) << "job " << ids[i] << ": " << outcome->error_code << " " << outcome->error_message;
    EXPECT_EQ(outcome->result, "slept 2000 ms");
    const std::uint32_t expected = interrupted.count(ids[i]) ? 2u : 1u;
    EXPECT_EQ(outcome->attempt, expected) << "job " << ids[i];
    Result<JobInfo> info = client->status(ids[i]);
    ASSERT_TRUE(info) << info.status().toString();
    EXPECT_EQ(info->state, JobState::kSucceeded);
    EXPECT_EQ(info->attempt, expected) << "job " << ids[i];
    EXPECT_EQ(info->worker, "sleeper-2") << "job " << ids[i];
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Queued jobs come back in their order.

TEST(Durability, QueuedJobsComeBackInOrder) {
  TempDir data;
  TempFile ran;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  auto client = connectTo(broker.endpoint(), "order-client");
  ASSERT_TRUE(client);

  constexpr int kJobs = 200;
  const std::int32_t kPriorities[] = {0, 5, -3, 5, 10, 0, -3, 1};
  std::vector<JobHandle> handles;
  std::vector<std::int32_t> priority_of;
  for (int i = 0; i < kJobs; ++i) {
    SubmitOptions options;
    options.priority = kPriorities[(i * 7 + i / 3) % 8];
    priority_of.push_back(options.priority);
    handles.push_back(client->submit("ordered", "p" + std::to_string(i), options));
  }
  std::vector<JobId> ids;
  for (JobHandle& handle : handles) {
    Result<JobId> id = handle.id();
    ASSERT_TRUE(id) << id.status().toString();
    ids.push_back(*id);
  }
  ASSERT_TRUE(std::is_sorted(ids.begin(), ids.end())) << "one client's submissions get ids in order";

  ASSERT_TRUE(broker.killNine());
  ASSERT_TRUE(broker.restart());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1, {"--name", "in-order", "--exec", "ordered={ cat; echo; } >> " + ran.path()},
                           /*builtin=*/false));
  for (int i = 0; i < kJobs; ++i) {
    Result<JobOutcome> outcome = handles[static_cast<std::size_t>(i)].wait(60s);
    ASSERT_TRUE(outcome) << "p" << i << ": " << outcome.status().toString();
    ASSERT_TRUE(outcome->succeeded()) << "p" << i << ": " << outcome->error_code << " " << outcome->error_message;
    EXPECT_EQ(outcome->attempt, 1u) << "p" << i << " never ran before the restart";
  }

  // Highest priority first; within a priority, submission order.
  std::vector<int> expected(kJobs);
  for (int i = 0; i < kJobs; ++i) expected[static_cast<std::size_t>(i)] = i;
  std::stable_sort(expected.begin(), expected.end(), [&](int a, int b) {
    return priority_of[static_cast<std::size_t>(a)] > priority_of[static_cast<std::size_t>(b)];
  });
  std::vector<std::string> expected_lines;
  for (int i : expected) expected_lines.push_back("p" + std::to_string(i));
  std::vector<std::string> lines;
  std::istringstream order(ran.read());
  for (std::string line; std::getline(order, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), expected_lines.size()) << ran.read();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(lines[i], expected_lines[i]) << "run #" << i << " is out of order (priority then submission order)";
  }
}

// ---------------------------------------------------------------------------------------------
// 4. The issue's "Done when", as a new user would try it.

TEST(Durability, DefaultBrokerKeepsTenThousandQueuedJobsAcrossKillNine) {
  TempDir cwd;
  BrokerStore defaults;
  defaults.store.clear();  // no --store, no --data-dir: ./corvee-data in the broker's working directory
  defaults.cwd = cwd.path();
  BrokerProcess broker(defaults);
  ASSERT_TRUE(broker.start());
  EXPECT_NE(broker.process().out().find("(store: sqlite:"), std::string::npos) << broker.process().out();
  auto client = connectTo(broker.endpoint(), "new-user");
  ASSERT_TRUE(client);

  constexpr std::size_t kJobs = 10'000;
  std::vector<JobHandle> handles;
  handles.reserve(kJobs);
  for (std::size_t i = 0; i < kJobs; ++i) handles.push_back(client->submit("echo", "job-" + std::to_string(i)));
  std::vector<JobId> ids;
  for (std::size_t i = 0; i < kJobs; ++i) {
    Result<JobId> id = handles[i].id();
    ASSERT_TRUE(id) << "job-" << i << ": " << id.status().toString();
    ids.push_back(*id);
  }
  ASSERT_EQ(std::set<JobId>(ids.begin(), ids.end()).size(), kJobs);
  struct stat st {};
  ASSERT_EQ(::stat((cwd.path() + "/corvee-data/corvee.db").c_str(), &st), 0)
      << "the default store is not ./corvee-data/corvee.db in the broker's working directory";

  ASSERT_TRUE(broker.killNine());
  ASSERT_TRUE(broker.restart());
  std::string stats_text;
  ASSERT_TRUE(fetchStats(broker.endpoint(), stats_text));
  json stats = json::parse(stats_text);
  EXPECT_EQ(stats["jobs"]["queued"], kJobs) << stats.dump();
  EXPECT_EQ(stats["jobs"]["running"], 0) << stats.dump();
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 4, {"--name", "late-worker"}));

  const auto deadline = Clock::now() + 90s;
  Failures lost("jobs without their result");
  for (std::size_t i = 0; i < kJobs; ++i) {
    Result<JobOutcome> outcome = handles[i].wait(leftUntil(deadline));
    std::string payload = "job-" + std::to_string(i);
    if (!outcome) {
      lost.add(payload + ": " + outcome.status().toString());
    } else if (!outcome->succeeded() || outcome->result != payload || outcome->id != ids[i]) {
      lost.add(payload + ": job " + std::to_string(outcome->id) + " " + std::string(toString(outcome->state)) +
               " result '" + outcome->result + "' " + outcome->error_code);
    }
  }
  ASSERT_EQ(lost.count(), 0u) << lost.report();

  // `corvee status` shows each result: the first, the last, and 50 others.
  std::mt19937 random(20240603);
  std::vector<std::size_t> sample{0, kJobs - 1};
  for (int i = 0; i < 50; ++i) sample.push_back(random() % kJobs);
  for (std::size_t i : sample) {
    json doc = cliStatus(broker.endpoint(), ids[i]);
    EXPECT_EQ(doc.value("state", ""), "succeeded") << doc.dump();
    EXPECT_EQ(doc.value("result", ""), "job-" + std::to_string(i)) << doc.dump();
    EXPECT_EQ(doc.value("attempt", 0), 1) << doc.dump();
  }
}

// Payloads are opaque bytes: empty, binary with NULs, and several MiB (SQLite overflow pages) come
// back from the store byte for byte after a kill -9.
TEST(Durability, BinaryAndLargePayloadsSurviveKillNine) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  auto client = connectTo(broker.endpoint(), "bytes-client");
  ASSERT_TRUE(client);

  std::mt19937 random(99);
  auto bytes = [&](std::size_t size) {
    std::string out(size, '\0');
    for (char& c : out) c = static_cast<char>(random() & 0xff);
    return out;
  };
  std::vector<std::string> payloads{"", std::string(1, '\0'), std::string("nul\0in\0the\0middle", 18),
                                    bytes(4096), bytes(1024 * 1024 + 1), bytes(3 * 1024 * 1024)};
  for (int i = 0; i < 12; ++i) payloads.push_back(bytes(1 + random() % (512 * 1024)));
  struct Sent {
    JobHandle handle;
    std::string task;
    std::string expected;
  };
  std::vector<Sent> sent;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    const bool reverse = i % 2 == 1;
    std::string expected = payloads[i];
    if (reverse) std::reverse(expected.begin(), expected.end());
    sent.push_back({client->submit(reverse ? "reverse" : "echo", payloads[i]), reverse ? "reverse" : "echo", expected});
  }
  std::vector<JobId> ids;
  for (Sent& job : sent) {
    Result<JobId> id = job.handle.id();
    ASSERT_TRUE(id) << id.status().toString();
    ids.push_back(*id);
  }
  ASSERT_TRUE(broker.killNine());
  ASSERT_TRUE(broker.restart());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 2));
  for (std::size_t i = 0; i < sent.size(); ++i) {
    Result<JobOutcome> outcome = sent[i].handle.wait(60s);
    ASSERT_TRUE(outcome) << "payload #" << i << ": " << outcome.status().toString();
    ASSERT_TRUE(outcome->succeeded()) << "payload #" << i << ": " << outcome->error_code << " " << outcome->error_message;
    EXPECT_EQ(outcome->attempt, 1u);
    EXPECT_EQ(outcome->result.size(), sent[i].expected.size()) << "payload #" << i << " (" << sent[i].task << ")";
    EXPECT_TRUE(outcome->result == sent[i].expected) << "payload #" << i << " (" << sent[i].task << ") differs";
    Result<JobInfo> info = client->status(ids[i]);
    ASSERT_TRUE(info) << info.status().toString();
    EXPECT_TRUE(info->result == sent[i].expected) << "stored result of payload #" << i << " differs";
  }
}

// A job's time limits count from its submission across a restart: one whose limit passed while
// the broker was down fails with `timeout` once it is back, instead of waiting for ever; one with
// time left still runs.
TEST(Durability, TimeLimitsSurviveKillNine) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  auto client = connectTo(broker.endpoint(), "deadline-client");
  ASSERT_TRUE(client);
  SubmitOptions short_limit;
  short_limit.timeout = std::chrono::milliseconds(1500);
  SubmitOptions long_limit;
  long_limit.timeout = std::chrono::minutes(10);
  JobHandle expiring = client->submit("echo", "too late", short_limit);
  JobHandle lasting = client->submit("echo", "in time", long_limit);
  ASSERT_TRUE(expiring.id());
  ASSERT_TRUE(lasting.id());
  ASSERT_TRUE(broker.killNine());
  // Down for longer than the short limit.
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  ASSERT_TRUE(broker.restart());

  Result<JobOutcome> expired = expiring.wait(30s);
  ASSERT_TRUE(expired) << expired.status().toString();
  EXPECT_EQ(expired->state, JobState::kDead);
  EXPECT_EQ(expired->error_code, errc::kTimeout) << expired->error_message;
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1));
  Result<JobOutcome> ran = lasting.wait(30s);
  ASSERT_TRUE(ran) << ran.status().toString();
  EXPECT_TRUE(ran->succeeded()) << ran->error_code << " " << ran->error_message;
  EXPECT_EQ(ran->result, "in time");
}

// A store that cannot be written (here: the broker may not grow any file beyond 1 MiB, as on a
// full disk) stops the broker loudly, without acknowledging what it could not make durable; what
// it did acknowledge is all there after a restart, and the client's unacknowledged submissions
// are sent again to the restarted broker.
TEST(Durability, FailedStoreWriteStopsTheBrokerWithoutAcknowledging) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  broker.limitFileSize(1024 * 1024);
  ASSERT_TRUE(broker.start());
  ClientOptions options;
  options.endpoint = broker.endpoint();
  options.name = "full-disk-client";
  options.connect_timeout = std::chrono::milliseconds(2000);  // id() gives up soon once the broker is gone
  options.reconnect_min = std::chrono::milliseconds(20);
  options.reconnect_max = std::chrono::milliseconds(200);
  auto connected = Client::connect(options);
  ASSERT_TRUE(connected) << connected.status().toString();
  std::unique_ptr<Client> client = std::move(*connected);

  // 1 KiB payloads: a few thousand overflow the limit. Bounded at 8 MiB whatever happens.
  std::vector<Submission> all;
  std::map<JobId, std::size_t> acked;  // id -> index in `all`
  bool broker_gone = false;
  for (int batch = 0; batch < 128 && !broker_gone; ++batch) {
    std::size_t begin = all.size();
    for (int i = 0; i < 64; ++i) {
      std::string payload = "fill-" + std::to_string(all.size()) + "-" + std::string(1000, 'x');
      all.push_back({client->submit("echo", payload), payload});
    }
    for (std::size_t i = begin; i < all.size(); ++i) {
      Result<JobId> id = all[i].handle.id();
      if (!id) {
        broker_gone = true;
        break;
      }
      acked.emplace(*id, i);
    }
  }
  ASSERT_TRUE(broker_gone) << "8 MiB of submissions fitted under a 1 MiB file size limit?";
  std::optional<ExitInfo> ended = broker.process().wait(30s);
  ASSERT_TRUE(ended.has_value()) << "the broker still runs after failing to write: " << broker.process().describe();
  EXPECT_EQ(ended->signal, 0) << broker.process().describe();
  EXPECT_EQ(ended->code, 3) << broker.process().describe();
  EXPECT_NE(broker.process().err().find(data.file("corvee.db")), std::string::npos)
      << "the message must name the database: " << broker.process().describe();
  std::cout << "[durability] " << acked.size() << " of " << all.size()
            << " submissions acknowledged before the store failed; the broker said: "
            << broker.process().err().substr(broker.process().err().rfind("corvee:") == std::string::npos
                                                 ? 0
                                                 : broker.process().err().rfind("corvee:"));
  ASSERT_FALSE(acked.empty());

  broker.limitFileSize(0);
  ASSERT_TRUE(broker.restart());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 4));
  // The client has been away for longer than its connect_timeout: until it is back, waits fail at
  // once with `unavailable` by design. Wait for it to reconnect first.
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(client->stats()); }, 30s)) << "the client never came back";
  // Every submission, acknowledged before or not, is acknowledged now and completes with its payload.
  Failures lost("submissions without their result");
  std::set<JobId> ids;
  for (std::size_t i = 0; i < all.size(); ++i) {
    Result<JobOutcome> outcome = all[i].handle.wait(30s);
    if (!outcome || !outcome->succeeded() || outcome->result != all[i].payload) {
      lost.add("#" + std::to_string(i) + ": " + (outcome ? outcome->error_code + " '" + outcome->result.substr(0, 20) + "'"
                                                          : outcome.status().toString()));
      continue;
    }
    ids.insert(outcome->id);
  }
  ASSERT_EQ(lost.count(), 0u) << lost.report();
  EXPECT_EQ(ids.size(), all.size()) << "two submissions share a job id";
  for (auto& [id, index] : acked) {
    Result<JobId> now = all[index].handle.id();
    ASSERT_TRUE(now);
    EXPECT_EQ(*now, id) << "an acknowledged id changed";
  }
}

// ---------------------------------------------------------------------------------------------
// 5. A database that cannot be used is a loud failure that leaves the file alone.

// Runs `corvee broker` expecting it to refuse to start; returns how it ended.
CommandResult brokerThatMustFail(const std::vector<std::string>& extra) {
  std::vector<std::string> args{"broker", "--bind", "tcp://127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return runCorvee(args, {}, 20s);
}

TEST(Durability, CorruptDatabaseIsALoudFailure) {
  TempDir data;
  const std::string db = data.file("corvee.db");
  std::string garbage = "this is not a database, and the broker must say so\n";
  std::mt19937 random(7);
  while (garbage.size() < 16384) garbage.push_back(static_cast<char>(random() & 0xff));
  writeFileBytes(db, garbage);

  CommandResult broker = brokerThatMustFail({"--data-dir", data.path()});
  EXPECT_FALSE(broker.timed_out);
  EXPECT_EQ(broker.signal, 0) << broker.describe();
  EXPECT_NE(broker.exit_code, 0) << "the broker started on a corrupt database: " << broker.describe();
  EXPECT_EQ(broker.exit_code, 3) << broker.describe();
  EXPECT_NE(broker.err.find(db), std::string::npos) << "the message must name the file: " << broker.describe();
  EXPECT_EQ(broker.out.find("listening on"), std::string::npos) << broker.describe();
  EXPECT_EQ(readFileBytes(db), garbage) << "the corrupt file was changed";
  std::cout << "[durability] corrupt database: " << broker.err;
}

// A real Corvee database whose job pages were damaged after a clean stop: recovery must fail
// loudly, not start with some of the jobs silently missing.
TEST(Durability, DamagedJobPagesAreALoudFailure) {
  TempDir data;
  const std::string db = data.file("corvee.db");
  {
    BrokerProcess broker(BrokerStore::sqlite(data.path()));
    ASSERT_TRUE(broker.start());
    auto client = connectTo(broker.endpoint(), "filler");
    ASSERT_TRUE(client);
    std::vector<JobHandle> handles;
    for (int i = 0; i < 400; ++i) handles.push_back(client->submit("echo", std::string(400, 'a' + i % 26)));
    for (JobHandle& handle : handles) ASSERT_TRUE(handle.id());
    client.reset();
    ExitInfo stopped = broker.process().stop();
    ASSERT_TRUE(stopped.exitedWith(0)) << broker.process().describe();
  }
  std::string intact = readFileBytes(db);
  constexpr std::size_t kPage = 4096;
  ASSERT_GE(intact.size(), 20 * kPage) << "expected a database of many pages";
  // The last pages hold the newest jobs (table and index leaves); page 1, the schema, stays intact.
  std::string damaged = intact;
  std::mt19937 random(11);
  for (std::size_t at = damaged.size() - 4 * kPage; at < damaged.size(); ++at) {
    damaged[at] = static_cast<char>(random() & 0xff);
  }
  writeFileBytes(db, damaged);

  CommandResult broker = brokerThatMustFail({"--data-dir", data.path()});
  EXPECT_FALSE(broker.timed_out);
  EXPECT_EQ(broker.signal, 0) << broker.describe();
  EXPECT_NE(broker.exit_code, 0) << "the broker started on a damaged database: " << broker.describe();
  EXPECT_NE(broker.err.find(db), std::string::npos) << "the message must name the file: " << broker.describe();
  EXPECT_EQ(broker.out.find("listening on"), std::string::npos) << broker.describe();
  EXPECT_TRUE(readFileBytes(db) == damaged) << "the damaged file was changed";
  std::cout << "[durability] damaged pages: " << broker.err;
}

TEST(Durability, LockedDatabaseIsALoudFailureAndTheFirstBrokerKeepsServing) {
  TempDir data;
  BrokerProcess first(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(first.start());
  auto client = connectTo(first.endpoint(), "lock-client");
  ASSERT_TRUE(client);
  JobHandle before = client->submit("echo", "before the second broker");
  ASSERT_TRUE(before.id());

  CommandResult second = brokerThatMustFail({"--data-dir", data.path()});
  EXPECT_FALSE(second.timed_out);
  EXPECT_EQ(second.signal, 0) << second.describe();
  EXPECT_NE(second.exit_code, 0) << "two brokers share one database: " << second.describe();
  EXPECT_NE(second.err.find("another broker"), std::string::npos) << second.describe();
  EXPECT_NE(second.err.find(data.file("corvee.db")), std::string::npos) << second.describe();
  std::cout << "[durability] second broker: " << second.err;
  // The same through --store sqlite:PATH.
  CommandResult by_path = brokerThatMustFail({"--store", "sqlite:" + data.file("corvee.db")});
  EXPECT_NE(by_path.exit_code, 0) << by_path.describe();
  EXPECT_NE(by_path.err.find("another broker"), std::string::npos) << by_path.describe();

  // The first broker still serves, and still writes its store.
  ASSERT_TRUE(first.process().running()) << first.process().describe();
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(first.endpoint(), 1));
  JobHandle after = client->submit("echo", "after the second broker");
  for (JobHandle* handle : {&before, &after}) {
    Result<JobOutcome> outcome = handle->wait(30s);
    ASSERT_TRUE(outcome) << outcome.status().toString();
    EXPECT_TRUE(outcome->succeeded()) << outcome->error_code;
  }
  EXPECT_EQ(after.wait(1s)->result, "after the second broker");
  // What it wrote survives it.
  Result<JobId> after_id = after.id();
  ASSERT_TRUE(after_id);
  ASSERT_TRUE(first.killNine());
  ASSERT_TRUE(first.restart());
  json doc = cliStatus(first.endpoint(), *after_id);
  EXPECT_EQ(doc.value("result", ""), "after the second broker") << doc.dump();
}

TEST(Durability, UnusableDataDirIsALoudFailure) {
  TempDir data;
  const std::string not_a_dir = data.file("plain-file");
  writeFileBytes(not_a_dir, "x");
  CommandResult broker = brokerThatMustFail({"--data-dir", not_a_dir});
  EXPECT_FALSE(broker.timed_out);
  EXPECT_NE(broker.exit_code, 0) << broker.describe();
  EXPECT_NE(broker.err.find(not_a_dir), std::string::npos) << "the message must name the path: " << broker.describe();
  EXPECT_EQ(readFileBytes(not_a_dir), "x");
}

}  // namespace
}  // namespace corvee::testing
