// The broker's HTTP API through real processes (issue 12): a broker serving HTTP on a free port
// (tests run brokers with CORVEE_HTTP=127.0.0.1:0), a real worker, and a plain HTTP client.
// Each request is the wire message a client would send, so these tests check the translation:
// fields, bytes, long-polls, every control, and errors with the wire codes and the right status.
#include <absl/strings/escaping.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/http_client.h"
#include "support/process.h"

namespace corvee::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

class HttpApiTest : public ::testing::Test {
 protected:
  void startBroker(const std::vector<std::string>& extra = {}, BrokerStore store = {}) {
    broker_ = BrokerProcess(std::move(store));
    ASSERT_TRUE(broker_.start(extra));
    ASSERT_NE(broker_.httpPort(), 0) << "the broker printed no http line: " << broker_.process().out();
    http_.emplace(broker_.httpPort());
  }
  void startWorker(int slots = 2) { ASSERT_TRUE(worker_.start(broker_.endpoint(), slots)); }
  HttpClient& http() { return *http_; }

  // Submits `body` and returns the new job's id (failing the test when refused).
  std::uint64_t submit(const Json& body) {
    HttpReply reply = http().post("/v1/jobs", body.dump());
    EXPECT_EQ(reply.status, 201u) << reply.describe();
    return reply.json().value("id", std::uint64_t{0});
  }
  // GET /v1/jobs/{id}?wait=MS until the job is in `state` (a bounded number of long-polls).
  Json waitForState(std::uint64_t id, const std::string& state) {
    Json job;
    for (int i = 0; i < 30; ++i) {
      HttpReply reply = http().get("/v1/jobs/" + std::to_string(id) + "?wait=2000");
      EXPECT_EQ(reply.status, 200u) << reply.describe();
      job = reply.json();
      if (job.value("state", "") == state) return job;
    }
    ADD_FAILURE() << "job " << id << " never reached " << state << ": " << job.dump();
    return job;
  }

  BrokerProcess broker_;
  WorkerProcess worker_;
  std::optional<HttpClient> http_;
};

TEST_F(HttpApiTest, SubmitWithWaitAnswersWithTheResult) {
  startBroker();
  startWorker();
  HttpReply reply = http().post("/v1/jobs?wait=20000", R"({"task":"reverse","payload":"hello"})");
  ASSERT_EQ(reply.status, 200u) << reply.describe();
  Json job = reply.json();
  EXPECT_EQ(job["result"], "olleh");
  EXPECT_EQ(job["state"], "succeeded");
  EXPECT_EQ(job["task"], "reverse");
  EXPECT_EQ(job["attempt"], 1);
  EXPECT_FALSE(job["worker"].is_null());
  EXPECT_EQ(reply.header("content-type"), "application/json");

  // A payload that is another JSON value is submitted as its text.
  HttpReply add = http().post("/v1/jobs?wait=20000", R"({"task":"add","payload":[5,6]})");
  ASSERT_EQ(add.status, 200u) << add.describe();
  EXPECT_EQ(add.json()["result"], "11");
}

