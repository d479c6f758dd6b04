// The bounded soak test (issue 13, "Under load and faults"): a real SQLite broker, four real
// worker processes (tests/support/recording_worker.cc, whose handlers write down every attempt)
// and three client threads flooding mixed jobs, while workers are killed with kill -9 and
// restarted at random and the broker is killed with kill -9 twice and restarted on its database.
// Then, with every wait bounded and no assertion about speed:
//   - every acknowledged job reached the final state its design calls for (succeeded with its own
//     result; dead with timeout, run_timeout, handler_error, permanent_error or assign_timeout as
//     designed), or dead with worker_lost after the broker's --max-attempts lost attempts, which
//     the kills can cause and which is counted apart;
//   - no job ran on two workers at once unless the earlier attempt had been fenced (the broker
//     recorded it as lost, worker_lost, so its result could no longer count);
//   - each job's outcome reached its client once;
//   - the broker's resident memory came back down from its peak once the flood was over.
// It prints one summary line: jobs, acknowledged, succeeded, dead by reason, kills, duplicates,
// lost. Lost and unexplained duplicates must be 0.
//
// CORVEE_SOAK_SECONDS sets how long the flood lasts (default 90; the whole test takes about a
// minute more), CORVEE_SOAK_SEED replays a run (the seed is printed).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <climits>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "corvee/client.h"
#include "corvee/errors.h"
#include "support/process.h"
#include "support/test_client.h"

#ifndef CORVEE_RECORDING_WORKER_BIN
#define CORVEE_RECORDING_WORKER_BIN "corvee_recording_worker"
#endif

namespace corvee::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWorkers = 4;
constexpr int kSlotsPerWorker = 8;
constexpr int kLanes = 3;
constexpr std::size_t kBatch = 50;           // submissions sent before their ids are read
constexpr std::size_t kWindow = 1500;        // unfinished jobs a lane allows itself
constexpr std::size_t kMaxPerLane = 40'000;  // bounds a lane whatever the machine's speed
constexpr std::uint32_t kMaxAttempts = 5;    // the broker's --max-attempts

