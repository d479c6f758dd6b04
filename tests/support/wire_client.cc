#include "support/wire_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol/wire.h"

namespace corvee::testing {

namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

WireClient::~WireClient() { close(); }

void WireClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

::testing::AssertionResult WireClient::connect(std::uint16_t port, std::chrono::milliseconds limit) {
  return connect("127.0.0.1", port, limit);
}

::testing::AssertionResult WireClient::connect(const std::string& ipv4, std::uint16_t port,
                                               std::chrono::milliseconds limit) {
  close();
  decoder_ = protocol::FrameDecoder(1u << 30);
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return ::testing::AssertionFailure() << "socket: " << std::strerror(errno);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, ipv4.c_str(), &addr.sin_addr) != 1) {
    return ::testing::AssertionFailure() << "not an IPv4 address: " << ipv4;
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno != EINPROGRESS) {
    return ::testing::AssertionFailure() << "connect to port " << port << ": " << std::strerror(errno);
  }
  pollfd p{fd_, POLLOUT, 0};
  int n = ::poll(&p, 1, static_cast<int>(limit.count()));
  if (n <= 0) return ::testing::AssertionFailure() << "connect to port " << port << " timed out";
  int error = 0;
  socklen_t len = sizeof(error);
  ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
  if (error != 0) return ::testing::AssertionFailure() << "connect to port " << port << ": " << std::strerror(error);
  return ::testing::AssertionSuccess();
}

std::string WireClient::rawFrame(std::uint8_t type, std::uint32_t request_id, const std::string& body) {
  std::string out;
  protocol::WireWriter w(out);
  w.u32(static_cast<std::uint32_t>(body.size() + protocol::kMinLength));
  w.u8(type);
  w.u32(request_id);
  out += body;
  return out;
}

::testing::AssertionResult WireClient::sendRaw(const std::string& bytes, std::chrono::milliseconds limit) {
  if (fd_ < 0) return ::testing::AssertionFailure() << "not connected";
  auto deadline = Clock::now() + limit;
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remainingMs(deadline)) <= 0 && Clock::now() >= deadline) {
        return ::testing::AssertionFailure() << "send blocked: " << sent << " of " << bytes.size()
                                             << " bytes written within " << limit.count() << " ms";
      }
      continue;
    }
    return ::testing::AssertionFailure() << "send failed after " << sent << " bytes: " << std::strerror(errno);
  }
  return ::testing::AssertionSuccess();
}