TEST_F(HttpApiTest, BytesThatAreNotUtf8TravelAsBase64BothWays) {
  startBroker();
  startWorker();
  const std::string bytes("\xff\xfe\x00 binary\x80", 11);
  Json body = {{"task", "echo"}, {"payload", absl::Base64Escape(absl::string_view(bytes.data(), bytes.size()))},
               {"payload_encoding", "base64"}};
  HttpReply reply = http().post("/v1/jobs?wait=20000", body.dump());
  ASSERT_EQ(reply.status, 200u) << reply.describe();
  Json job = reply.json();
  ASSERT_EQ(job["result_encoding"], "base64") << job.dump();
  std::string result;
  ASSERT_TRUE(absl::Base64Unescape(job["result"].get<std::string>(), &result));
  EXPECT_EQ(result, bytes);

  // A job's payload, on request (kept while it waits: nobody serves `idle`).
  body["task"] = "idle";
  std::uint64_t waiting = submit(body);
  HttpReply with_payload = http().get("/v1/jobs/" + std::to_string(waiting) + "?payload=1");
  ASSERT_EQ(with_payload.status, 200u) << with_payload.describe();
  EXPECT_EQ(with_payload.json()["payload_encoding"], "base64");
  EXPECT_EQ(with_payload.json()["payload"], body["payload"]);

  // Valid UTF-8 stays text, every byte of it.
  HttpReply text = http().post("/v1/jobs?wait=20000", Json{{"task", "echo"}, {"payload", "h\xc3\xa9llo \xe2\x82\xac"}}.dump());
  ASSERT_EQ(text.status, 200u) << text.describe();
  EXPECT_EQ(text.json()["result"], "h\xc3\xa9llo \xe2\x82\xac");
  EXPECT_FALSE(text.json().contains("result_encoding"));
}

TEST_F(HttpApiTest, SubmitWithoutWaitGivesTheIdAndALongPollGivesTheOutcome) {
  startBroker();
  // Nobody serves `echo` yet: the job waits, and a short long-poll answers with it queued.
  HttpReply accepted = http().post("/v1/jobs", R"({"task":"echo","payload":"later","priority":7})");
  ASSERT_EQ(accepted.status, 201u) << accepted.describe();
  std::uint64_t id = accepted.json()["id"];
  EXPECT_EQ(accepted.header("location"), "/v1/jobs/" + std::to_string(id));
  EXPECT_EQ(accepted.json()["unserved"], true);
  HttpReply waiting = http().get("/v1/jobs/" + std::to_string(id) + "?wait=200");
  ASSERT_EQ(waiting.status, 200u) << waiting.describe();
  EXPECT_EQ(waiting.json()["state"], "queued");
  EXPECT_EQ(waiting.json()["priority"], 7);

  // A POST that waits and is not done in time answers 202 with the job as it stands.
  HttpReply not_yet = http().post("/v1/jobs?wait=100", R"({"task":"echo","payload":"x"})");
  ASSERT_EQ(not_yet.status, 202u) << not_yet.describe();
  EXPECT_EQ(not_yet.json()["state"], "queued");

  startWorker();
  Json done = waitForState(id, "succeeded");
  EXPECT_EQ(done["result"], "later");
  // Once finished, a long-poll answers at once with the outcome.
  HttpReply again = http().get("/v1/jobs/" + std::to_string(id) + "?wait=60000", 30s);
  ASSERT_EQ(again.status, 200u) << again.describe();
  EXPECT_EQ(again.json()["state"], "succeeded");
}

TEST_F(HttpApiTest, ManyLongPollsWaitTogetherAndAllGetTheirJob) {
  startBroker();
  constexpr int kPolls = 50;
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < kPolls; ++i) ids.push_back(submit({{"task", "echo"}, {"payload", std::to_string(i)}}));
  std::vector<std::thread> threads;
  std::vector<Json> answers(kPolls);
  for (int i = 0; i < kPolls; ++i) {
    threads.emplace_back([&, i] {
      HttpClient own(broker_.httpPort());
      answers[i] = own.get("/v1/jobs/" + std::to_string(ids[i]) + "?wait=60000", 90s).json();
    });
  }
  startWorker(8);
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kPolls; ++i) {
    EXPECT_EQ(answers[i].value("state", ""), "succeeded") << answers[i].dump();
    EXPECT_EQ(answers[i].value("result", ""), std::to_string(i));
  }
}

