// beanstalkd driver: its text protocol spoken directly over blocking sockets (protocol.txt in the
// beanstalkd package). One producer connection plus --consumers consumer connections, one thread
// each, in this one process, like corvee_bench runs Corvee's client and workers.
//
//  W1  The producer pipelines `put`s (500 to 1,000 unanswered at a time) and reads the INSERTED
//      replies in order. Each consumer `reserve`s a job, then sends `delete` and its next
//      `reserve` in one write; a job counts as completed when its DELETED arrives. beanstalkd
//      hands a connection one job per reserve: it has no prefetch knob.
//  W2  Request/reply through beanstalkd itself: the submitter puts a job that names its own reply
//      tube, and reserves from that tube; the consumer puts a reply there, then deletes the
//      request. One trip = put -> consumer reserves -> reply put -> submitter's reserve returns.
//  W3  The producer fills --jobs jobs into a tube nobody watches.
//
// Memory vs durable is the server's flags (`-b DIR -f 0` for a binlog fsynced on every write); the
// client does the same in both.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "driver_common.h"
#include "tcp_stream.h"

namespace {

constexpr const char* kSystem = "beanstalkd";
constexpr const char* kStop = "STOP";      // a poison pill: the consumer that reserves it exits
constexpr const char* kReplyTag = "R:";    // W2 bodies start with R:<reply tube>|
constexpr long kBatch = 500;               // puts per write; at most 2 batches unanswered

using peers::Options;
using peers::TcpStream;

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Sends a command and checks the one-line reply starts with `expect`.
void command(TcpStream& c, const std::string& cmd, const char* expect) {
  c.write_all(cmd);
  std::string line = c.read_line();
  if (!starts_with(line, expect)) throw std::runtime_error("'" + cmd.substr(0, cmd.size() - 2) + "' got '" + line + "'");
}

std::string put_command(const std::string& body) {
  // priority 1024, no delay, TTR 60 s: a consumer has a minute before the job is given away again.
  return "put 1024 0 60 " + std::to_string(body.size()) + "\r\n" + body + "\r\n";
}

// Reads "RESERVED <id> <bytes>" and the body; returns the id and fills `body`.
std::string read_reserved(TcpStream& c, std::string& body) {
  std::string line = c.read_line();
  unsigned long long id = 0;
  std::size_t bytes = 0;
  if (std::sscanf(line.c_str(), "RESERVED %llu %zu", &id, &bytes) != 2) throw std::runtime_error("reserve got '" + line + "'");
  body = c.read_exact(bytes + 2);
  body.resize(bytes);
  return std::to_string(id);
}

// Puts `n` copies of `body` into the connection's current tube, pipelined, and returns when every
// INSERTED has come back.
void put_pipelined(TcpStream& c, long n, const std::string& body) {
  const std::string cmd = put_command(body);
  std::string out;
  long sent = 0, acked = 0;
  while (acked < n) {
    if (sent < n && sent - acked <= kBatch) {
      long k = std::min(kBatch, n - sent);
      out.clear();
      for (long i = 0; i < k; ++i) out += cmd;
      c.write_all(out);
      sent += k;
      continue;
    }
    std::string line = c.read_line();
    if (!starts_with(line, "INSERTED")) throw std::runtime_error("put got '" + line + "'");
    ++acked;
  }
}

// One consumer: reserve, (W2: put the reply), delete, until it reserves a poison pill.
void consume(const Options& o, const std::string& tube, peers::Counter& done, peers::Counter& ready) {
  try {
    TcpStream c(o.host, o.port);
    command(c, "watch " + tube + "\r\n", "WATCHING");
    command(c, "ignore default\r\n", "WATCHING");
    ready.add();
    c.write_all("reserve\r\n");
    std::string used = "default", body, out;
    for (;;) {
      std::string id = read_reserved(c, body);
      if (body == kStop) {
        command(c, "delete " + id + "\r\n", "DELETED");
        return;
      }
      out.clear();
      int replies = 1;  // the DELETED
      if (starts_with(body, kReplyTag)) {
        std::string reply_tube = body.substr(2, body.find('|') - 2);
        if (reply_tube != used) {
          out += "use " + reply_tube + "\r\n";
          used = reply_tube;
          ++replies;
        }
        out += put_command("ok");
        ++replies;
      }
      // The next reserve rides along with the delete: one write, no idle round trip.
      out += "delete " + id + "\r\nreserve\r\n";
      c.write_all(out);
      for (int i = 0; i < replies; ++i) {
        std::string line = c.read_line();
        if (starts_with(line, "USING") || starts_with(line, "INSERTED") || line == "DELETED") continue;
        throw std::runtime_error("consumer got '" + line + "'");
      }
      done.add();
    }
  } catch (const std::exception& e) {
    peers::die(kSystem, std::string("consumer: ") + e.what());
  }
}

// Consumers on `tube`, started and connected before the caller submits anything.
class Consumers {
 public:
  Consumers(const Options& o, const std::string& tube, peers::Counter& done) : o_(o), tube_(tube) {
    ready_.reset(o.consumers);
    for (int i = 0; i < o.consumers; ++i) threads_.emplace_back(consume, std::cref(o), tube, std::ref(done), std::ref(ready_));
    ready_.wait(std::chrono::seconds(30), kSystem);
  }
  ~Consumers() {
    // One poison pill per consumer; each consumer takes exactly one and leaves.
    TcpStream c(o_.host, o_.port);
    command(c, "use " + tube_ + "\r\n", "USING");
    put_pipelined(c, o_.consumers, kStop);
    for (auto& t : threads_) t.join();
  }

