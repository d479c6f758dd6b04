// Cancel, purge, pause and resume, listing, and the unserved-task warning, in broker::Core.
#include "broker/core_fixture.h"
#include "corvee/errors.h"

namespace corvee::broker::test {
namespace {

class CoreControlTest : public CoreTest {
 protected:
  std::uint32_t cancel(PeerId c, JobId id) { return send(c, protocol::CancelJobMsg{id}); }
  std::uint32_t pause(PeerId c, std::string_view task, bool paused = true) {
    return send(c, protocol::PauseMsg{task, static_cast<std::uint8_t>(paused ? 1 : 0)});
  }
};

TEST_F(CoreControlTest, CancellingAQueuedJobEndsItAtOnceForItsOwnerAndWatchers) {
  PeerId c = client();
  PeerId watcher = client("watcher");
  JobId id = submitTask(c, "nobody-serves-this");
  expectOk(watcher, send(watcher, protocol::SubscribeMsg{id}));
  std::uint32_t rid = cancel(c, id);
  flush();
  expectOk(c, rid);
  for (PeerId peer : {c, watcher}) {
    auto res = results(peer);
    ASSERT_EQ(res.size(), 1u);
    EXPECT_EQ(res[0].state, JobState::kCancelled);
    EXPECT_EQ(res[0].error_code, errc::kCancelled);
  }
  EXPECT_EQ(fullStatus(c, id).state, JobState::kCancelled);
  EXPECT_EQ(core().counts().queued, 0u);
  EXPECT_EQ(core().counts().cancelled, 1u);
}

TEST_F(CoreControlTest, CancellingARunningJobTellsItsWorkerWhoseSlotStaysTakenUntilItStops) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId running = submit(c);
  JobId next = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  expectOk(c, cancel(c, running));
  flush();
  auto told = cancels(w);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].id, running);
  EXPECT_EQ(told[0].code, errc::kCancelled);
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].state, JobState::kCancelled);
  EXPECT_TRUE(assigns(w).empty()) << "the next job was dealt while the cancelled one may still run";

  fail(w, running, 1, "cancelled_by_broker", "stopped");
  flush();
  EXPECT_TRUE(errors(w).empty());  // the expected report is not stale
  auto dealt = assigns(w);
  ASSERT_EQ(dealt.size(), 1u);
  EXPECT_EQ(dealt[0].id, next);
  EXPECT_EQ(fullStatus(c, running).state, JobState::kCancelled);
}

TEST_F(CoreControlTest, AResultAndACancelInOneTurnFollowTheirOrder) {
  PeerId w = worker(2);
  PeerId c = client();
  JobId first = submit(c);
  JobId second = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 2u);

  // The result arrives first: the job succeeded, and the cancel comes too late.
  complete(w, first, 1, "made it");
  std::uint32_t late = cancel(c, first);
  // The cancel arrives first: the job is cancelled, and its result is discarded without an error.
  std::uint32_t early = cancel(c, second);
  complete(w, second, 1, "too late");
  flush();

  expectError(c, late, errc::kWrongState);
  expectOk(c, early);
  EXPECT_TRUE(errors(w).empty());
  auto res = results(c);
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(res[0].id, first);
  EXPECT_EQ(res[0].state, JobState::kSucceeded);
  EXPECT_EQ(res[1].id, second);
  EXPECT_EQ(res[1].state, JobState::kCancelled);
  EXPECT_EQ(fullStatus(c, second).state, JobState::kCancelled);
}

TEST_F(CoreControlTest, CancellingARetryingJobStopsItsRetries) {
  PeerId w = worker(1);
  PeerId c = client();
  JobId id = submit(c, {.retries = 3, .backoff_ms = 100});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, id, 1);
  flush();
  ASSERT_EQ(fullStatus(c, id).state, JobState::kRetrying);
  expectOk(c, cancel(c, id));
  flush();
  advance(10000);
  flush();
  EXPECT_TRUE(assigns(w).empty());
  EXPECT_EQ(fullStatus(c, id).state, JobState::kCancelled);
  EXPECT_EQ(core().counts().retrying, 0u);
}

