// AcceptLoop on a real loopback socket and a real event loop, in this process: connections over the
// limit are refused with ERROR too_many_connections, and running out of file descriptors makes the
// loop refuse waiting connections through its spare descriptor instead of spinning on accept().
#include "broker/accept_loop.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "corvee/errors.h"
#include "fakes/fake_clock.h"
#include "protocol/frame_decoder.h"
#include "protocol/messages.h"
#include "support/descriptor_exhaustion.h"

namespace corvee::broker {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

class AcceptLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::endpoint local(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(local.protocol());
    acceptor_.bind(local);
    acceptor_.listen();
  }

  // A client connection; the kernel completes it without the loop's help (the backlog).
  tcp::socket connectClient() {
    tcp::socket socket(client_io_);
    socket.connect(acceptor_.local_endpoint());
    return socket;
  }

  // Runs the loop until `done` holds, for at most `limit`; returns whether it held.
  template <typename Done>
  bool runUntil(Done&& done, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.run_for(10ms);
      if (io_.stopped()) io_.restart();
    }
    return true;
  }

  // The ERROR frame a refused client reads, then the end of the stream. Every refusal has been
  // written before this is called, so the blocking reads cannot wait for the loop.
  ::testing::AssertionResult expectRefused(tcp::socket& client) {
    protocol::FrameDecoder decoder(1 << 20);
    protocol::Frame frame;
    boost::system::error_code error;
    for (;;) {
      std::size_t n = client.read_some(asio::buffer(decoder.prepare(4096), decoder.writable()), error);
      if (error) return ::testing::AssertionFailure() << "no ERROR frame before: " << error.message();
      decoder.commit(n);
      if (decoder.next(frame) == protocol::DecodeEvent::kFrame) break;
    }
    if (frame.type != static_cast<std::uint8_t>(protocol::MsgType::kError)) {
      return ::testing::AssertionFailure() << "frame type " << int(frame.type) << ", not ERROR";
    }
    auto refusal = protocol::decode<protocol::ErrorMsg>(frame.body);
    if (!refusal || refusal->code != errc::kTooManyConnections) {
      return ::testing::AssertionFailure() << "not ERROR too_many_connections";
    }
    char byte;
    client.read_some(asio::buffer(&byte, 1), error);
    if (!error) return ::testing::AssertionFailure() << "the refused connection stayed open";
    return ::testing::AssertionSuccess();
  }

  asio::io_context io_;
  asio::io_context client_io_;
  tcp::acceptor acceptor_{io_};
  testing::FakeClock clock_;
  std::size_t open_ = 0;
  std::vector<tcp::socket> accepted_;
  AcceptLoop loop_{acceptor_, clock_, [this] { return open_; },
                   [this](tcp::socket&& socket) { accepted_.push_back(std::move(socket)); }};
};

TEST_F(AcceptLoopTest, AcceptsUnderTheLimitAndRefusesOverIt) {
  loop_.start(2);
  tcp::socket first = connectClient();
  ASSERT_TRUE(runUntil([&] { return accepted_.size() == 1; }));
  open_ = 2;  // the server now serves its limit
  tcp::socket over = connectClient();
  ASSERT_TRUE(runUntil([&] { return loop_.refusedTotal() == 1; }));
  EXPECT_EQ(accepted_.size(), 1u);
  EXPECT_TRUE(expectRefused(over));
  open_ = 1;
  tcp::socket again = connectClient();
  ASSERT_TRUE(runUntil([&] { return accepted_.size() == 2; })) << "below the limit, connections are taken again";
  EXPECT_EQ(loop_.refusedTotal(), 1u);
  loop_.stop();
}

// Issue 8: out of descriptors, accept() failed with EMFILE at once, again and again, at full CPU,
// with a log line each time.
TEST_F(AcceptLoopTest, OutOfDescriptorsRefusesWaitingConnectionsWithoutSpinning) {
  loop_.start(1000);
  std::vector<tcp::socket> waiting;
  for (int i = 0; i < 3; ++i) waiting.push_back(connectClient());
  std::size_t handlers = 0;
  {
    testing::DescriptorExhaustion exhaustion;
    ASSERT_TRUE(exhaustion.exhausted());
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (loop_.refusedTotal() < waiting.size() && std::chrono::steady_clock::now() < deadline) {
      handlers += io_.run_for(10ms);
    }
    ASSERT_EQ(loop_.refusedTotal(), waiting.size()) << "each waiting connection is refused through the spare";
    // Nothing waits now: the loop must be idle but for its paced retries (every 100 ms), however
    // long it stays out of descriptors. A spinning loop runs thousands of handlers here.
    handlers += io_.run_for(300ms);
    EXPECT_LT(handlers, 100u);
    EXPECT_TRUE(accepted_.empty());
  }
  for (tcp::socket& client : waiting) EXPECT_TRUE(expectRefused(client));
  tcp::socket later = connectClient();
  ASSERT_TRUE(runUntil([&] { return accepted_.size() == 1; })) << "descriptors are back: connections are taken";
  loop_.stop();
}

}  // namespace
}  // namespace corvee::broker
