#include "raw_probe.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "corvee/job.h"
#include "protocol/endpoint.h"
#include "protocol/frame_decoder.h"
#include "protocol/messages.h"

namespace corvee::bench {

namespace {

using Clock = std::chrono::steady_clock;
using protocol::Frame;
using protocol::MsgType;

constexpr const char* kTask = "noop";
constexpr std::size_t kReadChunk = 64 * 1024;

// One blocking TCP connection to the broker, speaking frames.
class RawPeer {
 public:
  RawPeer() : decoder_(1u << 30) {}
  ~RawPeer() {
    if (fd_ >= 0) close(fd_);
  }
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  // Connects and completes HELLO/WELCOME.
  bool open(const std::string& endpoint_text, protocol::Role role, std::string& error) {
    auto endpoint = protocol::parseEndpoint(endpoint_text);
    if (!endpoint) {
      error = endpoint.status().toString();
      return false;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(endpoint->host.c_str(), std::to_string(endpoint->port).c_str(), &hints, &found) != 0 || !found) {
      error = "cannot resolve " + endpoint->host;
      return false;
    }
    fd_ = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool connected = fd_ >= 0 && connect(fd_, found->ai_addr, found->ai_addrlen) == 0;
    freeaddrinfo(found);
    if (!connected) {
      error = std::string("connect: ") + std::strerror(errno);
      return false;
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval limit{10, 0};  // no write may block for ever
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    protocol::HelloMsg hello;
    hello.role = static_cast<std::uint8_t>(role);
    hello.name = role == protocol::Role::kWorker ? "bench-raw-worker" : "bench-raw-client";
    std::string out;
    protocol::encode(out, 0, hello);
    if (!send(out, error)) return false;
    Frame frame;
    if (!next(frame, 10000, error)) return false;
    if (frame.type != static_cast<std::uint8_t>(MsgType::kWelcome)) {
      error = std::string("expected WELCOME, got ") + protocol::msgTypeName(frame.type);
      return false;
    }
    return true;
  }

  // Writes all of `bytes` and clears it.
  bool send(std::string& bytes, std::string& error) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = std::string("send: ") + (n < 0 ? std::strerror(errno) : "closed");
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    bytes.clear();
    return true;
  }

  // The next frame, reading as needed for up to `timeout_ms`. PINGs are answered and skipped.
  // The frame's body is valid until the next call.
  bool next(Frame& frame, int timeout_ms, std::string& error) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      switch (decoder_.next(frame)) {
        case protocol::DecodeEvent::kFrame:
          if (frame.type == static_cast<std::uint8_t>(MsgType::kPing)) {
            std::string pong;
            protocol::encode(pong, frame.request_id, protocol::PongMsg{});
            if (!send(pong, error)) return false;
            continue;
          }
          return true;
        case protocol::DecodeEvent::kNeedMore:
          break;
        default:
          error = "malformed stream from the broker";
          return false;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 || !wait(static_cast<int>(left))) {
        error = "no frame from the broker within " + std::to_string(timeout_ms) + " ms";
        return false;
      }
      if (!readSome(error)) return false;
    }
  }

  // Reads what is available (at least one byte; blocks until then).
  bool readSome(std::string& error) {
    char* area = decoder_.prepare(kReadChunk);
    ssize_t n = ::recv(fd_, area, decoder_.writable(), 0);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) {
      error = std::string("recv: ") + (n < 0 ? std::strerror(errno) : "the broker closed the connection");
      return false;
    }
    decoder_.commit(static_cast<std::size_t>(n));
    return true;
  }

  int fd() const { return fd_; }

 private:
  bool wait(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, timeout_ms) > 0;
  }

  int fd_ = -1;
  protocol::FrameDecoder decoder_;
};

bool expect(const Frame& frame, MsgType type, std::string& error) {
  if (frame.type == static_cast<std::uint8_t>(type)) return true;
  if (frame.type == static_cast<std::uint8_t>(MsgType::kError)) {
    auto msg = protocol::decode<protocol::ErrorMsg>(frame.body);
    error = msg ? "ERROR " + std::string(msg->code) + ": " + std::string(msg->message) : "malformed ERROR";
  } else {
    error = std::string("expected ") + protocol::msgTypeName(static_cast<std::uint8_t>(type)) + ", got " +
            protocol::msgTypeName(frame.type);
  }
  return false;
}

// A worker connection registered for kTask with `slots` slots.
bool openWorker(RawPeer& worker, const std::string& endpoint, std::uint32_t slots, std::string& error) {
  if (!worker.open(endpoint, protocol::Role::kWorker, error)) return false;
  protocol::RegisterMsg reg;
  reg.slots = slots;
  reg.tasks = {kTask};
  std::string out;
  protocol::encode(out, 1, reg);
  if (!worker.send(out, error)) return false;
  Frame frame;
  return worker.next(frame, 10000, error) && expect(frame, MsgType::kOk, error);
}

