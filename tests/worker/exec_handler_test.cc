#include "worker/exec_handler.h"

#include <gtest/gtest.h>

#include <thread>

#include "corvee/errors.h"

namespace corvee {
namespace {

TEST(ExecSpec, ParsesNameEqualsCommand) {
  auto spec = parseExecSpec("upper=tr a-z A-Z");
  ASSERT_TRUE(spec.isOk());
  EXPECT_EQ(spec->task, "upper");
  EXPECT_EQ(spec->command, "tr a-z A-Z");
  auto with_equals = parseExecSpec("env=FOO=1 env");
  ASSERT_TRUE(with_equals.isOk());
  EXPECT_EQ(with_equals->command, "FOO=1 env");
}

TEST(ExecSpec, RefusesMissingParts) {
  for (const char* bad : {"", "noequals", "=cmd", "name="}) {
    auto spec = parseExecSpec(bad);
    ASSERT_FALSE(spec.isOk()) << bad;
    EXPECT_EQ(spec.status().code(), errc::kBadRequest);
  }
}

TEST(ExecHandler, PayloadIsStdinAndStdoutIsTheResult) {
  Handler handler = makeExecHandler("tr a-z A-Z");
  JobContext ctx(1, 1, "upper", "hello");
  auto result = handler(ctx);
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(*result, "HELLO");
}

TEST(ExecHandler, NonZeroExitFailsWithStderrAsTheMessage) {
  Handler handler = makeExecHandler("echo boom >&2; exit 3");
  JobContext ctx(1, 1, "x", "");
  auto result = handler(ctx);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), errc::kHandlerError);
  EXPECT_EQ(result.status().message(), "boom");
}

TEST(ExecHandler, SilentFailureSaysTheExitStatus) {
  Handler handler = makeExecHandler("exit 7");
  JobContext ctx(1, 1, "x", "");
  auto result = handler(ctx);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().message(), "exited with status 7");
}

TEST(ExecHandler, CancellingKillsTheCommand) {
  // The command would run for ten minutes; cancelling must end it (SIGTERM to its group).
  Handler handler = makeExecHandler("sleep 600", std::chrono::milliseconds(200));
  JobContext ctx(1, 1, "x", "");
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ctx.cancel();
  });
  auto result = handler(ctx);
  canceller.join();
  ASSERT_FALSE(result.isOk());
  EXPECT_NE(result.status().message().find("signal"), std::string::npos) << result.status().message();
}

TEST(ExecHandler, LargePayloadsPassThroughWithoutDeadlock) {
  // Bigger than a pipe buffer in both directions: stdin and stdout must be pumped together.
  std::string payload(1 << 20, 'x');
  Handler handler = makeExecHandler("cat");
  JobContext ctx(1, 1, "x", payload);
  auto result = handler(ctx);
  ASSERT_TRUE(result.isOk());
  EXPECT_EQ(result->size(), payload.size());
}

}  // namespace
}  // namespace corvee
