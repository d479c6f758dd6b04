#include "worker/builtin_tasks.h"

#include <gtest/gtest.h>

#include "corvee/errors.h"

namespace corvee {
namespace {

JobContext job(std::string task, std::string payload) { return JobContext(1, 1, std::move(task), std::move(payload)); }

TEST(BuiltinTasks, EchoReturnsThePayloadUnchanged) {
  JobContext ctx = job("echo", std::string("a\0b", 3));
  auto result = builtinEcho(ctx);
  ASSERT_TRUE(result.isOk());
  EXPECT_EQ(*result, std::string("a\0b", 3));
}

TEST(BuiltinTasks, ReverseReversesTheText) {
  JobContext ctx = job("reverse", "hello");
  EXPECT_EQ(*builtinReverse(ctx), "olleh");
  JobContext empty = job("reverse", "");
  EXPECT_EQ(*builtinReverse(empty), "");
}

// Issue 8, defect 14b: reversing bytes broke every multi-byte character.
TEST(BuiltinTasks, ReverseKeepsUtf8CharactersWhole) {
  JobContext accented = job("reverse", "h\u00e9llo");
  EXPECT_EQ(*builtinReverse(accented), "oll\u00e9h");
  JobContext mixed = job("reverse", "a\u20ac\U0001F600z");  // 1, 3, 4 and 1 bytes
  EXPECT_EQ(*builtinReverse(mixed), "z\U0001F600\u20aca");
}

TEST(BuiltinTasks, ReverseReversesBytesWhenThePayloadIsNotUtf8) {
  JobContext binary = job("reverse", std::string("\xc3\xa9\xff\x00", 4));
  EXPECT_EQ(*builtinReverse(binary), std::string("\x00\xff\xa9\xc3", 4));
}

TEST(BuiltinTasks, AddSumsIntegersExactly) {
  JobContext ctx = job("add", "[5,6]");
  EXPECT_EQ(*builtinAdd(ctx), "11");
  JobContext big = job("add", "[9007199254740993, 1]");  // beyond double precision
  EXPECT_EQ(*builtinAdd(big), "9007199254740994");
  JobContext none = job("add", "[]");
  EXPECT_EQ(*builtinAdd(none), "0");
}

// Found by review while fuzzing the HTTP JSON (the same wrap as SubmitJsonTest's priority): a
// number above INT64_MAX was read as int64 and wrapped, so [18446744073709551615] summed to -1.
TEST(BuiltinTasks, AddDoesNotWrapNumbersBeyondInt64) {
  JobContext huge = job("add", "[18446744073709551615]");
  EXPECT_EQ(*builtinAdd(huge), "1.8446744073709552e+19");
  JobContext top = job("add", "[9223372036854775807]");
  EXPECT_EQ(*builtinAdd(top), "9223372036854775807");
}

TEST(BuiltinTasks, AddWithFractionsGivesAFloatingPointSum) {
  JobContext ctx = job("add", "[1.5, 2]");
  EXPECT_EQ(*builtinAdd(ctx), "3.5");
}

TEST(BuiltinTasks, AddRefusesWhatIsNotAnArrayOfNumbers) {
  for (const char* bad : {"5", "[1,\"x\"]", "not json", "{\"a\":1}"}) {
    JobContext ctx = job("add", bad);
    auto result = builtinAdd(ctx);
    ASSERT_FALSE(result.isOk()) << bad;
    EXPECT_EQ(result.status().code(), errc::kHandlerError) << bad;
  }
}

TEST(BuiltinTasks, SleepReturnsAfterSleepingAndRefusesBadPayloads) {
  JobContext ctx = job("sleep", "20");
  auto result = builtinSleep(ctx);
  ASSERT_TRUE(result.isOk());
  EXPECT_EQ(*result, "slept 20 ms");
  for (const char* bad : {"", "abc", "-5", "10x"}) {
    JobContext b = job("sleep", bad);
    EXPECT_EQ(builtinSleep(b).status().code(), errc::kHandlerError) << bad;
  }
}

TEST(BuiltinTasks, SleepStopsWhenCancelled) {
  JobContext ctx = job("sleep", "600000");  // ten minutes: only cancellation can end it in time
  ctx.cancel();
  auto result = builtinSleep(ctx);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().message(), "cancelled");
}

TEST(BuiltinTasks, FailAlwaysFailsWithHandlerError) {
  JobContext ctx = job("fail", "why");
  auto result = builtinFail(ctx);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), errc::kHandlerError);
  EXPECT_NE(result.status().message().find("why"), std::string::npos);
}

TEST(JobContext, CancelHookRunsOnceAndAtOnceWhenAlreadyCancelled) {
  JobContext ctx = job("x", "");
  int calls = 0;
  ctx.onCancel([&] { ++calls; });
  EXPECT_FALSE(ctx.cancelled());
  ctx.cancel();
  ctx.cancel();
  EXPECT_TRUE(ctx.cancelled());
  EXPECT_EQ(calls, 1);
  int late = 0;
  ctx.onCancel([&] { ++late; });
  EXPECT_EQ(late, 1);
}

}  // namespace
}  // namespace corvee
