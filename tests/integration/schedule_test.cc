// Time through real processes (issue 11): `submit --delay` and `--at`, a scheduled job surviving a
// broker kill -9 on the default store, and `broker --rate`.
//
// Time is asserted only as a lower bound (a job never runs before its time), never as an upper one.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "corvee/client.h"
#include "support/process.h"
#include "support/test_client.h"

namespace corvee::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(ScheduleTest, SubmitDelayWaitAnswersNoSoonerThanTheDelay) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1));
  auto started = Clock::now();
  CommandResult run = runCorvee({"submit", "echo", "x", "--delay", "2000", "--wait", "--connect", broker.endpoint()}, {},
                                60s);
  auto took = Clock::now() - started;
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(run.out, "x");
  EXPECT_GE(took, 2000ms);
}

TEST(ScheduleTest, SubmitAtAPastTimeRunsAtOnceAndBadTimesAreUsageErrors) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1));
  CommandResult run = runCorvee(
      {"submit", "echo", "y", "--at", "2020-01-01T00:00:00Z", "--wait", "--connect", broker.endpoint()}, {}, 60s);
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(run.out, "y");
  CommandResult bad = runCorvee({"submit", "echo", "z", "--at", "tomorrow", "--connect", broker.endpoint()}, {}, 30s);
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  EXPECT_NE(bad.err.find("RFC 3339"), std::string::npos) << bad.err;
  CommandResult both = runCorvee(
      {"submit", "echo", "z", "--at", "2030-01-01T00:00:00Z", "--delay", "5s", "--connect", broker.endpoint()}, {}, 30s);
  EXPECT_EQ(both.exit_code, 2) << both.describe();
}

TEST(ScheduleTest, AScheduledJobSurvivesKillNineAndRunsNoSoonerThanItsTime) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  SubmitOptions options;
  options.delay = 1500ms;
  JobHandle job = client->submit("echo", "later", options);
  ASSERT_TRUE(job.id()) << job.id().status().toString();
  auto info = client->status(*job.id());
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, JobState::kScheduled);
  EXPECT_GE(info->run_at_ms, info->submitted_ms + 1500);

  ASSERT_TRUE(broker.killNine());
  ASSERT_TRUE(broker.restart());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1));
  auto outcome = client->wait(*job.id(), 60s);
  ASSERT_TRUE(outcome) << outcome.status().toString();
  EXPECT_EQ(outcome->result, "later");
  auto done = client->status(*job.id());
  ASSERT_TRUE(done);
  EXPECT_EQ(done->attempt, 1u);
  EXPECT_GE(done->started_ms, info->run_at_ms) << "ran before its time";
}

// Submits three echo jobs at once and returns when each started (broker stamps), earliest first;
// fewer than three when one did not finish (the test has failed then).
std::vector<std::uint64_t> startTimesOfThreeEchoJobs(Client& client) {
  std::vector<JobHandle> jobs;
  for (int i = 0; i < 3; ++i) jobs.push_back(client.submit("echo", "r"));
  std::vector<std::uint64_t> starts;
  for (JobHandle& job : jobs) {
    if (!job.wait(60s) || !job.id()) {
      ADD_FAILURE() << "an echo job did not finish";
      continue;
    }
    auto info = client.status(*job.id());
    EXPECT_TRUE(info) << info.status().toString();
    if (info) starts.push_back(info->started_ms);
  }
  std::sort(starts.begin(), starts.end());
  return starts;
}

TEST(ScheduleTest, ARateLimitedTaskStartsNoFasterThanItsRate) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start({"--rate", "echo=4/s:1"}));
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 4));
  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  std::vector<std::uint64_t> starts = startTimesOfThreeEchoJobs(*client);
  ASSERT_EQ(starts.size(), 3u);
  // One token every 250 ms, a burst of one: each start at least 250 ms after the one before (the
  // clock the broker stamps with has millisecond steps).
  EXPECT_GE(starts[1], starts[0] + 249);
  EXPECT_GE(starts[2], starts[1] + 249);
  CommandResult bad = runCorvee({"broker", "--rate", "echo=fast", "--store", "memory"}, {}, 30s);
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
}

TEST(ScheduleTest, ARateSetAtRunTimeSurvivesKillNineAndWinsOverTheFlag) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start({"--rate", "echo=100/s:100"}));
  CommandResult flag = runCorvee({"rate", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(flag.exit_code, 0) << flag.describe();
  EXPECT_EQ(flag.out, "'echo' 100/s:100 (broker --rate)\n");
  CommandResult set = runCorvee({"rate", "echo", "2/s:1", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(set.exit_code, 0) << set.describe();
  EXPECT_EQ(set.out, "task 'echo': rate 2/s:1\n");
  CommandResult bad = runCorvee({"rate", "echo", "fast", "--connect", broker.endpoint()}, {}, 30s);
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();

  ASSERT_TRUE(broker.killNine());
  ASSERT_TRUE(broker.restart());
  CommandResult shown = runCorvee({"rate", "echo", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(shown.exit_code, 0) << shown.describe();
  EXPECT_EQ(shown.out, "'echo' 2/s:1 (set at run time)\n") << "the stored rate did not win over --rate";

  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 4));
  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  std::vector<std::uint64_t> starts = startTimesOfThreeEchoJobs(*client);
  ASSERT_EQ(starts.size(), 3u);
  // 2/s with a burst of one: starts at least 500 ms apart (the broker stamps whole milliseconds).
  EXPECT_GE(starts[1], starts[0] + 499);
  EXPECT_GE(starts[2], starts[1] + 499);

  CommandResult off = runCorvee({"rate", "echo", "off", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(off.exit_code, 0) << off.describe();
  CommandResult listed = runCorvee({"rate", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(listed.exit_code, 0) << listed.describe();
  EXPECT_EQ(listed.out, "'echo' off (set at run time)\n");
}

}  // namespace
}  // namespace corvee::testing
