// Partitions across a real network (issue 13, "Across a real network, with faults"): the broker
// and its workers in separate network namespaces joined by veth pairs, the broker bound to its
// namespace's address; a link is cut mid-job with `ip link set DEV down` and healed. The job is
// requeued once the broker's peer timeout passes and finishes on another worker; the cut-off
// worker reconnects; its late result for the old attempt is refused as stale; the job completes
// exactly once.
//
// Namespaces need root (CAP_NET_ADMIN) and iproute2's `ip`; without them each test skips with the
// reason. Names are made of this process's pid, so parallel runs do not meet, and everything is
// removed at the end, also when a test fails (Topology's destructor). The kernel here has no
// netem: link cuts only.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "corvee/client.h"
#include "corvee/errors.h"
#include "support/process.h"
#include "support/test_client.h"
#include "support/wire_client.h"

#ifndef CORVEE_RECORDING_WORKER_BIN
#define CORVEE_RECORDING_WORKER_BIN "corvee_recording_worker"
#endif

namespace corvee::testing {
namespace {

using nlohmann::json;

std::string ipBinary() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return {};
}

// Heartbeats every 100 ms, a peer silent for 1000 ms is lost: quick to notice a cut link.
const std::vector<std::string> kBrokerFlags = {"--heartbeat-ms", "100", "--peer-timeout-ms", "1000"};

// Three namespaces: the broker's and one for each worker (a and b), each worker's joined to the
// broker's by its own veth pair, and the host (where the test and its client run) joined by a
// fourth. The broker listens on 10.231.K.1, an address on its namespace's loopback, which every
// other namespace routes to over its link. K comes from the pid; the host's routing table is the
// only thing the namespaces share, so a K already routed there is skipped.
class Topology {
 public:
  Topology() : ip_(ipBinary()), tag_(std::to_string(::getpid())) {}
  ~Topology() { tearDown(); }
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  // Empty when namespaces can be made here; else why not (the test skips with it).
  std::string unavailable() const {
    if (ip_.empty()) return "iproute2's `ip` is not installed (scripts/install-deps installs it)";
    if (::geteuid() != 0) return "network namespaces need root (CAP_NET_ADMIN); run as root to test partitions";
    return {};
  }

