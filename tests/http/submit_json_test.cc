#include "http/submit_json.h"

#include <gtest/gtest.h>

namespace corvee::http {
namespace {

TEST(SubmitJsonTest, EveryFieldReachesTheSubmit) {
  Json doc = {{"task", "send"},       {"payload", "hi"},         {"priority", -3},     {"timeout_ms", 1},
              {"run_timeout_ms", 2},  {"assign_timeout_ms", 3},  {"retries", 4},       {"backoff_ms", 5},
              {"backoff_max_ms", 6},  {"require_worker", true},  {"delay_ms", 7},      {"run_at_ms", 8},
              {"unique_key", "u"},    {"unique_for_ms", 9},      {"fair_key", "tenant"}};
  auto submit = parseSubmit(doc);
  ASSERT_TRUE(submit) << submit.status().toString();
  protocol::SubmitMsg msg = submit->message();
  EXPECT_EQ(msg.task, "send");
  EXPECT_EQ(msg.payload.data, "hi");
  EXPECT_EQ(msg.priority, -3);
  EXPECT_EQ(msg.timeout_ms, 1u);
  EXPECT_EQ(msg.run_timeout_ms, 2u);
  EXPECT_EQ(msg.assign_timeout_ms, 3u);
  EXPECT_EQ(msg.retries, 4u);
  EXPECT_EQ(msg.backoff_ms, 5u);
  EXPECT_EQ(msg.backoff_max_ms, 6u);
  EXPECT_EQ(msg.flags & protocol::kSubmitRequireWorker, protocol::kSubmitRequireWorker);
  EXPECT_EQ(msg.delay_ms, 7u);
  EXPECT_EQ(msg.run_at_ms, 8u);
  EXPECT_EQ(msg.unique_key, "u");
  EXPECT_EQ(msg.unique_for_ms, 9u);
  EXPECT_EQ(msg.fair_key, "tenant");
}

TEST(SubmitJsonTest, OmittedFieldsKeepTheWireDefaults) {
  auto submit = parseSubmit(Json{{"task", "echo"}});
  ASSERT_TRUE(submit);
  protocol::SubmitMsg msg = submit->message();
  protocol::SubmitMsg defaults;
  EXPECT_EQ(msg.payload.data, "");
  EXPECT_EQ(msg.backoff_ms, defaults.backoff_ms);
  EXPECT_EQ(msg.backoff_max_ms, defaults.backoff_max_ms);
  EXPECT_EQ(msg.retries, 0u);
  EXPECT_EQ(msg.flags, 0);
}

// Found by fuzz/json.cc (fuzz/corpus/json/crash-priority-wraps): a priority above INT64_MAX, held
// unsigned by the parser, was read as int64 and wrapped into range, so 18446744073709551615 was
// accepted as priority -1.
TEST(SubmitJsonTest, APriorityBeyondInt64IsRefusedNotWrapped) {
  for (const char* body : {R"({"task":"a","priority":18446744073709551615})",
                           R"({"task":"a","priority":18446744071562067968})",
                           R"({"task":"a","priority":9223372036854775808})"}) {
    auto doc = parseObject(body);
    ASSERT_TRUE(doc) << body;
    auto submit = parseSubmit(*doc);
    ASSERT_FALSE(submit) << body << " gave priority " << submit->fields.priority;
    EXPECT_EQ(submit.status().code(), "bad_request");
  }
  auto top = parseObject(R"({"task":"a","priority":2147483647})");
  ASSERT_TRUE(top);
  auto accepted = parseSubmit(*top);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->fields.priority, 2147483647);
}

TEST(SubmitJsonTest, RefusesWhatTheWireCannotCarry) {
  EXPECT_FALSE(parseSubmit(Json::object()));
  EXPECT_FALSE(parseSubmit(Json{{"task", "e"}, {"timeout_ms", 4294967296LL}}));
  EXPECT_FALSE(parseSubmit(Json{{"task", "e"}, {"priority", 2147483648LL}}));
  EXPECT_FALSE(parseSubmit(Json{{"task", "e"}, {"require_worker", 1}}));
  EXPECT_FALSE(parseSubmit(Json{{"task", "e"}, {"spec", "* * * * *"}}));
  EXPECT_TRUE(parseSubmit(Json{{"task", "e"}, {"spec", "* * * * *"}}, {"spec"}));
  auto unknown = parseSubmit(Json{{"task", "e"}, {"retry", 1}});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.status().message().find("\"retry\""), std::string::npos);
}

}  // namespace
}  // namespace corvee::http