TEST_F(CoreControlTest, CancelRefusesFinishedAndUnknownJobs) {
  PeerId c = client();
  JobId id = submit(c);
  expectOk(c, cancel(c, id));
  flush();
  results(c);
  expectError(c, cancel(c, id), errc::kWrongState);
  expectError(c, cancel(c, 12345), errc::kNotFound);
  // A body of the wrong size is a bad request, not a crash.
  expectError(c, sendRaw(c, static_cast<std::uint8_t>(MsgType::kCancelJob), "abc"), errc::kBadRequest);
}

TEST_F(CoreControlTest, PurgeCancelsATasksQueuedAndRetryingJobsOnly) {
  PeerId c = client();
  PeerId typo_worker = worker(1, {"typo"});
  JobId retrying = submit(c, {.task = "typo", .retries = 1, .backoff_ms = 100000});
  flush();
  ASSERT_EQ(assigns(typo_worker).size(), 1u);
  fail(typo_worker, retrying, 1);
  expectOk(typo_worker, send(typo_worker, protocol::DrainMsg{}));  // it takes no more
  flush();
  ASSERT_EQ(fullStatus(c, retrying).state, JobState::kRetrying);
  for (int i = 0; i < 3; ++i) submitTask(c, "typo");
  PeerId w = worker(1, {"real"});
  JobId real = submitTask(c, "real");
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);

  std::uint32_t rid = send(c, protocol::PurgeMsg{"typo"});
  flush();
  EXPECT_EQ(count(c, rid), 4u);
  EXPECT_EQ(fullStatus(c, retrying).state, JobState::kCancelled);
  EXPECT_EQ(fullStatus(c, real).state, JobState::kRunning);
  EXPECT_EQ(list(c, "typo", static_cast<std::uint8_t>(JobState::kQueued)).size(), 0u);
  EXPECT_EQ(list(c, "typo", static_cast<std::uint8_t>(JobState::kCancelled)).size(), 4u);
  EXPECT_EQ(core().counts().retrying, 0u);

  rid = send(c, protocol::PurgeMsg{"never-seen"});
  flush();
  EXPECT_EQ(count(c, rid), 0u);
  expectError(c, send(c, protocol::PurgeMsg{""}), errc::kBadRequest);
}

TEST_F(CoreControlTest, APausedTasksJobsWaitAndResumeRunsThem) {
  PeerId w = worker(2);
  PeerId c = client();
  JobId running = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  expectOk(c, pause(c, "echo"));
  flush();
  JobId waiting = submit(c);
  flush();
  EXPECT_TRUE(assigns(w).empty()) << "a paused task's job was dealt";
  complete(w, running, 1);  // running jobs finish
  flush();
  EXPECT_EQ(results(c).size(), 1u);
  auto doc = stats(c);
  ASSERT_EQ(doc["queues"].size(), 1u);
  EXPECT_EQ(doc["queues"][0]["paused"], true);

  expectOk(c, pause(c, "echo", false));
  flush();
  auto dealt = assigns(w);
  ASSERT_EQ(dealt.size(), 1u);
  EXPECT_EQ(dealt[0].id, waiting);
}

TEST_F(CoreControlTest, APauseSurvivesARestart) {
  PeerId c = client();
  JobId id = submit(c);
  expectOk(c, pause(c, "echo"));
  flush();
  restart();
  PeerId w = worker(1);
  PeerId c2 = client();
  flush();
  EXPECT_TRUE(assigns(w).empty());
  EXPECT_EQ(stats(c2)["queues"][0]["paused"], true);
  expectOk(c2, pause(c2, "echo", false));
  flush();
  auto dealt = assigns(w);
  ASSERT_EQ(dealt.size(), 1u);
  EXPECT_EQ(dealt[0].id, id);
}

TEST_F(CoreControlTest, PausingAnUnknownTaskIsRefused) {
  PeerId c = client();
  expectError(c, pause(c, "nosuch"), errc::kNotFound);
  expectError(c, pause(c, ""), errc::kBadRequest);
}

