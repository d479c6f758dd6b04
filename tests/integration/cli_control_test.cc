// Issue 10 through the command line, against a real broker (sqlite store) and `worker --builtin`:
// retries ending in `dead list`, `dead show/retry/purge`, `cancel` of a running job, `purge`,
// `pause`/`resume`, `jobs`, `wait`, and all of it across a broker `kill -9`.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.h"

namespace corvee::testing {
namespace {

using nlohmann::json;

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Every line of `text` as a JSON document (`jobs` and `dead list` print JSON lines off a terminal).
std::vector<json> jsonLines(const std::string& text) {
  std::vector<json> docs;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) docs.push_back(json::parse(line, nullptr, false));
  return docs;
}

std::vector<std::uint64_t> idsOf(const std::vector<json>& docs) {
  std::vector<std::uint64_t> ids;
  for (const json& doc : docs) ids.push_back(doc.is_object() ? doc.value("id", std::uint64_t{0}) : 0);
  return ids;
}

class CliControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.start());
    ASSERT_TRUE(worker_.start(broker_.endpoint(), 2, {"--name", "control-worker"}));
    ASSERT_TRUE(waitForWorkers(broker_.endpoint(), 1));
  }

  CommandResult corvee(std::vector<std::string> args, const std::string& input = {}) {
    args.push_back("--connect");
    args.push_back(broker_.endpoint());
    return runCorvee(args, input);
  }

  // `corvee status ID`'s document (whatever the exit code: dead and cancelled jobs exit 1).
  json status(const std::string& id) { return json::parse(corvee({"status", id}).out, nullptr, false); }

  // Polls until job `id` is in `state`; returns its last document.
  json waitForState(const std::string& id, const std::string& state, std::chrono::milliseconds limit = 20s) {
    json doc;
    bool reached = eventually(
        [&] {
          doc = status(id);
          return doc.is_object() && doc.value("state", "") == state;
        },
        limit, 50ms);
    EXPECT_TRUE(reached) << "job " << id << " never reached " << state << "; last status: " << doc.dump();
    return doc;
  }

  std::string submit(std::vector<std::string> args) {
    args.insert(args.begin(), "submit");
    CommandResult run = corvee(args);
    EXPECT_EQ(run.exit_code, 0) << run.describe();
    return trimmed(run.out);
  }

  TempDir data_;
  BrokerProcess broker_{BrokerStore::sqlite(data_.path())};
  WorkerProcess worker_;
};