  // Makes everything; on failure says which command failed (and the test skips when that is
  // because namespaces cannot be made at all, fails otherwise).
  ::testing::AssertionResult setUp() {
    for (int k = 1 + ::getpid() % 250, tries = 0; tries < 250; ++tries, k = 1 + k % 250) {
      CommandResult route = runCommand({ip_, "route", "show", "10.231." + std::to_string(k) + ".1/32"}, {}, 10s);
      if (route.exit_code == 0 && route.out.empty()) {
        k_ = std::to_string(k);
        break;
      }
    }
    if (k_.empty()) return ::testing::AssertionFailure() << "every 10.231.K.1 is routed on this host already";
    broker_ns_ = "cvs" + tag_;  // s: the server; "cva"/"cvb" + tag are the workers'
    for (const std::string& ns : {broker_ns_, ns("a"), ns("b")}) {
      if (auto made = run({"netns", "add", ns}); !made) return made;
      made_ns_.push_back(ns);
      if (auto up = run({"-n", ns, "link", "set", "lo", "up"}); !up) return up;
    }
    if (auto addr = run({"-n", broker_ns_, "addr", "add", brokerIp() + "/32", "dev", "lo"}); !addr) return addr;
    // Worker links: 10.233.K.0/30 for a, 10.234.K.0/30 for b; the broker's end is .1.
    for (const auto& [name, net] : {std::pair<std::string, std::string>{"a", "10.233."}, {"b", "10.234."}}) {
      std::string broker_end = brokerDev(name);
      std::string worker_end = "cvw" + name + tag_;
      std::string subnet = net + k_ + ".";
      for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
               {"link", "add", broker_end, "type", "veth", "peer", "name", worker_end},
               {"link", "set", broker_end, "netns", broker_ns_},
               {"link", "set", worker_end, "netns", ns(name)},
               {"-n", broker_ns_, "addr", "add", subnet + "1/30", "dev", broker_end},
               {"-n", ns(name), "addr", "add", subnet + "2/30", "dev", worker_end},
               {"-n", broker_ns_, "link", "set", broker_end, "up"},
               {"-n", ns(name), "link", "set", worker_end, "up"},
               {"-n", ns(name), "route", "add", brokerIp() + "/32", "via", subnet + "1"}}) {
        if (auto done = run(cmd); !done) return done;
      }
    }
    // The host's link: 10.232.K.0/30, the host's end .2.
    host_dev_ = "cvh" + tag_;
    std::string host_peer = "cvhb" + tag_;
    std::string subnet = "10.232." + k_ + ".";
    for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
             {"link", "add", host_dev_, "type", "veth", "peer", "name", host_peer},
             {"link", "set", host_peer, "netns", broker_ns_},
             {"addr", "add", subnet + "2/30", "dev", host_dev_},
             {"-n", broker_ns_, "addr", "add", subnet + "1/30", "dev", host_peer},
             {"link", "set", host_dev_, "up"},
             {"-n", broker_ns_, "link", "set", host_peer, "up"},
             {"route", "add", brokerIp() + "/32", "via", subnet + "1"}}) {
      if (auto done = run(cmd); !done) return done;
    }
    return ::testing::AssertionSuccess();
  }

  // Deleting a namespace deletes the veth ends in it, and with them their peers; the host's device
  // is deleted by name in case its peer never got moved. Errors are ignored: whatever exists goes.
  void tearDown() {
    if (!host_dev_.empty()) runCommand({ip_, "link", "del", host_dev_}, {}, 10s);
    for (const std::string& ns : made_ns_) runCommand({ip_, "netns", "del", ns}, {}, 10s);
    made_ns_.clear();
    host_dev_.clear();
  }

  // Cuts (or heals) worker `name`'s link at the broker's end: nothing passes either way.
  ::testing::AssertionResult setLink(const std::string& name, bool up) {
    return run({"-n", broker_ns_, "link", "set", brokerDev(name), up ? "up" : "down"});
  }

  std::string ns(const std::string& name) const { return "cv" + name + tag_; }
  const std::string& brokerNs() const { return broker_ns_; }
  std::string brokerIp() const { return "10.231." + k_ + ".1"; }
  // Runs argv inside namespace `ns` (ip execs it: the child's pid is the program's).
  std::vector<std::string> inNs(const std::string& ns, std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {ip_, "netns", "exec", ns});
    return argv;
  }
  std::vector<std::string> prefix(const std::string& ns) const { return {ip_, "netns", "exec", ns}; }

 private:
  std::string brokerDev(const std::string& name) const { return "cvl" + name + tag_; }
  ::testing::AssertionResult run(const std::vector<std::string>& args) {
    std::vector<std::string> argv{ip_};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult result = runCommand(argv, {}, 20s);
    if (result.exit_code == 0) return ::testing::AssertionSuccess();
    std::string line;
    for (const std::string& word : argv) line += word + " ";
    return ::testing::AssertionFailure() << line << ": " << result.describe();
  }

  std::string ip_;
  std::string tag_;
  std::string k_;
  std::string broker_ns_;
  std::string host_dev_;
  std::vector<std::string> made_ns_;
};

// Sets up `topology`, or skips the test (GTEST_SKIP) when namespaces cannot be made here.
#define SET_UP_TOPOLOGY_OR_SKIP(topology)                                                            \
  do {                                                                                               \
    if (std::string why = (topology).unavailable(); !why.empty()) GTEST_SKIP() << why;               \
    if (auto made = (topology).setUp(); !made) {                                                     \
      if (std::string(made.message()).find("netns add") != std::string::npos) {                      \
        GTEST_SKIP() << "cannot make network namespaces here: " << made.message();                   \
      }                                                                                              \
      FAIL() << made.message();                                                                      \
    }                                                                                                \
  } while (0)

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

json statsOf(Client& client) {
  Result<std::string> text = client.stats();
  EXPECT_TRUE(text) << text.status().toString();
  json doc = text ? json::parse(*text, nullptr, false) : json();
  return doc.is_object() ? doc : json::object();
}

bool workerNamed(Client& client, const std::string& name) {
  json doc = statsOf(client);
  if (!doc.contains("workers")) return false;
  for (const json& worker : doc["workers"]) {
    if (worker.value("name", "") == name) return true;
  }
  return false;
}