TEST_F(CoreControlTest, ListingShowsLiveAndFinishedJobsNewestFirstWithFilters) {
  PeerId w = worker(1, {"a"});
  PeerId c = client();
  JobId a1 = submitTask(c, "a");
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, a1, 1);
  flush();
  JobId a2 = submitTask(c, "a");  // running
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  JobId b1 = submitTask(c, "b");  // queued, unserved
  JobId b2 = submitTask(c, "b");
  expectOk(c, cancel(c, b2));
  flush();

  auto all = list(c);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0], std::make_pair(b2, JobState::kCancelled));
  EXPECT_EQ(all[1], std::make_pair(b1, JobState::kQueued));
  EXPECT_EQ(all[2], std::make_pair(a2, JobState::kRunning));
  EXPECT_EQ(all[3], std::make_pair(a1, JobState::kSucceeded));

  EXPECT_EQ(list(c, "a").size(), 2u);
  auto queued = list(c, {}, static_cast<std::uint8_t>(JobState::kQueued));
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].first, b1);
  auto page = list(c, {}, 0, 2);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[1].first, b1);
  auto next = list(c, {}, 0, 2, page[1].first);
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].first, a2);
  EXPECT_EQ(next[1].first, a1);

  expectError(c, send(c, protocol::ListJobsMsg{{}, 99, 10, 0}), errc::kBadRequest);
}

TEST_F(CoreControlTest, SubmitSaysWhenNoWorkerServesTheTaskAndCanRefuseInstead) {
  PeerId c = client();
  send(c, submitMsg({.task = "lonely"}));
  auto frames = takeType(c, MsgType::kSubmitted);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].as<protocol::SubmittedMsg>().flags & protocol::kSubmittedUnserved);

  std::uint32_t rid = send(c, submitMsg({.task = "lonely", .flags = protocol::kSubmitRequireWorker}));
  expectError(c, rid, errc::kNoWorker);
  EXPECT_EQ(core().counts().queued, 1u);

  worker(1, {"lonely"});
  send(c, submitMsg({.task = "lonely", .flags = protocol::kSubmitRequireWorker}));
  frames = takeType(c, MsgType::kSubmitted);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_FALSE(frames[0].as<protocol::SubmittedMsg>().flags & protocol::kSubmittedUnserved);
  auto doc = stats(c);
  EXPECT_EQ(doc["queues"][0]["served"], true);
}

TEST_F(CoreControlTest, ATaskIsServedWhileAWorkerWithSlotsThatIsNotDrainingHandlesIt) {
  PeerId c = client();
  auto unserved = [&] {
    send(c, submitMsg({.task = "t"}));
    auto frames = takeType(c, MsgType::kSubmitted);
    EXPECT_EQ(frames.size(), 1u);
    return frames.empty() || (frames[0].as<protocol::SubmittedMsg>().flags & protocol::kSubmittedUnserved) != 0;
  };
  EXPECT_TRUE(unserved());
  PeerId first = worker(1, {"t"});
  EXPECT_FALSE(unserved());
  expectOk(first, send(first, protocol::DrainMsg{}));
  EXPECT_TRUE(unserved()) << "a draining worker takes no jobs";
  PeerId second = worker(0, {"t"});
  EXPECT_TRUE(unserved()) << "a worker without slots takes no jobs";
  expectOk(second, send(second, protocol::RegisterMsg{2, {"t", "u"}, 0}));  // registers again, with slots
  EXPECT_FALSE(unserved());
  expectOk(second, send(second, protocol::RegisterMsg{2, {"u"}, 0}));  // and leaves t
  EXPECT_TRUE(unserved());
  expectOk(second, send(second, protocol::RegisterMsg{2, {"t"}, 0}));
  EXPECT_FALSE(unserved());
  lose(second);
  EXPECT_TRUE(unserved());
}

