// Clients and workers survive a broker restart: they reconnect by themselves to a new broker on
// the same port. With the memory store the new broker knows nothing of the old one's jobs, so a
// handle still waiting for such a job must fail (not_found) instead of hanging, and must never be
// completed with the outcome of some other job.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include "corvee/client.h"
#include "corvee/errors.h"
#include "corvee/logging.h"
#include "support/process.h"

namespace corvee::testing {
namespace {

// A port where nothing listens: bound (so no one else gets it) but not listening, so a connect
// is refused at once.
class DeadPort {
 public:
  DeadPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot reserve a port";
    }
    port_ = ntohs(addr.sin_port);
  }
  ~DeadPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

struct LoggedLine {
  LogLevel level;
  std::string message;
};

Result<std::unique_ptr<Client>> connectBriefly(const std::string& endpoint) {
  ClientOptions options;
  options.endpoint = endpoint;
  options.connect_timeout = std::chrono::milliseconds(300);
  return Client::connect(options);
}

// The libraries log through the sink and level the application sets (include/corvee/logging.h):
// a client retrying an unreachable broker says so there, and nothing reaches stdout or stderr.
TEST(LibraryLogging, AnInstalledSinkReceivesTheRetryWarning) {
  DeadPort dead;
  std::mutex mutex;
  std::vector<LoggedLine> lines;
  setLogger([&](LogLevel level, std::string_view message) {
    std::lock_guard lock(mutex);
    lines.push_back({level, std::string(message)});
  });
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  auto client = connectBriefly(dead.endpoint());
  std::string out = ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  setLogger({});
  ASSERT_FALSE(client);
  EXPECT_EQ(client.status().code(), errc::kUnavailable) << client.status().toString();
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "") << "with a sink installed, the library writes nothing itself";
  std::lock_guard lock(mutex);
  ASSERT_FALSE(lines.empty()) << "the retry warning must reach the sink";
  EXPECT_EQ(lines.front().level, LogLevel::kWarn);
  EXPECT_NE(lines.front().message.find("cannot connect to " + dead.endpoint()), std::string::npos)
      << lines.front().message;
  EXPECT_NE(lines.front().message.find("retrying"), std::string::npos) << lines.front().message;
  EXPECT_EQ(lines.size(), 1u) << "retries of one outage are logged once; last: " << lines.back().message;
}

TEST(LibraryLogging, ByDefaultWarningsGoToStderrNeverStdout) {
  DeadPort dead;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  auto client = connectBriefly(dead.endpoint());
  std::string out = ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(client);
  EXPECT_EQ(out, "") << "stdout belongs to the application";
  EXPECT_NE(err.find("retrying"), std::string::npos) << err;
}

TEST(LibraryLogging, LevelOffSilencesTheLibrary) {
  DeadPort dead;
  std::mutex mutex;
  std::vector<LoggedLine> lines;
  setLogger([&](LogLevel level, std::string_view message) {
    std::lock_guard lock(mutex);
    lines.push_back({level, std::string(message)});
  });
  setLogLevel(LogLevel::kOff);
  auto client = connectBriefly(dead.endpoint());
  setLogLevel(LogLevel::kInfo);
  setLogger({});
  ASSERT_FALSE(client);
  std::lock_guard lock(mutex);
  EXPECT_TRUE(lines.empty()) << lines.front().message;
}

class ReconnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(first_.start());
    ASSERT_TRUE(worker_.start(first_.endpoint(), 2, {"--name", "survivor"}));
    ASSERT_TRUE(waitForWorkers(first_.endpoint(), 1));
    ClientOptions options;
    options.endpoint = first_.endpoint();
    options.name = "reconnecting-client";
    options.connect_timeout = std::chrono::seconds(10);
    options.reconnect_max = std::chrono::milliseconds(500);
    auto client = Client::connect(options);
    ASSERT_TRUE(client) << client.status().toString();
    client_ = std::move(*client);
  }

  // Kills the first broker (as a crash would) and starts a second one on the same port.
  void restartBroker() {
    ASSERT_TRUE(first_.process().kill(SIGKILL));
    ASSERT_TRUE(first_.process().wait(std::chrono::seconds(10)).has_value());
    std::string bind = "tcp://127.0.0.1:" + std::to_string(first_.port());
    // The port is free again at once (SO_REUSEADDR); retry briefly in case the kernel lags.
    ::testing::AssertionResult started = ::testing::AssertionFailure();
    for (int i = 0; i < 50; ++i) {
      second_ = BrokerProcess();
      started = second_.start({}, bind);
      if (started) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(started);
    ASSERT_EQ(second_.endpoint(), first_.endpoint());
  }

  BrokerProcess first_;
  BrokerProcess second_;
  WorkerProcess worker_;
  std::unique_ptr<Client> client_;
};

