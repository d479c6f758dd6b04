// Periodic jobs through real processes (issue 11): `corvee cron add` of an every-second entry
// fires about once a second and keeps doing so across a broker kill -9 on the default store, with
// no firing doubled; pause and remove hold across restarts; bad specs are usage errors.
//
// No assertion depends on the machine's speed: a firing's job is stamped with the wall time it was
// submitted, and the invariant checked is that no two of them fall in the same second (a doubled
// firing would); the waits only bound how long the test may take.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "corvee/client.h"
#include "support/process.h"
#include "support/test_client.h"

namespace corvee::testing {
namespace {

using namespace std::chrono_literals;

// The jobs of task `task` the broker lists (any state), oldest first.
std::vector<JobInfo> jobsOf(Client& client, const std::string& task) {
  JobFilter filter;
  filter.task = task;
  filter.limit = 1000;
  auto listed = client.jobs(filter);
  EXPECT_TRUE(listed) << listed.status().toString();
  if (!listed) return {};
  std::vector<JobInfo> jobs = std::move(*listed);
  std::reverse(jobs.begin(), jobs.end());
  return jobs;
}

// Waits (up to a minute) until task `task` has at least `count` jobs; returns them.
std::vector<JobInfo> waitForJobs(Client& client, const std::string& task, std::size_t count) {
  std::vector<JobInfo> jobs;
  for (int i = 0; i < 600; ++i) {
    jobs = jobsOf(client, task);
    if (jobs.size() >= count) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GE(jobs.size(), count) << "the cron entry stopped firing";
  return jobs;
}

// No two firings in one wall-clock second: each firing's next time is the whole second after it.
void expectOneFiringPerSecond(const std::vector<JobInfo>& jobs) {
  std::set<std::uint64_t> seconds;
  for (const JobInfo& job : jobs) {
    EXPECT_TRUE(seconds.insert(job.submitted_ms / 1000).second)
        << "two firings in the second of " << job.submitted_ms << " (job " << job.id << "): a firing was doubled";
  }
}

TEST(CronTest, AnEverySecondEntryFiresOnceASecondAcrossKillNine) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 2));
  CommandResult added = runCorvee(
      {"cron", "add", "tick", "* * * * * *", "echo", "tock", "--fair-key", "t1", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(added.exit_code, 0) << added.describe();
  EXPECT_NE(added.out.find("added cron entry 'tick'; next firing 20"), std::string::npos) << added.out;

  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  std::vector<JobInfo> before = waitForJobs(*client, "echo", 3);
  ASSERT_GE(before.size(), 3u);
  for (const JobInfo& job : before) {
    auto outcome = client->wait(job.id, 60s);
    ASSERT_TRUE(outcome) << outcome.status().toString();
    EXPECT_EQ(outcome->result, "tock");
  }

  // Killed mid-schedule, and twice: each restart fires what was missed once, then goes on.
  for (int kill = 0; kill < 2; ++kill) {
    std::size_t had = jobsOf(*client, "echo").size();
    ASSERT_TRUE(broker.killNine());
    std::this_thread::sleep_for(1500ms);  // at least one firing falls in the outage
    ASSERT_TRUE(broker.restart());
    waitForJobs(*client, "echo", had + 3);
  }
  std::vector<JobInfo> all = jobsOf(*client, "echo");
  expectOneFiringPerSecond(all);

  CommandResult listed = runCorvee({"cron", "list", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(listed.exit_code, 0) << listed.describe();
  EXPECT_NE(listed.out.find("\"name\":\"tick\""), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("\"spec\":\"* * * * * *\""), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("\"payload\":\"tock\""), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("\"fair_key\":\"t1\""), std::string::npos) << listed.out;
}

TEST(CronTest, PauseAndRemoveHoldAcrossKillNine) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  CronEntry entry;
  entry.name = "often";
  entry.spec = "* * * * * *";
  entry.task = "often";
  entry.options.priority = 7;
  auto added = client->cronAdd(entry);
  ASSERT_TRUE(added) << added.status().toString();
  EXPECT_GT(added->next_fire_ms, added->created_ms);
  entry.name = "gone";
  entry.task = "gone";
  ASSERT_TRUE(client->cronAdd(entry));
  waitForJobs(*client, "often", 1);
  ASSERT_TRUE(client->cronPause("often"));
  ASSERT_TRUE(client->cronRemove("gone"));
  std::size_t often = jobsOf(*client, "often").size();
  std::size_t gone = jobsOf(*client, "gone").size();
  EXPECT_EQ(jobsOf(*client, "often")[0].priority, 7);

  ASSERT_TRUE(broker.killNine());
  ASSERT_TRUE(broker.restart());
  std::this_thread::sleep_for(2500ms);  // two firings' worth, had either entry still fired
  EXPECT_EQ(jobsOf(*client, "often").size(), often) << "a paused entry fired";
  EXPECT_EQ(jobsOf(*client, "gone").size(), gone) << "a removed entry fired";
  auto entries = client->cronList();
  ASSERT_TRUE(entries) << entries.status().toString();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].name, "often");
  EXPECT_TRUE((*entries)[0].paused);
  EXPECT_EQ((*entries)[0].options.priority, 7);

  CommandResult resumed = runCorvee({"cron", "resume", "often", "--connect", broker.endpoint()}, {}, 30s);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  waitForJobs(*client, "often", often + 1);
  CommandResult unknown = runCorvee({"cron", "remove", "gone", "--connect", broker.endpoint()}, {}, 30s);
  EXPECT_EQ(unknown.exit_code, 1) << unknown.describe();
  EXPECT_NE(unknown.err.find("not_found"), std::string::npos) << unknown.err;
}

TEST(CronTest, BadSpecsZonesAndFlagsAreClearErrors) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  CommandResult bad = runCorvee({"cron", "add", "x", "61 * * * *", "echo", "--connect", broker.endpoint()}, {}, 30s);
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  EXPECT_NE(bad.err.find("minute"), std::string::npos) << bad.err;
  CommandResult zone = runCorvee(
      {"cron", "add", "x", "@daily", "echo", "--tz", "Mars/Base", "--connect", broker.endpoint()}, {}, 30s);
  EXPECT_EQ(zone.exit_code, 2) << zone.describe();
  EXPECT_NE(zone.err.find("Mars/Base"), std::string::npos) << zone.err;
  CommandResult at = runCorvee(
      {"cron", "add", "x", "@daily", "echo", "--at", "2030-01-01T00:00:00Z", "--connect", broker.endpoint()}, {}, 30s);
  EXPECT_EQ(at.exit_code, 2) << at.describe();
  CommandResult missing = runCorvee({"cron", "add", "x", "@daily", "--connect", broker.endpoint()}, {}, 30s);
  EXPECT_EQ(missing.exit_code, 2) << missing.describe();
  CommandResult none = runCorvee({"cron", "list", "--connect", broker.endpoint()}, {}, 30s);
  EXPECT_EQ(none.exit_code, 0) << none.describe();
  EXPECT_EQ(none.out, "");
}

}  // namespace
}  // namespace corvee::testing
