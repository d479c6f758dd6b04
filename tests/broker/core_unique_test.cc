// Unique jobs (`submit --unique-key K [--unique-for MS]`) in broker::Core, on a fake clock.
#include "broker/core_fixture.h"
#include "corvee/errors.h"

namespace corvee::broker::test {
namespace {

struct Submitted {
  JobId id = 0;
  bool duplicate = false;
};

class CoreUniqueTest : public CoreTest {
 protected:
  struct UniqueArgs {
    std::string_view task = "echo";
    std::string_view key = "k";
    std::uint32_t for_ms = 0;
    std::uint32_t retries = 0;
    std::uint32_t delay_ms = 0;
  };
  protocol::SubmitMsg uniqueMsg(const UniqueArgs& a) {
    protocol::SubmitMsg msg = submitMsg({.task = a.task, .retries = a.retries, .backoff_ms = 100});
    msg.unique_key = a.key;
    msg.unique_for_ms = a.for_ms;
    msg.delay_ms = a.delay_ms;
    return msg;
  }
  Submitted submitUnique(PeerId c, const UniqueArgs& a) {
    std::uint32_t rid = send(c, uniqueMsg(a));
    auto frames = takeType(c, MsgType::kSubmitted);
    auto errs = errors(c);
    EXPECT_TRUE(errs.empty()) << "SUBMIT refused: " << (errs.empty() ? "" : errs[0].code + ": " + errs[0].message);
    if (frames.size() != 1) {
      ADD_FAILURE() << "expected one SUBMITTED, got " << frames.size();
      return {};
    }
    EXPECT_EQ(frames[0].request_id, rid);
    auto m = frames[0].as<protocol::SubmittedMsg>();
    return {m.job_id, (m.flags & protocol::kSubmittedDuplicate) != 0};
  }
  Submitted submitUnique(PeerId c) { return submitUnique(c, UniqueArgs{}); }
  protocol::JobInfoMsg rawInfo(PeerId peer, JobId id, std::string& storage) {
    send(peer, protocol::StatusMsg{id});
    auto frames = takeType(peer, MsgType::kJobInfo);
    EXPECT_EQ(frames.size(), 1u);
    if (frames.empty()) return {};
    storage = frames[0].body;
    return *protocol::decode<protocol::JobInfoMsg>(storage);
  }
};

TEST_F(CoreUniqueTest, TwoSubmissionsWithOneKeyReturnOneId) {
  PeerId c = client();
  Submitted first = submitUnique(c);
  Submitted second = submitUnique(c);
  EXPECT_FALSE(first.duplicate);
  EXPECT_TRUE(second.duplicate);
  EXPECT_EQ(second.id, first.id);
  flush();
  EXPECT_EQ(core().counts().queued, 1u) << "the duplicate made a second job";
  EXPECT_EQ(stats(c)["jobs"]["queued"], 1);
}

TEST_F(CoreUniqueTest, AJobWithoutAKeyOrWithAnotherKeyIsNotADuplicate) {
  PeerId c = client();
  Submitted keyed = submitUnique(c);
  JobId plain = submit(c);
  Submitted other = submitUnique(c, {.key = "other"});
  EXPECT_NE(plain, keyed.id);
  EXPECT_FALSE(other.duplicate);
  EXPECT_NE(other.id, keyed.id);
  EXPECT_EQ(core().counts().queued, 3u);
}

TEST_F(CoreUniqueTest, KeysAreScopedPerTask) {
  PeerId c = client();
  Submitted email = submitUnique(c, {.task = "email"});
  Submitted resize = submitUnique(c, {.task = "resize"});
  EXPECT_FALSE(resize.duplicate) << "the same key under another task is another key";
  EXPECT_NE(resize.id, email.id);
  EXPECT_TRUE(submitUnique(c, {.task = "email"}).duplicate);
}

TEST_F(CoreUniqueTest, WhileRunningADuplicateGetsTheRunningJobAndItsResult) {
  PeerId w = worker(1);
  PeerId owner = client("owner");
  PeerId other = client("other");
  Submitted first = submitUnique(owner);
  flush();
  auto dealt = assigns(w);
  ASSERT_EQ(dealt.size(), 1u);
  Submitted dup = submitUnique(other);
  EXPECT_TRUE(dup.duplicate);
  EXPECT_EQ(dup.id, first.id);
  EXPECT_TRUE(results(other).empty());
  complete(w, first.id, 1, "done");
  flush();
  auto owner_res = results(owner);
  auto other_res = results(other);
  ASSERT_EQ(owner_res.size(), 1u);
  ASSERT_EQ(other_res.size(), 1u) << "the duplicate's submitter waits for the job it was given";
  EXPECT_EQ(other_res[0].id, first.id);
  EXPECT_EQ(other_res[0].result, "done");
}

TEST_F(CoreUniqueTest, ASucceededJobHoldsItsKeyForItsWindowThenANewJobIsMade) {
  PeerId w = worker(1);
  PeerId c = client();
  Submitted first = submitUnique(c, {.for_ms = 10'000});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, first.id, 1, "done");
  flush();
  ASSERT_EQ(results(c).size(), 1u);

  advance(9'999);
  Submitted within = submitUnique(c, {.for_ms = 10'000});
  EXPECT_TRUE(within.duplicate);
  EXPECT_EQ(within.id, first.id);
  flush();
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u) << "a finished job's result comes right after the duplicate's SUBMITTED";
  EXPECT_EQ(res[0].id, first.id);
  EXPECT_EQ(res[0].state, JobState::kSucceeded);
  EXPECT_EQ(res[0].result, "done");
  EXPECT_TRUE(assigns(w).empty());

  advance(1);
  Submitted after = submitUnique(c, {.for_ms = 10'000});
  EXPECT_FALSE(after.duplicate) << "the window ended 10 s after the finish";
  EXPECT_NE(after.id, first.id);
  flush();
  EXPECT_EQ(assigns(w).size(), 1u);
}

TEST_F(CoreUniqueTest, WithoutAWindowTheKeyIsFreeOnceTheJobSucceeds) {
  PeerId w = worker(1);
  PeerId c = client();
  Submitted first = submitUnique(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, first.id, 1);
  flush();
  Submitted next = submitUnique(c);
  EXPECT_FALSE(next.duplicate);
  EXPECT_NE(next.id, first.id);
}

TEST_F(CoreUniqueTest, ADeadJobFreesItsKeyAtOnceWhateverItsWindow) {
  PeerId w = worker(1);
  PeerId c = client();
  Submitted first = submitUnique(c, {.for_ms = 60'000});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, first.id, 1);
  flush();
  auto res = results(c);
  ASSERT_EQ(res.size(), 1u);
  ASSERT_EQ(res[0].state, JobState::kDead);
  Submitted again = submitUnique(c, {.for_ms = 60'000});
  EXPECT_FALSE(again.duplicate) << "a failed job may be submitted again on purpose";
  EXPECT_NE(again.id, first.id);
}

TEST_F(CoreUniqueTest, ACancelledJobFreesItsKeyAtOnce) {
  PeerId c = client();
  Submitted first = submitUnique(c, {.for_ms = 60'000});
  expectOk(c, send(c, protocol::CancelJobMsg{first.id}));
  flush();
  Submitted again = submitUnique(c, {.for_ms = 60'000});
  EXPECT_FALSE(again.duplicate);
  EXPECT_NE(again.id, first.id);
}

TEST_F(CoreUniqueTest, AScheduledJobHoldsItsKeyUntilItRunsAndAfter) {
  PeerId w = worker(1);
  PeerId c = client();
  Submitted first = submitUnique(c, {.delay_ms = 5000});
  flush();
  EXPECT_EQ(fullStatus(c, first.id).state, JobState::kScheduled);
  Submitted dup = submitUnique(c, {.delay_ms = 5000});
  EXPECT_TRUE(dup.duplicate);
  EXPECT_EQ(dup.id, first.id);
  advance(5000);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  EXPECT_TRUE(submitUnique(c).duplicate) << "running now, still the key's holder";
}

TEST_F(CoreUniqueTest, ARetryingJobKeepsItsKey) {
  PeerId w = worker(1);
  PeerId c = client();
  Submitted first = submitUnique(c, {.retries = 2});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, first.id, 1);
  flush();
  ASSERT_EQ(fullStatus(c, first.id).state, JobState::kRetrying);
  Submitted dup = submitUnique(c, {.retries = 2});
  EXPECT_TRUE(dup.duplicate);
  EXPECT_EQ(dup.id, first.id);
  advance(1000);
  flush();
  auto retried = assigns(w);
  ASSERT_EQ(retried.size(), 1u);
  complete(w, first.id, retried[0].attempt);
  flush();
  EXPECT_FALSE(submitUnique(c).duplicate) << "succeeded without a window: the key is free";
}

TEST_F(CoreUniqueTest, ARevivedDeadJobTakesItsKeyAgainWhenFree) {
  PeerId w = worker(1);
  PeerId c = client();
  Submitted first = submitUnique(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, first.id, 1);
  flush();
  EXPECT_EQ(count(c, send(c, protocol::DeadRetryMsg{first.id, {}})), 1u);
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  Submitted dup = submitUnique(c);
  EXPECT_TRUE(dup.duplicate);
  EXPECT_EQ(dup.id, first.id);
}

TEST_F(CoreUniqueTest, StatusAndListingsShowTheKey) {
  PeerId w = worker(1);
  PeerId c = client();
  Submitted job = submitUnique(c, {.key = "nightly-2026-01-01", .for_ms = 3'600'000});
  flush();
  std::string storage;
  protocol::JobInfoMsg live = rawInfo(c, job.id, storage);
  EXPECT_EQ(live.unique_key, "nightly-2026-01-01");
  EXPECT_EQ(live.unique_for_ms, 3'600'000u);
  send(c, protocol::ListJobsMsg{"echo", 0, 10, 0});
  auto lists = takeType(c, MsgType::kJobList);
  ASSERT_EQ(lists.size(), 1u);
  auto list = lists[0].as<protocol::JobListMsg>();
  ASSERT_EQ(list.jobs.size(), 1u);
  EXPECT_EQ(list.jobs[0].unique_key, "nightly-2026-01-01");
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, job.id, 1);
  flush();
  protocol::JobInfoMsg done = rawInfo(c, job.id, storage);
  EXPECT_EQ(done.state, static_cast<std::uint8_t>(JobState::kSucceeded));
  EXPECT_EQ(done.unique_key, "nightly-2026-01-01");
  EXPECT_EQ(done.unique_for_ms, 3'600'000u);
}

TEST_F(CoreUniqueTest, TheVolatileStoreShowsTheKeyOfAFinishedJobToo) {
  use_volatile_store_ = true;
  PeerId w = worker(1);
  PeerId c = client();
  Submitted job = submitUnique(c, {.for_ms = 1000});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, job.id, 1);
  flush();
  std::string storage;
  EXPECT_EQ(rawInfo(c, job.id, storage).unique_key, "k");
  EXPECT_TRUE(submitUnique(c, {.for_ms = 1000}).duplicate);
}

TEST_F(CoreUniqueTest, BadUniqueFieldsAreRefused) {
  PeerId c = client();
  protocol::SubmitMsg no_key = uniqueMsg({.key = "", .for_ms = 1000});
  expectError(c, send(c, no_key), errc::kBadRequest);
  std::string long_key(256, 'k');
  protocol::SubmitMsg too_long = uniqueMsg({.key = long_key});
  expectError(c, send(c, too_long), errc::kBadRequest);
  EXPECT_EQ(core().counts().queued, 0u);
}

TEST_F(CoreUniqueTest, ADuplicateIsAnsweredEvenWhenNewJobsAreRefused) {
  options_.max_queued = 1;
  PeerId c = client();
  Submitted first = submitUnique(c);
  expectError(c, send(c, submitMsg({})), errc::kQueueFull);
  Submitted dup = submitUnique(c);
  EXPECT_TRUE(dup.duplicate);
  EXPECT_EQ(dup.id, first.id);
}

TEST_F(CoreUniqueTest, AQueuedJobsKeyIsHeldAfterARestart) {
  PeerId c = client();
  Submitted first = submitUnique(c);
  flush();
  restart();
  c = client();
  Submitted dup = submitUnique(c);
  EXPECT_TRUE(dup.duplicate) << "recovery forgot the queued job's key";
  EXPECT_EQ(dup.id, first.id);
}

TEST_F(CoreUniqueTest, ASucceededJobsWindowSurvivesARestartAndStillEnds) {
  PeerId w = worker(1);
  PeerId c = client();
  Submitted first = submitUnique(c, {.for_ms = 10'000});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, first.id, 1);
  flush();
  // A second succeeded job whose short window ends before the restart is over.
  Submitted brief = submitUnique(c, {.key = "brief", .for_ms = 100});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  complete(w, brief.id, 1);
  flush();
  clock_.advance(milliseconds(4000));
  restart();
  c = client();
  Submitted dup = submitUnique(c, {.for_ms = 10'000});
  EXPECT_TRUE(dup.duplicate) << "the window of a succeeded job did not survive the restart";
  EXPECT_EQ(dup.id, first.id);
  EXPECT_FALSE(submitUnique(c, {.key = "brief", .for_ms = 100}).duplicate) << "an ended window came back";
  advance(6000);
  EXPECT_FALSE(submitUnique(c, {.for_ms = 10'000}).duplicate) << "the window outlived its 10 s";
}

TEST_F(CoreUniqueTest, ARetryingJobsKeyIsHeldAfterARestart) {
  PeerId w = worker(1);
  PeerId c = client();
  Submitted first = submitUnique(c, {.retries = 3});
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  fail(w, first.id, 1);
  flush();
  restart();
  c = client();
  EXPECT_EQ(submitUnique(c, {.retries = 3}).id, first.id);
}

}  // namespace
}  // namespace corvee::broker::test

namespace corvee::broker {
namespace {

// Frames put where the server writes them before the commit, and where it writes them after.
class SplittingOutbox final : public Outbox {
 public:
  std::string* output(PeerId peer) override { return &after_commit[peer]; }
  std::string* urgentOutput(PeerId peer) override { return &urgent[peer]; }
  void closeAfterFlush(PeerId) override {}
  // (type, flags of a SUBMITTED) of each frame in `bytes`, which it empties.
  static std::vector<std::pair<std::uint8_t, std::uint8_t>> take(std::string& bytes) {
    protocol::FrameDecoder decoder(1 << 20);
    std::copy(bytes.begin(), bytes.end(), decoder.prepare(bytes.size()));
    decoder.commit(bytes.size());
    bytes.clear();
    std::vector<std::pair<std::uint8_t, std::uint8_t>> out;
    protocol::Frame frame;
    while (decoder.next(frame) == protocol::DecodeEvent::kFrame) {
      std::uint8_t flags = 0;
      if (frame.type == static_cast<std::uint8_t>(protocol::MsgType::kSubmitted)) {
        flags = protocol::decode<protocol::SubmittedMsg>(frame.body)->flags;
      }
      out.emplace_back(frame.type, flags);
    }
    return out;
  }
  std::map<PeerId, std::string> after_commit;
  std::map<PeerId, std::string> urgent;
};

TEST(CoreUniqueDelivery, ADuplicateWaitsForTheCommitOnlyWhileItsJobIsUncommitted) {
  BrokerOptions options;
  MemoryStore store;
  testing::FakeClock clock;
  SplittingOutbox outbox;
  Core core(options, store, clock, outbox);
  ASSERT_TRUE(core.recover().isOk());
  auto deliver = [&](PeerId peer, auto msg) {
    std::string wire;
    protocol::encode(wire, 7, msg);
    protocol::Frame frame{static_cast<std::uint8_t>(wire[protocol::kLengthSize]), 7,
                          std::string_view(wire).substr(protocol::kHeaderSize)};
    core.onFrame(peer, frame);
  };
  core.onConnect(1, "client");
  deliver(1, protocol::HelloMsg{protocol::kMagic, protocol::kVersion, 1, "c"});
  protocol::SubmitMsg unique{"echo", {"x"}, 0, 0, 0, 0};
  unique.unique_key = "k";
  using Frames = std::vector<std::pair<std::uint8_t, std::uint8_t>>;
  constexpr auto kSubmitted = static_cast<std::uint8_t>(protocol::MsgType::kSubmitted);
  constexpr auto kWelcome = static_cast<std::uint8_t>(protocol::MsgType::kWelcome);
  EXPECT_EQ(SplittingOutbox::take(outbox.urgent[1]), (Frames{{kWelcome, 0}}));

  // In one turn, before any commit: the duplicate names a job a crash could still lose.
  deliver(1, unique);
  deliver(1, unique);
  EXPECT_TRUE(SplittingOutbox::take(outbox.urgent[1]).empty()) << "a reply left before its job was durable";
  // (No worker serves `echo`: the first reply says so too; a duplicate only says what it is.)
  EXPECT_EQ(SplittingOutbox::take(outbox.after_commit[1]),
            (Frames{{kSubmitted, protocol::kSubmittedUnserved}, {kSubmitted, protocol::kSubmittedDuplicate}}));
  ASSERT_TRUE(core.flush().isOk());

  // Committed since: nothing to wait for.
  deliver(1, unique);
  EXPECT_EQ(SplittingOutbox::take(outbox.urgent[1]), (Frames{{kSubmitted, protocol::kSubmittedDuplicate}}));
  EXPECT_TRUE(outbox.after_commit[1].empty());
}

}  // namespace
}  // namespace corvee::broker
