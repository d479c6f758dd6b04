// `corvee explain` through real processes (issue 12): why a job waits, said in plain words, and its
// history, which survives a broker kill -9 on the default store.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>
#include <vector>

#include "corvee/client.h"
#include "support/process.h"
#include "support/test_client.h"

namespace corvee::testing {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// `corvee explain ID --json`, parsed; a null document (and a failed test) when it did not answer.
nlohmann::json explainJson(const std::string& endpoint, JobId id) {
  CommandResult run = runCorvee({"explain", std::to_string(id), "--json", "--connect", endpoint}, {}, 30s);
  EXPECT_EQ(run.exit_code, 0) << run.describe();
  auto doc = nlohmann::json::parse(run.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << run.out;
  return doc.is_discarded() ? nlohmann::json() : doc;
}

std::vector<std::string> kindsOf(const nlohmann::json& doc) {
  std::vector<std::string> kinds;
  if (!doc.contains("events")) return kinds;
  for (const auto& event : doc["events"]) kinds.push_back(event.value("kind", ""));
  return kinds;
}

// The id `corvee submit` printed.
JobId submitted(const CommandResult& run) {
  EXPECT_EQ(run.exit_code, 0) << run.describe();
  try {
    return std::stoull(run.out);
  } catch (const std::exception&) {
    ADD_FAILURE() << "submit printed no id: " << run.describe();
    return 0;
  }
}

TEST(ExplainTest, AJobForATaskNobodyServesIsExplainedAsSuch) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  JobId id = submitted(runCorvee({"submit", "nobody", "x", "--connect", broker.endpoint()}, {}, 30s));
  CommandResult run = runCorvee({"explain", std::to_string(id), "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_TRUE(contains(run.out, "queued")) << run.out;
  EXPECT_TRUE(contains(run.out, "no connected worker serves task 'nobody'")) << run.out;
  EXPECT_TRUE(contains(run.out, "[no_worker]")) << run.out;
  EXPECT_TRUE(contains(run.out, "EVENT")) << "the history's table: " << run.out;
  EXPECT_TRUE(contains(run.out, "submitted")) << run.out;
  // The reason comes before the history.
  EXPECT_LT(run.out.find("no connected worker"), run.out.find("submitted")) << run.out;
  nlohmann::json doc = explainJson(broker.endpoint(), id);
  EXPECT_EQ(doc.value("reason_code", ""), "no_worker");
  EXPECT_EQ(doc["job"].value("state", ""), "queued");
}

TEST(ExplainTest, AnUnknownJobIsAClearError) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  CommandResult run = runCorvee({"explain", "987654", "--connect", broker.endpoint()}, {}, 30s);
  EXPECT_NE(run.exit_code, 0) << run.describe();
  EXPECT_TRUE(contains(run.err, "not_found")) << run.err;
  EXPECT_TRUE(contains(run.err, "987654")) << run.err;
}

TEST(ExplainTest, APausedTaskSaysPaused) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  // Submitted first: the broker refuses to pause a task it has never heard of.
  JobId id = submitted(runCorvee({"submit", "echo", "x", "--connect", broker.endpoint()}, {}, 30s));
  CommandResult pause = runCorvee({"pause", "echo", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(pause.exit_code, 0) << pause.describe();
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1));
  nlohmann::json doc = explainJson(broker.endpoint(), id);
  EXPECT_EQ(doc.value("reason_code", ""), "paused");
  EXPECT_TRUE(contains(doc.value("reason", ""), "paused")) << doc.dump();
}

TEST(ExplainTest, ADelayedJobSaysUntilWhen) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1));
  JobId id = submitted(runCorvee({"submit", "echo", "x", "--delay", "600000", "--connect", broker.endpoint()}, {}, 30s));
  CommandResult run = runCorvee({"explain", std::to_string(id), "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_TRUE(contains(run.out, "scheduled: it waits until")) << run.out;
  EXPECT_TRUE(contains(run.out, "[delayed]")) << run.out;
  nlohmann::json doc = explainJson(broker.endpoint(), id);
  EXPECT_EQ(doc.value("reason_code", ""), "delayed");
  ASSERT_EQ(kindsOf(doc), (std::vector<std::string>{"submitted", "scheduled"}));
  std::uint64_t run_at = doc["job"].value("run_at_ms", std::uint64_t{0});
  EXPECT_GT(run_at, 0u) << doc.dump();
  EXPECT_EQ(doc["events"][1].value("detail", ""), std::to_string(run_at));
}

TEST(ExplainTest, AJobThatFailedOnceAndSucceededShowsItsWholeHistory) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  TempDir scratch;
  const std::string mark = scratch.path() + "/failed-once";
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1,
                           {"--exec", "flaky=if [ -e " + mark + " ]; then cat; else touch " + mark + "; exit 1; fi"},
                           /*builtin=*/false));
  CommandResult run = runCorvee({"submit", "flaky", "hello", "--retries", "1", "--backoff", "10", "--wait", "--connect",
                                 broker.endpoint()},
                                {}, 60s);
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(run.out, "hello");
  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  auto jobs = client->jobs(JobFilter{.task = "flaky"});
  ASSERT_TRUE(jobs) << jobs.status().toString();
  ASSERT_EQ(jobs->size(), 1u);
  JobId id = (*jobs)[0].id;
  nlohmann::json doc = explainJson(broker.endpoint(), id);
  EXPECT_EQ(doc.value("reason_code", "x"), "");
  EXPECT_EQ(kindsOf(doc), (std::vector<std::string>{"submitted", "running", "failed", "retry", "queued", "running",
                                                     "succeeded"}))
      << doc.dump();
  // And through the C++ client.
  Result<JobExplanation> explained = client->explain(id);
  ASSERT_TRUE(explained) << explained.status().toString();
  ASSERT_EQ(explained->events.size(), 7u);
  EXPECT_EQ(explained->events[2].attempt, 1u);
  EXPECT_FALSE(explained->events[1].worker.empty()) << "the running event names its worker";
  EXPECT_EQ(explained->events[5].attempt, 2u);
  CommandResult table = runCorvee({"explain", std::to_string(id), "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(table.exit_code, 0) << table.describe();
  EXPECT_TRUE(contains(table.out, "succeeded")) << table.out;
  EXPECT_FALSE(contains(table.out, "waiting:")) << "a finished job does not wait: " << table.out;
}

TEST(ExplainTest, HistorySurvivesKillNineWithTheRunningJobRequeuedAtTheRestart) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  JobId done = 0, running = 0;
  {
    WorkerProcess worker;
    ASSERT_TRUE(worker.start(broker.endpoint(), 1));
    JobHandle echo = client->submit("echo", "kept");
    ASSERT_TRUE(echo.wait(60s));
    done = *echo.id();
    JobHandle sleeper = client->submit("sleep", "600000");
    ASSERT_TRUE(sleeper.id()) << sleeper.id().status().toString();
    running = *sleeper.id();
    // Running, as committed: the broker acknowledges a state only once it is durable.
    for (int i = 0; i < 600; ++i) {
      auto info = client->status(running);
      if (info && info->state == JobState::kRunning) break;
      std::this_thread::sleep_for(50ms);
    }
    auto info = client->status(running);
    ASSERT_TRUE(info && info->state == JobState::kRunning);
    ASSERT_TRUE(broker.killNine());
  }  // the worker goes too, so nothing runs the job again before it is looked at
  ASSERT_TRUE(broker.restart());
  nlohmann::json finished = explainJson(broker.endpoint(), done);
  EXPECT_EQ(kindsOf(finished), (std::vector<std::string>{"submitted", "running", "succeeded"})) << finished.dump();
  nlohmann::json requeued = explainJson(broker.endpoint(), running);
  EXPECT_EQ(requeued["job"].value("state", ""), "queued");
  EXPECT_EQ(requeued.value("reason_code", ""), "no_worker");
  EXPECT_EQ(kindsOf(requeued), (std::vector<std::string>{"submitted", "running", "failed", "requeued"}))
      << requeued.dump();
  ASSERT_EQ(requeued["events"].size(), 4u);
  EXPECT_EQ(requeued["events"][2].value("detail", ""), "worker_lost");
  EXPECT_EQ(requeued["events"][3].value("detail", ""), "broker_restart");
}

}  // namespace
}  // namespace corvee::testing