TEST_F(HttpApiTest, ErrorsAreJsonWithTheWireCodeAndTheirStatus) {
  startBroker({"--max-payload", "1000", "--max-queued", "1"});
  auto expectError = [](const HttpReply& reply, unsigned status, const std::string& code, const std::string& part) {
    EXPECT_EQ(reply.status, status) << reply.describe();
    Json doc = reply.json();
    EXPECT_EQ(doc["error"]["code"], code) << reply.describe();
    EXPECT_NE(doc["error"]["message"].get<std::string>().find(part), std::string::npos) << reply.describe();
  };
  expectError(http().post("/v1/jobs", "{not json"), 400, "bad_request", "not valid JSON");
  expectError(http().post("/v1/jobs", "[1,2]"), 400, "bad_request", "JSON object");
  expectError(http().post("/v1/jobs", R"({"task":5})"), 400, "bad_request", "task must be a string");
  expectError(http().post("/v1/jobs", R"({"payload":"x"})"), 400, "bad_request", "task is required");
  expectError(http().post("/v1/jobs", R"({"task":"echo","retry":3})"), 400, "bad_request", "unknown field \"retry\"");
  expectError(http().post("/v1/jobs", R"({"task":"echo","retries":-1})"), 400, "bad_request", "retries");
  expectError(http().post("/v1/jobs", R"({"task":"echo","priority":1.5})"), 400, "bad_request", "priority");
  expectError(http().post("/v1/jobs", R"({"task":"echo","payload":"%%%","payload_encoding":"base64"})"), 400,
              "bad_request", "base64");
  expectError(http().post("/v1/jobs", R"({"task":"echo","payload_encoding":"rot13"})"), 400, "bad_request", "rot13");
  // The broker's own checks come back as they are: a payload over --max-payload.
  expectError(http().post("/v1/jobs", Json{{"task", "echo"}, {"payload", std::string(1500, 'x')}}.dump()), 413,
              "payload_too_large", "");
  // A body far over what any payload needs is refused before it is read, and the broker lives on.
  HttpReply huge = http().post("/v1/jobs", std::string(200 * 1024, ' '));
  EXPECT_EQ(huge.status, 413u) << huge.describe();
  expectError(http().get("/v1/jobs/99"), 404, "not_found", "no job 99");
  expectError(http().get("/v1/jobs/abc"), 400, "bad_request", "not a job id");
  expectError(http().get("/v1/nothing"), 404, "not_found", "/v1/nothing");
  expectError(http().get("/v1/jobs?state=sleepy"), 400, "bad_request", "sleepy");
  expectError(http().get("/v1/jobs/1?wait=99999999"), 400, "bad_request", "wait");
  HttpReply wrong_method = http().request("DELETE", "/v1/jobs");
  EXPECT_EQ(wrong_method.status, 405u) << wrong_method.describe();
  EXPECT_EQ(wrong_method.header("allow"), "POST, GET");

  // --max-queued 1: the second waiting job is refused with 429.
  submit({{"task", "idle"}});
  expectError(http().post("/v1/jobs", R"({"task":"idle"})"), 429, "queue_full", "");
  // Cancelling a finished job is a conflict.
  HttpReply first = http().get("/v1/jobs?task=idle");
  std::uint64_t id = first.json()["jobs"][0]["id"];
  ASSERT_EQ(http().post("/v1/jobs/" + std::to_string(id) + "/cancel", "").status, 200u);
  expectError(http().post("/v1/jobs/" + std::to_string(id) + "/cancel", ""), 409, "wrong_state", "");

  // Broken HTTP gets 400 and the connection closes; the broker serves the next one.
  HttpReply garbage = http().raw("NONSENSE\r\n\r\n");
  EXPECT_EQ(garbage.status, 400u) << garbage.describe();
  HttpReply big_header = http().raw("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(big_header.status, 431u) << big_header.describe();
  HttpReply health = http().get("/healthz");
  EXPECT_EQ(health.status, 200u) << health.describe();
  EXPECT_EQ(health.json()["status"], "ok");
  EXPECT_TRUE(broker_.process().running());
}

TEST_F(HttpApiTest, OneConnectionServesManyRequests) {
  startBroker();
  startWorker();
  for (int i = 0; i < 40; ++i) {
    HttpReply reply = http().post("/v1/jobs?wait=20000", Json{{"task", "echo"}, {"payload", std::to_string(i)}}.dump());
    ASSERT_EQ(reply.status, 200u) << reply.describe();
    EXPECT_EQ(reply.json()["result"], std::to_string(i));
  }
  EXPECT_EQ(http().connectsMade(), 1);
}

TEST_F(HttpApiTest, QueuesWorkersAndStatsShowWhatTheBrokerKnows) {
  startBroker();
  startWorker(3);
  ASSERT_EQ(http().post("/v1/jobs?wait=20000", R"({"task":"echo","payload":"x"})").status, 200u);
  Json workers = http().get("/v1/workers").json();
  ASSERT_EQ(workers["workers"].size(), 1u) << workers.dump();
  EXPECT_EQ(workers["workers"][0]["slots"], 3);
  Json queues = http().get("/v1/queues").json();
  bool found = false;
  for (const auto& queue : queues["queues"]) found = found || queue["task"] == "echo";
  EXPECT_TRUE(found) << queues.dump();
  Json stats = http().get("/v1/stats").json();
  EXPECT_EQ(stats["jobs"]["succeeded"], 1) << stats.dump();
  // The HTTP connection is a client of the broker like any other.
  EXPECT_GE(stats["clients"].get<int>(), 1);
}

TEST_F(HttpApiTest, MetricsAreThePrometheusTextPromtoolAccepts) {
  startBroker();
  startWorker();
  ASSERT_EQ(http().post("/v1/jobs?wait=20000", R"({"task":"echo","payload":"x"})").status, 200u);
  HttpReply metrics = http().get("/metrics");
  ASSERT_EQ(metrics.status, 200u) << metrics.describe();
  EXPECT_EQ(metrics.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u) << metrics.header("content-type");
  EXPECT_NE(metrics.body.find(R"(corvee_jobs_finished_total{task="echo",outcome="succeeded"} 1)"), std::string::npos)
      << metrics.body;
  TempDir scratch;
  std::string file = scratch.file("metrics.prom");
  std::ofstream(file) << metrics.body;
  CommandResult check = runCommand({"/bin/sh", "-c", "/usr/bin/promtool check metrics < '" + file + "'"});
  EXPECT_EQ(check.exit_code, 0) << "promtool check metrics refused GET /metrics:\n" << check.describe();
}

TEST_F(HttpApiTest, AJobsHistorySaysWhyItWaitsAndWhatHappened) {
  startBroker();
  std::uint64_t id = submit({{"task", "nobody"}, {"payload", "x"}});
  HttpReply waiting = http().get("/v1/jobs/" + std::to_string(id) + "/history");
  ASSERT_EQ(waiting.status, 200u) << waiting.describe();
  Json doc = waiting.json();
  EXPECT_EQ(doc["job"]["id"], id);
  EXPECT_EQ(doc["reason"]["code"], "no_worker") << doc.dump();
  ASSERT_GE(doc["events"].size(), 1u);
  EXPECT_EQ(doc["events"][0]["kind"], "submitted");

  startWorker();
  HttpReply done = http().post("/v1/jobs?wait=20000", R"({"task":"echo","payload":"y"})");
  ASSERT_EQ(done.status, 200u) << done.describe();
  Json history = http().get("/v1/jobs/" + done.json()["id"].dump() + "/history").json();
  EXPECT_TRUE(history["reason"].is_null()) << history.dump();
  std::vector<std::string> kinds;
  for (const auto& event : history["events"]) kinds.push_back(event["kind"]);
  ASSERT_FALSE(kinds.empty()) << history.dump();
  EXPECT_EQ(kinds.front(), "submitted");
  EXPECT_EQ(kinds.back(), "succeeded");
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "running"), kinds.end()) << history.dump();
  EXPECT_EQ(http().get("/v1/jobs/999/history").status, 404u);
}

