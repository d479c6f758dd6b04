// Issue 8, item 2: a broker attacked with more connections than it has file descriptors for. It
// used to spin in its accept loop (millions of "accept failed: Too many open files" lines at full
// CPU) and stop answering anyone. Now it refuses what it cannot serve with ERROR
// too_many_connections, logs each episode once, keeps serving the peers it has, and takes new ones
// again once descriptors free up. Real broker processes under a lowered descriptor limit; raw
// connections from this process.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "corvee/errors.h"
#include "support/process.h"
#include "support/wire_client.h"

namespace corvee::testing {
namespace {

using protocol::MsgType;

// Idle connections must neither be pinged (a PING would draw a PONG, and a PONG before HELLO
// closes the connection) nor closed for silence while a test runs.
const std::vector<std::string> kQuietPeers = {"--heartbeat-ms", "60000", "--peer-timeout-ms", "600000"};

std::vector<std::string> withQuietPeers(std::vector<std::string> args) {
  args.insert(args.end(), kQuietPeers.begin(), kQuietPeers.end());
  return args;
}

// The soft descriptor limit of this process raised to its hard limit, so it can open hundreds of
// connections whatever the shell's `ulimit -n`.
void raiseOwnDescriptorLimit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

std::size_t countLines(const std::string& text, const std::string& needle) {
  std::istringstream lines(text);
  std::size_t count = 0;
  for (std::string line; std::getline(lines, line);) count += line.find(needle) != std::string::npos;
  return count;
}

// User plus system CPU time of `pid` so far, in clock ticks; -1 when unreadable.
long long cpuTicks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  long long utime = 0, stime = 0;
  // After the command: state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

// `count` connections that never say HELLO.
std::vector<std::unique_ptr<WireClient>> openIdle(std::uint16_t port, int count) {
  std::vector<std::unique_ptr<WireClient>> idle;
  for (int i = 0; i < count; ++i) {
    auto wire = std::make_unique<WireClient>();
    EXPECT_TRUE(wire->connect(port)) << "idle connection " << i;
    idle.push_back(std::move(wire));
  }
  return idle;
}

// Reads the refusal the broker sends a connection it will not serve: ERROR too_many_connections,
// request id 0, then the end of the connection.
::testing::AssertionResult expectRefused(WireClient& wire, std::chrono::milliseconds limit = 20s) {
  OwnedFrame frame;
  if (auto got = wire.read(frame, limit, /*keep_pings=*/true); got != WireClient::ReadStatus::kFrame) {
    return ::testing::AssertionFailure()
           << (got == WireClient::ReadStatus::kTimeout ? "no frame" : "closed without a frame");
  }
  if (frame.msgType() != MsgType::kError) return ::testing::AssertionFailure() << "got " << frame.typeName();
  auto refusal = protocol::decode<protocol::ErrorMsg>(frame.body);
  if (!refusal || refusal->code != errc::kTooManyConnections || frame.request_id != 0) {
    return ::testing::AssertionFailure() << "not ERROR too_many_connections with request id 0: " << frame.body;
  }
  return wire.expectClosed(limit);
}

// True when the broker already sent `wire` something (its refusal), without waiting.
bool wasRefused(WireClient& wire) {
  OwnedFrame frame;
  return wire.read(frame, 1ms, /*keep_pings=*/true) != WireClient::ReadStatus::kTimeout;
}

// A STATS round trip on an established session: the broker still serves its peers.
::testing::AssertionResult statsAnswered(WireClient& wire, std::uint32_t request_id) {
  if (auto sent = wire.send(request_id, protocol::StatsMsg{}); !sent) return sent;
  OwnedFrame frame;
  return wire.expect(MsgType::kStatsReply, frame, request_id, 20s);
}

class HostileConnectionsTest : public ::testing::Test {
 protected:
  void SetUp() override { raiseOwnDescriptorLimit(); }
};

TEST_F(HostileConnectionsTest, OutOfDescriptorsTheBrokerRefusesWithoutSpinningAndRecovers) {
  constexpr int kDescriptors = 256;
  constexpr int kIdle = 400;
  BrokerProcess broker;
  broker.limitDescriptors(kDescriptors);
  // A connection limit above what the descriptors allow: accept() itself runs out.
  ASSERT_TRUE(broker.start(withQuietPeers({"--max-connections", "100000"})));
  WireClient resident;
  ASSERT_TRUE(resident.connect(broker.port()));
  ASSERT_TRUE(resident.hello(protocol::Role::kClient, "resident"));

  auto idle = openIdle(broker.port(), kIdle);
  // The backlog is taken in order: once the last connection is refused, every one was dealt with.
  ASSERT_TRUE(expectRefused(*idle.back())) << broker.process().describe();
  std::size_t refused = 1;
  for (int i = 0; i + 1 < kIdle; ++i) refused += wasRefused(*idle[i]);
  EXPECT_GE(refused, static_cast<std::size_t>(kIdle - kDescriptors)) << "the connections it had no descriptor for";
  EXPECT_LT(refused, static_cast<std::size_t>(kIdle)) << "it served connections while it had descriptors";

  // Still out of descriptors, with hundreds of idle connections open: the broker serves the peer
  // it had, and does not burn CPU. (A spinning broker takes a whole core; one at rest, nothing. On
  // a loaded machine a spinning one may get less than a core, so this can only err towards passing.)
  EXPECT_TRUE(statsAnswered(resident, 1)) << broker.process().describe();
  long long before = cpuTicks(broker.pid());
  std::this_thread::sleep_for(2s);
  long long after = cpuTicks(broker.pid());
  long long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  EXPECT_LT(after - before, ticks_per_second) << "more than half a core over two seconds";

  // A few lines per episode, not one per failed accept().
  std::string log = broker.process().err();
  EXPECT_GE(countLines(log, "accept failed"), 1u) << log.substr(0, 4000);
  EXPECT_LE(countLines(log, "accept failed"), 3u) << log.substr(0, 4000);
  EXPECT_LE(countLines(log, "Too many open files"), 3u) << log.substr(0, 4000);

  idle.clear();
  CommandResult stats;
  EXPECT_TRUE(eventually([&] {
    stats = runCorvee({"stats", "--connect", broker.endpoint(), "--connect-timeout-ms", "2000"});
    return stats.exit_code == 0;
  })) << stats.describe() << broker.process().describe();
  EXPECT_TRUE(eventually([&] {
    return broker.process().err().find("accepting connections again") != std::string::npos;
  })) << "the end of the episode is logged, with how many were refused: " << broker.process().describe();
  EXPECT_TRUE(statsAnswered(resident, 2));
  EXPECT_TRUE(broker.process().running());
}

TEST_F(HostileConnectionsTest, TheDefaultLimitRefusesCleanlyBeforeDescriptorsRunOut) {
  BrokerProcess broker;
  broker.limitDescriptors(256);
  ASSERT_TRUE(broker.start(kQuietPeers));
  EXPECT_NE(broker.process().err().find("serving at most 192 connections (descriptor limit 256)"), std::string::npos)
      << "the default leaves 64 descriptors for the rest: " << broker.process().describe();
  auto idle = openIdle(broker.port(), 250);
  ASSERT_TRUE(expectRefused(*idle.back())) << broker.process().describe();
  std::size_t refused = 1;
  for (std::size_t i = 0; i + 1 < idle.size(); ++i) refused += wasRefused(*idle[i]);
  EXPECT_EQ(refused, 250u - 192u);
  std::string log = broker.process().err();
  EXPECT_EQ(countLines(log, "accept failed"), 0u) << "the limit is met before the descriptors run out: " << log;
  EXPECT_EQ(countLines(log, "the limit (--max-connections)"), 1u) << log;
  idle.clear();
  CommandResult stats;
  EXPECT_TRUE(eventually([&] {
    stats = runCorvee({"stats", "--connect", broker.endpoint(), "--connect-timeout-ms", "2000"});
    return stats.exit_code == 0;
  })) << stats.describe() << broker.process().describe();
}

TEST_F(HostileConnectionsTest, OverMaxConnectionsAConnectionIsRefusedAndTheBrokerServesOn) {
  constexpr int kLimit = 8;
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(withQuietPeers({"--max-connections", std::to_string(kLimit)})));
  std::vector<std::unique_ptr<WireClient>> peers;
  for (int i = 0; i < kLimit; ++i) {
    peers.push_back(std::make_unique<WireClient>());
    ASSERT_TRUE(peers.back()->connect(broker.port()));
    ASSERT_TRUE(peers.back()->hello(protocol::Role::kClient, "peer-" + std::to_string(i)));
  }
  // "The broker MAY instead refuse the connection before HELLO: it sends ERROR too_many_connections
  // (request_id 0) as soon as it accepts the connection, and closes it."
  WireClient silent;
  ASSERT_TRUE(silent.connect(broker.port()));
  EXPECT_TRUE(expectRefused(silent));
  // "The peer may read that frame before or after it sent its HELLO."
  WireClient polite;
  ASSERT_TRUE(polite.connect(broker.port()));
  protocol::HelloMsg hello;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  ASSERT_TRUE(polite.send(1, hello));
  EXPECT_TRUE(expectRefused(polite));

  // The CLI says what happened rather than that the broker could not be reached.
  CommandResult refused = runCorvee({"stats", "--connect", broker.endpoint(), "--connect-timeout-ms", "1000"});
  EXPECT_EQ(refused.exit_code, 3) << refused.describe();
  EXPECT_NE(refused.err.find("refused the connection: too many connections"), std::string::npos) << refused.describe();
  EXPECT_EQ(refused.out, "") << "nothing but results on stdout";

  for (std::uint32_t i = 0; i < kLimit; ++i) EXPECT_TRUE(statsAnswered(*peers[i], 10 + i));
  std::string log = broker.process().err();
  EXPECT_EQ(countLines(log, "the limit (--max-connections)"), 1u) << "one line for the episode: " << log;

  peers.pop_back();
  CommandResult stats;
  EXPECT_TRUE(eventually([&] {
    stats = runCorvee({"stats", "--connect", broker.endpoint(), "--connect-timeout-ms", "2000"});
    return stats.exit_code == 0;
  })) << stats.describe() << broker.process().describe();
  EXPECT_NE(broker.process().err().find("below the connection limit again"), std::string::npos)
      << broker.process().describe();
}

}  // namespace
}  // namespace corvee::testing
