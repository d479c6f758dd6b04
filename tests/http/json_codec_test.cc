#include "http/json_codec.h"

#include <gtest/gtest.h>

#include "corvee/job.h"

namespace corvee::http {
namespace {

TEST(BytesJsonTest, Utf8IsTextAndOtherBytesAreBase64) {
  Json doc = Json::object();
  putBytes(doc, "payload", "h\xc3\xa9llo");
  EXPECT_EQ(doc["payload"], "h\xc3\xa9llo");
  EXPECT_FALSE(doc.contains("payload_encoding"));
  Json binary = Json::object();
  putBytes(binary, "result", std::string("\xff\x00\x01", 3));
  EXPECT_EQ(binary["result"], "/wAB");
  EXPECT_EQ(binary["result_encoding"], "base64");
  auto back = takeBytes(binary, "result");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, std::string("\xff\x00\x01", 3));
}

TEST(BytesJsonTest, AnyOtherJsonValueIsItsTextAndAbsentIsEmpty) {
  EXPECT_EQ(*takeBytes(Json{{"payload", Json::array({5, 6})}}, "payload"), "[5,6]");
  EXPECT_EQ(*takeBytes(Json{{"payload", Json{{"a", 1}}}}, "payload"), R"({"a":1})");
  EXPECT_EQ(*takeBytes(Json{{"payload", 42}}, "payload"), "42");
  EXPECT_EQ(*takeBytes(Json::object(), "payload"), "");
  EXPECT_EQ(*takeBytes(Json{{"payload", nullptr}}, "payload"), "");
}

TEST(BytesJsonTest, RefusesBadEncodings) {
  EXPECT_EQ(takeBytes(Json{{"payload", "x"}, {"payload_encoding", "hex"}}, "payload").status().code(), "bad_request");
  EXPECT_EQ(takeBytes(Json{{"payload", "%%"}, {"payload_encoding", "base64"}}, "payload").status().code(),
            "bad_request");
  EXPECT_EQ(takeBytes(Json{{"payload", 5}, {"payload_encoding", "base64"}}, "payload").status().code(), "bad_request");
  EXPECT_EQ(takeBytes(Json{{"payload", "x"}, {"payload_encoding", 1}}, "payload").status().code(), "bad_request");
}

TEST(JobJsonTest, ShowsAFinishedJobWithNullsForWhatItHasNot) {
  protocol::JobInfoMsg job;
  job.job_id = 12;
  job.task = "reverse";
  job.state = static_cast<std::uint8_t>(JobState::kSucceeded);
  job.attempt = 1;
  job.submitted_ms = 1000;
  job.started_ms = 1500;
  job.finished_ms = 1700;
  job.worker = "host:1";
  job.result.data = "olleh";
  Json doc = jobJson(job);
  EXPECT_EQ(doc["id"], 12);
  EXPECT_EQ(doc["state"], "succeeded");
  EXPECT_EQ(doc["result"], "olleh");
  EXPECT_TRUE(doc["error"].is_null());
  EXPECT_TRUE(doc["run_at_ms"].is_null());
  EXPECT_TRUE(doc["unique_key"].is_null());
  EXPECT_EQ(doc["failures"], Json::array());
  EXPECT_EQ(doc.begin().key(), "id");  // read in the order written
  Json listed = jobJson(job, /*listed=*/true);
  EXPECT_FALSE(listed.contains("result"));
  EXPECT_FALSE(listed.contains("failures"));
}

TEST(JobJsonTest, ShowsADeadJobsErrorAndFailures) {
  protocol::JobInfoMsg job;
  job.job_id = 3;
  job.state = static_cast<std::uint8_t>(JobState::kDead);
  job.error_code = "handler_error";
  job.error_message = "boom";
  protocol::FailureItem failure;
  failure.attempt = 1;
  failure.error_code = "handler_error";
  failure.error_message = "boom";
  job.failures.push_back(failure);
  Json doc = jobJson(job);
  EXPECT_EQ(doc["state"], "dead");
  EXPECT_TRUE(doc["result"].is_null());
  EXPECT_EQ(doc["error"]["code"], "handler_error");
  EXPECT_EQ(doc["failures"][0]["message"], "boom");
}

TEST(HttpStatusTest, EachWireCodeHasItsStatus) {
  EXPECT_EQ(httpStatusFor("bad_request"), 400u);
  EXPECT_EQ(httpStatusFor("unknown_command"), 400u);
  EXPECT_EQ(httpStatusFor("not_found"), 404u);
  EXPECT_EQ(httpStatusFor("wrong_state"), 409u);
  EXPECT_EQ(httpStatusFor("no_worker"), 409u);
  EXPECT_EQ(httpStatusFor("payload_too_large"), 413u);
  EXPECT_EQ(httpStatusFor("queue_full"), 429u);
  EXPECT_EQ(httpStatusFor("internal"), 500u);
  EXPECT_EQ(httpStatusFor("store_full"), 503u);
  EXPECT_EQ(httpStatusFor("shutting_down"), 503u);
  Response response = errorResponse(Status::error("not_found", "no job 9"));
  EXPECT_EQ(response.status, 404u);
  EXPECT_EQ(Json::parse(response.body)["error"]["message"], "no job 9");
}

TEST(ParseObjectTest, TakesObjectsAndTheEmptyBody) {
  EXPECT_TRUE(parseObject("")->empty());
  EXPECT_TRUE(parseObject("  \n")->empty());
  EXPECT_EQ((*parseObject(R"({"a":1})"))["a"], 1);
  EXPECT_EQ(parseObject("[1]").status().code(), "bad_request");
  EXPECT_EQ(parseObject("{").status().code(), "bad_request");
  EXPECT_EQ(parseObject("\"text\"").status().code(), "bad_request");
}

TEST(NumbersJsonTest, RangeAndTypeAreChecked) {
  EXPECT_EQ(*takeUnsigned(Json{{"n", 5}}, "n", 10, 0), 5u);
  EXPECT_EQ(*takeUnsigned(Json::object(), "n", 10, 7), 7u);
  EXPECT_FALSE(takeUnsigned(Json{{"n", 11}}, "n", 10, 0));
  EXPECT_FALSE(takeUnsigned(Json{{"n", -1}}, "n", 10, 0));
  EXPECT_FALSE(takeUnsigned(Json{{"n", 1.5}}, "n", 10, 0));
  EXPECT_FALSE(takeUnsigned(Json{{"n", "5"}}, "n", 10, 0));
  EXPECT_FALSE(takeString(Json{{"s", std::string(70000, 'x')}}, "s"));
  EXPECT_FALSE(takeString(Json{{"s", 1}}, "s"));
}

}  // namespace
}  // namespace corvee::http