TEST_F(HttpApiTest, EveryWireControlHasItsCall) {
  startBroker();
  // Pause and resume a task (one the broker knows: a job of it waits).
  submit({{"task", "idle"}});
  HttpReply paused = http().post("/v1/queues/idle/pause", "");
  ASSERT_EQ(paused.status, 200u) << paused.describe();
  EXPECT_EQ(paused.json()["paused"], true);
  auto queueOf = [&](const std::string& task) {
    Json queues = http().get("/v1/queues").json();
    for (const auto& queue : queues["queues"]) {
      if (queue["task"] == task) return queue;
    }
    return Json();
  };
  EXPECT_EQ(queueOf("idle")["paused"], true);
  ASSERT_EQ(http().post("/v1/queues/idle/resume", "").status, 200u);
  EXPECT_EQ(queueOf("idle")["paused"], false);

  // A rate, then none.
  HttpReply rate = http().request("PUT", "/v1/queues/idle/rate", R"({"rate":"5/s:2"})");
  ASSERT_EQ(rate.status, 200u) << rate.describe();
  EXPECT_EQ(queueOf("idle")["rate"]["limit"], "5/s:2");
  EXPECT_EQ(http().request("PUT", "/v1/queues/idle/rate", R"({"rate":"fast"})").status, 400u);
  ASSERT_EQ(http().request("PUT", "/v1/queues/idle/rate", R"({"rate":null})").status, 200u);
  EXPECT_TRUE(queueOf("idle")["rate"].is_null());

  // Purge: the queued jobs are cancelled and counted.
  submit({{"task", "idle"}});
  submit({{"task", "idle"}});
  HttpReply purged = http().post("/v1/queues/idle/purge", "");
  ASSERT_EQ(purged.status, 200u) << purged.describe();
  EXPECT_EQ(purged.json()["purged"], 3);

  // Cancel one job.
  std::uint64_t id = submit({{"task", "idle"}});
  HttpReply cancelled = http().post("/v1/jobs/" + std::to_string(id) + "/cancel", "");
  ASSERT_EQ(cancelled.status, 200u) << cancelled.describe();
  EXPECT_EQ(cancelled.json()["state"], "cancelled");

  // Dead letters: a job that fails for good, listed, retried, failed again, purged.
  startWorker();
  HttpReply failed = http().post("/v1/jobs?wait=20000", R"({"task":"fail","payload":"boom"})");
  ASSERT_EQ(failed.status, 200u) << failed.describe();
  EXPECT_EQ(failed.json()["state"], "dead");
  EXPECT_EQ(failed.json()["error"]["code"], "handler_error");
  std::uint64_t dead_id = failed.json()["id"];
  Json dead = http().get("/v1/dead").json();
  ASSERT_EQ(dead["jobs"].size(), 1u) << dead.dump();
  EXPECT_EQ(dead["jobs"][0]["id"], dead_id);
  HttpReply retried = http().post("/v1/jobs/" + std::to_string(dead_id) + "/retry", "");
  ASSERT_EQ(retried.status, 200u) << retried.describe();
  waitForState(dead_id, "dead");
  HttpReply retry_all = http().post("/v1/dead/retry", R"({"task":"fail"})");
  ASSERT_EQ(retry_all.status, 200u) << retry_all.describe();
  EXPECT_EQ(retry_all.json()["retried"], 1);
  waitForState(dead_id, "dead");
  HttpReply dead_purged = http().post("/v1/dead/purge", R"({"task":"fail"})");
  ASSERT_EQ(dead_purged.status, 200u) << dead_purged.describe();
  EXPECT_EQ(dead_purged.json()["purged"], 1);
  EXPECT_EQ(http().get("/v1/dead").json()["jobs"].size(), 0u);

  // Periodic jobs: add, list, pause, resume, replace, remove.
  HttpReply added = http().request("PUT", "/v1/cron/nightly",
                                   R"({"spec":"0 3 * * *","tz":"Europe/Paris","task":"echo","payload":"n","priority":4})");
  ASSERT_EQ(added.status, 201u) << added.describe();
  EXPECT_EQ(added.json()["entry"]["tz"], "Europe/Paris");
  EXPECT_EQ(added.json()["entry"]["payload"], "n");
  EXPECT_EQ(added.json()["entry"]["priority"], 4);
  EXPECT_FALSE(added.json()["entry"]["next_ms"].is_null());
  ASSERT_EQ(http().post("/v1/cron/nightly/pause", "").status, 200u);
  Json entries = http().get("/v1/cron").json();
  ASSERT_EQ(entries["entries"].size(), 1u);
  EXPECT_EQ(entries["entries"][0]["paused"], true);
  ASSERT_EQ(http().post("/v1/cron/nightly/resume", "").status, 200u);
  HttpReply replaced = http().request("PUT", "/v1/cron/nightly", R"({"spec":"0 4 * * *","task":"echo"})");
  ASSERT_EQ(replaced.status, 200u) << replaced.describe();
  EXPECT_EQ(replaced.json()["replaced"], true);
  EXPECT_EQ(http().request("PUT", "/v1/cron/bad", R"({"spec":"every day","task":"echo"})").status, 400u);
  ASSERT_EQ(http().request("DELETE", "/v1/cron/nightly").status, 200u);
  EXPECT_EQ(http().request("DELETE", "/v1/cron/nightly").status, 404u);
  EXPECT_EQ(http().get("/v1/cron").json()["entries"].size(), 0u);
}

