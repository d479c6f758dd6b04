// Retries, dead letters, cancel, purge and pause through real broker and worker processes, on
// both stores, and across `kill -9` of the broker on the durable one (issue 10).
//
// Every wait is bounded; assertions are about outcomes and about lower bounds on time (a retry
// never comes before its backoff), never about how fast something happened.
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <fstream>
#include <thread>

#include "corvee/client.h"
#include "corvee/errors.h"
#include "support/process.h"
#include "support/test_client.h"

namespace corvee::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Polls the job's state until `want` or 30 s; returns the last record seen.
JobInfo waitForState(Client& client, JobId id, JobState want) {
  JobInfo last;
  auto deadline = Clock::now() + 30s;
  while (Clock::now() < deadline) {
    auto info = client.status(id);
    if (info) {
      last = *info;
      if (info->state == want) return last;
    }
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "job " << id << " never became " << toString(want) << "; last " << toString(last.state);
  return last;
}

bool processExists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

class FailureControlTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    broker_ = GetParam() == "sqlite" ? BrokerProcess(BrokerStore::sqlite(data_.path())) : BrokerProcess();
    ASSERT_TRUE(broker_.start());
    client_ = connectTestClient(broker_.endpoint());
    ASSERT_NE(client_, nullptr);
  }
  TempDir data_;
  BrokerProcess broker_;
  std::unique_ptr<Client> client_;
};

INSTANTIATE_TEST_SUITE_P(Stores, FailureControlTest, ::testing::Values("memory", "sqlite"));

TEST_P(FailureControlTest, AFailingJobRunsThreeTimesWithGrowingGapsThenIsDeadAndCanBeRevived) {
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker_.endpoint(), 1));
  SubmitOptions options;
  options.retries = 2;
  options.backoff = 200ms;
  JobHandle handle = client_->submit("fail", "x", options);
  auto outcome = handle.wait(60s);
  ASSERT_TRUE(outcome) << outcome.status().toString();
  EXPECT_EQ(outcome->state, JobState::kDead);
  EXPECT_EQ(outcome->attempt, 3u);

  auto info = client_->status(*handle.id(), /*with_payload=*/true);
  ASSERT_TRUE(info) << info.status().toString();
  EXPECT_EQ(info->payload, "x");
  EXPECT_EQ(info->retried, 2u);
  ASSERT_EQ(info->failures.size(), 3u);
  // Retry n waits at least backoff * 2^(n-2): 0 before the second attempt, 200 ms before the third.
  EXPECT_GE(info->failures[1].started_ms, info->failures[0].ended_ms);
  EXPECT_GE(info->failures[2].started_ms, info->failures[1].ended_ms + 200);
  for (const AttemptFailure& f : info->failures) EXPECT_EQ(f.error_code, errc::kHandlerError);

  JobFilter dead;
  dead.state = JobState::kDead;
  auto listed = client_->jobs(dead);
  ASSERT_TRUE(listed) << listed.status().toString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, *handle.id());

  auto revived = client_->retryDead(*handle.id());
  ASSERT_TRUE(revived) << revived.status().toString();
  EXPECT_EQ(*revived, 1u);
  auto again = client_->wait(*handle.id(), 60s);
  ASSERT_TRUE(again) << again.status().toString();
  EXPECT_EQ(again->state, JobState::kDead);
  EXPECT_EQ(again->attempt, 6u);  // three fresh attempts, numbered on
  EXPECT_EQ(client_->retryDead(424242).status().code(), errc::kNotFound);
}

TEST_P(FailureControlTest, AnExecCommandExiting65IsDeadWithoutRetries) {
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker_.endpoint(), 1, {"--exec", "strict=echo bad input >&2; exit 65"},
                           /*builtin=*/false));
  SubmitOptions options;
  options.retries = 5;
  options.backoff = 10ms;
  auto outcome = client_->submit("strict", "x", options).wait(30s);
  ASSERT_TRUE(outcome) << outcome.status().toString();
  EXPECT_EQ(outcome->state, JobState::kDead);
  EXPECT_EQ(outcome->attempt, 1u);
  EXPECT_EQ(outcome->error_code, errc::kPermanentError);
  EXPECT_EQ(outcome->error_message, "bad input");
}

TEST_P(FailureControlTest, CancelStopsARunningSleepAndFreesItsSlot) {
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker_.endpoint(), 1));
  JobHandle sleeping = client_->submit("sleep", "60000");
  ASSERT_TRUE(sleeping.id());
  waitForState(*client_, *sleeping.id(), JobState::kRunning);
  ASSERT_TRUE(client_->cancel(*sleeping.id()));
  auto outcome = sleeping.wait(30s);
  ASSERT_TRUE(outcome) << outcome.status().toString();
  EXPECT_EQ(outcome->state, JobState::kCancelled);
  EXPECT_EQ(outcome->error_code, errc::kCancelled);
  // The one slot is free again only once the handler stopped: a job after it runs.
  auto echo = client_->submit("echo", "after").wait(30s);
  ASSERT_TRUE(echo) << echo.status().toString();
  EXPECT_EQ(echo->result, "after");
  EXPECT_EQ(client_->cancel(*sleeping.id()).code(), errc::kWrongState);
}

