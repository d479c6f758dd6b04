// http_bench: the broker's HTTP path (bench/http, docs/benchmarks.md).
//
//   http_bench --port P [--connections C] [--jobs N] [--task T] [--payload BYTES]
//     C keep-alive connections, each submitting and waiting (POST /v1/jobs?wait=) in a loop until N
//     jobs are done in all: jobs/s and the latency of each request (p50, p99).
//   http_bench --port P --hold K [--task T]
//     submits K jobs for task T (which nobody serves) and long-polls each on its own connection
//     (GET /v1/jobs/ID?wait=600000), holding them until stdin closes: the load a W1 run is
//     measured beside.
//
// Plain blocking sockets and a minimal HTTP/1.1 reader (the broker always sends Content-Length),
// so what is measured is the broker, not a client library.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int connectTo(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::fprintf(stderr, "http_bench: cannot connect to 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    std::exit(1);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void sendAll(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      std::fprintf(stderr, "http_bench: send failed: %s\n", std::strerror(errno));
      std::exit(1);
    }
    sent += static_cast<std::size_t>(n);
  }
}

// Reads one response; returns its status and puts its body in `body`.
int readResponse(int fd, std::string& buffer, std::string& body) {
  for (;;) {
    std::size_t end = buffer.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length_at = buffer.find("Content-Length: ");
      if (length_at == std::string::npos || length_at > end) {
        std::fprintf(stderr, "http_bench: a response without Content-Length\n");
        std::exit(1);
      }
      std::size_t length = std::strtoul(buffer.c_str() + length_at + 16, nullptr, 10);
      if (buffer.size() >= end + 4 + length) {
        int status = std::atoi(buffer.c_str() + 9);
        body = buffer.substr(end + 4, length);
        buffer.erase(0, end + 4 + length);
        return status;
      }
    }
    char chunk[16384];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      std::fprintf(stderr, "http_bench: the broker closed the connection\n");
      std::exit(1);
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string request(const std::string& method, const std::string& target, const std::string& body) {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

std::uint64_t idOf(const std::string& body) {
  std::size_t at = body.find("\"id\":");
  return at == std::string::npos ? 0 : std::strtoull(body.c_str() + at + 5, nullptr, 10);
}

int submitAndWait(int port, int connections, long jobs, const std::string& task, std::size_t payload_bytes) {
  const std::string submit =
      request("POST", "/v1/jobs?wait=60000", "{\"task\":\"" + task + "\",\"payload\":\"" + std::string(payload_bytes, 'x') + "\"}");
  std::atomic<long> next{0};
  std::atomic<long> failed{0};
  std::vector<std::vector<double>> samples(static_cast<std::size_t>(connections));
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      int fd = connectTo(port);
      std::string buffer, body;
      while (next.fetch_add(1) < jobs) {
        auto sent = Clock::now();
        sendAll(fd, submit);
        int status = readResponse(fd, buffer, body);
        samples[static_cast<std::size_t>(c)].push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
        if (status != 200) failed.fetch_add(1);
      }
      ::close(fd);
    });
  }
  for (auto& thread : threads) thread.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& s : samples) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  auto percentile = [&](double p) { return all.empty() ? 0.0 : all[static_cast<std::size_t>(p * (all.size() - 1))]; };
  std::printf("RESULT http_submit_wait connections=%d jobs=%ld jobs_per_s=%.0f p50_us=%.1f p99_us=%.1f failed=%ld\n",
              connections, jobs, static_cast<double>(jobs) / seconds, percentile(0.50), percentile(0.99), failed.load());
  return failed.load() == 0 ? 0 : 1;
}

int hold(int port, int count, const std::string& task) {
  int control = connectTo(port);
  std::string buffer, body;
  std::vector<int> polls;
  for (int i = 0; i < count; ++i) {
    sendAll(control, request("POST", "/v1/jobs", "{\"task\":\"" + task + "\"}"));
    if (readResponse(control, buffer, body) != 201) {
      std::fprintf(stderr, "http_bench: submit refused: %s\n", body.c_str());
      return 1;
    }
    int fd = connectTo(port);
    sendAll(fd, request("GET", "/v1/jobs/" + std::to_string(idOf(body)) + "?wait=600000", ""));
    polls.push_back(fd);
  }
  std::printf("holding %d long-polls\n", count);
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  for (int fd : polls) ::close(fd);
  ::close(control);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, connections = 1, holds = 0;
  long jobs = 20000;
  std::string task = "echo";
  std::size_t payload = 100;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "http_bench: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--port") port = std::atoi(value().c_str());
    else if (arg == "--connections") connections = std::atoi(value().c_str());
    else if (arg == "--jobs") jobs = std::atol(value().c_str());
    else if (arg == "--task") task = value();
    else if (arg == "--payload") payload = std::strtoul(value().c_str(), nullptr, 10);
    else if (arg == "--hold") holds = std::atoi(value().c_str());
    else {
      std::fprintf(stderr, "usage: http_bench --port P [--connections C] [--jobs N] [--task T] [--payload BYTES] | "
                           "--port P --hold K [--task T]\n");
      return 2;
    }
  }
  if (port <= 0 || connections <= 0 || jobs <= 0) {
    std::fprintf(stderr, "http_bench: --port is required; --connections and --jobs must be positive\n");
    return 2;
  }
  return holds > 0 ? hold(port, holds, task) : submitAndWait(port, connections, jobs, task, payload);
}