TEST_F(ReconnectTest, ClientAndWorkerSurviveABrokerRestart) {
  Result<JobOutcome> before = client_->submit("echo", "before").wait(std::chrono::seconds(30));
  ASSERT_TRUE(before && before->succeeded()) << (before ? before->error_code : before.status().toString());
  EXPECT_EQ(before->result, "before");

  // A job in flight when the broker dies: the new broker has never heard of it.
  JobHandle lost = client_->submit("sleep", "60000");
  Result<JobId> lost_id = lost.id();
  ASSERT_TRUE(lost_id);
  ASSERT_TRUE(eventually([&] {
    Result<JobState> state = lost.status();
    return state && *state == JobState::kRunning;
  }));

  restartBroker();

  // Reconnection takes well under a second; the limit only bounds a hang.
  Result<JobOutcome> orphan = lost.wait(std::chrono::seconds(15));
  ASSERT_FALSE(orphan) << "a job the new broker does not know cannot have an outcome; got "
                       << (orphan ? orphan->result : "");
  EXPECT_EQ(orphan.status().code(), errc::kNotFound) << orphan.status().toString();
  EXPECT_TRUE(lost.done());

  // The same worker process registers with the new broker.
  ASSERT_TRUE(waitForWorkers(second_.endpoint(), 1));
  EXPECT_TRUE(worker_.process().running());

  // The same Client object submits to the new broker.
  std::vector<JobHandle> after;
  for (int i = 0; i < 20; ++i) after.push_back(client_->submit("reverse", "after-" + std::to_string(i)));
  for (int i = 0; i < 20; ++i) {
    Result<JobOutcome> outcome = after[static_cast<std::size_t>(i)].wait(std::chrono::seconds(30));
    ASSERT_TRUE(outcome) << outcome.status().toString();
    EXPECT_TRUE(outcome->succeeded()) << outcome->error_code << ": " << outcome->error_message;
    std::string expected = "after-" + std::to_string(i);
    std::reverse(expected.begin(), expected.end());
    EXPECT_EQ(outcome->result, expected);
  }
  Result<std::string> stats = client_->stats();
  ASSERT_TRUE(stats) << stats.status().toString();
  EXPECT_NE(stats->find("\"survivor\""), std::string::npos) << *stats;
}

TEST_F(ReconnectTest, SubmissionsMadeWhileTheBrokerIsDownAreSentOnReconnection) {
  ASSERT_TRUE(first_.process().kill(SIGKILL));
  ASSERT_TRUE(first_.process().wait(std::chrono::seconds(10)).has_value());
  // Accepted locally while no broker runs; sent once one is back.
  JobHandle queued = client_->submit("echo", "sent later");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(queued.done());
  ASSERT_TRUE(second_.start({}, "tcp://127.0.0.1:" + std::to_string(first_.port())));
  Result<JobOutcome> outcome = queued.wait(std::chrono::seconds(30));
  ASSERT_TRUE(outcome) << outcome.status().toString();
  EXPECT_TRUE(outcome->succeeded()) << outcome->error_code;
  EXPECT_EQ(outcome->result, "sent later");
}

TEST_F(ReconnectTest, StatusAndStatsWorkAgainAfterRestart) {
  restartBroker();
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(client_->stats()); }));
  Result<JobInfo> info = client_->status(1);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.status().code(), errc::kNotFound);
}

// "wait(): ... the Status is an error only when no outcome could be had: the submission was
// refused, the broker is unreachable, or wait_timeout." A broker that never comes back must not
// leave a waiter hanging until its own limit.
TEST_F(ReconnectTest, WaitingHandleFailsUnavailableWhenTheBrokerStaysGone) {
  ClientOptions options;
  options.endpoint = first_.endpoint();
  options.connect_timeout = std::chrono::milliseconds(1000);
  auto client = Client::connect(options);
  ASSERT_TRUE(client) << client.status().toString();
  JobHandle job = (*client)->submit("sleep", "60000");
  ASSERT_TRUE(job.id());
  ASSERT_TRUE(eventually([&] {
    Result<JobState> state = job.status();
    return state && *state == JobState::kRunning;
  }));
  ASSERT_TRUE(first_.process().kill(SIGKILL));
  ASSERT_TRUE(first_.process().wait(std::chrono::seconds(10)).has_value());
  Result<JobOutcome> outcome = job.wait(std::chrono::seconds(20));
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.status().code(), errc::kUnavailable) << outcome.status().toString();
}

