// Unique jobs through real processes (issue 11): `submit --unique-key` twice gives one id, a
// duplicate waits for the existing job's result, and keys survive a broker kill -9 on SQLite (the
// key of a queued job, and the window of a succeeded one).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "corvee/client.h"
#include "support/process.h"
#include "support/test_client.h"

namespace corvee::testing {
namespace {

using namespace std::chrono_literals;

// The id `submit` printed, without its newline.
std::string idOf(const CommandResult& run) {
  std::string id = run.out;
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  return id;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(UniqueTest, TwoSubmissionsWithOneUniqueKeyReturnOneIdAndTheSecondSaysSo) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  // No worker serves `idle`: the first job stays queued, holding its key.
  CommandResult first = runCorvee({"submit", "idle", "a", "--unique-key", "k", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  EXPECT_FALSE(contains(first.err, "already holds")) << first.err;
  CommandResult second = runCorvee({"submit", "idle", "b", "--unique-key", "k", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(second.exit_code, 0) << second.describe();
  EXPECT_EQ(idOf(second), idOf(first));
  EXPECT_TRUE(contains(second.err, "job " + idOf(first) + " already holds unique key 'k'")) << second.err;
  EXPECT_TRUE(contains(second.err, "not submitted again")) << second.err;

  // Another task, or another key, is another job.
  CommandResult other_task =
      runCorvee({"submit", "idle2", "a", "--unique-key", "k", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(other_task.exit_code, 0) << other_task.describe();
  EXPECT_NE(idOf(other_task), idOf(first));
  CommandResult other_key =
      runCorvee({"submit", "idle", "a", "--unique-key", "k2", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(other_key.exit_code, 0) << other_key.describe();
  EXPECT_NE(idOf(other_key), idOf(first));

  CommandResult status = runCorvee({"status", idOf(first), "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(status.exit_code, 0) << status.describe();
  auto doc = nlohmann::json::parse(status.out);
  EXPECT_EQ(doc["unique_key"], "k");
  EXPECT_EQ(doc["unique_for_ms"], 0);

  CommandResult usage = runCorvee({"submit", "idle", "a", "--unique-for", "5m", "--connect", broker.endpoint()}, {}, 30s);
  EXPECT_EQ(usage.exit_code, 2) << "--unique-for without --unique-key: " << usage.describe();
}

TEST(UniqueTest, ADuplicateWaitsForTheExistingJobsResult) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1));
  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  SubmitOptions options;
  options.unique_key = "report-42";
  options.unique_for = 10min;
  JobHandle first = client->submit("echo", "first", options);
  auto outcome = first.wait(60s);
  ASSERT_TRUE(outcome) << outcome.status().toString();
  EXPECT_EQ(outcome->result, "first");
  EXPECT_FALSE(first.duplicate());

  // Within the window: the finished job answers, with its own result.
  JobHandle again = client->submit("echo", "second", options);
  ASSERT_TRUE(again.id()) << again.id().status().toString();
  EXPECT_EQ(*again.id(), *first.id());
  EXPECT_TRUE(again.duplicate());
  auto again_outcome = again.wait(60s);
  ASSERT_TRUE(again_outcome) << again_outcome.status().toString();
  EXPECT_EQ(again_outcome->result, "first");

  // The CLI's --wait on a duplicate prints that result too.
  CommandResult run = runCorvee(
      {"submit", "echo", "third", "--unique-key", "report-42", "--wait", "--connect", broker.endpoint()}, {}, 60s);
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(run.out, "first");
  EXPECT_TRUE(contains(run.err, "already holds unique key")) << run.err;
}

TEST(UniqueTest, KeysOfAQueuedAndOfASucceededJobSurviveKillNine) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1));
  CommandResult queued = runCorvee({"submit", "idle", "q", "--unique-key", "nightly", "--connect", broker.endpoint()},
                                   {}, 30s);
  ASSERT_EQ(queued.exit_code, 0) << queued.describe();
  CommandResult done = runCorvee({"submit", "echo", "d", "--unique-key", "nightly", "--unique-for", "10m", "--wait",
                                  "--connect", broker.endpoint()},
                                 {}, 60s);
  ASSERT_EQ(done.exit_code, 0) << done.describe();
  EXPECT_EQ(done.out, "d");
  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  auto listed = client->jobs({.task = "echo"});
  ASSERT_TRUE(listed) << listed.status().toString();
  ASSERT_EQ(listed->size(), 1u);
  const std::string done_id = std::to_string((*listed)[0].id);
  EXPECT_EQ((*listed)[0].unique_key, "nightly");
  client.reset();

  ASSERT_TRUE(broker.killNine());
  ASSERT_TRUE(broker.restart());
  CommandResult queued_again =
      runCorvee({"submit", "idle", "q", "--unique-key", "nightly", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(queued_again.exit_code, 0) << queued_again.describe();
  EXPECT_EQ(idOf(queued_again), idOf(queued)) << "the queued job's key was lost in the crash";
  EXPECT_TRUE(contains(queued_again.err, "already holds")) << queued_again.err;
  CommandResult done_again =
      runCorvee({"submit", "echo", "d2", "--unique-key", "nightly", "--unique-for", "10m", "--connect", broker.endpoint()},
                {}, 30s);
  ASSERT_EQ(done_again.exit_code, 0) << done_again.describe();
  EXPECT_EQ(idOf(done_again), done_id) << "the succeeded job's window was lost in the crash";
  EXPECT_TRUE(contains(done_again.err, "already holds")) << done_again.err;
}

}  // namespace
}  // namespace corvee::testing