TEST_F(CliControlTest, RetriesEndInTheDeadListAndDeadRetryRunsItAgain) {
  CommandResult run = corvee({"submit", "fail", "x", "--retries", "2", "--backoff", "100", "--wait"});
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  EXPECT_TRUE(contains(run.err, "handler_error")) << run.describe();

  CommandResult list = corvee({"dead", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.describe();
  std::vector<json> dead = jsonLines(list.out);
  ASSERT_EQ(dead.size(), 1u) << "JSON lines off a terminal: " << list.describe();
  EXPECT_EQ(dead[0].value("state", ""), "dead");
  EXPECT_EQ(dead[0].value("attempt", 0), 3);
  EXPECT_EQ(dead[0].value("retried", 0), 2);
  std::string id = std::to_string(dead[0].value("id", std::uint64_t{0}));

  CommandResult show = corvee({"dead", "show", id});
  ASSERT_EQ(show.exit_code, 0) << show.describe();
  json doc = json::parse(show.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << show.describe();
  EXPECT_EQ(doc.value("payload", ""), "x");
  EXPECT_FALSE(doc.contains("payload_encoding"));
  ASSERT_EQ(doc["failures"].size(), 3u) << show.out;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(doc["failures"][i].value("attempt", 0), i + 1) << show.out;
    EXPECT_EQ(doc["failures"][i]["error"].value("code", ""), "handler_error") << show.out;
  }
  // Backoff: the retries did not start before their first delay could pass (>= 0 ms, so only the
  // order is certain), and each attempt started after the previous one ended.
  EXPECT_LE(doc["failures"][0].value("ended_ms", 0ULL), doc["failures"][1].value("started_ms", 0ULL));
  EXPECT_LE(doc["failures"][1].value("ended_ms", 0ULL), doc["failures"][2].value("started_ms", 0ULL));

  // `status` shows the same record, and exits 1 for a dead job.
  CommandResult st = corvee({"status", id});
  EXPECT_EQ(st.exit_code, 1) << st.describe();
  EXPECT_EQ(json::parse(st.out, nullptr, false)["failures"].size(), 3u) << st.describe();

  CommandResult retry = corvee({"dead", "retry", id});
  ASSERT_EQ(retry.exit_code, 0) << retry.describe();
  EXPECT_EQ(retry.out, "1 dead job back in the queue\n") << retry.describe();
  // Back with fresh retries: three more attempts, attempt numbers going on from 3.
  json again;
  ASSERT_TRUE(eventually(
      [&] {
        again = status(id);
        return again.is_object() && again.value("state", "") == "dead" && again.value("attempt", 0) == 6;
      },
      20s, 50ms))
      << again.dump();
  EXPECT_EQ(again["failures"].size(), 6u) << again.dump();

  // Retrying a job that is not dead is the broker's wrong_state.
  std::string ok = submit({"echo", "fine"});
  waitForState(ok, "succeeded");
  CommandResult wrong = corvee({"dead", "retry", ok});
  EXPECT_EQ(wrong.exit_code, 3) << wrong.describe();
  EXPECT_TRUE(contains(wrong.err, "wrong_state")) << wrong.describe();
}

TEST_F(CliControlTest, DeadShowGivesABinaryPayloadInBase64) {
  std::string payload("\0bin\xff", 5);
  CommandResult run = corvee({"submit", "fail", "-", "--wait"}, payload);
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  std::vector<json> dead = jsonLines(corvee({"dead", "list", "--task", "fail"}).out);
  ASSERT_EQ(dead.size(), 1u);
  CommandResult show = corvee({"dead", "show", std::to_string(dead[0].value("id", std::uint64_t{0}))});
  ASSERT_EQ(show.exit_code, 0) << show.describe();
  json doc = json::parse(show.out, nullptr, false);
  EXPECT_EQ(doc.value("payload", ""), "AGJpbv8=") << show.out;
  EXPECT_EQ(doc.value("payload_encoding", ""), "base64") << show.out;

  // A job that is not dead is not shown as one.
  std::string ok = submit({"echo", "fine"});
  waitForState(ok, "succeeded");
  CommandResult not_dead = corvee({"dead", "show", ok});
  EXPECT_EQ(not_dead.exit_code, 1) << not_dead.describe();
  EXPECT_TRUE(contains(not_dead.err, "not dead")) << not_dead.describe();
}

TEST_F(CliControlTest, DeadPurgeDeletesByAgeAndTask) {
  EXPECT_EQ(corvee({"submit", "fail", "a", "--wait"}).exit_code, 1);
  EXPECT_EQ(corvee({"submit", "fail", "b", "--wait"}).exit_code, 1);
  CommandResult young = corvee({"dead", "purge", "--older-than", "1h"});
  ASSERT_EQ(young.exit_code, 0) << young.describe();
  EXPECT_EQ(young.out, "deleted 0 dead jobs\n");
  CommandResult other = corvee({"dead", "purge", "--task", "echo"});
  EXPECT_EQ(other.out, "deleted 0 dead jobs\n") << other.describe();
  CommandResult all = corvee({"dead", "purge", "--task", "fail"});
  ASSERT_EQ(all.exit_code, 0) << all.describe();
  EXPECT_EQ(all.out, "deleted 2 dead jobs\n");
  EXPECT_EQ(corvee({"dead", "list"}).out, "");

  CommandResult bad = corvee({"dead", "purge", "--older-than", "3 weeks"});
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  EXPECT_TRUE(contains(bad.err, "not a duration")) << bad.describe();
}

TEST_F(CliControlTest, CancelStopsARunningJobAndWaitSeesIt) {
  std::string id = submit({"sleep", "60000"});
  waitForState(id, "running");
  auto started = std::chrono::steady_clock::now();
  CommandResult cancel = corvee({"cancel", id});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.describe();
  CommandResult wait = corvee({"wait", id});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(wait.exit_code, 1) << wait.describe();
  EXPECT_EQ(wait.out, "") << wait.describe();
  EXPECT_TRUE(contains(wait.err, "cancelled")) << wait.describe();

  CommandResult st = corvee({"status", id});
  EXPECT_EQ(st.exit_code, 1) << "a cancelled job's status exits 1: " << st.describe();
  EXPECT_EQ(json::parse(st.out, nullptr, false).value("state", ""), "cancelled") << st.describe();

  CommandResult twice = corvee({"cancel", id});
  EXPECT_EQ(twice.exit_code, 3) << twice.describe();
  EXPECT_TRUE(contains(twice.err, "wrong_state")) << twice.describe();
  CommandResult unknown = corvee({"cancel", "987654"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.describe();
  EXPECT_TRUE(contains(unknown.err, "not_found")) << unknown.describe();
}

TEST_F(CliControlTest, WaitPrintsTheResultOrGivesUp) {
  std::string id = submit({"reverse", "abc"});
  CommandResult wait = corvee({"wait", id});
  EXPECT_EQ(wait.exit_code, 0) << wait.describe();
  EXPECT_EQ(wait.out, "cba") << "exactly the result, as submit --wait prints it: " << wait.describe();

  std::string slow = submit({"sleep", "5000"});
  CommandResult late = corvee({"wait", slow, "--timeout", "200"});
  EXPECT_EQ(late.exit_code, 3) << late.describe();
  EXPECT_TRUE(contains(late.err, "wait_timeout")) << late.describe();

  CommandResult unknown = corvee({"wait", "987654"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.describe();
  EXPECT_TRUE(contains(unknown.err, "not_found")) << unknown.describe();
}

TEST_F(CliControlTest, UnservedTaskWarnsAndPurgeRemovesIt) {
  CommandResult queued = corvee({"submit", "nosuchtask", "y"});
  ASSERT_EQ(queued.exit_code, 0) << queued.describe();
  EXPECT_EQ(queued.err,
            "warning: no connected worker serves task 'nosuchtask'; the job waits in the queue until one does\n");
  std::string id = trimmed(queued.out);
  EXPECT_EQ(corvee({"submit", "echo", "served"}).err, "") << "no warning for a served task";

  CommandResult refused = corvee({"submit", "nosuchtask", "y", "--require-worker"});
  EXPECT_EQ(refused.exit_code, 3) << refused.describe();
  EXPECT_TRUE(contains(refused.err, "no_worker")) << refused.describe();

  // No terminal to ask on (stdin is a pipe here): refused without --yes, and nothing purged.
  CommandResult unconfirmed = corvee({"purge", "nosuchtask"});
  EXPECT_EQ(unconfirmed.exit_code, 2) << unconfirmed.describe();
  EXPECT_TRUE(contains(unconfirmed.err, "--yes")) << unconfirmed.describe();
  EXPECT_EQ(status(id).value("state", ""), "queued");

  CommandResult purge = corvee({"purge", "nosuchtask", "--yes"});
  ASSERT_EQ(purge.exit_code, 0) << purge.describe();
  EXPECT_EQ(purge.out, "cancelled 1 queued job of task 'nosuchtask'\n");
  EXPECT_EQ(status(id).value("state", ""), "cancelled");
}

TEST_F(CliControlTest, PausedTaskWaitsUntilResumed) {
  CommandResult pause = corvee({"pause", "echo"});
  ASSERT_EQ(pause.exit_code, 0) << pause.describe();
  std::string id = submit({"echo", "later"});
  std::this_thread::sleep_for(300ms);  // a worker serves echo: only the pause keeps it queued
  EXPECT_EQ(status(id).value("state", ""), "queued");
  ASSERT_EQ(corvee({"resume", "echo"}).exit_code, 0);
  CommandResult wait = corvee({"wait", id, "--timeout", "10000"});
  EXPECT_EQ(wait.exit_code, 0) << wait.describe();
  EXPECT_EQ(wait.out, "later");
}

TEST_F(CliControlTest, JobsListsNewestFirstWithFilters) {
  std::string a = submit({"echo", "a"});
  std::string b = submit({"echo", "b"});
  EXPECT_EQ(corvee({"submit", "fail", "c", "--wait"}).exit_code, 1);
  waitForState(b, "succeeded");
  waitForState(a, "succeeded");

  CommandResult all = corvee({"jobs"});
  ASSERT_EQ(all.exit_code, 0) << all.describe();
  std::vector<json> docs = jsonLines(all.out);
  ASSERT_EQ(docs.size(), 3u) << all.describe();
  std::vector<std::uint64_t> ids = idsOf(docs);
  EXPECT_TRUE(std::is_sorted(ids.rbegin(), ids.rend())) << "newest first: " << all.out;

  std::vector<json> echo = jsonLines(corvee({"jobs", "--task", "echo", "--json"}).out);
  EXPECT_EQ(echo.size(), 2u);
  std::vector<json> dead = jsonLines(corvee({"jobs", "--state", "dead"}).out);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value("task", ""), "fail");
  EXPECT_EQ(jsonLines(corvee({"jobs", "--limit", "1"}).out).size(), 1u);

  CommandResult bad = corvee({"jobs", "--state", "failed"});
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  EXPECT_TRUE(contains(bad.err, "not a job state")) << bad.describe();
}

TEST_F(CliControlTest, PauseAndDeadJobsSurviveABrokerKill) {
  EXPECT_EQ(corvee({"submit", "fail", "x", "--wait"}).exit_code, 1);
  ASSERT_EQ(corvee({"pause", "echo"}).exit_code, 0);
  std::string id = submit({"echo", "kept"});
  ASSERT_TRUE(broker_.killNine());
  ASSERT_TRUE(broker_.restart());
  EXPECT_EQ(jsonLines(corvee({"dead", "list"}).out).size(), 1u);
  ASSERT_TRUE(waitForWorkers(broker_.endpoint(), 1));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(status(id).value("state", ""), "queued") << "still paused after the restart";
  ASSERT_EQ(corvee({"resume", "echo"}).exit_code, 0);
  CommandResult wait = corvee({"wait", id, "--timeout", "10000"});
  EXPECT_EQ(wait.exit_code, 0) << wait.describe();
  EXPECT_EQ(wait.out, "kept");
}

TEST(CliControlUsageTest, BadValuesAreUsageErrors) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"cancel", "0"},
           {"cancel", "abc"},
           {"wait", "-1"},
           {"purge", ""},
           {"pause", ""},
           {"dead", "retry"},
           {"dead", "retry", "1", "--all"},
           {"dead", "retry", "1", "--task", "echo"},
           {"dead", "show"},
           {"dead"},
           {"jobs", "--limit", "0"},
           {"submit", "echo", "x", "--retries", "-1"},
           {"submit", "echo", "x", "--backoff", "1.5"},
           {"broker", "--dead-ttl", "7 days"},
           {"broker", "--dead-max", "-1"},
       }) {
    CommandResult run = runCorvee(args);
    std::string joined;
    for (const std::string& arg : args) joined += " " + arg;
    EXPECT_EQ(run.exit_code, 2) << "corvee" << joined << ": " << run.describe();
  }
}

}  // namespace
}  // namespace corvee::testing
