// Limits and back-pressure through real processes (issue 13): the broker's memory under 10,000
// idle connections and under a client that never reads, connections per address, queued jobs per
// task and submissions in flight per client, each refusal with its own code.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "support/process.h"
#include "support/wire_client.h"

namespace corvee::testing {
namespace {

using namespace std::chrono_literals;
using protocol::MsgType;

// A plain TCP connection to 127.0.0.1:port that sends nothing; -1 when it failed.
int connectIdle(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The broker's count of open connections, from `corvee stats`.
std::size_t openConnections(const std::string& endpoint) {
  std::string text;
  if (!fetchStats(endpoint, text)) return 0;
  auto doc = nlohmann::json::parse(text, nullptr, false);
  return doc.is_object() ? doc.value("connections", std::size_t{0}) : 0;
}

TEST(FloodTest, TenThousandIdleConnectionsCostTheBrokerLittleMemory) {
  constexpr int kConnections = 10'000;
  // This process needs a descriptor per connection, and so does the broker.
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max < kConnections + 512) GTEST_SKIP() << "the descriptor limit (" << limit.rlim_max << ") is too low";
  rlimit raised{kConnections + 512, limit.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &raised), 0);

  BrokerProcess broker;
  broker.limitDescriptors(kConnections + 1024);
  // Idle peers are dropped after the peer timeout; keep them for the measurement.
  ASSERT_TRUE(broker.start({"--heartbeat-ms", "60000", "--peer-timeout-ms", "600000"}));
  long long before = residentKiB(broker.pid());
  ASSERT_GT(before, 0);

  std::vector<int> idle;
  idle.reserve(kConnections);
  for (int i = 0; i < kConnections; ++i) {
    int fd = connectIdle(broker.port());
    ASSERT_GE(fd, 0) << "connection " << i << ": " << std::strerror(errno);
    idle.push_back(fd);
  }
  ASSERT_TRUE(eventually([&] { return openConnections(broker.endpoint()) >= kConnections; }, 60s))
      << "the broker did not take every connection: " << openConnections(broker.endpoint());
  long long during = residentKiB(broker.pid());
  long long per_connection = (during - before) * 1024 / kConnections;
  std::printf("broker RSS: %lld KiB before, %lld KiB with %d idle connections (%lld bytes each)\n", before, during,
              kConnections, per_connection);
  // An idle connection holds a socket and its bookkeeping, not a read buffer: well under 8 KiB.
  EXPECT_LT(per_connection, 8 * 1024);

  // And the broker still serves a client among them.
  CommandResult stats = runCorvee({"stats", "--connect", broker.endpoint()});
  EXPECT_EQ(stats.exit_code, 0) << stats.describe();
  for (int fd : idle) ::close(fd);
  EXPECT_TRUE(eventually([&] { return openConnections(broker.endpoint()) <= 2; }, 60s));
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
}

TEST(FloodTest, AClientThatNeverReadsCannotGrowTheBrokersMemory) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  WireClient wire;
  ASSERT_TRUE(wire.connect(broker.port()));
  int small = 64 * 1024;
  ASSERT_EQ(::setsockopt(wire.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
  ASSERT_TRUE(wire.hello(protocol::Role::kClient));
  long long before = residentKiB(broker.pid());
  ASSERT_GT(before, 0);

  // STATS requests of 9 bytes, each answered with a few hundred: 36 MiB of requests would ask for
  // over a gigabyte of replies if the broker kept answering. It stops reading this connection past
  // its high-water mark (4 MiB of output), so once the kernel's socket buffers are full too the
  // writes below stop going through.
  std::string batch;
  for (std::uint32_t i = 0; i < 4000; ++i) protocol::encode(batch, 1 + i, protocol::StatsMsg{});
  constexpr int kBatches = 1000;
  int sent_batches = 0;
  for (int i = 0; i < kBatches; ++i) {
    if (!wire.sendRaw(batch, 3s)) break;  // the broker stopped reading: back-pressure reached us
    ++sent_batches;
  }
  EXPECT_LT(sent_batches, kBatches) << "the broker never stopped reading a client that never reads";
  long long during = residentKiB(broker.pid());
  std::printf("broker RSS: %lld KiB before, %lld KiB with a client that never reads (%d batches sent)\n", before,
              during, sent_batches);
  EXPECT_LT(during - before, 64 * 1024) << "the broker kept replies it could not send";

  // Other peers are served meanwhile.
  CommandResult stats = runCorvee({"stats", "--connect", broker.endpoint()});
  EXPECT_EQ(stats.exit_code, 0) << stats.describe();
}

TEST(FloodTest, ConnectionsBeyondThePerAddressLimitAreRefusedWithACode) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start({"--max-connections-per-address", "3"}));
  std::vector<std::unique_ptr<WireClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<WireClient>());
    ASSERT_TRUE(held.back()->connect(broker.port()));
    ASSERT_TRUE(held.back()->hello(protocol::Role::kClient));
  }
  WireClient fourth;
  ASSERT_TRUE(fourth.connect(broker.port()));
  OwnedFrame refusal;
  ASSERT_TRUE(fourth.expect(MsgType::kError, refusal, 0u));
  auto error = protocol::decode<protocol::ErrorMsg>(refusal.body);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "too_many_connections");
  EXPECT_NE(std::string(error->message).find("127.0.0.1"), std::string::npos) << error->message;
  EXPECT_TRUE(fourth.expectClosed());
  // One closes: room for another.
  held.pop_back();
  EXPECT_TRUE(eventually([&] {
    WireClient again;
    return again.connect(broker.port()) && again.hello(protocol::Role::kClient);
  }));
}

TEST(FloodTest, ATaskAtItsQueuedLimitRefusesSubmissionsAndOtherTasksGoOn) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start({"--max-queued-per-task", "5"}));
  for (int i = 0; i < 5; ++i) {
    CommandResult ok = runCorvee({"submit", "nobody", "x", "--connect", broker.endpoint()});
    ASSERT_EQ(ok.exit_code, 0) << ok.describe();
  }
  CommandResult full = runCorvee({"submit", "nobody", "x", "--connect", broker.endpoint()});
  EXPECT_EQ(full.exit_code, 3) << full.describe();
  EXPECT_NE(full.err.find("queue_full"), std::string::npos) << full.describe();
  EXPECT_NE(full.err.find("'nobody'"), std::string::npos) << full.describe();
  CommandResult other = runCorvee({"submit", "another", "x", "--connect", broker.endpoint()});
  EXPECT_EQ(other.exit_code, 0) << other.describe();
}

}  // namespace
}  // namespace corvee::testing
