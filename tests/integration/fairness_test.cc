// Fairness keys through real processes (issue 11): behind one key's flood, nine other keys are
// dealt as soon as a slot frees, before and after a broker kill -9 on SQLite; `--key-concurrency`
// keeps one key's jobs from overlapping on a real worker; the CLI's flags.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "corvee/client.h"
#include "support/process.h"
#include "support/test_client.h"

namespace corvee::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kFlood = 2000;
constexpr int kOthers = 9;

// The queued count of `task` in the broker's stats; -1 when it cannot be read.
long long queuedOf(Client& client, const std::string& task) {
  auto stats = client.stats();
  if (!stats) return -1;
  auto doc = nlohmann::json::parse(*stats);
  for (const auto& queue : doc["queues"]) {
    if (queue["task"] == task) return queue["queued"].get<long long>();
  }
  return -1;
}

// Submits `count` jobs of `key`, each sleeping `ms`, and returns their ids (checked accepted).
std::vector<JobId> submitKeyed(Client& client, const std::string& key, int count, const std::string& ms) {
  SubmitOptions options;
  options.fair_key = key;
  std::vector<JobHandle> handles;
  for (int i = 0; i < count; ++i) handles.push_back(client.submit("sleep", ms, options));
  std::vector<JobId> ids;
  for (JobHandle& handle : handles) {
    auto id = handle.id();
    EXPECT_TRUE(id) << id.status().toString();
    if (id) ids.push_back(*id);
  }
  return ids;
}

// Waits for each of `ids` to succeed.
void expectAllSucceed(Client& client, const std::vector<JobId>& ids) {
  for (JobId id : ids) {
    auto outcome = client.wait(id, 120s);
    ASSERT_TRUE(outcome) << "job " << id << ": " << outcome.status().toString();
    EXPECT_TRUE(outcome->succeeded()) << "job " << id << ": " << outcome->error_code;
  }
}

TEST(FairnessTest, NineKeysAreServedLongBeforeAFloodingKeyIsDone) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  submitKeyed(*client, "flood", kFlood, "20");
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 2));
  // The nine tenants come while the flood runs, one job each.
  std::vector<JobId> others;
  for (int k = 1; k <= kOthers; ++k) {
    auto ids = submitKeyed(*client, "tenant-" + std::to_string(k), 1, "20");
    others.insert(others.end(), ids.begin(), ids.end());
  }
  expectAllSucceed(*client, others);
  // Without keys they would have waited behind every flood job; with them, each was dealt when a
  // slot freed, so most of the flood still waits.
  long long left = queuedOf(*client, "sleep");
  EXPECT_GT(left, kFlood / 2) << "the flood went on ahead of the nine keys";
  auto info = client->status(others.front());
  ASSERT_TRUE(info);
  EXPECT_EQ(info->fair_key, "tenant-1");
}

TEST(FairnessTest, QueuedKeysAreDealtFairlyAgainAfterKillNine) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  std::vector<JobId> others;
  {
    auto client = connectTestClient(broker.endpoint());
    ASSERT_NE(client, nullptr);
    // No worker yet: the flood and then the nine wait, the nine last in submission order.
    submitKeyed(*client, "flood", kFlood, "10");
    for (int k = 1; k <= kOthers; ++k) {
      auto ids = submitKeyed(*client, "tenant-" + std::to_string(k), 1, "10");
      others.insert(others.end(), ids.begin(), ids.end());
    }
    ASSERT_EQ(queuedOf(*client, "sleep"), kFlood + kOthers);
  }
  ASSERT_TRUE(broker.killNine());
  ASSERT_TRUE(broker.restart());
  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(queuedOf(*client, "sleep"), kFlood + kOthers) << "every job survived the crash";
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 2));
  expectAllSucceed(*client, others);
  EXPECT_GT(queuedOf(*client, "sleep"), kFlood / 2) << "the recovered keys were not dealt by turns";
  auto info = client->status(others.back());
  ASSERT_TRUE(info);
  EXPECT_EQ(info->fair_key, "tenant-9") << "the key survived the crash";
}