// The CLI's view of the same: `submit --wait` exits 3 when its broker disappears for good.
TEST_F(ReconnectTest, CliSubmitWaitExitsThreeWhenTheBrokerStaysGone) {
  ChildProcess submit;
  ASSERT_TRUE(submit.start({corveeBinary(), "submit", "sleep", "60000", "--wait", "--connect", first_.endpoint(),
                            "--connect-timeout-ms", "1000"}));
  ASSERT_TRUE(eventually([&] {
    Result<std::string> stats = client_->stats();
    return stats && stats->find("\"running\":1") != std::string::npos;
  })) << "the CLI's job never ran";
  ASSERT_TRUE(first_.process().kill(SIGKILL));
  ASSERT_TRUE(first_.process().wait(std::chrono::seconds(10)).has_value());
  std::optional<ExitInfo> exit = submit.wait(std::chrono::seconds(20));
  ASSERT_TRUE(exit.has_value()) << "corvee submit --wait still waits for a broker that is gone: " << submit.describe();
  EXPECT_TRUE(exit->exitedWith(3)) << submit.describe();
  EXPECT_NE(submit.err().find("broker"), std::string::npos) << submit.describe();
}

// The new broker issues ids from 1 again. A handle waiting for old job N must not be completed by
// the new broker's job N, which belongs to someone else.
TEST_F(ReconnectTest, WaitingHandleIsNotCompletedByAnotherJobWithTheSameIdAfterRestart) {
  // A client that waits 2.5 to 5 s before reconnecting, so another client takes id 1 on the new
  // broker first. (Were the machine so slow that it reconnected first, the test would pass
  // without showing anything; it cannot fail spuriously.)
  ClientOptions options;
  options.endpoint = first_.endpoint();
  options.connect_timeout = std::chrono::seconds(10);
  options.reconnect_min = std::chrono::milliseconds(5000);
  options.reconnect_max = std::chrono::milliseconds(5000);
  auto slow = Client::connect(options);
  ASSERT_TRUE(slow) << slow.status().toString();
  JobHandle old_job = (*slow)->submit("sleep", "60000");  // id 1 on the first broker
  Result<JobId> old_id = old_job.id();
  ASSERT_TRUE(old_id);
  ASSERT_EQ(*old_id, 1u);
  ASSERT_TRUE(eventually([&] {
    Result<JobState> state = old_job.status();
    return state && *state == JobState::kRunning;
  }));
  ASSERT_TRUE(first_.process().kill(SIGKILL));
  ASSERT_TRUE(first_.process().wait(std::chrono::seconds(10)).has_value());
  ASSERT_TRUE(second_.start({}, "tcp://127.0.0.1:" + std::to_string(first_.port())));
  CommandResult other = runCorvee({"submit", "echo", "someone else's job", "--wait", "--connect", second_.endpoint()});
  ASSERT_EQ(other.exit_code, 0) << other.describe();
  Result<JobOutcome> outcome = old_job.wait(std::chrono::seconds(30));
  if (outcome) {
    ADD_FAILURE() << "the handle for the first broker's job 1 was completed with job " << outcome->id
                  << " of the second broker: result '" << outcome->result << "'";
  } else {
    EXPECT_NE(outcome.status().code(), errc::kWaitTimeout) << "the handle hangs: " << outcome.status().toString();
  }
}

// Same id clash, through the client's own resent submission: a submission still unacknowledged
// when the broker died is resent first on reconnection and may get the id an older handle waits on.
TEST_F(ReconnectTest, WaitingHandleDoesNotHangWhenItsIdIsReusedByOwnResentSubmission) {
  JobHandle old_job = client_->submit("sleep", "60000");
  Result<JobId> old_id = old_job.id();
  ASSERT_TRUE(old_id);
  ASSERT_EQ(*old_id, 1u);
  ASSERT_TRUE(first_.process().kill(SIGKILL));
  ASSERT_TRUE(first_.process().wait(std::chrono::seconds(10)).has_value());
  JobHandle fresh = client_->submit("echo", "fresh");  // unacknowledged until the new broker is up
  ASSERT_TRUE(second_.start({}, "tcp://127.0.0.1:" + std::to_string(first_.port())));
  Result<JobOutcome> fresh_outcome = fresh.wait(std::chrono::seconds(30));
  ASSERT_TRUE(fresh_outcome) << fresh_outcome.status().toString();
  EXPECT_EQ(fresh_outcome->result, "fresh");
  // The resubscription for the old job went out with the resent submission, before its result:
  // any answer to it has arrived by now.
  Result<JobOutcome> old_outcome = old_job.wait(std::chrono::seconds(5));
  if (old_outcome) {
    ADD_FAILURE() << "the old handle got job " << old_outcome->id << "'s outcome: '" << old_outcome->result << "'";
  } else {
    EXPECT_NE(old_outcome.status().code(), errc::kWaitTimeout)
        << "the handle for the lost job hangs: " << old_outcome.status().toString();
  }
}

}  // namespace
}  // namespace corvee::testing
