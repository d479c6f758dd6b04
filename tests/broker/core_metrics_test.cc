// Core's metrics on the fake clock: METRICS_TEXT's counters by task and outcome, the totals that
// the store keeps across a restart, the wait and run histograms, and the oldest queued job's age.
#include <sstream>

#include "broker/core_fixture.h"
#include "corvee/errors.h"

namespace corvee::broker::test {
namespace {

class CoreMetricsTest : public CoreTest {
 protected:
  std::string metrics(PeerId peer) {
    std::uint32_t rid = send(peer, protocol::MetricsMsg{});
    auto frames = takeType(peer, MsgType::kMetricsText);
    if (frames.size() != 1) {
      ADD_FAILURE() << "expected one METRICS_TEXT";
      return {};
    }
    EXPECT_EQ(frames[0].request_id, rid);
    return std::string(frames[0].as<protocol::MetricsTextMsg>().text.data);
  }
  // The value of the sample line that starts with `series` (name and labels exactly as printed);
  // "" when there is none.
  static std::string value(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
        return line.substr(series.size() + 1);
      }
    }
    return "";
  }
  void cancelJob(PeerId c, JobId id) { expectOk(c, send(c, protocol::CancelJobMsg{id})); }
};

TEST_F(CoreMetricsTest, CountsJobsByTaskAndOutcome) {
  PeerId c = client();
  JobId a = submit(c);
  JobId b = submit(c);
  JobId gone = submit(c);
  submitTask(c, "other");
  cancelJob(c, gone);
  PeerId w = worker(2);
  flush();
  ASSERT_EQ(idsOf(assigns(w)), (std::vector<JobId>{a, b}));
  complete(w, a, 1);
  fail(w, b, 1);  // no retries: dead
  flush();
  std::string text = metrics(c);
  EXPECT_EQ(value(text, R"(corvee_jobs_submitted_total{task="echo"})"), "3") << text;
  EXPECT_EQ(value(text, R"(corvee_jobs_submitted_total{task="other"})"), "1");
  EXPECT_EQ(value(text, R"(corvee_jobs_finished_total{task="echo",outcome="succeeded"})"), "1");
  EXPECT_EQ(value(text, R"(corvee_jobs_finished_total{task="echo",outcome="dead"})"), "1");
  EXPECT_EQ(value(text, R"(corvee_jobs_finished_total{task="echo",outcome="cancelled"})"), "1");
  EXPECT_EQ(value(text, R"(corvee_jobs_finished_total{task="other",outcome="succeeded"})"), "0");
  EXPECT_EQ(value(text, R"(corvee_queue_depth{task="other",state="queued"})"), "1");
  EXPECT_EQ(value(text, R"(corvee_task_workers{task="echo"})"), "1");
  EXPECT_EQ(value(text, "corvee_workers"), "1");
  EXPECT_EQ(value(text, "corvee_worker_slots"), "2");
  EXPECT_EQ(value(text, "corvee_worker_slots_busy"), "0");
  EXPECT_EQ(value(text, "corvee_clients"), "1");
  EXPECT_EQ(value(text, "corvee_connections"), "2");
  EXPECT_NE(text.find("# TYPE corvee_jobs_finished_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE corvee_queue_wait_seconds histogram\n"), std::string::npos);
}

TEST_F(CoreMetricsTest, TotalsReachTheStoreWithTheCommitNotWithEachJob) {
  PeerId c = client();
  submit(c);
  submit(c);
  EXPECT_TRUE(store_.counters()->empty()) << "nothing is written before the turn's commit";
  flush();
  EXPECT_EQ(*store_.counters(), (std::vector<CounterTotal>{{"echo", "submitted", 2}}))
      << "one addition for the turn's two jobs";
  submit(c);
  flush();
  flush();  // a commit with nothing counted adds nothing
  EXPECT_EQ(*store_.counters(), (std::vector<CounterTotal>{{"echo", "submitted", 3}}));
}