long long monoNanos(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::uint64_t envNumber(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  return std::strtoull(text, nullptr, 10);
}

std::string recordingWorkerBinary() {
  const char* from_env = std::getenv("CORVEE_RECORDING_WORKER");
  return from_env != nullptr && *from_env != '\0' ? from_env : CORVEE_RECORDING_WORKER_BIN;
}

// ---------------------------------------------------------------------------------------------
// The mix of jobs, and what each kind must end as.

enum class Kind { kQuick, kSlow, kFlaky, kDelayed, kRunTimeout, kTimeout, kFail, kPermanent, kUnserved };

const char* kindName(Kind kind) {
  switch (kind) {
    case Kind::kQuick: return "quick";
    case Kind::kSlow: return "slow";
    case Kind::kFlaky: return "flaky";
    case Kind::kDelayed: return "delayed";
    case Kind::kRunTimeout: return "run_timeout";
    case Kind::kTimeout: return "timeout";
    case Kind::kFail: return "fail";
    case Kind::kPermanent: return "permanent";
    case Kind::kUnserved: return "unserved";
  }
  return "?";
}

// The error code a job of `kind` is designed to die with; empty: it is designed to succeed.
std::string designedError(Kind kind) {
  switch (kind) {
    case Kind::kRunTimeout: return errc::kRunTimeout;
    case Kind::kTimeout: return errc::kTimeout;
    case Kind::kFail: return errc::kHandlerError;
    case Kind::kPermanent: return errc::kPermanentError;
    case Kind::kUnserved: return errc::kAssignTimeout;
    default: return {};
  }
}

Kind pickKind(std::mt19937_64& random) {
  // Percentages: mostly short jobs that succeed, some of every way to end.
  static constexpr std::pair<Kind, int> kMix[] = {
      {Kind::kQuick, 55},    {Kind::kSlow, 10},  {Kind::kFlaky, 10},     {Kind::kDelayed, 7}, {Kind::kRunTimeout, 5},
      {Kind::kTimeout, 4},   {Kind::kFail, 4},   {Kind::kPermanent, 3},  {Kind::kUnserved, 2}};
  int roll = static_cast<int>(random() % 100);
  for (auto [kind, weight] : kMix) {
    if (roll < weight) return kind;
    roll -= weight;
  }
  return Kind::kQuick;
}

struct Planned {
  std::string task = "soak";
  std::string payload;
  SubmitOptions options;
};

// The recording worker's payload: "MS FAIL_UNTIL MODE TAG PADDING" (tests/support/recording_worker.cc).
Planned plan(Kind kind, const std::string& tag, std::mt19937_64& random) {
  auto between = [&](long long low, long long high) { return low + static_cast<long long>(random() % (high - low + 1)); };
  Planned job;
  job.options.priority = static_cast<std::int32_t>(between(-2, 2));
  job.options.backoff = std::chrono::milliseconds(20);
  job.options.backoff_max = std::chrono::milliseconds(200);
  long long ms = between(0, 20);
  long long fail_until = 0;
  std::string mode = "poll";
  switch (kind) {
    case Kind::kQuick: break;
    case Kind::kSlow: ms = between(200, 2000); break;
    case Kind::kFlaky:
      fail_until = between(1, 2);
      job.options.retries = static_cast<std::uint32_t>(fail_until);
      break;
    case Kind::kDelayed: job.options.delay = std::chrono::milliseconds(between(200, 3000)); break;
    case Kind::kRunTimeout:
      ms = 60'000;
      job.options.run_timeout = std::chrono::milliseconds(300);
      job.options.retries = static_cast<std::uint32_t>(between(0, 1));
      break;
    case Kind::kTimeout:
      ms = 60'000;
      job.options.timeout = std::chrono::milliseconds(1500);
      break;
    case Kind::kFail:
      fail_until = 1'000'000;
      job.options.retries = static_cast<std::uint32_t>(between(0, 2));
      break;
    case Kind::kPermanent:
      mode = "permanent";
      job.options.retries = 3;  // not used: a permanent error is not retried
      break;
    case Kind::kUnserved:
      job.task = "soak.unserved";  // no worker serves it
      job.options.assign_timeout = std::chrono::milliseconds(1000);
      break;
  }
  // Padding the handler ignores: queued payloads are what makes the broker's memory grow in a flood.
  job.payload = std::to_string(ms) + " " + std::to_string(fail_until) + " " + mode + " " + tag + " " +
                std::string(static_cast<std::size_t>(between(0, 8192)), 'p');
  return job;
}

// ---------------------------------------------------------------------------------------------
// Submitting lanes: one client each, flooding in batches, with at most kWindow unfinished jobs.

struct Sent {
  JobHandle handle;
  Kind kind;
  std::string tag;
  std::shared_ptr<std::atomic<int>> deliveries;  // outcomes the client delivered (onComplete)
};

struct Lane {
  std::vector<Sent> sent;
  std::shared_ptr<std::atomic<std::size_t>> completed = std::make_shared<std::atomic<std::size_t>>(0);
  std::atomic<std::size_t> acked{0};
  std::size_t id_failures = 0;
  std::string first_failure;
  std::unique_ptr<Client> client;  // last: destroyed first, while the counters it calls into live
};

void runLane(Lane& lane, int number, std::uint64_t seed, const std::atomic<bool>& stop) {
  std::mt19937_64 random(seed * 1000 + static_cast<std::uint64_t>(number));
  std::uint64_t seq = 0;
  while (!stop.load() && lane.sent.size() < kMaxPerLane) {
    if (lane.sent.size() - lane.completed->load() > kWindow) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    std::size_t begin = lane.sent.size();
    for (std::size_t i = 0; i < kBatch; ++i) {
      Kind kind = pickKind(random);
      std::string tag = "l" + std::to_string(number) + "j" + std::to_string(seq++);
      Planned job = plan(kind, tag, random);
      Sent sent{lane.client->submit(job.task, std::move(job.payload), job.options), kind, tag,
                std::make_shared<std::atomic<int>>(0)};
      sent.handle.onComplete([deliveries = sent.deliveries, completed = lane.completed](const JobOutcome&) {
        deliveries->fetch_add(1);
        completed->fetch_add(1);
      });
      lane.sent.push_back(std::move(sent));
    }
    for (std::size_t i = begin; i < lane.sent.size(); ++i) {
      Result<JobId> id = lane.sent[i].handle.id();
      if (id) {
        lane.acked.fetch_add(1);
      } else if (lane.id_failures++ == 0) {
        lane.first_failure = lane.sent[i].tag + ": " + id.status().toString();
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Worker processes, each life under its own name so its attempts are told apart.

struct WorkerLife {
  std::string name;
  Clock::time_point ended{};  // when it was reaped (killed or stopped); attempts ended by then
  bool ended_known = false;
};

class WorkerPool {
 public:
  WorkerPool(std::string endpoint, std::string record_dir)
      : endpoint_(std::move(endpoint)), record_dir_(std::move(record_dir)), processes_(kWorkers), names_(kWorkers) {}

  ::testing::AssertionResult start(int index) {
    std::string name = "w" + std::to_string(index) + "-" + std::to_string(lives_.size());
    names_[index] = name;
    lives_[name] = WorkerLife{name};
    processes_[index] = ChildProcess();
    return processes_[index].start({recordingWorkerBinary(), "--connect", endpoint_, "--name", name, "--slots",
                                    std::to_string(kSlotsPerWorker), "--record", recordFile(name)});
  }
  ::testing::AssertionResult killNine(int index) {
    ChildProcess& process = processes_[index];
    if (!process.kill(SIGKILL)) return ::testing::AssertionFailure() << "worker had ended: " << process.describe();
    if (!process.wait(std::chrono::seconds(10))) return ::testing::AssertionFailure() << "worker not reaped";
    markEnded(index);
    return ::testing::AssertionSuccess();
  }
  // A worker that ended by itself is a failure of the test; returns its description, or "".
  std::string exitedByItself() {
    for (ChildProcess& process : processes_) {
      if (!process.running()) return process.describe();
    }
    return {};
  }
  void stopAll() {
    for (int i = 0; i < kWorkers; ++i) {
      processes_[i].stop(std::chrono::seconds(10));
      markEnded(i);
    }
  }
  std::string recordFile(const std::string& name) const { return record_dir_ + "/" + name + ".log"; }
  const std::map<std::string, WorkerLife>& lives() const { return lives_; }

 private:
  void markEnded(int index) {
    WorkerLife& life = lives_[names_[index]];
    if (life.ended_known) return;
    life.ended = Clock::now();
    life.ended_known = true;
  }

  std::string endpoint_;
  std::string record_dir_;
  std::vector<ChildProcess> processes_;
  std::vector<std::string> names_;
  std::map<std::string, WorkerLife> lives_;
};

// One attempt as a worker wrote it down.
struct Attempt {
  std::uint32_t attempt = 0;
  std::string worker;
  long long start_ns = 0;
  long long end_ns = -1;  // -1: no end line (the worker was killed first)
  std::string outcome;
};

std::map<JobId, std::vector<Attempt>> readRecords(const WorkerPool& pool) {
  std::map<JobId, std::vector<Attempt>> by_job;
  std::map<std::pair<JobId, std::string>, std::size_t> index;  // (job, worker+attempt) -> position
  for (const auto& [name, life] : pool.lives()) {
    std::ifstream in(pool.recordFile(name));
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      std::string type, worker, outcome;
      JobId job = 0;
      std::uint32_t attempt = 0;
      long long ns = 0;
      if (!(words >> type >> job >> attempt >> worker >> ns)) continue;  // a line cut by kill -9
      std::string key = worker + "#" + std::to_string(attempt);
      auto& attempts = by_job[job];
      auto found = index.find({job, key});
      if (found == index.end()) {
        index[{job, key}] = attempts.size();
        attempts.push_back(Attempt{attempt, worker, 0, -1, {}});
        found = index.find({job, key});
      }
      Attempt& a = attempts[found->second];
      if (type == "S") {
        a.start_ns = ns;
      } else if (type == "E" && (words >> outcome)) {
        a.end_ns = ns;
        a.outcome = outcome;
      }
    }
    // Attempts cut short by the worker's end: it ran no later than the moment it was reaped.
    for (auto& [job, attempts] : by_job) {
      for (Attempt& a : attempts) {
        if (a.worker == name && a.end_ns < 0 && life.ended_known) {
          a.end_ns = monoNanos(life.ended);
          a.outcome = "killed";
        }
      }
    }
  }
  return by_job;
}

// Collects problems of one kind: the first few in full, the rest counted.
class Problems {
 public:
  void add(const std::string& detail) {
    if (count_++ < 10) examples_ += "\n  " + detail;
  }
  std::size_t count() const { return count_; }
  std::string report() const { return std::to_string(count_) + (count_ > 10 ? " (first 10 shown)" : "") + examples_; }

 private:
  std::size_t count_ = 0;
  std::string examples_;
};

TEST(Soak, FloodWithKilledWorkersAndBrokerAccountsForEveryJob) {
  const std::uint64_t seed =
      envNumber("CORVEE_SOAK_SEED", (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}());
  const auto flood = std::chrono::seconds(envNumber("CORVEE_SOAK_SECONDS", 90));
  std::cout << "[soak] seed " << seed << ", flood " << flood.count() << " s (replay with CORVEE_SOAK_SEED=" << seed
            << ")" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 random(seed);

  TempDir data;
  TempDir records;
  ASSERT_FALSE(data.path().empty());
  ASSERT_FALSE(records.path().empty());
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start({"--max-attempts", std::to_string(kMaxAttempts)}));
  WorkerPool pool(broker.endpoint(), records.path());
  for (int i = 0; i < kWorkers; ++i) ASSERT_TRUE(pool.start(i));
  ASSERT_TRUE(waitForWorkers(broker.endpoint(), kWorkers));

  Lane lanes[kLanes];
  for (Lane& lane : lanes) {
    lane.client = connectTestClient(broker.endpoint());
    ASSERT_TRUE(lane.client);
  }
  auto acked = [&] {
    std::size_t total = 0;
    for (Lane& lane : lanes) total += lane.acked.load();
    return total;
  };

  int worker_kills = 0;
  int broker_kills = 0;
  long long rss_start = residentKiB(broker.pid());  // of the broker now running
  long long rss_peak = rss_start;
  {
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    struct Joiner {
      std::atomic<bool>& stop;
      std::vector<std::thread>& threads;
      ~Joiner() {
        stop.store(true);
        for (std::thread& t : threads) {
          if (t.joinable()) t.join();
        }
      }
    } joiner{stop, threads};
    for (int i = 0; i < kLanes; ++i) threads.emplace_back([&, i] { runLane(lanes[i], i, seed, stop); });

    // The two broker kills fall in the first and second thirds of the flood (random within them),
    // so the last broker takes a third of the flood before it ends.
    const auto began = Clock::now();
    const auto flood_end = began + flood;
    std::vector<Clock::time_point> broker_kill_at;
    for (int third = 0; third < 2; ++third) {
      auto offset = flood * third / 3 + std::chrono::milliseconds(random() % (flood.count() * 1000 / 3 + 1));
      broker_kill_at.push_back(began + std::max<Clock::duration>(offset, std::chrono::seconds(2)));
    }
    auto next_worker_kill = began + std::chrono::milliseconds(300 + random() % 2200);
    while (Clock::now() < flood_end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      rss_peak = std::max(rss_peak, residentKiB(broker.pid()));
      std::string exited = pool.exitedByItself();
      ASSERT_TRUE(exited.empty()) << "a worker ended by itself: " << exited;
      ASSERT_TRUE(broker.process().running()) << "the broker ended by itself: " << broker.process().describe();
      if (static_cast<std::size_t>(broker_kills) < broker_kill_at.size() && Clock::now() >= broker_kill_at[broker_kills]) {
        ++broker_kills;
        std::cout << "[soak] kill -9 broker #" << broker_kills << " (pid " << broker.pid() << ", " << acked()
                  << " acknowledged so far, RSS " << residentKiB(broker.pid()) << " KiB)" << std::endl;
        ASSERT_TRUE(broker.killNine());
        ASSERT_TRUE(broker.restart());
        rss_start = residentKiB(broker.pid());
        rss_peak = rss_start;
      }
      if (Clock::now() >= next_worker_kill) {
        int index = static_cast<int>(random() % kWorkers);
        ASSERT_TRUE(pool.killNine(index));
        ++worker_kills;
        // Sometimes a worker stays away a moment, sometimes it is back at once.
        std::this_thread::sleep_for(std::chrono::milliseconds(random() % 500));
        ASSERT_TRUE(pool.start(index));
        next_worker_kill = Clock::now() + std::chrono::milliseconds(300 + random() % 2200);
      }
    }
    stop.store(true);
  }
  ASSERT_EQ(broker_kills, 2);
  std::cout << "[soak] flood over: " << acked() << " acknowledged, " << worker_kills << " worker kills; waiting for "
            << "every job to finish" << std::endl;

  // Every acknowledged job finishes: bounded by a generous limit, never a speed assertion.
  const auto deadline = Clock::now() + std::chrono::seconds(300);
  struct Final {
    const Sent* sent;
    JobOutcome outcome;
  };
  std::map<JobId, Final> finals;
  std::size_t submitted = 0;
  std::size_t acknowledged = 0;
  std::size_t id_failures = 0;
  Problems lost;
  for (Lane& lane : lanes) {
    id_failures += lane.id_failures;
    if (lane.id_failures > 0) std::cout << "[soak] id() failed while submitting: " << lane.first_failure << std::endl;
    for (const Sent& sent : lane.sent) {
      ++submitted;
      Result<JobId> id = sent.handle.id();
      if (!id) continue;  // never acknowledged: not a job this client can account for
      ++acknowledged;
      auto left = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
                           std::chrono::milliseconds(1));
      Result<JobOutcome> outcome = sent.handle.wait(left);
      rss_peak = std::max(rss_peak, residentKiB(broker.pid()));
      if (!outcome) {
        lost.add("job " + std::to_string(*id) + " (" + sent.tag + ", " + kindName(sent.kind) +
                 "): no outcome: " + outcome.status().toString());
        continue;
      }
      finals[*id] = Final{&sent, *outcome};
    }
  }

  // The broker's memory, once nothing is left to do: it must come back down from the flood's peak.
  // Generous: half-way back from the peak to where this broker started (plus 16 MiB), polled for a
  // while because freed memory goes back to the system in steps.
  long long rss_final = residentKiB(broker.pid());
  const long long rss_allowed = rss_start + std::max((rss_peak - rss_start) / 2, 16LL * 1024);
  bool memory_back = eventually(
      [&] {
        rss_final = residentKiB(broker.pid());
        return rss_final > 0 && rss_final <= rss_allowed;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(500));

  pool.stopAll();
  std::map<JobId, std::vector<Attempt>> attempts = readRecords(pool);

  auto checker = connectTestClient(broker.endpoint());
  ASSERT_TRUE(checker);
  std::map<JobId, JobInfo> infos;  // fetched only for the jobs that need their record
  auto infoOf = [&](JobId id) -> const JobInfo* {
    auto found = infos.find(id);
    if (found != infos.end()) return &found->second;
    Result<JobInfo> info = checker->status(id);
    if (!info) return nullptr;
    return &infos.emplace(id, std::move(*info)).first->second;
  };
  // A worker_lost death is accounted for when the broker had lost the job's attempts
  // --max-attempts times (or, after a restart, its attempt number reached the limit: the broker
  // then counts every earlier attempt as lost, docs/concepts.md).
  auto lostTooOften = [&](JobId id) {
    const JobInfo* info = infoOf(id);
    if (info == nullptr) return false;
    std::uint32_t losses = 0;
    for (const AttemptFailure& failure : info->failures) losses += failure.error_code == errc::kWorkerLost ? 1 : 0;
    return losses >= kMaxAttempts || (losses > 0 && info->attempt >= kMaxAttempts);
  };

  std::size_t succeeded = 0;
  std::map<std::string, std::size_t> dead_by_reason;
  std::size_t dead_worker_lost_accounted = 0;
  Problems double_deliveries;
  for (auto& [id, final] : finals) {
    const Sent& sent = *final.sent;
    const JobOutcome& outcome = final.outcome;
    const std::string want_error = designedError(sent.kind);
    const std::string what = "job " + std::to_string(id) + " (" + sent.tag + ", " + kindName(sent.kind) + ")";
    if (outcome.state == JobState::kSucceeded) {
      ++succeeded;
      // Its own result, from the attempt the outcome names, which a worker did run to its end.
      std::string prefix = sent.tag + "|";
      std::string attempt_suffix = "|" + std::to_string(outcome.attempt);
      bool own = want_error.empty() && outcome.result.rfind(prefix, 0) == 0 &&
                 outcome.result.size() > attempt_suffix.size() &&
                 outcome.result.compare(outcome.result.size() - attempt_suffix.size(), attempt_suffix.size(),
                                        attempt_suffix) == 0;
      std::string worker = own ? outcome.result.substr(prefix.size(), outcome.result.size() - prefix.size() -
                                                                          attempt_suffix.size())
                               : std::string();
      bool recorded = false;
      for (const Attempt& a : attempts[id]) recorded |= a.worker == worker && a.attempt == outcome.attempt && a.outcome == "ok";
      if (!own || !recorded) {
        lost.add(what + ": succeeded with result '" + outcome.result + "' (attempt " + std::to_string(outcome.attempt) +
                 (recorded ? ")" : ", not recorded as run to its end by that worker)"));
      }
    } else if (outcome.state == JobState::kDead) {
      ++dead_by_reason[outcome.error_code];
      if (outcome.error_code == errc::kWorkerLost) {
        if (lostTooOften(id)) {
          ++dead_worker_lost_accounted;
        } else {
          lost.add(what + ": dead with worker_lost without " + std::to_string(kMaxAttempts) + " lost attempts: " +
                   outcome.error_message);
        }
      } else if (outcome.error_code != want_error) {
        lost.add(what + ": dead with " + outcome.error_code + " (" + outcome.error_message + "), designed to " +
                 (want_error.empty() ? std::string("succeed") : "die with " + want_error));
      }
    } else {
      lost.add(what + ": ended " + std::string(toString(outcome.state)) + " " + outcome.error_code);
    }
  }
  // Each outcome reached its client once (a late duplicate would show up here within the wait).
  eventually(
      [&] {
        for (auto& [id, final] : finals) {
          if (final.sent->deliveries->load() != 1) return false;
        }
        return true;
      },
      std::chrono::seconds(10));
  for (auto& [id, final] : finals) {
    int n = final.sent->deliveries->load();
    if (n != 1) double_deliveries.add("job " + std::to_string(id) + " delivered " + std::to_string(n) + " times");
  }

  // No job ran on two workers at once unless the earlier attempt had been fenced: the broker
  // recorded it as lost (worker_lost: its worker's connection was gone, or the broker restarted
  // under it), so its result could no longer be taken.
  std::size_t duplicates = 0;
  std::size_t fenced_duplicates = 0;
  Problems unexplained;
  for (auto& [id, list] : attempts) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      for (std::size_t j = i + 1; j < list.size(); ++j) {
        const Attempt& x = list[i].attempt <= list[j].attempt ? list[i] : list[j];
        const Attempt& y = list[i].attempt <= list[j].attempt ? list[j] : list[i];
        long long x_end = x.end_ns < 0 ? LLONG_MAX : x.end_ns;
        long long y_end = y.end_ns < 0 ? LLONG_MAX : y.end_ns;
        if (x.start_ns >= y_end || y.start_ns >= x_end) continue;  // one after the other
        ++duplicates;
        bool fenced = false;
        if (x.attempt < y.attempt) {
          if (const JobInfo* info = infoOf(id)) {
            for (const AttemptFailure& failure : info->failures) {
              fenced |= failure.attempt == x.attempt && failure.error_code == errc::kWorkerLost;
            }
          }
        }
        if (fenced) {
          ++fenced_duplicates;
        } else {
          unexplained.add("job " + std::to_string(id) + ": attempt " + std::to_string(x.attempt) + " on " + x.worker +
                          " (" + x.outcome + ") overlapped attempt " + std::to_string(y.attempt) + " on " + y.worker +
                          " (" + y.outcome + ") and was not fenced");
        }
      }
    }
  }

  std::string dead_text;
  std::size_t dead = 0;
  for (auto& [reason, n] : dead_by_reason) {
    dead += n;
    dead_text += (dead_text.empty() ? "" : ", ") + reason + " " + std::to_string(n);
  }
  std::cout << "[soak] seed " << seed << ": jobs " << submitted << ", acknowledged " << acknowledged
            << ", succeeded " << succeeded << ", dead " << dead << " (" << dead_text << "; worker_lost after "
            << kMaxAttempts << " lost attempts: " << dead_worker_lost_accounted << "), worker kills " << worker_kills
            << ", broker kills " << broker_kills << ", duplicates " << duplicates << " (fenced " << fenced_duplicates
            << ", unexplained " << unexplained.count() << "), double deliveries " << double_deliveries.count()
            << ", lost " << lost.count() << "; broker RSS KiB: start " << rss_start << ", peak " << rss_peak
            << ", after " << rss_final << std::endl;
  RecordProperty("acknowledged", std::to_string(acknowledged));
  RecordProperty("lost", std::to_string(lost.count()));
  RecordProperty("duplicates", std::to_string(duplicates));

  EXPECT_GT(acknowledged, 0u);
  EXPECT_EQ(id_failures, 0u) << "submissions the client could not get acknowledged while the broker restarted";
  EXPECT_EQ(lost.count(), 0u) << "lost or unaccounted jobs: " << lost.report();
  EXPECT_EQ(unexplained.count(), 0u) << "attempts that ran at once without fencing: " << unexplained.report();
  EXPECT_EQ(double_deliveries.count(), 0u) << double_deliveries.report();
  EXPECT_TRUE(memory_back) << "the broker's RSS stayed at " << rss_final << " KiB after the flood (started at "
                           << rss_start << ", peak " << rss_peak << ", allowed " << rss_allowed << ")";
}

}  // namespace
}  // namespace corvee::testing