TEST_P(FailureControlTest, CancelKillsAnExecCommandsProcess) {
  TempFile pid_file;
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker_.endpoint(), 1,
                           {"--exec", "slow=echo $$ > " + pid_file.path() + "; exec sleep 60", "--kill-grace", "500"},
                           /*builtin=*/false));
  JobHandle job = client_->submit("slow", "");
  ASSERT_TRUE(job.id());
  waitForState(*client_, *job.id(), JobState::kRunning);
  pid_t pid = 0;
  for (auto deadline = Clock::now() + 30s; pid == 0 && Clock::now() < deadline;) {
    std::ifstream in(pid_file.path());
    if (!(in >> pid)) std::this_thread::sleep_for(20ms);
  }
  ASSERT_GT(pid, 0) << "the command never wrote its pid";
  ASSERT_TRUE(processExists(pid));
  ASSERT_TRUE(client_->cancel(*job.id()));
  auto outcome = job.wait(30s);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->state, JobState::kCancelled);
  bool gone = false;
  for (auto deadline = Clock::now() + 30s; !gone && Clock::now() < deadline;) {
    gone = !processExists(pid);
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(gone) << "the command's process " << pid << " still runs after the cancel";
}

TEST_P(FailureControlTest, AJobForATaskNoWorkerServesWarnsAndPurgeRemovesIt) {
  JobHandle typo = client_->submit("nosuchtask", "y");
  ASSERT_TRUE(typo.id());
  EXPECT_TRUE(typo.unserved());
  SubmitOptions strict;
  strict.require_worker = true;
  EXPECT_EQ(client_->submit("nosuchtask", "z", strict).id().status().code(), errc::kNoWorker);
  auto purged = client_->purge("nosuchtask");
  ASSERT_TRUE(purged) << purged.status().toString();
  EXPECT_EQ(*purged, 1u);
  auto outcome = typo.wait(10s);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->state, JobState::kCancelled);
}

TEST_P(FailureControlTest, APausedTaskWaitsUntilResumed) {
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker_.endpoint(), 1));
  ASSERT_TRUE(client_->submit("echo", "warm").wait(30s));  // the task is known
  ASSERT_TRUE(client_->pause("echo"));
  JobHandle held = client_->submit("echo", "held");
  ASSERT_TRUE(held.id());
  // A negative can only be sampled: it is still queued after the worker had ample time.
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(client_->status(*held.id())->state, JobState::kQueued);
  ASSERT_TRUE(client_->resume("echo"));
  auto outcome = held.wait(30s);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->result, "held");
  EXPECT_EQ(client_->pause("never-heard-of").code(), errc::kNotFound);
}

// ---- Across kill -9 of the broker, on the default store.

class FailureControlCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.start());
    client_ = connectTestClient(broker_.endpoint());
    ASSERT_NE(client_, nullptr);
  }
  void crashAndRestart() {
    ASSERT_TRUE(broker_.killNine());
    ASSERT_TRUE(broker_.restart());
  }
  TempDir data_;
  BrokerProcess broker_{BrokerStore::sqlite(data_.path())};
  std::unique_ptr<Client> client_;
};

TEST_F(FailureControlCrashTest, RetriesDeadLettersCancelsAndPausesSurviveKillNine) {
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker_.endpoint(), 2));

  // A job waiting for its retry, a cancelled job, a paused task with a queued job.
  SubmitOptions slow_retry;
  slow_retry.retries = 2;
  slow_retry.backoff = 1500ms;
  JobId retrying = *client_->submit("fail", "r", slow_retry).id();
  waitForState(*client_, retrying, JobState::kRetrying);
  JobId cancelled = *client_->submit("nobody-serves", "c").id();
  ASSERT_TRUE(client_->cancel(cancelled));
  ASSERT_TRUE(client_->submit("echo", "warm").wait(30s));
  ASSERT_TRUE(client_->pause("echo"));
  JobId held = *client_->submit("echo", "held").id();

  crashAndRestart();

  auto info = client_->status(retrying);
  ASSERT_TRUE(info) << info.status().toString();
  EXPECT_TRUE(info->state == JobState::kRetrying || info->state == JobState::kQueued ||
              info->state == JobState::kRunning || info->state == JobState::kDead)
      << toString(info->state);
  EXPECT_GE(info->failures.size(), 1u);
  EXPECT_EQ(client_->status(cancelled)->state, JobState::kCancelled);
  auto stats = client_->stats();
  ASSERT_TRUE(stats);
  EXPECT_NE(stats->find("\"paused\":true"), std::string::npos) << *stats;
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(client_->status(held)->state, JobState::kQueued);

  // The retrying job goes on to its third attempt and is dead, with every attempt's error.
  JobInfo dead = waitForState(*client_, retrying, JobState::kDead);
  EXPECT_EQ(dead.attempt, 3u);

  crashAndRestart();
  auto kept = client_->status(retrying, /*with_payload=*/true);
  ASSERT_TRUE(kept) << kept.status().toString();
  EXPECT_EQ(kept->state, JobState::kDead);
  EXPECT_EQ(kept->payload, "r");
  EXPECT_EQ(kept->failures.size(), 3u);

  // An acknowledged revival and resume are durable too.
  ASSERT_TRUE(client_->resume("echo"));
  // So the revived job waits where we can see it. A task is known to a restarted broker once a
  // job or a worker of it is: until the worker has reconnected, the pause is refused not_found.
  Status paused = client_->pause("fail");
  for (auto deadline = Clock::now() + 30s; !paused && Clock::now() < deadline; paused = client_->pause("fail")) {
    ASSERT_EQ(paused.code(), errc::kNotFound) << paused.toString();
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(paused) << paused.toString();
  ASSERT_EQ(*client_->retryDead(retrying), 1u);
  crashAndRestart();
  EXPECT_EQ(client_->status(retrying)->state, JobState::kQueued);
  auto done = client_->wait(held, 30s);
  ASSERT_TRUE(done) << done.status().toString();
  EXPECT_EQ(done->result, "held");
}

}  // namespace
}  // namespace corvee::testing