TEST_F(CoreMetricsTest, TotalsSurviveARestart) {
  PeerId c = client();
  JobId a = submit(c);
  JobId b = submit(c, {.retries = 1, .backoff_ms = 10});
  PeerId w = worker(2);
  flush();
  complete(w, a, 1);
  fail(w, b, 1);  // retried
  flush();
  restart();  // as after a kill -9: what was committed is what the store has

  c = client();
  std::string text = metrics(c);
  EXPECT_EQ(value(text, R"(corvee_jobs_submitted_total{task="echo"})"), "2") << text;
  EXPECT_EQ(value(text, R"(corvee_jobs_finished_total{task="echo",outcome="succeeded"})"), "1");
  EXPECT_EQ(value(text, R"(corvee_jobs_retried_total{task="echo"})"), "1");
  nlohmann::json doc = stats(c);
  EXPECT_EQ(doc["jobs"]["succeeded"], 1) << "STATS' totals survive the restart too";
  EXPECT_EQ(doc["jobs"]["retried"], 1);
  EXPECT_EQ(doc["queues"][0]["submitted"], 2);

  // And go on counting from there.
  JobId more = submit(c);
  w = worker(1);
  flush();
  auto dealt = assigns(w);
  ASSERT_FALSE(dealt.empty());
  for (const Assigned& job : dealt) complete(w, job.id, job.attempt);
  flush();
  text = metrics(c);
  EXPECT_EQ(value(text, R"(corvee_jobs_submitted_total{task="echo"})"), "3") << more;
  EXPECT_EQ(*store_.counters(),
            (std::vector<CounterTotal>{{"echo", "retried", 1}, {"echo", "submitted", 3},
                                       {"echo", "succeeded", static_cast<std::uint64_t>(1 + dealt.size())}}));
}

TEST_F(CoreMetricsTest, CountsChangesThatWereNeverCommittedOnlyOnce) {
  // What a crash loses of the jobs, it loses of the totals: they were never given to the store.
  PeerId c = client();
  submit(c);
  flush();
  submit(c);  // not committed
  restart();
  EXPECT_EQ(value(metrics(client()), R"(corvee_jobs_submitted_total{task="echo"})"), "1");
}

TEST_F(CoreMetricsTest, RedeliveriesAndExpiredLimitsAreCountedByTask) {
  PeerId c = client();
  JobId lost = submit(c);
  JobId slow = submit(c, {.run_timeout_ms = 1000, .retries = 1});
  submit(c, {.task = "nobody", .assign_timeout_ms = 500});
  PeerId w = worker(2);
  flush();
  ASSERT_EQ(idsOf(assigns(w)), (std::vector<JobId>{lost, slow}));
  advance(1000);  // slow's run limit, and nobody's assign limit
  lose(w);        // lost goes back to its queue
  flush();
  std::string text = metrics(c);
  EXPECT_EQ(value(text, R"(corvee_jobs_redelivered_total{task="echo"})"), "1") << text;
  EXPECT_EQ(value(text, R"(corvee_attempts_expired_total{task="echo",limit="run_timeout"})"), "1");
  EXPECT_EQ(value(text, R"(corvee_attempts_expired_total{task="echo",limit="timeout"})"), "0");
  EXPECT_EQ(value(text, R"(corvee_attempts_expired_total{task="nobody",limit="assign_timeout"})"), "1");
  EXPECT_EQ(value(text, R"(corvee_jobs_finished_total{task="nobody",outcome="dead"})"), "1");
  EXPECT_EQ(value(text, R"(corvee_jobs_retried_total{task="echo"})"), "1");
}

