#include "worker/exec_handler.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
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

TEST(ExecHandler, ExitStatus65IsAPermanentError) {
  Handler handler = makeExecHandler("echo 'not an image' >&2; exit 65");
  JobContext ctx(1, 1, "x", "");
  auto result = handler(ctx);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), errc::kPermanentError);
  EXPECT_EQ(result.status().message(), "not an image");
  // Any other status is worth retrying.
  Handler other = makeExecHandler("exit 64");
  EXPECT_EQ(other(ctx).status().code(), errc::kHandlerError);
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

// Issue 8, defect 6: the command's stdout used to be kept whole, however large.
TEST(ExecHandler, OutputOverTheBrokersLimitFailsWithResultTooLarge) {
  // Finite, so that a missing limit fails the test rather than exhausting the machine's memory.
  Handler handler = makeExecHandler("head -c 50000000 /dev/zero; exec sleep 30");
  JobContext ctx(1, 1, "x", "", /*max_result_bytes=*/1000);
  auto result = handler(ctx);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), errc::kResultTooLarge);
  EXPECT_NE(result.status().message().find("1000 bytes"), std::string::npos) << result.status().message();
}

TEST(ExecHandler, OutputAtTheLimitIsTheResult) {
  Handler handler = makeExecHandler("printf 0123456789");
  JobContext ctx(1, 1, "x", "", /*max_result_bytes=*/10);
  auto result = handler(ctx);
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(*result, "0123456789");
}

TEST(ExecHandler, WithoutAKnownLimitTheBrokersDefaultApplies) {
  Handler handler = makeExecHandler("head -c 17000000 /dev/zero");  // over the default 16 MiB
  JobContext ctx(1, 1, "x", "");
  auto result = handler(ctx);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), errc::kResultTooLarge);
}

TEST(ExecHandler, ALongStderrKeepsItsTailInTheMessage) {
  Handler handler = makeExecHandler("head -c 300000 /dev/zero | tr '\\0' x >&2; echo the-real-error >&2; exit 1");
  JobContext ctx(1, 1, "x", "");
  auto result = handler(ctx);
  ASSERT_FALSE(result.isOk());
  const std::string& message = result.status().message();
  EXPECT_EQ(result.status().code(), errc::kHandlerError);
  EXPECT_LE(message.size(), 65535u);  // what a protocol str can carry
  EXPECT_EQ(message.rfind("[first ", 0), 0u) << message.substr(0, 100);
  EXPECT_EQ(message.substr(message.size() - 14), "the-real-error");
}

TEST(ExecHandler, ACancelledCommandThatIgnoresTermWithItsOutputClosedStillEnds) {
  // Cancelled once the trap is set (the command says so in a file), or SIGTERM alone would do.
  std::string ready = ::testing::TempDir() + "corvee-exec-ready-" + std::to_string(::getpid());
  std::remove(ready.c_str());
  Handler handler = makeExecHandler("trap '' TERM; exec >/dev/null 2>&1; touch " + ready + "; sleep 30",
                                    std::chrono::milliseconds(200));
  auto ctx = std::make_shared<JobContext>(1, 1, "x", "");
  auto result = std::async(std::launch::async, [&handler, ctx] { return handler(*ctx); });
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!std::ifstream(ready).good() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::remove(ready.c_str());
  ctx->cancel();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "the handler did not return";
  auto outcome = result.get();
  ASSERT_FALSE(outcome.isOk());
  EXPECT_NE(outcome.status().message().find("signal 9"), std::string::npos) << outcome.status().message();
}

}  // namespace
}  // namespace corvee
