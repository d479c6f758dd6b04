// Delayed and timed jobs (`submit --delay`, `--at`) in broker::Core, on a fake clock.
#include <limits>

#include "broker/core_fixture.h"
#include "corvee/errors.h"

namespace corvee::broker::test {
namespace {

class CoreScheduleTest : public CoreTest {
 protected:
  JobId submitLater(PeerId c, std::uint32_t delay_ms, std::uint64_t run_at_ms = 0, std::uint32_t timeout_ms = 0) {
    protocol::SubmitMsg msg = submitMsg({.timeout_ms = timeout_ms});
    msg.delay_ms = delay_ms;
    msg.run_at_ms = run_at_ms;
    std::uint32_t rid = send(c, msg);
    auto frames = takeType(c, MsgType::kSubmitted);
    EXPECT_EQ(frames.size(), 1u);
    EXPECT_TRUE(errors(c).empty());
    if (frames.empty()) return 0;
    EXPECT_EQ(frames[0].request_id, rid);
    return frames[0].as<protocol::SubmittedMsg>().job_id;
  }
};

TEST_F(CoreScheduleTest, ADelayedJobWaitsScheduledUntilItsTimeThenRuns) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submitLater(c, 2000);
  flush();
  EXPECT_TRUE(assigns(w).empty());
  JobInfo info = fullStatus(c, id);
  EXPECT_EQ(info.state, JobState::kScheduled);
  EXPECT_EQ(info.run_at_ms, clock_.wallMillis() + 2000);
  EXPECT_EQ(stats(c)["jobs"]["scheduled"], 1);
  ASSERT_EQ(core().nextDeadline(), clock_.now() + milliseconds(2000));

  advance(1999);
  flush();
  EXPECT_TRUE(assigns(w).empty()) << "ran before its time";
  advance(1);
  flush();
  auto dealt = assigns(w);
  ASSERT_EQ(dealt.size(), 1u);
  EXPECT_EQ(dealt[0].id, id);
  EXPECT_EQ(dealt[0].attempt, 1u);
  EXPECT_EQ(stats(c)["jobs"]["scheduled"], 0);
}

TEST_F(CoreScheduleTest, AJobForAWallTimeRunsThenAndOneInThePastRunsAtOnce) {
  PeerId w = worker(2);
  PeerId c = client();
  JobId later = submitLater(c, 0, clock_.wallMillis() + 500);
  JobId past = submitLater(c, 0, clock_.wallMillis() - 60000);
  flush();
  auto now = assigns(w);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].id, past);
  EXPECT_EQ(fullStatus(c, later).state, JobState::kScheduled);
  advance(500);
  flush();
  auto then = assigns(w);
  ASSERT_EQ(then.size(), 1u);
  EXPECT_EQ(then[0].id, later);
}

TEST_F(CoreScheduleTest, TimeLimitsCountFromTheMomentTheJobIsDue) {
  PeerId c = client();
  JobId id = submitLater(c, 10000, 0, /*timeout_ms=*/1000);
  advance(5000);
  EXPECT_EQ(fullStatus(c, id).state, JobState::kScheduled) << "timed out while it was not yet due";
  advance(5999);
  EXPECT_EQ(fullStatus(c, id).state, JobState::kQueued);
  advance(1);
  flush();
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].error_code, errc::kTimeout);
}

TEST_F(CoreScheduleTest, CancelAndPurgeEndScheduledJobs) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId a = submitLater(c, 1000);
  JobId b = submitLater(c, 1000);
  expectOk(c, send(c, protocol::CancelJobMsg{a}));
  std::uint32_t rid = send(c, protocol::PurgeMsg{"echo"});
  flush();
  EXPECT_EQ(count(c, rid), 1u);
  EXPECT_EQ(fullStatus(c, a).state, JobState::kCancelled);
  EXPECT_EQ(fullStatus(c, b).state, JobState::kCancelled);
  advance(2000);
  flush();
  EXPECT_TRUE(assigns(w).empty());
  EXPECT_EQ(stats(c)["jobs"]["scheduled"], 0);
}

// Found by fuzz/core.cc (fuzz/corpus/core/crash-run-at-overflow): a run_at_ms centuries away
// overflowed the monotonic time it was converted to. Such a job waits, scheduled, across a restart
// too, and its time limits do not fire.
TEST_F(CoreScheduleTest, AJobForATimeCenturiesAwayWaitsScheduled) {
  PeerId w = worker(2);
  PeerId c = client();
  JobId far = submitLater(c, 0, std::numeric_limits<std::uint64_t>::max(), /*timeout_ms=*/1000);
  JobId centuries = submitLater(c, 0, clock_.wallMillis() + std::uint64_t{15892185044416});
  flush();
  advance(5000);
  flush();
  EXPECT_TRUE(assigns(w).empty());
  EXPECT_EQ(fullStatus(c, far).state, JobState::kScheduled);
  EXPECT_EQ(fullStatus(c, far).run_at_ms, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(fullStatus(c, centuries).state, JobState::kScheduled);
  restart();
  PeerId w2 = worker(2);
  PeerId c2 = client();
  advance(5000);
  flush();
  EXPECT_TRUE(assigns(w2).empty());
  EXPECT_EQ(fullStatus(c2, far).state, JobState::kScheduled);
}

TEST_F(CoreScheduleTest, ScheduledJobsAreListedAndKeepTheirTimeAcrossARestart) {
  PeerId c = client();
  JobId later = submitLater(c, 3000);
  JobId sooner = submitLater(c, 1000);
  flush();
  auto listed = list(c, {}, static_cast<std::uint8_t>(JobState::kScheduled));
  EXPECT_EQ(listed.size(), 2u);

  clock_.advance(milliseconds(2000));  // the broker is down while `sooner` comes due
  restart();
  PeerId w = worker(2);
  PeerId c2 = client();
  EXPECT_LE(core().nextDeadline(), clock_.now()) << "the server's timer must fire at once";
  advance(0);
  flush();
  auto dealt = assigns(w);
  ASSERT_EQ(dealt.size(), 1u) << "a job due while the broker was down runs at start";
  EXPECT_EQ(dealt[0].id, sooner);
  JobInfo info = fullStatus(c2, later);
  EXPECT_EQ(info.state, JobState::kScheduled);
  EXPECT_EQ(info.run_at_ms, clock_.wallMillis() + 1000);
  advance(999);
  flush();
  EXPECT_TRUE(assigns(w).empty());
  advance(1);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
}

TEST_F(CoreScheduleTest, AVersion2PeerSubmitsWithoutSchedulingFields) {
  PeerId old = connect();
  protocol::HelloMsg hello;
  hello.version = 2;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  hello.name = "v2";
  send(old, hello);
  ASSERT_EQ(takeType(old, MsgType::kWelcome).size(), 1u);
  std::string wire;
  protocol::encode(wire, 9, submitMsg({}), /*version=*/2);
  deliver(old, wire);
  auto submitted = takeType(old, MsgType::kSubmitted);
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_TRUE(protocol::decode<protocol::SubmittedMsg>(submitted[0].body, 2).isOk());
  EXPECT_TRUE(errors(old).empty());
}

}  // namespace
}  // namespace corvee::broker::test