// A recording worker (tests/support/recording_worker.cc) in namespace `ns`.
::testing::AssertionResult startWorker(ChildProcess& process, const Topology& topology, const std::string& ns,
                                       const std::string& endpoint, const std::string& name,
                                       const std::string& record) {
  return process.start(topology.inNs(ns, {CORVEE_RECORDING_WORKER_BIN, "--connect", endpoint, "--name", name,
                                          "--slots", "1", "--record", record, "--log-level", "debug"}));
}

// The real worker: a cut-off worker's late result never counts. The worker notices the broker's
// silence itself, and drops the result of an attempt from a lost session instead of sending it.
TEST(Partition, CutWorkersJobFinishesElsewhereAndItsLateResultIsDropped) {
  Topology topology;
  SET_UP_TOPOLOGY_OR_SKIP(topology);
  BrokerProcess broker;
  broker.setCommandPrefix(topology.prefix(topology.brokerNs()));
  ASSERT_TRUE(broker.start(kBrokerFlags, "tcp://" + topology.brokerIp() + ":0"));
  ASSERT_NE(broker.endpoint().find(topology.brokerIp()), std::string::npos) << broker.endpoint();

  TempDir records;
  ChildProcess worker_a;
  ASSERT_TRUE(startWorker(worker_a, topology, topology.ns("a"), broker.endpoint(), "worker-a", records.file("a.log")));
  auto client = connectTestClient(broker.endpoint());
  ASSERT_TRUE(client);
  ASSERT_TRUE(eventually([&] { return workerNamed(*client, "worker-a"); })) << worker_a.describe();

  // A job that runs on a until told to stop (the release file), whatever happens to a's link.
  auto deliveries = std::make_shared<std::atomic<int>>(0);
  JobHandle job = client->submit("soak", "60000 0 hold partition");
  job.onComplete([deliveries](const JobOutcome&) { deliveries->fetch_add(1); });
  Result<JobId> id = job.id();
  ASSERT_TRUE(id) << id.status().toString();
  ASSERT_TRUE(eventually([&] { return readAll(records.file("a.log")).find("S " + std::to_string(*id) + " 1 ") != std::string::npos; }))
      << "the job never started on worker-a: " << worker_a.describe();

  // Worker b joins only now, so the job could only have gone to a.
  ChildProcess worker_b;
  ASSERT_TRUE(startWorker(worker_b, topology, topology.ns("b"), broker.endpoint(), "worker-b", records.file("b.log")));
  ASSERT_TRUE(eventually([&] { return workerNamed(*client, "worker-b"); })) << worker_b.describe();
  // b's attempt ends as soon as it starts: only a is held.
  { std::ofstream(records.file("b.log.release")) << "go"; }

  ASSERT_TRUE(topology.setLink("a", false));
  // After the peer timeout the broker gives a up and the job runs again, on b.
  Result<JobOutcome> outcome = job.wait(std::chrono::seconds(60));
  ASSERT_TRUE(outcome) << outcome.status().toString();
  EXPECT_EQ(outcome->state, JobState::kSucceeded) << outcome->error_code << ": " << outcome->error_message;
  EXPECT_EQ(outcome->attempt, 2u);
  EXPECT_EQ(outcome->result, "partition|worker-b|2") << "the result must be b's";
  EXPECT_FALSE(workerNamed(*client, "worker-a")) << "the broker should have dropped the cut-off worker";

  // Heal: a reconnects by itself, then finishes its attempt 1, now stale.
  ASSERT_TRUE(topology.setLink("a", true));
  ASSERT_TRUE(eventually([&] { return workerNamed(*client, "worker-a"); }, std::chrono::seconds(60)))
      << "worker-a did not reconnect: " << worker_a.describe();
  { std::ofstream(records.file("a.log.release")) << "go"; }
  const std::string a_end = "E " + std::to_string(*id) + " 1 worker-a ";
  ASSERT_TRUE(eventually([&] { return readAll(records.file("a.log")).find(a_end) != std::string::npos; }))
      << "worker-a's handler never returned";
  const std::string dropped = "dropping the result of job " + std::to_string(*id) + " attempt 1";
  ASSERT_TRUE(eventually([&] { return worker_a.err().find(dropped) != std::string::npos; }))
      << "worker-a should have refused its own stale result: " << worker_a.describe();
  EXPECT_NE(readAll(records.file("a.log")).find(a_end), std::string::npos);

  // Exactly once: one delivery, one success, and the record says b ran it after a was lost.
  Result<JobOutcome> fresh = client->submit("soak", "0 0 poll after").wait(std::chrono::seconds(30));
  ASSERT_TRUE(fresh) << fresh.status().toString();  // a round trip after a's late result
  EXPECT_TRUE(fresh->succeeded());
  EXPECT_EQ(deliveries->load(), 1);
  Result<JobInfo> info = client->status(*id);
  ASSERT_TRUE(info) << info.status().toString();
  EXPECT_EQ(info->state, JobState::kSucceeded);
  EXPECT_EQ(info->worker, "worker-b");
  EXPECT_EQ(info->attempt, 2u);
  EXPECT_EQ(info->result, "partition|worker-b|2");
  ASSERT_EQ(info->failures.size(), 1u);
  EXPECT_EQ(info->failures[0].attempt, 1u);
  EXPECT_EQ(info->failures[0].worker, "worker-a");
  EXPECT_EQ(info->failures[0].error_code, errc::kWorkerLost);
  Result<JobExplanation> explained = client->explain(*id);
  ASSERT_TRUE(explained) << explained.status().toString();
  int succeeded_events = 0;
  bool requeued_for_loss = false;
  for (const JobEvent& event : explained->events) {
    succeeded_events += event.kind == "succeeded" ? 1 : 0;
    requeued_for_loss |= event.kind == "requeued" && event.detail == "worker_lost";
  }
  EXPECT_EQ(succeeded_events, 1);
  EXPECT_TRUE(requeued_for_loss);
  json doc = statsOf(*client);
  EXPECT_EQ(doc["jobs"]["succeeded"], 2) << doc.dump();
  EXPECT_EQ(doc["jobs"]["dead"], 0) << doc.dump();
}

