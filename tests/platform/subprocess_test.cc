#include "platform/subprocess.h"

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

namespace corvee {
namespace {

TEST(Subprocess, CollectsStdoutStderrAndExitCode) {
  Subprocess process;
  auto result = process.run("printf out; printf err >&2; exit 4", "");
  ASSERT_TRUE(result.isOk());
  EXPECT_EQ(result->out, "out");
  EXPECT_EQ(result->err, "err");
  EXPECT_EQ(result->exit_code, 4);
  EXPECT_EQ(result->signal, 0);
}

TEST(Subprocess, ACommandThatIgnoresStdinStillFinishes) {
  // Regression: the command closes its stdin at once, so our writes fail with EPIPE; the SIGPIPE
  // they raise used to kill this very process (seen in CI, where the timing made it likely).
  Subprocess process;
  auto result = process.run("exec 0<&-; echo done", std::string(1 << 20, 'y'));
  ASSERT_TRUE(result.isOk());
  EXPECT_EQ(result->out, "done\n");
  EXPECT_EQ(result->exit_code, 0);
}

TEST(Subprocess, TerminateBeforeRunStopsTheCommandAtOnce) {
  Subprocess process;
  process.terminate(std::chrono::milliseconds(100));
  auto result = process.run("sleep 600", "");
  ASSERT_TRUE(result.isOk());
  EXPECT_NE(result->signal, 0);
}

TEST(Subprocess, KillsAfterGraceWhenTermIsIgnored) {
  Subprocess process;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    process.terminate(std::chrono::milliseconds(100));
  });
  // The shell ignores SIGTERM; only the SIGKILL that follows the grace period can end it.
  auto result = process.run("trap '' TERM; while :; do sleep 0.05; done", "");
  stopper.join();
  ASSERT_TRUE(result.isOk());
  EXPECT_EQ(result->signal, SIGKILL);
}

}  // namespace
}  // namespace corvee
