// CronTable: when entries fire — on time, once for a backlog missed while the broker was down,
// never twice for one time (also when the wall clock steps back), and not while paused.
#include "broker/cron_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace corvee::broker {
namespace {

constexpr std::uint64_t kT0 = 1'700'000'000'000ULL;  // a whole second (2023-11-14T22:13:20Z)

CronRecord entry(std::string name, std::string spec = "* * * * * *", std::string tz = "UTC") {
  CronRecord cron;
  cron.name = std::move(name);
  cron.spec = std::move(spec);
  cron.tz = std::move(tz);
  cron.task = "echo";
  cron.created_ms = kT0;
  return cron;
}

TEST(CronTableTest, AnEverySecondEntryFiresOnceASecond) {
  CronTable table;
  bool replaced = true;
  ASSERT_TRUE(table.add(entry("tick"), kT0 + 300, &replaced).isOk());
  EXPECT_FALSE(replaced);
  EXPECT_EQ(table.nextFiringMs(), kT0 + 1000);
  EXPECT_TRUE(table.due(kT0 + 999).empty());
  std::vector<std::uint64_t> fired_at;
  for (std::uint64_t now = kT0 + 300; now < kT0 + 5000; now += 100) {
    for (const std::string& name : table.due(now)) {
      EXPECT_EQ(name, "tick");
      EXPECT_EQ(table.fired(name, now).last_fire_ms, now);
      fired_at.push_back(now);
    }
  }
  EXPECT_EQ(fired_at, (std::vector<std::uint64_t>{kT0 + 1000, kT0 + 2000, kT0 + 3000, kT0 + 4000}));
}

TEST(CronTableTest, AFiringFoundLateFiresOnceAndTheNextFollowsNow) {
  CronTable table;
  bool replaced = false;
  ASSERT_TRUE(table.add(entry("tick"), kT0, &replaced).isOk());
  // The loop stalled for 3.5 s: one firing, not four.
  EXPECT_EQ(table.due(kT0 + 4500), (std::vector<std::string>{"tick"}));
  table.fired("tick", kT0 + 4500);
  EXPECT_TRUE(table.due(kT0 + 4500).empty());
  EXPECT_EQ(table.nextFiringMs(), kT0 + 5000);
}

TEST(CronTableTest, LoadedEntriesFireOnceForFiringsMissedWhileDown) {
  CronTable table;
  CronRecord cron = entry("hourly", "0 * * * *");
  cron.last_fire_ms = kT0 - 20 * 60 * 1000;  // fired 22:00 (20 min before kT0's 22:13:20)... then down
  ASSERT_TRUE(table.load(cron).isOk());
  // Down from before 23:00 to 02:13:20: due at once, and once.
  std::uint64_t restart = kT0 + 4 * 3600 * 1000;
  EXPECT_EQ(table.due(restart), (std::vector<std::string>{"hourly"}));
  table.fired("hourly", restart);
  EXPECT_TRUE(table.due(restart).empty());
  EXPECT_EQ(table.nextFiringMs(), kT0 + 4 * 3600 * 1000 + (46 * 60 + 40) * 1000);  // 03:00:00
}

TEST(CronTableTest, ALoadedEntryWhoseLastFiringIsCurrentIsNotDueAgain) {
  // A restart right after a committed firing: the next one is the next time, not that one again.
  CronTable table;
  CronRecord cron = entry("tick");
  cron.last_fire_ms = kT0 + 2000;
  ASSERT_TRUE(table.load(cron).isOk());
  EXPECT_TRUE(table.due(kT0 + 2999).empty());
  EXPECT_EQ(table.nextFiringMs(), kT0 + 3000);
}

TEST(CronTableTest, ALoadedEntryThatNeverFiredCountsFromItsCreation) {
  CronTable table;
  ASSERT_TRUE(table.load(entry("tick")).isOk());  // created at kT0, never fired
  EXPECT_EQ(table.nextFiringMs(), kT0 + 1000);
}

TEST(CronTableTest, AWallClockSteppedBackDoesNotFireATimeTwice) {
  CronTable table;
  bool replaced = false;
  ASSERT_TRUE(table.add(entry("tick"), kT0, &replaced).isOk());
  table.fired("tick", kT0 + 3000);
  // The clock steps back two seconds: nothing is due until after the last firing.
  EXPECT_TRUE(table.due(kT0 + 1500).empty());
  EXPECT_TRUE(table.due(kT0 + 3500).empty());
  EXPECT_EQ(table.nextFiringMs(), kT0 + 4000);
  // And a paused-then-resumed entry likewise.
  ASSERT_TRUE(table.setPaused("tick", true, kT0 + 1000));
  ASSERT_TRUE(table.setPaused("tick", false, kT0 + 1000));
  EXPECT_EQ(table.nextFiringMs(), kT0 + 4000);
}

TEST(CronTableTest, APausedEntryNeverFiresAndResumesFromNowWithoutABacklog) {
  CronTable table;
  bool replaced = false;
  ASSERT_TRUE(table.add(entry("tick"), kT0, &replaced).isOk());
  ASSERT_TRUE(table.setPaused("tick", true, kT0 + 500));
  EXPECT_EQ(table.nextFiringMs(), std::nullopt);
  EXPECT_TRUE(table.due(kT0 + 60'000).empty());
  EXPECT_TRUE(table.find("tick")->record.paused);
  ASSERT_TRUE(table.setPaused("tick", false, kT0 + 60'500));
  EXPECT_EQ(table.nextFiringMs(), kT0 + 61'000);
  EXPECT_FALSE(table.setPaused("nope", true, kT0));
}

TEST(CronTableTest, APausedEntryLoadsPaused) {
  CronTable table;
  CronRecord cron = entry("tick");
  cron.paused = true;
  ASSERT_TRUE(table.load(cron).isOk());
  EXPECT_EQ(table.nextFiringMs(), std::nullopt);
}

TEST(CronTableTest, AddReplacesByNameKeepingCreationAndLastFiring) {
  CronTable table;
  bool replaced = false;
  ASSERT_TRUE(table.add(entry("job"), kT0, &replaced).isOk());
  table.fired("job", kT0 + 1000);
  CronRecord changed = entry("job", "*/10 * * * * *");
  changed.created_ms = kT0 + 1500;
  ASSERT_TRUE(table.add(changed, kT0 + 1500, &replaced).isOk());
  EXPECT_TRUE(replaced);
  ASSERT_EQ(table.entries().size(), 1u);
  const CronRecord& kept = table.find("job")->record;
  EXPECT_EQ(kept.spec, "*/10 * * * * *");
  EXPECT_EQ(kept.created_ms, kT0);
  EXPECT_EQ(kept.last_fire_ms, kT0 + 1000);
  EXPECT_EQ(table.nextFiringMs(), kT0 + 10'000);
}

TEST(CronTableTest, InvalidSpecsZonesAndNeverFiringSpecsAreRefused) {
  CronTable table;
  bool replaced = false;
  Status bad = table.add(entry("a", "61 * * * *"), kT0, &replaced);
  EXPECT_EQ(bad.code(), "bad_request");
  EXPECT_NE(bad.message().find("minute"), std::string::npos) << bad.message();
  Status zone = table.add(entry("b", "* * * * *", "Mars/Olympus"), kT0, &replaced);
  EXPECT_EQ(zone.code(), "bad_request");
  EXPECT_NE(zone.message().find("Mars/Olympus"), std::string::npos) << zone.message();
  Status never = table.add(entry("c", "0 0 30 2 *"), kT0, &replaced);
  EXPECT_EQ(never.code(), "bad_request");
  EXPECT_NE(never.message().find("never fires"), std::string::npos) << never.message();
  EXPECT_TRUE(table.entries().empty());
  EXPECT_FALSE(table.load(entry("d", "nonsense")).isOk());
  EXPECT_TRUE(table.entries().empty());
}

TEST(CronTableTest, EntriesInAZoneFireAtThatZonesWallClock) {
  CronTable table;
  bool replaced = false;
  // 09:00 in Berlin (UTC+1 in November) is 08:00 UTC; kT0 is 22:13:20 UTC on 2023-11-14.
  ASSERT_TRUE(table.add(entry("morning", "0 9 * * *", "Europe/Berlin"), kT0, &replaced).isOk());
  EXPECT_EQ(table.nextFiringMs(), kT0 + (9 * 3600 + 46 * 60 + 40) * 1000ULL);  // 2023-11-15T08:00:00Z
}

TEST(CronTableTest, RemoveForgetsTheEntry) {
  CronTable table;
  bool replaced = false;
  ASSERT_TRUE(table.add(entry("a"), kT0, &replaced).isOk());
  ASSERT_TRUE(table.add(entry("b", "0 0 * * *"), kT0, &replaced).isOk());
  EXPECT_TRUE(table.remove("a"));
  EXPECT_FALSE(table.remove("a"));
  EXPECT_EQ(table.find("a"), nullptr);
  EXPECT_TRUE(table.due(kT0 + 5000).empty());
  ASSERT_EQ(table.entries().size(), 1u);
}

}  // namespace
}  // namespace corvee::broker