void encodeSubmit(std::string& out, std::uint32_t request_id, const std::string& payload) {
  protocol::SubmitMsg submit;
  submit.task = kTask;
  submit.payload.data = payload;
  protocol::encode(out, request_id, submit);
}

}  // namespace

bool rawLatency(const std::string& endpoint, std::size_t jobs, std::size_t warmup, const std::string& payload,
                std::vector<double>& samples_us, std::string& error) {
  RawPeer client;
  RawPeer worker;
  if (!client.open(endpoint, protocol::Role::kClient, error)) return false;
  if (!openWorker(worker, endpoint, 1, error)) return false;
  std::string out;
  Frame frame;
  for (std::size_t i = 0; i < warmup + jobs; ++i) {
    auto t0 = Clock::now();
    encodeSubmit(out, static_cast<std::uint32_t>(i + 1), payload);
    if (!client.send(out, error)) return false;
    if (!worker.next(frame, 10000, error) || !expect(frame, MsgType::kAssign, error)) return false;
    auto assign = protocol::decode<protocol::AssignMsg>(frame.body);
    if (!assign) {
      error = assign.status().toString();
      return false;
    }
    protocol::encode(out, 0, protocol::CompleteMsg{assign->job_id, assign->attempt, {}});
    if (!worker.send(out, error)) return false;
    if (!client.next(frame, 10000, error) || !expect(frame, MsgType::kSubmitted, error)) return false;
    if (!client.next(frame, 10000, error) || !expect(frame, MsgType::kResult, error)) return false;
    auto t1 = Clock::now();
    if (i >= warmup) samples_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return true;
}

bool rawThroughput(const std::string& endpoint, std::size_t jobs, const std::string& payload, std::uint32_t slots,
                   std::size_t window, int timeout_s, RawThroughput& result, std::string& error) {
  RawPeer client;
  RawPeer worker;
  if (!client.open(endpoint, protocol::Role::kClient, error)) return false;
  if (!openWorker(worker, endpoint, slots, error)) return false;
  constexpr std::size_t kBatch = 256;  // SUBMIT frames per write
  std::size_t submitted = 0;
  std::size_t finished = 0;
  std::string client_out;
  std::string worker_out;
  Frame frame;
  auto start = Clock::now();
  auto deadline = start + std::chrono::seconds(timeout_s);
  while (finished < jobs) {
    if (Clock::now() > deadline) {
      error = "only " + std::to_string(finished) + " of " + std::to_string(jobs) + " results within " +
              std::to_string(timeout_s) + " s";
      return false;
    }
    // Keep the window full.
    std::size_t room = window - (submitted - finished);
    for (std::size_t k = 0; k < std::min({room, kBatch, jobs - submitted}); ++k) {
      ++submitted;
      encodeSubmit(client_out, static_cast<std::uint32_t>(submitted), payload);
    }
    if (!client_out.empty() && !client.send(client_out, error)) return false;
    // Wait for either socket, then take everything that is there.
    pollfd fds[2] = {{worker.fd(), POLLIN, 0}, {client.fd(), POLLIN, 0}};
    int ready = poll(fds, 2, 1000);
    if (ready < 0 && errno != EINTR) {
      error = std::string("poll: ") + std::strerror(errno);
      return false;
    }
    if (ready <= 0) continue;
    if (fds[0].revents != 0) {
      if (!worker.readSome(error)) return false;
      for (;;) {
        std::string ignored;  // next() with no wait fails once the buffered frames are used up
        if (!worker.next(frame, 0, ignored)) break;
        if (frame.type != static_cast<std::uint8_t>(MsgType::kAssign)) {
          if (!expect(frame, MsgType::kOk, error)) return false;
          continue;
        }
        auto assign = protocol::decode<protocol::AssignMsg>(frame.body);
        if (!assign) {
          error = assign.status().toString();
          return false;
        }
        protocol::encode(worker_out, 0, protocol::CompleteMsg{assign->job_id, assign->attempt, {}});
      }
      if (!worker_out.empty() && !worker.send(worker_out, error)) return false;
    }
    if (fds[1].revents != 0) {
      if (!client.readSome(error)) return false;
      for (;;) {
        std::string ignored;
        if (!client.next(frame, 0, ignored)) break;
        if (frame.type == static_cast<std::uint8_t>(MsgType::kResult)) {
          auto msg = protocol::decode<protocol::ResultMsg>(frame.body);
          if (!msg || msg->state != static_cast<std::uint8_t>(corvee::JobState::kSucceeded)) {
            error = "a job did not succeed";
            return false;
          }
          ++finished;
        } else if (!expect(frame, MsgType::kSubmitted, error)) {
          return false;
        }
      }
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.jobs_per_second = static_cast<double>(jobs) / result.seconds;
  return true;
}

}  // namespace corvee::bench
