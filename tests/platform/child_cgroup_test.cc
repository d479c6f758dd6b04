#include "platform/child_cgroup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace corvee {
namespace {

using namespace std::chrono_literals;

// Starts a child that joins `cgroup` the way Subprocess's children do, then waits to be killed.
// Returns its pid; the caller reaps it.
pid_t startMember(const ChildCgroup& cgroup) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(cgroup.procsFile().c_str(), O_WRONLY | O_CLOEXEC);
    bool joined = fd >= 0 && ::write(fd, "0", 1) == 1;
    if (!joined) ::_exit(3);
    for (;;) ::pause();
  }
  return pid;
}

bool eventually(const std::function<bool()>& condition) {
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

TEST(ChildCgroup, KillAllKillsEveryMember) {
  if (!ChildCgroup::available()) GTEST_SKIP() << "cgroup v2 is not mounted or not writable here";
  auto cgroup = ChildCgroup::create();
  ASSERT_NE(cgroup, nullptr);
  EXPECT_FALSE(cgroup->populated());
  pid_t member = startMember(*cgroup);
  ASSERT_GT(member, 0);
  ASSERT_TRUE(eventually([&] { return cgroup->populated(); })) << "the child did not join";
  cgroup->killAll();
  int status = 0;
  ASSERT_EQ(::waitpid(member, &status, 0), member);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  EXPECT_TRUE(eventually([&] { return !cgroup->populated(); }));
}

TEST(ChildCgroup, DestroyingItKillsWhatIsLeftAndRemovesIt) {
  if (!ChildCgroup::available()) GTEST_SKIP() << "cgroup v2 is not mounted or not writable here";
  auto cgroup = ChildCgroup::create();
  ASSERT_NE(cgroup, nullptr);
  std::string procs = cgroup->procsFile();
  pid_t member = startMember(*cgroup);
  ASSERT_TRUE(eventually([&] { return cgroup->populated(); })) << "the child did not join";
  cgroup.reset();
  int status = 0;
  ASSERT_EQ(::waitpid(member, &status, 0), member);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  EXPECT_NE(::access(procs.c_str(), F_OK), 0) << procs << " is still there";
}

TEST(ChildCgroup, EachCreateMakesADistinctCgroup) {
  if (!ChildCgroup::available()) GTEST_SKIP() << "cgroup v2 is not mounted or not writable here";
  auto first = ChildCgroup::create();
  auto second = ChildCgroup::create();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first->procsFile(), second->procsFile());
}

}  // namespace
}  // namespace corvee