TEST_F(HttpApiTest, AJobListFiltersAndPages) {
  startBroker();
  for (int i = 0; i < 5; ++i) submit({{"task", "idle"}, {"payload", std::to_string(i)}});
  submit({{"task", "other"}});
  Json page = http().get("/v1/jobs?task=idle&state=queued&limit=3").json();
  ASSERT_EQ(page["jobs"].size(), 3u) << page.dump();
  EXPECT_EQ(page["jobs"][0]["id"], 5);  // newest first
  ASSERT_FALSE(page["next_before"].is_null());
  Json rest = http().get("/v1/jobs?task=idle&limit=3&before=" + std::to_string(page["next_before"].get<int>())).json();
  ASSERT_EQ(rest["jobs"].size(), 2u) << rest.dump();
  EXPECT_EQ(rest["jobs"][1]["id"], 1);
  EXPECT_TRUE(rest["next_before"].is_null());
}

TEST_F(HttpApiTest, AnAcknowledgedSubmissionSurvivesKillNine) {
  TempDir data;
  startBroker({}, BrokerStore::sqlite(data.path()));
  std::uint64_t id = submit({{"task", "echo"}, {"payload", "kept"}});
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(broker_.killNine());
  ASSERT_TRUE(broker_.restart());
  http_.emplace(broker_.httpPort());
  startWorker();
  Json job = waitForState(id, "succeeded");
  EXPECT_EQ(job["result"], "kept");
}

TEST(HttpOptionTest, OffServesNoHttpAndATakenPortIsAClearError) {
  BrokerProcess quiet;
  ASSERT_TRUE(quiet.start({"--http", "off"}));
  EXPECT_EQ(quiet.httpPort(), 0);
  EXPECT_EQ(quiet.process().out().find("http on"), std::string::npos);

  BrokerProcess first;
  ASSERT_TRUE(first.start());
  CommandResult second = runCorvee({"broker", "--bind", "tcp://127.0.0.1:0", "--store", "memory", "--http",
                                    "127.0.0.1:" + std::to_string(first.httpPort())},
                                   {}, 20s);
  EXPECT_NE(second.exit_code, 0) << second.describe();
  EXPECT_NE(second.err.find("cannot serve HTTP on"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("--http"), std::string::npos) << second.err;

  CommandResult bad = runCorvee({"broker", "--store", "memory", "--http", "nowhere"}, {}, 20s);
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  EXPECT_NE(bad.err.find("--http"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace corvee::testing