 private:
  const Options& o_;
  std::string tube_;
  peers::Counter ready_;
  std::vector<std::thread> threads_;
};

void w1(const Options& o) {
  const std::string body = peers::make_payload(o.payload);
  peers::Counter done;
  peers::run_w1(o, kSystem, [&](long jobs, const std::string& tube) {
    done.reset(jobs);
    Consumers consumers(o, tube, done);
    TcpStream producer(o.host, o.port);
    command(producer, "use " + tube + "\r\n", "USING");
    auto t0 = peers::Clock::now();
    put_pipelined(producer, jobs, body);
    done.wait(std::chrono::seconds(o.timeout_s), kSystem);
    return std::chrono::duration<double>(peers::Clock::now() - t0).count();
  });
}

void w2(const Options& o) {
  const std::string tube = "w2-" + std::to_string(::getpid());
  const std::string reply_tube = "reply-" + std::to_string(::getpid());
  std::string body = kReplyTag + reply_tube + "|";
  if (body.size() < o.payload) body += peers::make_payload(o.payload - body.size());
  peers::Counter done;
  Consumers consumers(o, tube, done);
  TcpStream c(o.host, o.port);
  command(c, "use " + tube + "\r\n", "USING");
  command(c, "watch " + reply_tube + "\r\n", "WATCHING");
  command(c, "ignore default\r\n", "WATCHING");
  const std::string put = put_command(body) + "reserve\r\n";
  std::string pending_delete, reply;
  auto trip = [&] {
    // The previous reply's delete rides in front of this put, so it costs no round trip of its own.
    c.write_all(pending_delete + put);
    if (!pending_delete.empty()) {
      std::string line = c.read_line();
      if (line != "DELETED") throw std::runtime_error("delete got '" + line + "'");
    }
    std::string line = c.read_line();
    if (!starts_with(line, "INSERTED")) throw std::runtime_error("put got '" + line + "'");
    pending_delete = "delete " + read_reserved(c, reply) + "\r\n";
    return peers::Clock::now();
  };
  peers::run_w2(o, kSystem,
                "put into a work tube -> a consumer reserves it, puts a reply into the submitter's reply "
                "tube, deletes the job -> the submitter's pipelined reserve on its reply tube returns",
                trip);
  if (!pending_delete.empty()) command(c, pending_delete, "DELETED");
}

void w3(const Options& o) {
  TcpStream c(o.host, o.port);
  command(c, "use w3-" + std::to_string(::getpid()) + "\r\n", "USING");
  auto t0 = peers::Clock::now();
  put_pipelined(c, o.jobs, peers::make_payload(o.payload));
  peers::report_fill(kSystem, o, std::chrono::duration<double>(peers::Clock::now() - t0).count());
}

}  // namespace

int main(int argc, char** argv) {
  Options o = peers::parse_options(argc, argv, kSystem);
  try {
    if (o.workload == "W1") w1(o);
    else if (o.workload == "W2") w2(o);
    else w3(o);
  } catch (const std::exception& e) {
    peers::die(kSystem, e.what());
  }
  return 0;
}