TEST_F(CoreControlTest, RoundRobinSelectionDealsToEachWorkerInTurn) {
  options_.select = "round-robin";
  PeerId a = worker(10);
  PeerId b = worker(2);
  PeerId c = client();
  for (int i = 0; i < 4; ++i) submit(c);
  flush();
  // Least-loaded would give all four to the emptier worker a; round-robin takes turns.
  EXPECT_EQ(assigns(a).size(), 2u);
  EXPECT_EQ(assigns(b).size(), 2u);
  EXPECT_EQ(stats(c)["select"], "round-robin");
}

TEST_F(CoreControlTest, APluggedInSelectionDecidesAndMayHoldJobsBack) {
  // Always the candidate with the largest id, and nothing for priority 9.
  struct Newest final : WorkerSelection {
    std::optional<std::size_t> pick(const JobView& job, std::span<const WorkerView> candidates) override {
      ++calls;
      if (job.priority == 9) return std::nullopt;
      std::size_t best = 0;
      for (std::size_t i = 1; i < candidates.size(); ++i) {
        if (candidates[i].id > candidates[best].id) best = i;
      }
      return best;
    }
    std::string_view name() const override { return "newest"; }
    int calls = 0;
  } newest;
  selection_override_ = &newest;
  PeerId old_worker = worker(4);
  PeerId new_worker = worker(4);
  PeerId c = client();
  JobId picked = submit(c, {.priority = 1});
  flush();
  EXPECT_TRUE(assigns(old_worker).empty());
  auto dealt = assigns(new_worker);
  ASSERT_EQ(dealt.size(), 1u) << "least-loaded would have chosen the idle old worker";
  EXPECT_EQ(dealt[0].id, picked);
  JobId held = submit(c, {.priority = 9});
  flush();
  EXPECT_TRUE(assigns(old_worker).empty());
  EXPECT_TRUE(assigns(new_worker).empty());
  EXPECT_EQ(fullStatus(c, held).state, JobState::kQueued);
  EXPECT_EQ(newest.calls, 2);
  EXPECT_EQ(stats(c)["select"], "newest");
}

TEST_F(CoreControlTest, AVersionOnePeerIsStillServedInItsOwnLayout) {
  PeerId old = connect();
  protocol::HelloMsg hello;
  hello.version = 1;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  hello.name = "old";
  send(old, hello);
  auto welcome = takeType(old, MsgType::kWelcome);
  ASSERT_EQ(welcome.size(), 1u);
  EXPECT_EQ(welcome[0].as<protocol::WelcomeMsg>().version, 1);

  // A version-1 SUBMIT body: no retry fields.
  std::string wire;
  protocol::encode(wire, 7, submitMsg({}), /*version=*/1);
  deliver(old, wire);
  auto submitted = takeType(old, MsgType::kSubmitted);
  ASSERT_EQ(submitted.size(), 1u);
  auto ack = protocol::decode<protocol::SubmittedMsg>(submitted[0].body, 1);
  ASSERT_TRUE(ack.isOk()) << "SUBMITTED not in the version-1 layout";
  JobId id = ack->job_id;

  // Control messages do not exist in version 1.
  expectError(old, send(old, protocol::CancelJobMsg{id}), errc::kUnknownCommand);

  // A cancelled job reads as failed (4) to a version-1 peer.
  PeerId c = client();
  expectOk(c, cancel(c, id));
  flush();
  auto res = takeType(old, MsgType::kResult);
  ASSERT_EQ(res.size(), 1u);
  auto decoded = protocol::decode<protocol::ResultMsg>(res[0].body, 1);
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(decoded->state, 4);
  wire.clear();
  protocol::encode(wire, 8, protocol::StatusMsg{id}, 1);
  deliver(old, wire);
  auto info = takeType(old, MsgType::kJobInfo);
  ASSERT_EQ(info.size(), 1u);
  EXPECT_TRUE(protocol::decode<protocol::JobInfoMsg>(info[0].body, 1).isOk()) << "JOB_INFO not in version 1 layout";
}

TEST_F(CoreControlTest, AHelloBelowTheOldestVersionIsRefused) {
  PeerId p = connect();
  protocol::HelloMsg hello;
  hello.version = 0;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  expectError(p, send(p, hello), errc::kUnsupportedVersion);
}

}  // namespace
}  // namespace corvee::broker::test
