// Metrics through real processes (issue 12): `corvee metrics` from a broker that ran jobs on a real
// worker passes `promtool check metrics` and counts the jobs by task and outcome; the totals
// survive a kill -9 of the broker; `corvee top --once` shows the queue and the worker.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.h"

namespace corvee::testing {
namespace {

using namespace std::chrono_literals;

// Debian's `prometheus` package (scripts/install-deps installs it).
constexpr const char* kPromtool = "/usr/bin/promtool";

// The value of the sample line that starts with `series` exactly (name and labels); "" if none.
std::string sampleValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return line.substr(series.size() + 1);
    }
  }
  return "";
}

// The first six whitespace-separated fields of the first line starting with `first`.
std::vector<std::string> fieldsOfLine(const std::string& text, const std::string& first) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(first + " ", 0) != 0) continue;
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string w; fields.size() < 6 && words >> w;) fields.push_back(w);
    return fields;
  }
  return {};
}

void runJobs(const std::string& endpoint, const std::string& task, int n, int expect_exit) {
  for (int i = 0; i < n; ++i) {
    CommandResult run = runCorvee({"submit", task, "job-" + std::to_string(i), "--wait", "--connect", endpoint}, {}, 60s);
    ASSERT_EQ(run.exit_code, expect_exit) << run.describe();
  }
}

TEST(MetricsTest, PromtoolAcceptsTheMetricsAndTheJobsAreCountedByTaskAndOutcome) {
  ASSERT_EQ(access(kPromtool, X_OK), 0) << kPromtool << " is missing: install Debian's prometheus package "
                                        << "(scripts/install-deps)";
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 2));
  ASSERT_TRUE(waitForWorkers(broker.endpoint(), 1));
  runJobs(broker.endpoint(), "echo", 3, 0);
  runJobs(broker.endpoint(), "fail", 1, 1);  // the builtin `fail` fails: dead, exit 1
  // A task nobody serves keeps a job queued.
  CommandResult queued = runCorvee({"submit", "nobody", "x", "--connect", broker.endpoint()});
  ASSERT_EQ(queued.exit_code, 0) << queued.describe();

  CommandResult metrics = runCorvee({"metrics", "--connect", broker.endpoint()});
  ASSERT_EQ(metrics.exit_code, 0) << metrics.describe();
  TempDir scratch;
  std::string file = scratch.file("metrics.prom");
  std::ofstream(file) << metrics.out;
  CommandResult check = runCommand({"/bin/sh", "-c", std::string(kPromtool) + " check metrics < '" + file + "'"});
  EXPECT_EQ(check.exit_code, 0) << "promtool check metrics refused the text:\n" << check.describe() << "\n"
                                << metrics.out;

  const std::string& text = metrics.out;
  EXPECT_EQ(sampleValue(text, R"(corvee_jobs_submitted_total{task="echo"})"), "3") << text;
  EXPECT_EQ(sampleValue(text, R"(corvee_jobs_finished_total{task="echo",outcome="succeeded"})"), "3");
  EXPECT_EQ(sampleValue(text, R"(corvee_jobs_finished_total{task="echo",outcome="dead"})"), "0");
  EXPECT_EQ(sampleValue(text, R"(corvee_jobs_finished_total{task="fail",outcome="dead"})"), "1");
  EXPECT_EQ(sampleValue(text, R"(corvee_queue_depth{task="nobody",state="queued"})"), "1");
  EXPECT_EQ(sampleValue(text, R"(corvee_job_run_seconds_count{task="echo"})"), "3");
  EXPECT_EQ(sampleValue(text, R"(corvee_queue_wait_seconds_count{task="echo"})"), "3");
  EXPECT_EQ(sampleValue(text, "corvee_workers"), "1");
  EXPECT_EQ(sampleValue(text, "corvee_worker_slots"), "2");
  EXPECT_NE(sampleValue(text, "corvee_store_commit_seconds_count"), "0") << "the server measures its commits";
}

TEST(MetricsTest, CommittedTotalsSurviveAKillNineOfTheBroker) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  {
    WorkerProcess worker;
    ASSERT_TRUE(worker.start(broker.endpoint(), 1));
    ASSERT_TRUE(waitForWorkers(broker.endpoint(), 1));
    // Each --wait returns once the result is committed: these are the counts a crash must keep.
    runJobs(broker.endpoint(), "echo", 4, 0);
    runJobs(broker.endpoint(), "fail", 2, 1);
  }
  ASSERT_TRUE(broker.killNine());
  ASSERT_TRUE(broker.restart());

  CommandResult metrics = runCorvee({"metrics", "--connect", broker.endpoint()});
  ASSERT_EQ(metrics.exit_code, 0) << metrics.describe();
  EXPECT_EQ(sampleValue(metrics.out, R"(corvee_jobs_finished_total{task="echo",outcome="succeeded"})"), "4")
      << metrics.out;
  EXPECT_EQ(sampleValue(metrics.out, R"(corvee_jobs_finished_total{task="fail",outcome="dead"})"), "2");
  EXPECT_EQ(sampleValue(metrics.out, R"(corvee_jobs_submitted_total{task="echo"})"), "4");
  std::string stats;
  ASSERT_TRUE(fetchStats(broker.endpoint(), stats));
  auto doc = nlohmann::json::parse(stats);
  EXPECT_EQ(doc["jobs"]["succeeded"], 4) << stats;
  EXPECT_EQ(doc["jobs"]["dead"], 2) << stats;
}

TEST(TopTest, OnceOffATerminalPrintsTheQueueAndTheWorkerAsPlainLines) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 2));
  ASSERT_TRUE(waitForWorkers(broker.endpoint(), 1));
  CommandResult queued = runCorvee({"submit", "nobody", "x", "--connect", broker.endpoint()});
  ASSERT_EQ(queued.exit_code, 0) << queued.describe();

  CommandResult top = runCorvee({"top", "--once", "--connect", broker.endpoint()});
  ASSERT_EQ(top.exit_code, 0) << top.describe();
  EXPECT_EQ(top.out.find('\x1b'), std::string::npos) << "no escape sequences off a terminal: " << top.out;
  EXPECT_NE(top.out.find("TASK"), std::string::npos) << top.out;
  // The queue: task nobody, 1 queued, none running.
  EXPECT_EQ(fieldsOfLine(top.out, "nobody"), (std::vector<std::string>{"nobody", "1", "0", "0", "0", "-"}))
      << top.out;
  // The worker: no busy slot of its 2, serving the builtin tasks.
  EXPECT_NE(top.out.find("0/2"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("echo"), std::string::npos) << top.out;

  CommandResult twice = runCorvee({"top", "--count", "2", "--interval", "100", "--connect", broker.endpoint()});
  ASSERT_EQ(twice.exit_code, 0) << twice.describe();
  std::size_t first = twice.out.find("WORKER");
  ASSERT_NE(first, std::string::npos) << twice.out;
  EXPECT_NE(twice.out.find("WORKER", first + 1), std::string::npos) << "two readings, one after the other: " << twice.out;
}

}  // namespace
}  // namespace corvee::testing
