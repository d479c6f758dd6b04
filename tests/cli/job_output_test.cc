// How the CLI prints jobs: the JSON documents, base64 payloads and the table.
#include "cli/job_output.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace corvee::cli {
namespace {

JobInfo deadJob() {
  JobInfo info;
  info.id = 7;
  info.task = "resize";
  info.state = JobState::kDead;
  info.attempt = 3;
  info.retries = 2;
  info.retried = 2;
  info.submitted_ms = 1700000000000ULL;
  info.finished_ms = 1700000005000ULL;
  info.worker = "w1";
  info.error_code = "handler_error";
  info.error_message = "boom";
  info.failures = {{1, "w1", 1700000000100ULL, 1700000000200ULL, "handler_error", "first"},
                   {2, "w2", 1700000001000ULL, 1700000001100ULL, "run_timeout", ""},
                   {3, "w1", 1700000004000ULL, 1700000005000ULL, "handler_error", "boom"}};
  return info;
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\x00\xfe", 3)), "/wD+");
}

TEST(PayloadTest, Utf8PayloadIsText) {
  nlohmann::json doc;
  addPayload(doc, "h\xc3\xa9llo");
  EXPECT_EQ(doc["payload"], "h\xc3\xa9llo");
  EXPECT_FALSE(doc.contains("payload_encoding"));
}

TEST(PayloadTest, BinaryPayloadIsBase64AndSaysSo) {
  nlohmann::json doc;
  addPayload(doc, std::string("\0img\xff", 5));
  EXPECT_EQ(doc["payload"], "AGltZ/8=");
  EXPECT_EQ(doc["payload_encoding"], "base64");
}

TEST(JobJsonTest, DeadJobHasItsErrorAndEveryFailure) {
  nlohmann::json doc = jobDetailJson(deadJob());
  EXPECT_EQ(doc["state"], "dead");
  EXPECT_EQ(doc["retries"], 2);
  EXPECT_EQ(doc["retried"], 2);
  EXPECT_EQ(doc["error"]["code"], "handler_error");
  EXPECT_EQ(doc["error"]["message"], "boom");
  ASSERT_EQ(doc["failures"].size(), 3u);
  EXPECT_EQ(doc["failures"][1]["attempt"], 2);
  EXPECT_EQ(doc["failures"][1]["worker"], "w2");
  EXPECT_EQ(doc["failures"][1]["error"]["code"], "run_timeout");
  EXPECT_EQ(doc["failures"][2]["ended_ms"], 1700000005000ULL);
  EXPECT_FALSE(doc.contains("result"));
  EXPECT_FALSE(doc.contains("run_at_ms"));
}

TEST(JobJsonTest, RetryingJobShowsItsNextAttempt) {
  JobInfo info = deadJob();
  info.state = JobState::kRetrying;
  info.run_at_ms = 1700000009000ULL;
  nlohmann::json doc = jobSummaryJson(info);
  EXPECT_EQ(doc["state"], "retrying");
  EXPECT_EQ(doc["run_at_ms"], 1700000009000ULL);
  EXPECT_EQ(doc["error"]["code"], info.error_code) << "the error it retries after";
  EXPECT_FALSE(doc.contains("failures"));
}

TEST(JobJsonTest, AUniqueJobShowsItsKeyAndWindowAndOthersDoNot) {
  JobInfo info;
  info.id = 9;
  info.state = JobState::kSucceeded;
  EXPECT_FALSE(jobSummaryJson(info).contains("unique_key"));
  info.unique_key = "nightly";
  info.unique_for_ms = 600000;
  nlohmann::json doc = jobDetailJson(info);
  EXPECT_EQ(doc["unique_key"], "nightly");
  EXPECT_EQ(doc["unique_for_ms"], 600000);
}

TEST(JobJsonTest, ScheduledJobShowsWhenItRuns) {
  JobInfo info;
  info.id = 9;
  info.state = JobState::kScheduled;
  info.run_at_ms = 1700000009000ULL;
  nlohmann::json doc = jobSummaryJson(info);
  EXPECT_EQ(doc["state"], "scheduled");
  EXPECT_EQ(doc["run_at_ms"], 1700000009000ULL);
  EXPECT_FALSE(doc.contains("error"));
}

TEST(JobJsonTest, CancelledJobHasItsError) {
  JobInfo info;
  info.id = 8;
  info.state = JobState::kCancelled;
  info.error_code = "cancelled";
  nlohmann::json doc = jobDetailJson(info);
  EXPECT_EQ(doc["state"], "cancelled");
  EXPECT_EQ(doc["error"]["code"], "cancelled");
  EXPECT_TRUE(doc["failures"].empty());
}

TEST(JobJsonTest, SucceededJobHasItsResult) {
  JobInfo info;
  info.state = JobState::kSucceeded;
  info.result = "done";
  EXPECT_EQ(jobDetailJson(info)["result"], "done");
}

TEST(PrintJobsTest, JsonLinesOneObjectALine) {
  JobInfo queued;
  queued.id = 9;
  queued.task = "echo";
  std::ostringstream out;
  printJobs(out, {queued, deadJob()}, /*table=*/false);
  std::istringstream lines(out.str());
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(nlohmann::json::parse(line)["id"], 9);
  std::getline(lines, line);
  auto dead = nlohmann::json::parse(line);
  EXPECT_EQ(dead["id"], 7);
  EXPECT_EQ(dead["state"], "dead");
  EXPECT_FALSE(dead.contains("failures")) << "a listing carries no failures";
  EXPECT_FALSE(std::getline(lines, line));
}

TEST(PrintJobsTest, NothingToListPrintsNothingAsJson) {
  std::ostringstream out;
  printJobs(out, {}, false);
  EXPECT_EQ(out.str(), "");
  std::ostringstream table;
  printJobs(table, {}, true);
  EXPECT_EQ(table.str(), "no jobs\n");
}

TEST(PrintJobsTest, TableHasAHeaderAndAlignedRows) {
  JobInfo queued;
  queued.id = 12345;
  queued.task = "echo";
  std::ostringstream out;
  printJobs(out, {queued, deadJob()}, true);
  std::istringstream lines(out.str());
  std::string header, first, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_EQ(header.rfind("ID", 0), 0u) << header;
  EXPECT_NE(header.find("STATE"), std::string::npos);
  EXPECT_EQ(first.rfind("12345", 0), 0u) << first;
  // Columns line up: TASK starts at the same place on every line.
  EXPECT_EQ(header.find("TASK"), first.find("echo"));
  EXPECT_EQ(header.find("TASK"), second.find("resize"));
  EXPECT_NE(second.find("2023-11-14 22:13:20"), std::string::npos) << second;
  EXPECT_NE(second.find("handler_error: boom"), std::string::npos) << second;
  EXPECT_NE(second.find("3 (2/2 retries)"), std::string::npos) << second;
}

}  // namespace
}  // namespace corvee::cli
