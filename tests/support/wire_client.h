// Test support: a raw, blocking TCP connection that speaks Corvee frames by hand.
//
// For wire-level tests of the broker (docs/protocol.md): it sends whatever bytes a test builds,
// well-formed or not, and reads frames back with bounded waits. Every read has a limit, so a
// broker that does not answer fails the test instead of hanging it. Not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "protocol/frame_decoder.h"
#include "protocol/messages.h"

namespace corvee::testing {

// A received frame, owning its body.
struct OwnedFrame {
  std::uint8_t type = 0;
  std::uint32_t request_id = 0;
  std::string body;
  protocol::MsgType msgType() const { return static_cast<protocol::MsgType>(type); }
  std::string typeName() const { return protocol::msgTypeName(type); }
};

class WireClient {
 public:
  enum class ReadStatus { kFrame, kTimeout, kClosed };

  WireClient() = default;
  ~WireClient();
  WireClient(const WireClient&) = delete;
  WireClient& operator=(const WireClient&) = delete;

  // Connects to 127.0.0.1:port.
  ::testing::AssertionResult connect(std::uint16_t port, std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Connects to `ipv4` (dotted quad), port `port`: a broker bound to another address, such as one
  // in another network namespace. The socket belongs to the calling thread's network namespace.
  ::testing::AssertionResult connect(const std::string& ipv4, std::uint16_t port,
                                     std::chrono::milliseconds limit = std::chrono::seconds(10));
  void close();

  // Writes all of `bytes`, waiting at most `limit`.
  ::testing::AssertionResult sendRaw(const std::string& bytes, std::chrono::milliseconds limit = std::chrono::seconds(30));
  template <typename Msg>
  ::testing::AssertionResult send(std::uint32_t request_id, const Msg& msg) {
    std::string frame;
    protocol::encode(frame, request_id, msg);
    return sendRaw(frame);
  }
  // A frame with any type and body, for malformed input.
  static std::string rawFrame(std::uint8_t type, std::uint32_t request_id, const std::string& body);

  // Reads the next frame, skipping broker PINGs (answered with PONG) unless `keep_pings`.
  ReadStatus read(OwnedFrame& frame, std::chrono::milliseconds limit = std::chrono::seconds(10),
                  bool keep_pings = false);
  // Reads the next frame and checks its type (and request id, when given).
  ::testing::AssertionResult expect(protocol::MsgType type, OwnedFrame& frame,
                                    std::optional<std::uint32_t> request_id = std::nullopt,
                                    std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Reads the next frame and checks it is ERROR `code` for `request_id`.
  ::testing::AssertionResult expectError(const std::string& code, std::uint32_t request_id,
                                         std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Reads until the broker closes the connection, failing if a frame of any other kind than PING
  // arrives first or it stays open past `limit`.
  ::testing::AssertionResult expectClosed(std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Reads raw bytes, not frames, into `bytes` until the broker closes the connection: what a
  // broker that speaks no Corvee frame (a TLS one, to a plain peer) sent. Fails past `limit`.
  ::testing::AssertionResult readRawUntilClosed(std::string& bytes,
                                                std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Expects no frame (PINGs aside) for `quiet`.
  ::testing::AssertionResult expectNothing(std::chrono::milliseconds quiet);

  // HELLO as `role`, then WELCOME.
  ::testing::AssertionResult hello(protocol::Role role, const std::string& name = "wire-test");
  // PING with `request_id`, then PONG with it: the connection still works.
  ::testing::AssertionResult pingPong(std::uint32_t request_id);

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  protocol::FrameDecoder decoder_{1u << 30};
};

}  // namespace corvee::testing