namespace corvee::testing {
namespace {

// The flood's memory in isolation: a queue of 20,000 jobs of 4 KiB payloads (80 MiB) builds up
// with no worker, then drains. Once it is empty the broker's resident size must fall at least
// half-way back from its peak: the payloads it held are gone. Regression test: before
// broker/memory_release.h it stayed at the peak (start 8.8 MiB, peak 95 MiB, after 95 MiB).
TEST(SoakMemory, BrokerMemoryFallsOnceAFloodedQueueDrains) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  auto client = connectTestClient(broker.endpoint());
  ASSERT_TRUE(client);
  const long long rss_start = residentKiB(broker.pid());
  std::vector<JobHandle> jobs;
  for (int i = 0; i < 20'000; ++i) {
    jobs.push_back(client->submit("echo", std::string(4096, static_cast<char>('a' + i % 26))));
    if (i % 1000 == 999) {
      ASSERT_TRUE(jobs.back().id());
    }
  }
  for (JobHandle& job : jobs) ASSERT_TRUE(job.id());
  const long long rss_peak = residentKiB(broker.pid());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 8));
  for (JobHandle& job : jobs) {
    Result<JobOutcome> outcome = job.wait(std::chrono::seconds(120));
    ASSERT_TRUE(outcome) << outcome.status().toString();
    ASSERT_TRUE(outcome->succeeded());
  }
  long long rss_after = residentKiB(broker.pid());
  const long long allowed = rss_start + (rss_peak - rss_start) / 2;
  bool fell = eventually(
      [&] {
        rss_after = residentKiB(broker.pid());
        return rss_after <= allowed;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(500));
  std::cout << "[soak] broker RSS KiB with 20,000 queued 4 KiB jobs: start " << rss_start << ", peak " << rss_peak
            << ", after they ran " << rss_after << std::endl;
  EXPECT_TRUE(fell) << "the broker's RSS stayed at " << rss_after << " KiB (start " << rss_start << ", peak "
                    << rss_peak << ", allowed " << allowed << ")";
}

}  // namespace
}  // namespace corvee::testing