// The broker's own fence: a cut-off worker that does send its late result, over the connection it
// makes after the link heals, gets stale_attempt, and the job keeps the result it has. The worker
// here speaks the wire protocol by hand, from a thread that entered worker a's namespace.
TEST(Partition, LateResultSentAfterTheHealIsRefusedAsStale) {
  Topology topology;
  SET_UP_TOPOLOGY_OR_SKIP(topology);
  BrokerProcess broker;
  broker.setCommandPrefix(topology.prefix(topology.brokerNs()));
  ASSERT_TRUE(broker.start(kBrokerFlags, "tcp://" + topology.brokerIp() + ":0"));
  auto client = connectTestClient(broker.endpoint());
  ASSERT_TRUE(client);

  // Worker a, by hand. The main thread moves it on through `step`; it reports through `state`.
  std::atomic<int> step{0};   // 1: the link is cut, stop answering; 2: healed, reconnect and report
  std::atomic<int> state{0};  // 1: holds the job; 2: its first connection is gone; 3: done
  std::string failure;        // set by the thread, read after join
  protocol::AssignMsg held{};
  std::string stale_reply;
  std::thread a([&] {
    auto fail = [&](const std::string& why) {
      failure = why;
      state.store(3);
    };
    int ns_fd = ::open(("/run/netns/" + topology.ns("a")).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0 || ::setns(ns_fd, CLONE_NEWNET) != 0) return fail("cannot enter worker a's namespace");
    ::close(ns_fd);
    WireClient first;
    if (auto ok = first.connect(topology.brokerIp(), broker.port()); !ok) return fail(ok.message());
    if (auto ok = first.hello(protocol::Role::kWorker, "wire-a"); !ok) return fail(ok.message());
    protocol::RegisterMsg reg;
    reg.slots = 1;
    reg.tasks = {"soak"};
    if (auto ok = first.send(2, reg); !ok) return fail(ok.message());
    OwnedFrame frame;
    if (auto ok = first.expect(protocol::MsgType::kOk, frame, 2u); !ok) return fail(ok.message());
    if (auto ok = first.expect(protocol::MsgType::kAssign, frame, std::nullopt, 30s); !ok) return fail(ok.message());
    std::string assign_body = frame.body;
    auto assign = protocol::decode<protocol::AssignMsg>(assign_body);
    if (!assign) return fail("bad ASSIGN: " + assign.status().toString());
    held.job_id = assign->job_id;
    held.attempt = assign->attempt;
    state.store(1);
    // Holding the job, answering heartbeats, until the link is cut (then nothing can pass).
    for (int i = 0; i < 3000 && step.load() == 0; ++i) {
      if (first.read(frame, 20ms) == WireClient::ReadStatus::kClosed) return fail("the broker closed a's connection");
    }
    for (int i = 0; i < 3000 && step.load() < 2; ++i) std::this_thread::sleep_for(20ms);
    // Healed: the old connection is dead at the broker's end (it gave a up); a learns so when it
    // writes, and reconnects.
    first.send(3, protocol::PingMsg{});
    bool closed = false;
    for (int i = 0; i < 500 && !closed; ++i) closed = first.read(frame, 20ms) == WireClient::ReadStatus::kClosed;
    if (!closed) return fail("a's first connection survived the broker giving it up");
    state.store(2);
    WireClient second;
    if (auto ok = second.connect(topology.brokerIp(), broker.port()); !ok) return fail(ok.message());
    if (auto ok = second.hello(protocol::Role::kWorker, "wire-a"); !ok) return fail(ok.message());
    if (auto ok = second.send(2, reg); !ok) return fail(ok.message());
    if (auto ok = second.expect(protocol::MsgType::kOk, frame, 2u); !ok) return fail(ok.message());
    std::string late = "late result from a";
    if (auto ok = second.send(7, protocol::CompleteMsg{held.job_id, held.attempt, {late}}); !ok) return fail(ok.message());
    if (auto ok = second.expect(protocol::MsgType::kError, frame, 7u); !ok) return fail(ok.message());
    auto error = protocol::decode<protocol::ErrorMsg>(frame.body);
    if (!error) return fail("bad ERROR");
    stale_reply = std::string(error->code) + ": " + std::string(error->message);
    state.store(3);
  });
  struct Joiner {
    std::thread& thread;
    std::atomic<int>& step;
    ~Joiner() {
      step.store(2);
      if (thread.joinable()) thread.join();
    }
  } joiner{a, step};

  auto deliveries = std::make_shared<std::atomic<int>>(0);
  JobHandle job = client->submit("soak", "0 0 poll wire");
  job.onComplete([deliveries](const JobOutcome&) { deliveries->fetch_add(1); });
  Result<JobId> id = job.id();
  ASSERT_TRUE(id) << id.status().toString();
  ASSERT_TRUE(eventually([&] { return state.load() >= 1; }, 30s)) << "a never got the job";
  ASSERT_EQ(state.load(), 1) << failure;
  ASSERT_EQ(held.job_id, *id);

  TempDir records;
  ChildProcess worker_b;
  ASSERT_TRUE(startWorker(worker_b, topology, topology.ns("b"), broker.endpoint(), "worker-b", records.file("b.log")));
  ASSERT_TRUE(topology.setLink("a", false));
  step.store(1);
  Result<JobOutcome> outcome = job.wait(std::chrono::seconds(60));
  ASSERT_TRUE(outcome) << outcome.status().toString();
  EXPECT_EQ(outcome->state, JobState::kSucceeded) << outcome->error_code;
  EXPECT_EQ(outcome->result, "wire|worker-b|2");
  json before = statsOf(*client);
  EXPECT_EQ(before["jobs"]["stale_refused"], 0) << before.dump();

  ASSERT_TRUE(topology.setLink("a", true));
  step.store(2);
  ASSERT_TRUE(eventually([&] { return state.load() == 3; }, 60s)) << "a never sent its late result";
  a.join();
  ASSERT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(stale_reply.rfind(std::string(errc::kStaleAttempt) + ":", 0), 0u) << stale_reply;

  // The broker counted the refusal, logged it, and the job still has b's result, delivered once.
  json after = statsOf(*client);
  EXPECT_EQ(after["jobs"]["stale_refused"], 1) << after.dump();
  EXPECT_EQ(after["jobs"]["succeeded"], 1) << after.dump();
  EXPECT_NE(broker.process().err().find("refused COMPLETE for job " + std::to_string(*id) + " attempt 1"),
            std::string::npos)
      << broker.process().describe();
  Result<JobInfo> info = client->status(*id);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, JobState::kSucceeded);
  EXPECT_EQ(info->result, "wire|worker-b|2");
  EXPECT_EQ(deliveries->load(), 1);
}

}  // namespace
}  // namespace corvee::testing
