#include "platform/child_cgroup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
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

TEST(ChildCgroup, EmptyCgroupsOfDeadProcessesAreSwept) {
  if (!ChildCgroup::available()) GTEST_SKIP() << "cgroup v2 is not mounted or not writable here";
  // A pid that no process has any more: a child that exited and was reaped.
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
  auto ours = ChildCgroup::create();
  ASSERT_NE(ours, nullptr);
  std::string dir = ours->procsFile().substr(0, ours->procsFile().rfind('/'));
  std::string base = dir.substr(0, dir.rfind('/'));
  // What a worker killed with -9 leaves: its empty cgroup, and one its command still runs in.
  std::string stale = base + "/corvee-" + std::to_string(dead) + "-0";
  std::string busy = base + "/corvee-" + std::to_string(dead) + "-1";
  ASSERT_EQ(::mkdir(stale.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(busy.c_str(), 0755), 0);
  pid_t member = ::fork();
  if (member == 0) {
    int fd = ::open((busy + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(3);
    for (;;) ::pause();
  }
  ASSERT_GT(member, 0);
  ASSERT_TRUE(eventually([&] {
    std::ifstream events(busy + "/cgroup.events");
    std::string text((std::istreambuf_iterator<char>(events)), std::istreambuf_iterator<char>());
    return text.find("populated 1") != std::string::npos;
  })) << "the child did not join";

  ChildCgroup::TEST_sweepStale();
  EXPECT_NE(::access(stale.c_str(), F_OK), 0) << stale << " is still there";
  EXPECT_EQ(::access(busy.c_str(), F_OK), 0) << "a cgroup with a process in it was removed";
  EXPECT_EQ(::access(dir.c_str(), F_OK), 0) << "a live process's cgroup was removed";

  ::kill(member, SIGKILL);
  ::waitpid(member, nullptr, 0);
  ::rmdir(stale.c_str());
  EXPECT_TRUE(eventually([&] { return ::rmdir(busy.c_str()) == 0; }));
}

}  // namespace
}  // namespace corvee