TEST_F(CoreMetricsTest, QueueWaitAndRunTimeAreObservedPerTask) {
  PeerId c = client();
  JobId id = submit(c);
  advance(300);  // waits 0.3 s for a worker
  PeerId w = worker(1);
  flush();
  ASSERT_EQ(idsOf(assigns(w)), (std::vector<JobId>{id}));
  advance(2000);  // runs 2 s
  complete(w, id, 1);
  flush();
  std::string text = metrics(c);
  EXPECT_EQ(value(text, R"(corvee_queue_wait_seconds_count{task="echo"})"), "1") << text;
  EXPECT_EQ(value(text, R"(corvee_queue_wait_seconds_sum{task="echo"})"), "0.3");
  EXPECT_EQ(value(text, R"(corvee_queue_wait_seconds_bucket{task="echo",le="0.25"})"), "0");
  EXPECT_EQ(value(text, R"(corvee_queue_wait_seconds_bucket{task="echo",le="0.5"})"), "1");
  EXPECT_EQ(value(text, R"(corvee_job_run_seconds_sum{task="echo"})"), "2");
  EXPECT_EQ(value(text, R"(corvee_job_run_seconds_bucket{task="echo",le="1"})"), "0");
  EXPECT_EQ(value(text, R"(corvee_job_run_seconds_bucket{task="echo",le="2.5"})"), "1");
  EXPECT_EQ(value(text, R"(corvee_job_run_seconds_bucket{task="echo",le="+Inf"})"), "1");
  // The server measures its commits and hands them over.
  core().observeCommit(std::chrono::microseconds(1500));
  text = metrics(c);
  EXPECT_EQ(value(text, R"(corvee_store_commit_seconds_bucket{le="0.0025"})"), "1");
  EXPECT_EQ(value(text, "corvee_store_commit_seconds_count"), "1");
}

TEST_F(CoreMetricsTest, OldestQueuedAgeFollowsTheHeadOfTheQueue) {
  PeerId c = client();
  EXPECT_EQ(value(metrics(c), R"(corvee_queue_oldest_age_seconds{task="echo"})"), "") << "no task yet";
  JobId first = submit(c);
  advance(1500);
  submit(c, {.priority = 5});  // dealt first, but younger
  advance(500);
  std::string text = metrics(c);
  EXPECT_EQ(value(text, R"(corvee_queue_oldest_age_seconds{task="echo"})"), "2") << text;
  EXPECT_EQ(stats(c)["queues"][0]["oldest_age_ms"], 2000);
  cancelJob(c, first);  // its dead entry at the head is skipped
  EXPECT_EQ(value(metrics(c), R"(corvee_queue_oldest_age_seconds{task="echo"})"), "0.5");
  PeerId w = worker(1);
  flush();
  EXPECT_EQ(assigns(w).size(), 1u);
  EXPECT_EQ(value(metrics(c), R"(corvee_queue_oldest_age_seconds{task="echo"})"), "0") << "nothing queued";
}

TEST_F(CoreMetricsTest, AScheduledJobIsOldFromWhenItCameDueNotFromItsSubmission) {
  PeerId c = client();
  protocol::SubmitMsg msg = submitMsg({});
  msg.delay_ms = 60'000;
  send(c, msg);
  ASSERT_EQ(takeType(c, MsgType::kSubmitted).size(), 1u);
  advance(60'000);
  advance(250);
  std::string text = metrics(c);
  EXPECT_EQ(value(text, R"(corvee_queue_oldest_age_seconds{task="echo"})"), "0.25") << text;
  EXPECT_EQ(value(text, R"(corvee_queue_depth{task="echo",state="scheduled"})"), "0");
  EXPECT_EQ(value(text, R"(corvee_queue_depth{task="echo",state="queued"})"), "1");
}

TEST_F(CoreMetricsTest, ATaskNameWithQuotesAndNewlinesIsEscaped) {
  PeerId c = client();
  submitTask(c, "say \"hi\"\nnow");
  std::string text = metrics(c);
  EXPECT_EQ(value(text, R"(corvee_jobs_submitted_total{task="say \"hi\"\nnow"})"), "1") << text;
}

TEST_F(CoreMetricsTest, AVersion4PeerDoesNotKnowMetrics) {
  PeerId old = connect();
  protocol::HelloMsg hello;
  hello.version = 4;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  hello.name = "old";
  send(old, hello);
  ASSERT_EQ(takeType(old, MsgType::kWelcome).size(), 1u);
  expectError(old, send(old, protocol::MetricsMsg{}), errc::kUnknownCommand);
}

TEST_F(CoreMetricsTest, MetricsTextIsSentByTheBrokerNotToIt) {
  PeerId c = client();
  expectError(c, send(c, protocol::MetricsTextMsg{}), errc::kBadRequest);
}

}  // namespace
}  // namespace corvee::broker::test