TEST(FairnessTest, KeyConcurrencyKeepsOneKeysJobsFromOverlapping) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start({"--key-concurrency", "sleep=1"}));
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 4));
  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  std::vector<JobId> a = submitKeyed(*client, "a", 3, "200");
  std::vector<JobId> b = submitKeyed(*client, "b", 3, "200");
  std::vector<JobId> all = a;
  all.insert(all.end(), b.begin(), b.end());
  // The broker's stats show the cap on the task's queue (the worker's other tasks have none).
  auto stats = client->stats();
  ASSERT_TRUE(stats);
  auto doc = nlohmann::json::parse(*stats);
  bool found = false;
  for (const auto& queue : doc["queues"]) {
    if (queue["task"] != "sleep") continue;
    found = true;
    EXPECT_EQ(queue["key_concurrency"], 1) << *stats;
  }
  EXPECT_TRUE(found) << *stats;
  expectAllSucceed(*client, all);
  auto intervals = [&](const std::vector<JobId>& ids) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (JobId id : ids) {
      auto info = client->status(id);
      EXPECT_TRUE(info);
      if (info) out.emplace_back(info->started_ms, info->finished_ms);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  for (const auto& key : {a, b}) {
    auto runs = intervals(key);
    ASSERT_EQ(runs.size(), 3u);
    // The broker starts a key's next job only once it has the last one's result.
    for (std::size_t i = 1; i < runs.size(); ++i) {
      EXPECT_GE(runs[i].first, runs[i - 1].second) << "two jobs of one key ran at once";
    }
  }
  // The two keys did run side by side: b's first job started before a's first one ended.
  auto ra = intervals(a);
  auto rb = intervals(b);
  EXPECT_LT(rb[0].first, ra[0].second);
  EXPECT_LT(ra[0].first, rb[0].second);
}

TEST(FairnessTest, TheCliSubmitsWithAKeyAndStatusShowsIt) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start({"--fair-weight", "echo:tenant-1=3", "--key-concurrency", "echo=2"}));
  CommandResult submit = runCorvee({"submit", "echo", "hi", "--fair-key", "tenant-1", "--connect", broker.endpoint()},
                                   {}, 30s);
  ASSERT_EQ(submit.exit_code, 0) << submit.describe();
  std::string id = submit.out.substr(0, submit.out.find_first_of("\r\n"));
  CommandResult status = runCorvee({"status", id, "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(status.exit_code, 0) << status.describe();
  auto doc = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << status.out;
  EXPECT_EQ(doc.value("fair_key", ""), "tenant-1") << status.out;
  CommandResult stats = runCorvee({"stats", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(stats.exit_code, 0) << stats.describe();
  auto stats_doc = nlohmann::json::parse(stats.out, nullptr, false);
  ASSERT_TRUE(stats_doc.is_object()) << stats.out;
  ASSERT_EQ(stats_doc["queues"].size(), 1u) << stats.out;
  EXPECT_EQ(stats_doc["queues"][0]["fair_keys_waiting"], 1) << stats.out;
  EXPECT_EQ(stats_doc["queues"][0]["key_concurrency"], 2) << stats.out;

  CommandResult bad_weight = runCorvee({"broker", "--store", "memory", "--fair-weight", "echo=3"}, {}, 30s);
  EXPECT_EQ(bad_weight.exit_code, 2) << bad_weight.describe();
  EXPECT_NE(bad_weight.err.find("--fair-weight"), std::string::npos) << bad_weight.err;
  CommandResult bad_cap = runCorvee({"broker", "--store", "memory", "--key-concurrency", "echo=x"}, {}, 30s);
  EXPECT_EQ(bad_cap.exit_code, 2) << bad_cap.describe();
  CommandResult bad_key = runCorvee(
      {"submit", "echo", "hi", "--fair-key", std::string(256, 'k'), "--connect", broker.endpoint()}, {}, 30s);
  EXPECT_EQ(bad_key.exit_code, 2) << bad_key.describe();
}

}  // namespace
}  // namespace corvee::testing