WireClient::ReadStatus WireClient::read(OwnedFrame& frame, std::chrono::milliseconds limit, bool keep_pings) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    protocol::Frame next;
    protocol::DecodeEvent event = decoder_.next(next);
    if (event == protocol::DecodeEvent::kFrame) {
      if (!keep_pings && next.type == static_cast<std::uint8_t>(protocol::MsgType::kPing)) {
        std::string pong;
        protocol::encode(pong, next.request_id, protocol::PongMsg{});
        (void)sendRaw(pong);
        continue;
      }
      frame.type = next.type;
      frame.request_id = next.request_id;
      frame.body.assign(next.body);
      return ReadStatus::kFrame;
    }
    if (event != protocol::DecodeEvent::kNeedMore) return ReadStatus::kClosed;  // garbage from the broker
    if (fd_ < 0) return ReadStatus::kClosed;
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, remainingMs(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return ReadStatus::kTimeout;
    char* area = decoder_.prepare(64 * 1024);
    ssize_t n = ::recv(fd_, area, decoder_.writable(), 0);
    if (n > 0) {
      decoder_.commit(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return ReadStatus::kClosed;  // EOF or ECONNRESET
  }
}

::testing::AssertionResult WireClient::expect(protocol::MsgType type, OwnedFrame& frame,
                                              std::optional<std::uint32_t> request_id,
                                              std::chrono::milliseconds limit) {
  ReadStatus got = read(frame, limit);
  const char* wanted = protocol::msgTypeName(static_cast<std::uint8_t>(type));
  if (got == ReadStatus::kTimeout) return ::testing::AssertionFailure() << "no " << wanted << " within " << limit.count() << " ms";
  if (got == ReadStatus::kClosed) return ::testing::AssertionFailure() << "connection closed while waiting for " << wanted;
  if (frame.msgType() != type) {
    auto failure = ::testing::AssertionFailure() << "expected " << wanted << ", got " << frame.typeName();
    if (frame.msgType() == protocol::MsgType::kError) {
      if (auto error = protocol::decode<protocol::ErrorMsg>(frame.body)) {
        failure << " (" << error->code << ": " << error->message << ")";
      }
    }
    return failure;
  }
  if (request_id && frame.request_id != *request_id) {
    return ::testing::AssertionFailure() << wanted << " carries request_id " << frame.request_id << ", expected "
                                         << *request_id;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult WireClient::expectError(const std::string& code, std::uint32_t request_id,
                                                   std::chrono::milliseconds limit) {
  OwnedFrame frame;
  if (auto got = expect(protocol::MsgType::kError, frame, request_id, limit); !got) return got;
  auto error = protocol::decode<protocol::ErrorMsg>(frame.body);
  if (!error) return ::testing::AssertionFailure() << "malformed ERROR body: " << error.status().toString();
  if (error->code != code) {
    return ::testing::AssertionFailure() << "expected ERROR " << code << ", got " << error->code << ": "
                                         << error->message;
  }
  if (error->message.empty()) return ::testing::AssertionFailure() << "ERROR " << code << " has an empty message";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult WireClient::expectClosed(std::chrono::milliseconds limit) {
  OwnedFrame frame;
  ReadStatus got = read(frame, limit);
  if (got == ReadStatus::kClosed) return ::testing::AssertionSuccess();
  if (got == ReadStatus::kTimeout) {
    return ::testing::AssertionFailure() << "the connection stayed open for " << limit.count() << " ms";
  }
  return ::testing::AssertionFailure() << "expected the connection to close, got " << frame.typeName();
}

::testing::AssertionResult WireClient::readRawUntilClosed(std::string& bytes, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (fd_ >= 0) {
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, remainingMs(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      return ::testing::AssertionFailure() << "the connection stayed open for " << limit.count() << " ms ("
                                           << bytes.size() << " bytes read)";
    }
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      bytes.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return ::testing::AssertionSuccess();  // EOF or ECONNRESET
  }
  return ::testing::AssertionFailure() << "not connected";
}

::testing::AssertionResult WireClient::expectNothing(std::chrono::milliseconds quiet) {
  OwnedFrame frame;
  ReadStatus got = read(frame, quiet);
  if (got == ReadStatus::kTimeout) return ::testing::AssertionSuccess();
  if (got == ReadStatus::kClosed) return ::testing::AssertionFailure() << "the connection closed";
  return ::testing::AssertionFailure() << "unexpected " << frame.typeName() << " (request_id " << frame.request_id
                                       << ")";
}

::testing::AssertionResult WireClient::hello(protocol::Role role, const std::string& name) {
  protocol::HelloMsg hello;
  hello.role = static_cast<std::uint8_t>(role);
  hello.name = name;
  if (auto sent = send(1, hello); !sent) return sent;
  OwnedFrame frame;
  if (auto got = expect(protocol::MsgType::kWelcome, frame, 1u); !got) return got;
  auto welcome = protocol::decode<protocol::WelcomeMsg>(frame.body);
  if (!welcome) return ::testing::AssertionFailure() << "malformed WELCOME: " << welcome.status().toString();
  if (welcome->version != protocol::kVersion) {
    return ::testing::AssertionFailure() << "WELCOME chose version " << welcome->version;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult WireClient::pingPong(std::uint32_t request_id) {
  if (auto sent = send(request_id, protocol::PingMsg{}); !sent) return sent;
  OwnedFrame frame;
  return expect(protocol::MsgType::kPong, frame, request_id);
}

}  // namespace corvee::testing
