// Periodic jobs (`cron add|list|remove|pause|resume`) in broker::Core, on a fake clock: firings
// become ordinary jobs with the entry's options, missed ones fire once after a restart, none twice.
#include "broker/core_fixture.h"
#include "corvee/errors.h"

namespace corvee::broker::test {
namespace {

class CoreCronTest : public CoreTest {
 protected:
  std::uint32_t sendCronAdd(PeerId c, std::string_view name, std::string_view spec, const SubmitArgs& job = {},
                            std::string_view tz = "", std::uint32_t delay_ms = 0) {
    protocol::SubmitMsg submit = submitMsg(job);
    submit.delay_ms = delay_ms;
    std::string body = protocol::encodeBody(submit);
    return send(c, protocol::CronAddMsg{name, spec, tz, {body}});
  }
  // CRON_ADD that must succeed; the entry as the broker answered it, once committed.
  protocol::CronEntriesMsg cronAdd(PeerId c, std::string_view name, std::string_view spec, const SubmitArgs& job = {},
                                   std::string_view tz = "", std::uint32_t delay_ms = 0) {
    std::uint32_t rid = sendCronAdd(c, name, spec, job, tz, delay_ms);
    flush();
    auto errs = errors(c);
    EXPECT_TRUE(errs.empty()) << "CRON_ADD refused: " << (errs.empty() ? "" : errs[0].code + ": " + errs[0].message);
    return entriesAnswering(c, rid);
  }
  protocol::CronEntriesMsg entriesAnswering(PeerId c, std::uint32_t rid) {
    auto frames = takeType(c, MsgType::kCronEntries);
    if (frames.size() != 1) {
      ADD_FAILURE() << "expected one CRON_ENTRIES, got " << frames.size();
      return {};
    }
    EXPECT_EQ(frames[0].request_id, rid);
    kept_.push_back(std::move(frames[0]));  // the decoded views point into it
    auto decoded = protocol::decode<protocol::CronEntriesMsg>(kept_.back().body);
    EXPECT_TRUE(decoded.isOk()) << decoded.status().toString();
    return decoded.isOk() ? *decoded : protocol::CronEntriesMsg{};
  }
  protocol::CronEntriesMsg cronList(PeerId c) { return entriesAnswering(c, send(c, protocol::CronListMsg{})); }
  std::uint32_t pause(PeerId c, std::string_view name, bool paused) {
    return send(c, protocol::CronPauseMsg{name, static_cast<std::uint8_t>(paused ? 1 : 0)});
  }
  // Advances the clock by `ms` in steps of 100 ms, flushing each, and returns the jobs dealt.
  std::vector<Assigned> runFor(PeerId w, std::int64_t ms) {
    std::vector<Assigned> dealt;
    for (std::int64_t t = 0; t < ms; t += 100) {
      advance(100);
      flush();
      for (Assigned& a : assigns(w)) {
        complete(w, a.id, a.attempt);
        dealt.push_back(std::move(a));
      }
      flush();
    }
    return dealt;
  }
  std::deque<ReceivedFrame> kept_;
};

TEST_F(CoreCronTest, AnEverySecondEntrySubmitsItsJobOnceASecond) {
  PeerId w = worker(4);
  PeerId c = client();
  std::uint64_t added_at = clock_.wallMillis();
  auto added = cronAdd(c, "tick", "* * * * * *", {.payload = "tock", .priority = 3});
  ASSERT_EQ(added.entries.size(), 1u);
  EXPECT_EQ(added.flags, 0);
  EXPECT_EQ(added.entries[0].name, "tick");
  EXPECT_EQ(added.entries[0].task, "echo");
  EXPECT_EQ(added.entries[0].tz, "UTC");
  EXPECT_EQ(added.entries[0].next_ms, added_at + 1000);
  EXPECT_EQ(added.entries[0].created_ms, added_at);
  EXPECT_EQ(core().nextDeadline(), clock_.now() + milliseconds(1000));

  auto dealt = runFor(w, 5000);
  ASSERT_EQ(dealt.size(), 5u);
  for (const Assigned& a : dealt) EXPECT_EQ(a.payload, "tock");
  JobInfo first = fullStatus(c, dealt[0].id);
  EXPECT_EQ(first.state, JobState::kSucceeded);
  EXPECT_EQ(first.priority, 3);
  EXPECT_EQ(cronList(c).entries[0].last_fire_ms, added_at + 5000);
}

TEST_F(CoreCronTest, TheJobsCarryTheEntrysOptionsAndDelay) {
  PeerId c = client();
  cronAdd(c, "later", "* * * * * *", {.timeout_ms = 60000, .retries = 2}, "", /*delay_ms=*/500);
  advance(1000);
  flush();
  auto listed = list(c);
  ASSERT_EQ(listed.size(), 1u);
  JobInfo job = fullStatus(c, listed[0].first);
  EXPECT_EQ(job.state, JobState::kScheduled);
  EXPECT_EQ(job.run_at_ms, clock_.wallMillis() + 500);
  EXPECT_EQ(job.retries, 2u);
}

TEST_F(CoreCronTest, AfterARestartMissedFiringsFireOnceAndNoneTwice) {
  PeerId c = client();
  cronAdd(c, "tick", "* * * * * *");
  advance(1000);
  flush();
  ASSERT_EQ(stats(c)["jobs"]["queued"], 1);

  // Right after a committed firing: that firing is not made again.
  restart();
  c = client();
  advance(999);
  flush();
  EXPECT_EQ(stats(c)["jobs"]["queued"], 1) << "the firing before the restart was doubled";
  advance(1);
  flush();
  EXPECT_EQ(stats(c)["jobs"]["queued"], 2);

  // Down for ten seconds: one firing at start for all the missed ones, then one a second.
  clock_.advance(milliseconds(10'000));
  restart();
  c = client();
  EXPECT_EQ(core().nextDeadline(), clock_.now());
  core().tick();
  flush();
  EXPECT_EQ(stats(c)["jobs"]["queued"], 3);
  advance(500);
  flush();
  EXPECT_EQ(stats(c)["jobs"]["queued"], 3);
  advance(500);
  flush();
  EXPECT_EQ(stats(c)["jobs"]["queued"], 4);
}

TEST_F(CoreCronTest, PausedEntriesDoNotFireAndResumeFromNowAcrossARestart) {
  PeerId c = client();
  cronAdd(c, "tick", "* * * * * *");
  expectOk(c, pause(c, "tick", true));  // the OK waits for the commit
  flush();
  auto paused = cronList(c);
  ASSERT_EQ(paused.entries.size(), 1u);
  EXPECT_EQ(paused.entries[0].paused, 1);
  EXPECT_EQ(paused.entries[0].next_ms, 0u);
  advance(5000);
  restart();
  c = client();
  advance(5000);
  flush();
  EXPECT_EQ(stats(c)["jobs"]["queued"], 0) << "a paused entry fired";

  expectOk(c, pause(c, "tick", false));
  flush();
  EXPECT_EQ(cronList(c).entries[0].next_ms, clock_.wallMillis() + 1000);
  advance(1000);
  flush();
  EXPECT_EQ(stats(c)["jobs"]["queued"], 1) << "resumed, it fires from now on, without a backlog";
}

TEST_F(CoreCronTest, RemovedEntriesStopFiringAndStayRemovedAcrossARestart) {
  PeerId c = client();
  cronAdd(c, "a", "* * * * * *");
  cronAdd(c, "b", "0 0 * * *");
  expectOk(c, send(c, protocol::CronRemoveMsg{"a"}));
  flush();
  expectError(c, send(c, protocol::CronRemoveMsg{"a"}), errc::kNotFound);
  expectError(c, pause(c, "a", true), errc::kNotFound);
  advance(3000);
  flush();
  EXPECT_EQ(stats(c)["jobs"]["queued"], 0);
  restart();
  c = client();
  auto listed = cronList(c);
  ASSERT_EQ(listed.entries.size(), 1u);
  EXPECT_EQ(listed.entries[0].name, "b");
}

TEST_F(CoreCronTest, AddingAnExistingNameReplacesItsSchedule) {
  PeerId c = client();
  cronAdd(c, "job", "* * * * * *");
  auto replaced = cronAdd(c, "job", "*/10 * * * * *", {.payload = "new"});
  EXPECT_EQ(replaced.flags, protocol::kCronReplaced);
  auto listed = cronList(c);
  ASSERT_EQ(listed.entries.size(), 1u);
  EXPECT_EQ(listed.entries[0].spec, "*/10 * * * * *");
  auto submit = protocol::decode<protocol::SubmitMsg>(listed.entries[0].submit.data);
  ASSERT_TRUE(submit.isOk()) << submit.status().toString();
  EXPECT_EQ(submit->payload.data, "new");
}

TEST_F(CoreCronTest, ListIsByNameWithTheNextFiringInTheEntrysZone) {
  PeerId c = client();
  cronAdd(c, "zeta", "0 9 * * *", {}, "Europe/Berlin");
  cronAdd(c, "alpha", "@hourly");
  auto listed = cronList(c);
  ASSERT_EQ(listed.entries.size(), 2u);
  EXPECT_EQ(listed.entries[0].name, "alpha");
  EXPECT_EQ(listed.entries[1].name, "zeta");
  EXPECT_EQ(listed.entries[1].tz, "Europe/Berlin");
  // 09:00 in Berlin is a whole hour in UTC, within a day.
  EXPECT_EQ(listed.entries[1].next_ms % 3'600'000, 0u);
  EXPECT_GT(listed.entries[1].next_ms, clock_.wallMillis());
  EXPECT_LE(listed.entries[1].next_ms, clock_.wallMillis() + 24 * 3'600'000ULL);
}

TEST_F(CoreCronTest, AUniqueKeyKeepsFiringsFromPilingUpBehindAJobStillWaiting) {
  PeerId c = client();
  protocol::SubmitMsg submit = submitMsg({});
  submit.unique_key = "one-at-a-time";
  std::string body = protocol::encodeBody(submit);
  std::uint32_t rid = send(c, protocol::CronAddMsg{"tick", "* * * * * *", "", {body}});
  flush();
  ASSERT_EQ(entriesAnswering(c, rid).entries.size(), 1u);
  advance(1000);
  flush();
  advance(1000);
  flush();
  advance(1000);
  flush();
  EXPECT_EQ(stats(c)["jobs"]["queued"], 1) << "firings made a second job while the first held the key";
  // Once that job is done, the next firing makes a new one.
  PeerId w = worker(1);
  flush();
  auto dealt = assigns(w);
  ASSERT_EQ(dealt.size(), 1u);
  complete(w, dealt[0].id, dealt[0].attempt);
  flush();
  advance(1000);
  flush();
  auto next = assigns(w);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_NE(next[0].id, dealt[0].id);
}

TEST_F(CoreCronTest, BadEntriesAreRefusedWithAClearError) {
  PeerId c = client();
  std::uint32_t rid = sendCronAdd(c, "x", "61 * * * *");
  auto errs = errors(c);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].request_id, rid);
  EXPECT_EQ(errs[0].code, errc::kBadRequest);
  EXPECT_NE(errs[0].message.find("minute"), std::string::npos) << errs[0].message;
  expectError(c, sendCronAdd(c, "x", "* * * * *", {}, "Nowhere/Atlantis"), errc::kBadRequest);
  expectError(c, sendCronAdd(c, "", "* * * * *"), errc::kBadRequest);
  expectError(c, sendCronAdd(c, "x", "* * * * *", {.task = ""}), errc::kBadRequest);
  std::string big(options_.max_payload + 1, 'x');
  expectError(c, sendCronAdd(c, "x", "* * * * *", {.payload = big}), errc::kPayloadTooLarge);
  // A fixed time makes no sense for a job that repeats.
  protocol::SubmitMsg at = submitMsg({});
  at.run_at_ms = clock_.wallMillis() + 1000;
  std::string at_body = protocol::encodeBody(at);
  expectError(c, send(c, protocol::CronAddMsg{"x", "* * * * *", "", {at_body}}), errc::kBadRequest);
  // A SUBMIT body that does not decode.
  expectError(c, send(c, protocol::CronAddMsg{"x", "* * * * *", "", {"\x01"}}), errc::kBadRequest);
  flush();
  EXPECT_TRUE(cronList(c).entries.empty());
}

TEST_F(CoreCronTest, CronMessagesAreUnknownBeforeVersionFour) {
  PeerId old = connect();
  protocol::HelloMsg hello;
  hello.version = 3;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  hello.name = "old";
  send(old, hello);
  ASSERT_EQ(takeType(old, MsgType::kWelcome).size(), 1u);
  expectError(old, send(old, protocol::CronListMsg{}), errc::kUnknownCommand);
  // A SUBMIT from it still works, and an entry a newer peer added lists in its layout.
  PeerId c = client();
  cronAdd(c, "tick", "* * * * * *");
  advance(1000);
  flush();
  EXPECT_EQ(stats(c)["jobs"]["queued"], 1);
}

}  // namespace
}  // namespace corvee::broker::test
