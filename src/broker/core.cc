#include "broker/core.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <type_traits>

#include "broker/wall_deadline.h"
#include "corvee/errors.h"
#include "platform/memory.h"
#include "protocol/names.h"
#include "protocol/utf8.h"

namespace corvee::broker {

using protocol::Frame;
using protocol::MsgType;

namespace {

// Task names and error codes travel as `str` (u16 length); longer ones are refused up front.
constexpr std::size_t kMaxTaskName = 255;
constexpr std::size_t kMaxWorkerTasks = 1024;
constexpr std::size_t kMaxUniqueKey = 255;  // a `str`, kept as short as task names

std::uint32_t toMs(std::chrono::milliseconds d) { return static_cast<std::uint32_t>(d.count()); }

}  // namespace

Core::Core(const BrokerOptions& options, Store& store, Clock& clock, Outbox& outbox, Random& random,
           WorkerSelection* selection)
    : options_(options), store_(store), clock_(clock), outbox_(outbox), random_(random), selection_(selection),
      started_at_(clock.now()) {
  if (selection_ == nullptr) {
    auto made = makeWorkerSelection(options_.select, random_);
    if (!made) {
      // The command line checks the name; a program embedding the broker learns it here.
      spdlog::error("{}; using {}", made.status().message(), kDefaultWorkerSelection);
      made = makeWorkerSelection(kDefaultWorkerSelection, random_);
    }
    own_selection_ = std::move(*made);
    selection_ = own_selection_.get();
  }
  // The command line checks these; a program embedding the broker learns it here.
  for (const std::string& text : options_.rates) {
    auto spec = TaskRateSpec::parse(text);
    if (!spec) {
      spdlog::error("ignoring rate limit '{}': {}", text, spec.status().message());
      continue;
    }
    taskQueue(spec->task).rate.emplace(spec->rate, clock_.now());
  }
  // The command line checks these too; a program embedding the broker learns it here.
  for (const std::string& text : options_.fair_weights) {
    auto spec = FairWeightSpec::parse(text);
    if (!spec) {
      spdlog::error("ignoring fair weight '{}': {}", text, spec.status().message());
      continue;
    }
    fairKeys(taskQueue(spec->task)).setWeight(spec->key, spec->weight);
  }
  for (const std::string& text : options_.key_concurrency) {
    auto spec = KeyConcurrencySpec::parse(text);
    if (!spec) {
      spdlog::error("ignoring key concurrency '{}': {}", text, spec.status().message());
      continue;
    }
    fairKeys(taskQueue(spec->task)).setCap(spec->cap);
  }
}

Status Core::recover() {
  if (Status loaded = loadCounters(); !loaded) return loaded;
  std::uint64_t recovered = 0;
  std::vector<JobId> interrupted;       // were running: marked queued once the scan is over
  std::vector<std::pair<JobId, AttemptFailure>> cut_short;  // their interrupted attempts, for the history
  std::vector<JobId> retry_due;         // were retrying and their time has come
  std::vector<JobRecord> out_of_tries;  // were running on their last attempt: failed once it is over
  MonoTime now = clock_.now();
  std::uint64_t wall_now = clock_.wallMillis();
  // Each record is adopted as it is read: a million queued jobs are never all held twice.
  Result<JobId> max_id = store_.recover([&](JobRecord&& rec) {
    ++recovered;
    if (rec.state == JobState::kRunning) {
      cut_short.emplace_back(rec.id, AttemptFailure{rec.attempt, rec.worker, rec.started_ms, wall_now,
                                                    errc::kWorkerLost, "interrupted by a broker restart"});
    }
    if (rec.state == JobState::kRunning && rec.attempt >= options_.max_attempts) {
      // Interrupted by every crash so far: the limit on lost attempts holds across restarts too,
      // or a job that brings the broker down would run for ever.
      rec.state = JobState::kDead;
      rec.error_code = errc::kWorkerLost;
      rec.error_message = "attempt " + std::to_string(rec.attempt) + " was interrupted by a broker restart; the job " +
                          "has used its " + std::to_string(options_.max_attempts) + " attempts";
      rec.finished_ms = wall_now;
      out_of_tries.push_back(std::move(rec));
      return;
    }
    bool redelivered = rec.state == JobState::kRunning;
    if (redelivered) {
      // Its worker's result can no longer arrive here: run it again (at-least-once).
      rec.state = JobState::kQueued;
      interrupted.push_back(rec.id);
    }
    // Payloads stay in the store until each job is dealt: recovery reads only bookkeeping.
    LiveJob& job = adopt(rec, /*payload_known=*/false);
    if (redelivered) count(*job.queue, TaskCounter::kRedelivered);
    if (job.state == JobState::kScheduled) {
      std::uint64_t run_at = rec.run_at_ms;
      // Its limits count from the moment it is due; the wall clock says how far that is.
      MonoTime due = monoTimeAt(now, wall_now, run_at);
      job.started_ms = 0;
      addDeadlines(job, due);
      return schedule(job, run_at, due);
    }
    // Limits keep counting from the original submission, as far as the wall clock can tell.
    auto age = std::chrono::milliseconds(wall_now > job.submitted_ms ? wall_now - job.submitted_ms : 0);
    addDeadlines(job, now - age);
    if (job.state == JobState::kRetrying) {
      ++counts_.retrying;
      ++job.queue->retrying;
      std::uint64_t run_at = job.retry() != nullptr ? job.retry()->run_at_ms : 0;
      if (run_at <= wall_now) {
        retry_due.push_back(job.id);
      } else {
        deadlines_.add({monoTimeAt(now, wall_now, run_at), job.id, job.attempt, DeadlineKind::kRetry});
      }
      return;
    }
    enqueue(job, false);
  });
  if (!max_id) return max_id.status();
  next_id_ = *max_id + 1;
  // Writes wait for the end of the scan: changing rows under a running SELECT is not safe.
  for (const auto& [id, failure] : cut_short) {
    store_.recordFailure(id, failure);
    store_.recordEvent(id, {wall_now, EventKind::kFailed, failure.attempt, failure.worker, failure.error_code});
  }
  for (JobId id : interrupted) {
    store_.markQueued(id);
    recordEvent(id, EventKind::kRequeued, jobs_.find(id)->attempt, "broker_restart");
  }
  for (JobId id : retry_due) retryDue(*jobs_.find(id));
  for (const JobRecord& rec : out_of_tries) {
    store_.markFinished(rec);
    ++counts_.dead;
    count(taskQueue(rec.task), TaskCounter::kDead);
  }
  // Succeeded jobs whose unique key's window is still open hold it again (live jobs took theirs
  // in adopt(); a live holder wins over a finished one).
  Result<std::vector<JobRecord>> holding = store_.uniqueKeysHeld(wall_now);
  if (!holding) return holding.status();
  for (const JobRecord& rec : *holding) {
    std::uint64_t ends = rec.finished_ms + rec.unique_for_ms;
    unique_.holdFinished(rec.task, rec.unique_key, rec.id, now + Millis(ends - wall_now), now);
  }
  first_uncommitted_ = next_id_;
  Result<std::vector<std::pair<std::string, TaskSettings>>> settings = store_.taskSettings();
  if (!settings) return settings.status();
  for (const auto& [task, set] : *settings) {
    TaskQueue& tq = taskQueue(task);
    tq.paused = set.paused;
    if (!set.rate) continue;
    // Set at run time, so newer than the command line's --rate: it wins.
    std::optional<RateSpec> spec;
    if (!set.rate->empty()) {
      Result<RateSpec> parsed = RateSpec::parse(*set.rate);
      if (!parsed) {
        spdlog::error("ignoring the stored rate '{}' of task {}: {}", *set.rate, task, parsed.status().message());
        continue;
      }
      spec = *parsed;
    }
    tq.rate_setting = set.rate;
    setRate(tq, spec);
  }
  if (Status loaded = loadCrons(); !loaded) return loaded;
  Result<std::uint64_t> dead = store_.countFinished(JobState::kDead);
  if (!dead) return dead.status();
  dead_in_store_ = *dead;
  if (recovered > 0) {
    spdlog::info("recovered {} unfinished jobs from {} ({} were running and were requeued, {} had used their attempts)",
                 recovered, store_.describe(), interrupted.size(), out_of_tries.size());
  }
  storeCounters();
  Status committed = store_.commit();
  // A full disk does not stop the broker from starting: the changes wait, and the server retries.
  if (!committed && committed.code() == errc::kStoreFull) return Status::ok();
  return committed;
}

// ---------------------------------------------------------------------------------------------
// Connections and dispatch of frames.

void Core::onConnect(PeerId peer, std::string remote, bool trusted) {
  Peer& added = peers_[peer];
  added.remote = std::move(remote);
  added.trusted = trusted;
}

void Core::onFrame(PeerId id, const Frame& frame) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;  // closed earlier in this turn
  Peer& peer = it->second;
  if (!peer.greeted) {
    if (frame.type == static_cast<std::uint8_t>(MsgType::kHello)) return handleHello(id, peer, frame);
    sendError(id, frame.request_id, errc::kBadRequest,
              std::string("the first frame must be HELLO, got ") + protocol::msgTypeName(frame.type));
    outbox_.closeAfterFlush(id);
    return;
  }
  // A message of a later version than the session's is unknown to it.
  if (peer.version < protocol::introducedIn(frame.type)) {
    return sendError(id, frame.request_id, errc::kUnknownCommand,
                     "unknown message type " + std::to_string(frame.type) + " in protocol version " +
                         std::to_string(peer.version));
  }
  if (peer.access < neededFor(static_cast<MsgType>(frame.type))) return refuseAccess(id, peer, frame);
  switch (static_cast<MsgType>(frame.type)) {
    case MsgType::kPing: return handlePing(id, frame);
    case MsgType::kPong: return;
    case MsgType::kSubmit: return handleSubmit(id, peer, frame);
    case MsgType::kSubscribe: return handleSubscribe(id, frame);
    case MsgType::kStatus: return handleStatus(id, frame);
    case MsgType::kStats: return handleStats(id, frame);
    case MsgType::kRegister: return handleRegister(id, peer, frame);
    case MsgType::kComplete: return handleComplete(id, peer, frame);
    case MsgType::kFail: return handleFail(id, peer, frame);
    case MsgType::kDrain: return handleDrain(id, peer, frame);
    case MsgType::kCancelJob: return handleCancelJob(id, peer, frame);
    case MsgType::kPurge: return handlePurge(id, peer, frame);
    case MsgType::kPause: return handlePause(id, peer, frame);
    case MsgType::kListJobs: return handleListJobs(id, peer, frame);
    case MsgType::kDeadRetry: return handleDeadRetry(id, peer, frame);
    case MsgType::kDeadPurge: return handleDeadPurge(id, peer, frame);
    case MsgType::kCronAdd: return handleCronAdd(id, peer, frame);
    case MsgType::kCronRemove: return handleCronRemove(id, peer, frame);
    case MsgType::kCronPause: return handleCronPause(id, peer, frame);
    case MsgType::kCronList: return handleCronList(id, peer, frame);
    case MsgType::kRate: return handleRate(id, peer, frame);
    case MsgType::kMetrics: return handleMetrics(id, frame);
    case MsgType::kExplain: return handleExplain(id, peer, frame);
    case MsgType::kHello:
      return sendError(id, frame.request_id, errc::kBadRequest, "HELLO was already received on this connection");
    case MsgType::kWelcome:
    case MsgType::kError:
    case MsgType::kOk:
    case MsgType::kSubmitted:
    case MsgType::kResult:
    case MsgType::kJobInfo:
    case MsgType::kStatsReply:
    case MsgType::kAssign:
    case MsgType::kCancel:
    case MsgType::kJobList:
    case MsgType::kCount:
    case MsgType::kCronEntries:
    case MsgType::kMetricsText:
    case MsgType::kExplanation:
      return sendError(id, frame.request_id, errc::kBadRequest,
                       std::string(protocol::msgTypeName(frame.type)) + " is sent by the broker, not to it");
  }
  sendError(id, frame.request_id, errc::kUnknownCommand,
            "unknown message type " + std::to_string(frame.type) + " in protocol version " +
                std::to_string(peer.version));
}

bool Core::holdsJobs(PeerId id) const {
  auto it = peers_.find(id);
  return it != peers_.end() && it->second.held() > 0;
}

void Core::onOutputDrained(PeerId id) {
  auto it = peers_.find(id);
  if (it == peers_.end() || !it->second.output_full) return;
  it->second.output_full = false;
  markWorkerTasksDirty(it->second);
}

void Core::onOversizedFrame(PeerId id, const Frame& header) {
  sendError(id, header.request_id, errc::kPayloadTooLarge,
            std::string(protocol::msgTypeName(header.type)) + " frame exceeds the broker's limit of " +
                std::to_string(options_.max_payload) + " payload bytes");
}

void Core::onMalformedStream(PeerId id) {
  sendError(id, 0, errc::kBadRequest, "frame length below the 5-byte minimum; closing the connection");
  outbox_.closeAfterFlush(id);
}

void Core::onPeerGone(PeerId id) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  Peer& peer = it->second;
  if (peer.registered) {
    leaveTasks(id, peer);
    if (!peer.running.empty()) {
      spdlog::warn("worker {} ({}) lost with {} running jobs; putting them back", peer.name, peer.remote,
                   peer.running.size());
    }
    // Attempts it was still stopping have stopped with it: retries waiting for them may start.
    for (const auto& [job_id, cancelled] : peer.cancelling) attemptStopped(job_id, cancelled.attempt);
    // Oldest first at the head: put back in descending id order, each in front of the last.
    std::vector<JobId> lost(peer.running.begin(), peer.running.end());
    std::sort(lost.begin(), lost.end(), std::greater<>());
    for (JobId job_id : lost) {
      LiveJob& job = *jobs_.find(job_id);
      --job.queue->running;
      --counts_.running;
      job.worker = 0;
      keyStopped(job);
      // Only an attempt that had started counts: jobs that sat in the worker's prefetch lost
      // nothing but their place, and must not fail for a crash they took no part in.
      if (job.in_slot) recordFailure(job, peer.name, errc::kWorkerLost, "the worker running it was lost");
      if (job.in_slot && job.lost < UINT16_MAX) ++job.lost;
      job.in_slot = false;
      if (job.lost >= options_.max_attempts) {
        finish(job, JobState::kDead, {}, errc::kWorkerLost,
               "the workers running this job were lost " + std::to_string(job.lost) + " times");
        continue;
      }
      job.state = JobState::kQueued;
      store_.markQueued(job.id);
      count(*job.queue, TaskCounter::kRedelivered);
      recordEvent(job.id, EventKind::kRequeued, job.attempt, "worker_lost");
      enqueue(job, true);
    }
  }
  peers_.erase(it);
  // Results for jobs this peer submitted or watched are no longer deliverable to it; the jobs go
  // on, and a reconnecting client subscribes again. Owners are cleared lazily: output() returns
  // nullptr for a gone peer, and PeerIds are never reused.
}

// ---------------------------------------------------------------------------------------------
// Handlers.

void Core::handleHello(PeerId id, Peer& peer, const Frame& frame) {
  auto hello = protocol::decodeHello(frame.body);
  if (!hello || hello->magic != protocol::kMagic) {
    sendError(id, frame.request_id, errc::kBadRequest, hello ? "HELLO has the wrong magic number" : hello.status().message());
    outbox_.closeAfterFlush(id);
    return;
  }
  if (hello->version < protocol::kMinVersion) {
    sendError(id, frame.request_id, errc::kUnsupportedVersion,
              "this broker speaks protocol versions " + std::to_string(protocol::kMinVersion) + " to " +
                  std::to_string(protocol::kVersion));
    outbox_.closeAfterFlush(id);
    return;
  }
  if (hello->role != static_cast<std::uint8_t>(protocol::Role::kClient) &&
      hello->role != static_cast<std::uint8_t>(protocol::Role::kWorker)) {
    sendError(id, frame.request_id, errc::kBadRequest, "HELLO role must be 1 (client) or 2 (worker)");
    outbox_.closeAfterFlush(id);
    return;
  }
  if (Status admitted = admit(peer, *hello); !admitted) {
    // Logged without the token; the peer learns only that it was not let in, and why in general.
    spdlog::warn("refused {} from {}: {}", hello->role == 2 ? "a worker" : "a client", peer.remote, admitted.message());
    sendError(id, frame.request_id, admitted.code(), admitted.message());
    outbox_.closeAfterFlush(id);
    return;
  }
  peer.greeted = true;
  peer.version = std::min(hello->version, protocol::kVersion);
  if (version_cache_.first == id) version_cache_.second = peer.version;
  peer.role = static_cast<protocol::Role>(hello->role);
  // Cut on a character boundary: the name is shown in JSON, which must stay valid UTF-8.
  peer.name = std::string(protocol::truncateUtf8(hello->name, kMaxTaskName));
  protocol::WelcomeMsg welcome;
  welcome.version = peer.version;
  welcome.heartbeat_ms = toMs(options_.heartbeat);
  welcome.peer_timeout_ms = toMs(options_.peer_timeout);
  welcome.max_payload = options_.max_payload;
  welcome.store_id = store_.identity();
  welcome.broker = options_.name;
  send(id, frame.request_id, welcome);
}

void Core::handlePing(PeerId id, const Frame& frame) { send(id, frame.request_id, protocol::PongMsg{}); }

void Core::handleSubmit(PeerId id, Peer& peer, const Frame& frame) {
  if (peer.in_flight >= options_.max_in_flight_per_client) {
    return sendError(id, frame.request_id, errc::kTooManyInFlight,
                     "this connection has " + std::to_string(peer.in_flight) +
                         " submissions awaiting acknowledgement, the broker's limit (--max-in-flight-per-client)");
  }
  if (peer.in_flight++ == 0) in_flight_peers_.push_back(id);
  auto msg = protocol::decode<protocol::SubmitMsg>(frame.body, versionOf(id));
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  if (Status valid = checkSubmission(*msg); !valid) return sendError(id, frame.request_id, valid.code(), valid.message());
  // A duplicate makes no job and changes nothing: it is answered even when new jobs are refused.
  if (std::optional<JobId> holder = uniqueHolder(*msg)) return answerDuplicate(id, frame.request_id, *holder);
  Result<protocol::SubmittedMsg> submitted = submitJob(*msg, id);
  if (!submitted) return sendError(id, frame.request_id, submitted.status().code(), submitted.status().message());
  send(id, frame.request_id, *submitted);
}

void Core::releaseMemoryWhenQuiet() {
  if (memory_release_.tick()) releaseFreeMemory();
}

void Core::acknowledgeSubmissions() {
  for (PeerId id : in_flight_peers_) {
    auto it = peers_.find(id);
    if (it != peers_.end()) it->second.in_flight = 0;
  }
  in_flight_peers_.clear();
}

Status Core::checkSubmission(const protocol::SubmitMsg& msg) const {
  if (msg.task.empty() || msg.task.size() > kMaxTaskName) {
    return Status::error(errc::kBadRequest, "the task name must be 1 to 255 bytes");
  }
  if (msg.payload.data.size() > options_.max_payload) {
    return Status::error(errc::kPayloadTooLarge, "payload of " + std::to_string(msg.payload.data.size()) +
                                                     " bytes exceeds the limit of " + std::to_string(options_.max_payload));
  }
  if (msg.unique_key.size() > kMaxUniqueKey) {
    return Status::error(errc::kBadRequest, "the unique key must be at most 255 bytes");
  }
  if (msg.unique_key.empty() && msg.unique_for_ms > 0) {
    return Status::error(errc::kBadRequest, "unique_for_ms needs a unique_key");
  }
  if (!msg.fair_key.empty()) {
    if (Status named = protocol::checkName("fair key", msg.fair_key); !named) return named;
  }
  return Status::ok();
}

std::optional<JobId> Core::uniqueHolder(const protocol::SubmitMsg& msg) {
  if (msg.unique_key.empty()) return std::nullopt;
  std::optional<JobId> holder = unique_.holder(msg.task, msg.unique_key, clock_.now());
  if (!holder || jobs_.find(*holder) != nullptr) return holder;
  auto stored = store_.find(*holder);
  if (!stored || !stored->has_value() || !isFinished((*stored)->state)) {
    // Purged by retention while its window was open (or unreadable): the key holds nothing.
    if (!stored) spdlog::error("reading job {} for its unique key: {}", *holder, stored.status().toString());
    unique_.forget(msg.task, msg.unique_key);
    return std::nullopt;
  }
  return holder;
}

Result<protocol::SubmittedMsg> Core::submitJob(const protocol::SubmitMsg& msg, PeerId owner) {
  if (store_.full()) {
    return Status::error(errc::kStoreFull,
                         "the broker's disk is full (or below its --disk-reserve); it takes no new jobs until "
                         "space is freed");
  }
  if (options_.max_queued > 0 && counts_.queued >= options_.max_queued) {
    return Status::error(errc::kQueueFull, "the broker already holds " + std::to_string(counts_.queued) + " queued jobs");
  }
  TaskQueue& tq = taskQueue(msg.task);
  if (options_.max_queued_per_task > 0 &&
      tq.queue.size() + tq.scheduled + tq.retrying >= options_.max_queued_per_task) {
    return Status::error(errc::kQueueFull, "task '" + std::string(msg.task) + "' already has " +
                                               std::to_string(options_.max_queued_per_task) +
                                               " jobs waiting, its limit (--max-queued-per-task)");
  }
  bool unserved = tq.serving == 0;
  if (unserved && (msg.flags & protocol::kSubmitRequireWorker) != 0) {
    return Status::error(errc::kNoWorker, "no connected worker serves task '" + std::string(msg.task) + "'");
  }
  JobId job_id = next_id_++;
  JobRecord rec;
  rec.id = job_id;
  rec.task = std::string(msg.task);
  rec.payload = std::string(msg.payload.data);  // the store's copy; the job keeps its own
  rec.priority = msg.priority;
  rec.state = JobState::kQueued;
  rec.timeout_ms = msg.timeout_ms;
  rec.run_timeout_ms = msg.run_timeout_ms;
  rec.assign_timeout_ms = msg.assign_timeout_ms;
  rec.retries = msg.retries;
  rec.backoff_ms = msg.backoff_ms;
  rec.backoff_max_ms = msg.backoff_max_ms;
  rec.submitted_ms = clock_.wallMillis();
  rec.unique_key = std::string(msg.unique_key);
  rec.unique_for_ms = msg.unique_for_ms;
  rec.fair_key = std::string(msg.fair_key);
  // A time in the past, or now, is simply no delay.
  std::uint64_t run_at = msg.run_at_ms > 0 ? msg.run_at_ms : msg.delay_ms > 0 ? rec.submitted_ms + msg.delay_ms : 0;
  // Its `submitted` event is the store's to derive from submitted_ms: an ordinary job inserts no
  // history.
  if (run_at > rec.submitted_ms) {
    rec.state = JobState::kScheduled;
    rec.run_at_ms = run_at;
    history::append(rec.history, {rec.submitted_ms, EventKind::kScheduled, 0, {}, std::to_string(run_at)});
  }
  LiveJob& job = adopt(rec, /*payload_known=*/true, &tq);
  store_.insert(std::move(rec));  // after adopt(), which copies the payload it keeps
  job.owner = owner;
  count(tq, TaskCounter::kSubmitted);
  if (job.state == JobState::kScheduled) {
    // Its time limits count from the moment it is due, not from now.
    // run_at is the peer's, up to 2^64-1 ms: monoTimeAt() keeps the arithmetic in range.
    MonoTime due = monoTimeAt(clock_.now(), clock_.wallMillis(), run_at);
    addDeadlines(job, due);
    schedule(job, run_at, due);
  } else {
    addDeadlines(job, clock_.now());
    enqueue(job, false);
  }
  protocol::SubmittedMsg submitted{job_id};
  if (unserved) submitted.flags |= protocol::kSubmittedUnserved;
  return submitted;
}

void Core::answerDuplicate(PeerId id, std::uint32_t request_id, JobId holder) {
  protocol::SubmittedMsg submitted{holder, protocol::kSubmittedDuplicate};
  LiveJob* job = jobs_.find(holder);
  std::optional<JobRecord> finished;
  if (job == nullptr) {
    // uniqueHolder() found it finished in the store; read again for its RESULT.
    auto stored = store_.find(holder);
    if (!stored || !stored->has_value()) {
      return sendError(id, request_id, errc::kInternal,
                       "job " + std::to_string(holder) + " holds the unique key but cannot be read");
    }
    finished = std::move(**stored);
  }
  // Nothing to commit for this reply, but the job it names may itself be waiting for its commit:
  // then the reply waits too, or a crash could lose the job the client was told of.
  if (holder >= first_uncommitted_) {
    send(id, request_id, submitted);
  } else {
    encodeTo(outbox_.urgentOutput(id), id, request_id, submitted);
  }
  if (job != nullptr) {
    // The submitter waits for this job's RESULT as for its own.
    if (job->owner != id) {
      auto& watchers = watchers_[job->id];
      if (std::find(watchers.begin(), watchers.end(), id) == watchers.end()) watchers.push_back(id);
      job->watched = true;
    }
  } else {
    sendResult(id, *finished);  // after the SUBMITTED: durable output leaves after urgent output
  }
}

void Core::handleSubscribe(PeerId id, const Frame& frame) {
  auto msg = protocol::decode<protocol::SubscribeMsg>(frame.body, versionOf(id));
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  if (LiveJob* job = jobs_.find(msg->job_id)) {
    if (job->owner != id) {
      auto& watchers = watchers_[job->id];
      if (std::find(watchers.begin(), watchers.end(), id) == watchers.end()) watchers.push_back(id);
      job->watched = true;
    }
    return send(id, frame.request_id, protocol::OkMsg{});
  }
  auto stored = store_.find(msg->job_id);
  if (!stored) return sendError(id, frame.request_id, errc::kInternal, stored.status().toString());
  if (!stored->has_value()) {
    return sendError(id, frame.request_id, errc::kNotFound, "no job " + std::to_string(msg->job_id));
  }
  send(id, frame.request_id, protocol::OkMsg{});
  sendResult(id, **stored);
}

void Core::handleStatus(PeerId id, const Frame& frame) {
  auto msg = protocol::decode<protocol::StatusMsg>(frame.body, versionOf(id));
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  auto rec = fullRecord(msg->job_id, (msg->flags & protocol::kStatusWithPayload) != 0);
  if (!rec) return sendError(id, frame.request_id, errc::kInternal, rec.status().toString());
  if (!rec->has_value()) {
    return sendError(id, frame.request_id, errc::kNotFound, "no job " + std::to_string(msg->job_id));
  }
  sendJobInfo(id, frame.request_id, **rec);
}

Result<std::optional<JobRecord>> Core::fullRecord(JobId id, bool with_payload) {
  LiveJob* job = jobs_.find(id);
  auto stored = store_.find(id);
  if (!stored) return stored.status();
  if (job == nullptr) {
    if (stored->has_value() && !with_payload) (*stored)->payload.clear();
    return stored;
  }
  // The broker's memory holds the live state; the store holds the history.
  JobRecord rec = recordOf(*job);
  if (stored->has_value()) {
    rec.failures = std::move((*stored)->failures);
    rec.history = std::move((*stored)->history);
  }
  // A retrying job shows the error it is retrying after.
  if (job->state == JobState::kRetrying && !rec.failures.empty()) {
    rec.error_code = rec.failures.back().error_code;
    rec.error_message = rec.failures.back().error_message;
  }
  if (with_payload) {
    if (job->payload_in_memory) {
      rec.payload = std::string(job->payload());
    } else {
      Result<std::string> loaded = store_.loadPayload(id);
      if (!loaded) return loaded.status();
      rec.payload = std::move(*loaded);
    }
  }
  return std::optional<JobRecord>(std::move(rec));
}

void Core::handleStats(PeerId id, const Frame& frame) {
  auto msg = protocol::decode<protocol::StatsMsg>(frame.body, versionOf(id));
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  Result<std::string> json = statsJson();
  if (!json) return sendError(id, frame.request_id, errc::kInternal, json.status().message());
  protocol::StatsReplyMsg reply;
  reply.json.data = *json;
  send(id, frame.request_id, reply);
}

void Core::handleMetrics(PeerId id, const Frame& frame) {
  auto msg = protocol::decode<protocol::MetricsMsg>(frame.body, versionOf(id));
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  std::string text = metricsText();
  protocol::MetricsTextMsg reply;
  reply.text.data = text;
  send(id, frame.request_id, reply);
}

void Core::handleRegister(PeerId id, Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::RegisterMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  if (peer.role != protocol::Role::kWorker) {
    return sendError(id, frame.request_id, errc::kBadRequest, "REGISTER needs a HELLO with role 2 (worker)");
  }
  if (msg->tasks.size() > kMaxWorkerTasks) {
    return sendError(id, frame.request_id, errc::kBadRequest, "a worker may register at most 1024 tasks");
  }
  for (const std::string& task : msg->tasks) {
    if (task.empty() || task.size() > kMaxTaskName) {
      return sendError(id, frame.request_id, errc::kBadRequest, "task names must be 1 to 255 bytes");
    }
  }
  std::optional<SlotOccupancy> ranges;
  if (!msg->priority_slots.empty()) {
    auto parsed = SlotRanges::parse(msg->priority_slots, msg->slots);
    if (!parsed) return sendError(id, frame.request_id, errc::kBadRequest, "priority_slots: " + parsed.status().message());
    ranges.emplace(std::move(*parsed), options_.strict_guarantees);
    // A second REGISTER: the jobs already in its slots count in the new ranges.
    for (JobId job_id : peer.running) {
      if (const LiveJob* job = jobs_.find(job_id); job != nullptr && job->in_slot) ranges->take(job->priority);
    }
    for (const auto& [job_id, cancelled] : peer.cancelling) {
      if (cancelled.in_slot) ranges->take(cancelled.priority);
    }
  }
  // A second REGISTER replaces the first: leave the old task lists, join the new ones.
  if (peer.registered) leaveTasks(id, peer);
  peer.ranges = std::move(ranges);
  peer.registered = true;
  peer.slots = msg->slots;
  peer.prefetch = msg->prefetch;
  peer.tasks = std::move(msg->tasks);
  std::sort(peer.tasks.begin(), peer.tasks.end());
  peer.tasks.erase(std::unique(peer.tasks.begin(), peer.tasks.end()), peer.tasks.end());
  joinTasks(id, peer);
  fillSlots(peer);  // more slots than before: prefetched jobs start
  markWorkerTasksDirty(peer);
  send(id, frame.request_id, protocol::OkMsg{});
}

bool Core::reapCancelled(Peer& worker, JobId job_id, std::uint32_t attempt) {
  auto it = worker.cancelling.find(job_id);
  if (it == worker.cancelling.end() || it->second.attempt != attempt) return false;
  Peer::Cancelled cancelled = it->second;
  worker.cancelling.erase(it);
  if (cancelled.in_slot) {
    worker.freeSlot(cancelled.priority);
    fillSlots(worker);
  }
  markWorkerTasksDirty(worker);
  attemptStopped(job_id, attempt);
  return true;
}

LiveJob* Core::fencedJob(PeerId worker, Peer& peer, std::uint32_t request_id, JobId job_id, std::uint32_t attempt,
                         const char* what) {
  LiveJob* job = jobs_.find(job_id);
  if (job != nullptr && job->state == JobState::kRunning && job->worker == worker && job->attempt == attempt) {
    return job;
  }
  // The expected report of an attempt the broker cancelled: it ended, and its slot is free now.
  if (reapCancelled(peer, job_id, attempt)) return nullptr;
  ++counts_.stale_refused;
  spdlog::warn("refused {} for job {} attempt {} from peer {}: not the job's current attempt", what, job_id, attempt,
               worker);
  sendError(worker, request_id, errc::kStaleAttempt,
            "job " + std::to_string(job_id) + " attempt " + std::to_string(attempt) + " is no longer current");
  return nullptr;
}

void Core::handleComplete(PeerId id, Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::CompleteMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  LiveJob* job = fencedJob(id, peer, frame.request_id, msg->job_id, msg->attempt, "COMPLETE");
  if (job == nullptr) return;
  releaseFromWorker(*job, {});
  if (msg->result.data.size() > options_.max_payload) {
    // The attempt still ends, failing, rather than hanging until its limits.
    return failAttempt(*job, peer.name, errc::kResultTooLarge,
                       "the result of " + std::to_string(msg->result.data.size()) + " bytes exceeds the limit of " +
                           std::to_string(options_.max_payload),
                       /*retryable=*/true);
  }
  finish(*job, JobState::kSucceeded, msg->result.data, {}, {});
}

void Core::handleFail(PeerId id, Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::FailMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  LiveJob* job = fencedJob(id, peer, frame.request_id, msg->job_id, msg->attempt, "FAIL");
  if (job == nullptr) return;
  std::string_view code = msg->code.empty() ? std::string_view(errc::kHandlerError) : msg->code;
  releaseFromWorker(*job, {});
  failAttempt(*job, peer.name, code, msg->message, /*retryable=*/code != errc::kPermanentError);
}

void Core::handleDrain(PeerId id, Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::DrainMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  if (peer.serves()) {
    for (const std::string& task : peer.tasks) --taskQueue(task).serving;
  }
  peer.draining = true;
  spdlog::info("worker {} is draining ({} jobs still running)", peer.name, peer.running.size());
  send(id, frame.request_id, protocol::OkMsg{});
}

// ---------------------------------------------------------------------------------------------
// Job lifecycle.

void Core::enqueue(LiveJob& job, bool at_front) {
  TaskQueue& tq = *job.queue;
  ++job.ticket;  // a new entry; any older one of this job is dead from now on
  FairKeys::KeyId key = job.fairKey();
  if (job.has_fair) {
    if (!tq.queue.byKeys()) tq.queue.dealByKeys(*tq.fair);
    tq.fair->queued(key);
  }
  if (at_front) {
    tq.queue.pushFront(job.id, job.priority, job.ticket, key);
  } else {
    tq.queue.pushBack(job.id, job.priority, job.ticket, key);
  }
  ++counts_.queued;
  if (!tq.dirty && !tq.workers.empty()) {
    tq.dirty = true;
    dirty_.push_back(&tq);
  }
}

void Core::assign(LiveJob& job, std::string_view payload, TaskQueue& tq, PeerId worker_id, Peer& worker) {
  --counts_.queued;
  ++counts_.running;
  ++tq.running;
  ++job.ticket;  // its entry was popped; nothing may match it again
  if (job.has_fair) {
    tq.fair->dequeued(job.fairKey());
    tq.fair->started(job.fairKey());
  }
  job.worker = worker_id;
  job.state = JobState::kRunning;
  job.attempt += 1;
  std::uint64_t now_ms = clock_.wallMillis();
  std::uint64_t ready_ms = readyMs(job);
  tq.metrics.queue_wait.observeMillis(now_ms > ready_ms ? now_ms - ready_ms : 0);
  job.started_ms = now_ms;
  worker.running.insert(job.id);
  store_.markRunning(job.id, job.attempt, worker.name, job.started_ms);
  if (worker.in_slots < worker.slots) {
    occupySlot(job, worker);
  } else {
    worker.awaiting_slot.emplace_back(job.id, job.attempt);
  }
  protocol::AssignMsg assign;
  assign.job_id = job.id;
  assign.attempt = job.attempt;
  assign.task = tq.task;
  assign.payload.data = payload;
  assign.run_timeout_ms = job.run_timeout_ms;
  std::string* out = outbox_.urgentOutput(worker_id);
  if (out == nullptr) return;
  protocol::encode(*out, 0, assign, worker.version);
  // A worker that does not read its ASSIGNs must not make the broker buffer every job it could
  // take: once its output passes the high-water mark, it gets no more until that drains.
  if (out->size() >= options_.output_high_water) {
    worker.output_full = true;
    outbox_.notifyWhenDrained(worker_id);
  }
}

void Core::occupySlot(LiveJob& job, Peer& worker) {
  ++worker.in_slots;
  if (worker.ranges) worker.ranges->take(job.priority);
  job.in_slot = true;
  if (job.run_timeout_ms > 0) {
    deadlines_.add({clock_.now() + Millis(job.run_timeout_ms), job.id, job.attempt, DeadlineKind::kRun});
  }
}

void Core::fillSlots(Peer& worker) {
  while (worker.in_slots < worker.slots && !worker.awaiting_slot.empty()) {
    auto [job_id, attempt] = worker.awaiting_slot.front();
    worker.awaiting_slot.pop_front();
    // Entries of jobs that left the worker meanwhile (cancelled, timed out) are skipped here.
    LiveJob* job = jobs_.find(job_id);
    if (job == nullptr || !worker.running.contains(job_id)) continue;
    if (job->attempt != attempt || job->in_slot) continue;
    occupySlot(*job, worker);
  }
}

void Core::releaseFromWorker(LiveJob& job, std::string_view cancel_code) {
  if (job.state != JobState::kRunning || job.worker == 0) return;
  // The attempt ends here for the broker (a result, a failure, a time limit, a cancel).
  std::uint64_t now_ms = clock_.wallMillis();
  job.queue->metrics.run_time.observeMillis(now_ms > job.started_ms ? now_ms - job.started_ms : 0);
  auto it = peers_.find(job.worker);
  if (it != peers_.end()) {
    Peer& worker = it->second;
    worker.running.erase(job.id);
    if (!cancel_code.empty()) {
      // The worker goes on running the attempt until it sees the CANCEL and its handler stops
      // (an --exec command gets a grace period): the room stays taken until it reports the
      // attempt gone, or the next job dealt there would start late and overrun its own limit.
      worker.cancelling[job.id] = Peer::Cancelled{job.attempt, job.in_slot, job.priority};
      job.stopping = true;
      send(job.worker, 0, protocol::CancelMsg{job.id, job.attempt, cancel_code});
    } else {
      if (job.in_slot) {
        worker.freeSlot(job.priority);
        fillSlots(worker);
      }
      markWorkerTasksDirty(worker);
    }
  }
  job.in_slot = false;
  --job.queue->running;
  --counts_.running;
  job.worker = 0;
  keyStopped(job);
}

void Core::keyStopped(LiveJob& job) {
  if (!job.has_fair) return;
  TaskQueue& tq = *job.queue;
  // A key that was at its cap may be dealt again: its task deals, though no worker freed a slot
  // for it (a cancelled attempt keeps its slot until the worker reports it stopped).
  if (tq.fair->ended(job.fairKey()) && !tq.dirty && !tq.queue.empty()) {
    tq.dirty = true;
    dirty_.push_back(&tq);
  }
}

void Core::finish(LiveJob& job, JobState state, std::string_view result, std::string_view code,
                  std::string_view message) {
  if (job.state == JobState::kQueued) {
    // Its queue entry dies with the job; the queue learns its live count dropped.
    job.queue->queue.forget();
    if (job.has_fair) job.queue->fair->dequeued(job.fairKey());
    --counts_.queued;
  } else if (job.state == JobState::kRetrying) {
    --counts_.retrying;
    --job.queue->retrying;
  } else if (job.state == JobState::kScheduled) {
    --counts_.scheduled;
    --job.queue->scheduled;
  }
  // The whole record, since a store without a live journal keeps this as the finished job.
  JobRecord rec = recordOf(job);
  rec.state = state;
  rec.result = std::string(result);
  rec.error_code = std::string(code);
  rec.error_message = std::string(message);
  rec.finished_ms = clock_.wallMillis();
  rec.run_at_ms = 0;
  switch (state) {
    case JobState::kSucceeded:
      ++counts_.succeeded;
      count(*job.queue, TaskCounter::kSucceeded);
      break;
    case JobState::kCancelled:
      ++counts_.cancelled;
      count(*job.queue, TaskCounter::kCancelled);
      break;
    default:
      ++counts_.dead;
      count(*job.queue, TaskCounter::kDead);
      ++dead_in_store_;
      // A dead job keeps its payload for `dead retry`; a journaling store has it already.
      if (job.payload_in_memory) rec.payload = std::string(job.payload());
      break;
  }
  if (job.unique) unique_.finished(job.id, state == JobState::kSucceeded, clock_.now());
  // RESULT frames wait for the commit in the durable output, so they may be encoded first.
  if (job.owner != 0) sendResult(job.owner, rec);
  if (job.watched) {
    auto watchers = watchers_.find(job.id);
    for (PeerId watcher : watchers->second) sendResult(watcher, rec);
    watchers_.erase(watchers);
  }
  store_.markFinished(std::move(rec));
  if (job.payload_in_memory) payload_bytes_ -= job.payload_size;
  if (job.has_fair) job.queue->fair->release(job.fairKey());
  const std::uint64_t freed = sizeof(LiveJob) + (job.payload_in_memory ? job.payload_size : 0);
  jobs_.erase(job);
  // Without a release once the broker is quiet (releaseMemoryWhenQuiet), the resident size would
  // stay at a flood's peak after its jobs are gone.
  memory_release_.freed(freed);
  // Trimmed in batches of a hundredth of the bound, not one deletion per dead job at the limit.
  if (options_.dead_max > 0 && dead_in_store_ > options_.dead_max + options_.dead_max / 100) trimDeadJobs();
}

void Core::recordFailure(const LiveJob& job, std::string_view worker, std::string_view code,
                         std::string_view message) {
  AttemptFailure failure;
  failure.attempt = job.attempt;
  failure.worker = std::string(worker);
  failure.started_ms = job.started_ms;
  failure.ended_ms = clock_.wallMillis();
  failure.error_code = std::string(code);
  failure.error_message = std::string(message);
  store_.recordFailure(job.id, failure);
  store_.recordEvent(job.id, {failure.ended_ms, EventKind::kFailed, job.attempt, std::string(worker), std::string(code)});
}

void Core::recordEvent(JobId id, EventKind kind, std::uint32_t attempt, std::string detail) {
  store_.recordEvent(id, {clock_.wallMillis(), kind, attempt, {}, std::move(detail)});
}

void Core::failAttempt(LiveJob& job, std::string_view worker, std::string_view code, std::string_view message,
                       bool retryable) {
  recordFailure(job, worker, code, message);
  JobRetry* retry = job.retry();
  if (!retryable || retry == nullptr || retry->retried >= retry->retries) {
    return finish(job, JobState::kDead, {}, code, message);
  }
  ++retry->retried;
  ++counts_.retried;
  count(*job.queue, TaskCounter::kRetried);
  ++counts_.retrying;
  ++job.queue->retrying;
  Millis delay = retryDelay({retry->backoff_ms, retry->backoff_max_ms}, retry->retried, random_);
  retry->run_at_ms = clock_.wallMillis() + static_cast<std::uint64_t>(delay.count());
  job.state = JobState::kRetrying;
  job.retry_due = false;
  store_.markRetrying(job.id, retry->run_at_ms, retry->retried, code, message);
  recordEvent(job.id, EventKind::kRetry, job.attempt, std::to_string(retry->run_at_ms));
  deadlines_.add({clock_.now() + delay, job.id, job.attempt, DeadlineKind::kRetry});
}

void Core::retryDue(LiveJob& job) {
  if (job.state != JobState::kRetrying) return;
  // The attempt the broker cancelled may still run on its worker; two at once is what retries
  // must never cause, so this one waits for the worker's report.
  if (job.stopping) {
    job.retry_due = true;
    return;
  }
  job.retry_due = false;
  job.state = JobState::kQueued;
  --counts_.retrying;
  --job.queue->retrying;
  store_.markQueued(job.id);
  recordEvent(job.id, EventKind::kQueued, job.attempt, "retry");
  enqueue(job, false);
}

void Core::schedule(LiveJob& job, std::uint64_t run_at_ms, MonoTime due) {
  job.state = JobState::kScheduled;
  job.started_ms = run_at_ms;  // see LiveJob::started_ms
  ++counts_.scheduled;
  ++job.queue->scheduled;
  scheduled_.add(due, job.id);
}

void Core::scheduledDue(LiveJob& job) {
  --counts_.scheduled;
  --job.queue->scheduled;
  job.state = JobState::kQueued;
  // started_ms keeps the time it came due, which readyMs() reads; recordOf() reports no start
  // for a job that never had an attempt.
  store_.markQueued(job.id);
  recordEvent(job.id, EventKind::kQueued, job.attempt, "due");
  enqueue(job, false);
}

void Core::attemptStopped(JobId job_id, std::uint32_t attempt) {
  LiveJob* job = jobs_.find(job_id);
  if (job == nullptr || !job->stopping || job->attempt != attempt) return;
  job->stopping = false;
  if (job->retry_due) retryDue(*job);
}

void Core::trimDeadJobs() {
  auto trimmed = store_.trimFinished(JobState::kDead, options_.dead_max);
  if (!trimmed) {
    spdlog::error("dropping the oldest dead jobs failed: {}", trimmed.status().toString());
    return;
  }
  if (*trimmed > 0) {
    spdlog::warn("dropped the {} oldest dead jobs: the broker keeps at most {} (--dead-max)", *trimmed,
                 options_.dead_max);
  }
  dead_in_store_ = dead_in_store_ > *trimmed ? dead_in_store_ - *trimmed : 0;
}

LiveJob& Core::adopt(const JobRecord& rec, bool payload_known, TaskQueue* queue) {
  // A store without a live journal cannot give a payload back: then the job always keeps it.
  bool keep = payload_known && (!store_.journalsLiveJobs() ||
                                payload_bytes_ + rec.payload.size() <= options_.payload_memory_budget);
  std::string_view payload = rec.payload;
  std::optional<JobRetry> retry;
  if (rec.retries > 0) retry = JobRetry{rec.retries, rec.retried, rec.backoff_ms, rec.backoff_max_ms, rec.run_at_ms};
  if (queue == nullptr) queue = &taskQueue(rec.task);
  std::optional<JobFair> fair;
  if (!rec.fair_key.empty()) fair = JobFair{fairKeys(*queue).acquire(rec.fair_key)};
  LiveJob& job = jobs_.add(rec.id, keep ? &payload : nullptr, retry ? &*retry : nullptr, fair ? &*fair : nullptr);
  if (keep) payload_bytes_ += rec.payload.size();
  job.queue = queue;
  job.submitted_ms = rec.submitted_ms;
  job.started_ms = rec.started_ms;
  job.priority = rec.priority;
  job.attempt = rec.attempt;
  // Whether an earlier attempt had started is not stored: after a restart, each one counts as
  // lost (conservative; a job new to this broker has none).
  job.lost = static_cast<std::uint16_t>(std::min<std::uint32_t>(rec.attempt, UINT16_MAX));
  job.timeout_ms = rec.timeout_ms;
  job.run_timeout_ms = rec.run_timeout_ms;
  job.assign_timeout_ms = rec.assign_timeout_ms;
  job.state = rec.state;
  // A revived job, or one recovered beside another live holder of its key, runs without it.
  if (!rec.unique_key.empty()) {
    job.unique = unique_.hold(rec.task, rec.unique_key, rec.id, rec.unique_for_ms, clock_.now());
  }
  return job;
}

std::optional<std::string_view> Core::payloadFor(LiveJob& job, std::string& scratch) {
  if (job.payload_in_memory) return job.payload();
  Result<std::string> loaded = store_.loadPayload(job.id);
  if (!loaded) {
    spdlog::error("cannot read the payload of job {}: {}", job.id, loaded.status().toString());
    finish(job, JobState::kDead, {}, errc::kInternal, "the broker could not read the job's payload from its store: " +
                                                       loaded.status().message());
    return std::nullopt;
  }
  // Read again if the job comes back to the queue: it stays out of the memory budget.
  scratch = std::move(*loaded);
  return std::string_view(scratch);
}

JobRecord Core::recordOf(const LiveJob& job) const {
  JobRecord rec;
  rec.id = job.id;
  rec.task = job.queue->task;
  rec.priority = job.priority;
  rec.state = job.state;
  rec.attempt = job.attempt;
  rec.timeout_ms = job.timeout_ms;
  rec.run_timeout_ms = job.run_timeout_ms;
  rec.assign_timeout_ms = job.assign_timeout_ms;
  rec.submitted_ms = job.submitted_ms;
  rec.started_ms = job.attempt > 0 ? job.started_ms : 0;  // a job that came due holds that time there
  if (job.state == JobState::kScheduled) {
    rec.run_at_ms = job.started_ms;  // see LiveJob::started_ms
    rec.started_ms = 0;
  }
  if (const JobRetry* retry = job.retry()) {
    rec.retries = retry->retries;
    rec.retried = retry->retried;
    rec.backoff_ms = retry->backoff_ms;
    rec.backoff_max_ms = retry->backoff_max_ms;
    if (job.state == JobState::kRetrying) rec.run_at_ms = retry->run_at_ms;
  }
  rec.worker = std::string(workerName(job.worker));
  if (job.unique) {
    if (const UniqueKeys::Held* held = unique_.of(job.id)) {
      rec.unique_key = held->key;
      rec.unique_for_ms = held->window_ms;
    }
  }
  if (job.has_fair) rec.fair_key = std::string(job.queue->fair->name(job.fairKey()));
  return rec;
}

std::string_view Core::workerName(PeerId id) const {
  if (id == 0) return {};
  auto it = peers_.find(id);
  return it == peers_.end() ? std::string_view() : std::string_view(it->second.name);
}

void Core::addDeadlines(const LiveJob& job, MonoTime submitted_at) {
  if (job.timeout_ms > 0) deadlines_.add({submitted_at + Millis(job.timeout_ms), job.id, 0, DeadlineKind::kGlobal});
  // The assign limit covers waiting for the first worker only; a job that ever started has met it.
  if (job.assign_timeout_ms > 0 && job.attempt == 0) {
    deadlines_.add({submitted_at + Millis(job.assign_timeout_ms), job.id, job.attempt, DeadlineKind::kAssign});
  }
}

void Core::tick() {
  MonoTime now = clock_.now();
  // Scheduled jobs first: a job due at the same moment as its own limit gets its chance to run.
  while (auto id = scheduled_.popDue(now)) {
    LiveJob* job = jobs_.find(*id);
    if (job != nullptr && job->state == JobState::kScheduled) scheduledDue(*job);  // else cancelled meanwhile
  }
  while (auto due = deadlines_.popDue(now)) onDeadline(*due);
  fireDueCrons();
  // Queues whose rate limit has a token again deal again.
  std::erase_if(rate_waiting_, [&](TaskQueue* tq) {
    if (*tq->rate_wake > now) return false;
    tq->rate_wake.reset();
    if (!tq->dirty && !tq->queue.empty()) {
      tq->dirty = true;
      dirty_.push_back(tq);
    }
    return true;
  });
}

std::optional<MonoTime> Core::nextDeadline() const {
  std::optional<MonoTime> next = deadlines_.earliest();
  auto consider = [&next](std::optional<MonoTime> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  consider(scheduled_.earliest());
  for (const TaskQueue* tq : rate_waiting_) consider(tq->rate_wake);
  if (auto firing = crons_.nextFiringMs()) {
    // Wall time to the loop's monotonic clock; a firing already due is due now.
    std::uint64_t wall = clock_.wallMillis();
    consider(clock_.now() + Millis(*firing > wall ? *firing - wall : 0));
  }
  return next;
}

void Core::onDeadline(const Deadline& deadline) {
  LiveJob* found = jobs_.find(deadline.job);
  if (found == nullptr) return;  // finished already: a stale deadline
  LiveJob& job = *found;
  switch (deadline.kind) {
    case DeadlineKind::kGlobal: {
      count(*job.queue, TaskCounter::kExpiredTimeout);
      bool was_running = job.state == JobState::kRunning;
      recordEvent(job.id, EventKind::kExpired, job.attempt, std::string(errc::kTimeout));
      if (was_running) recordFailure(job, workerName(job.worker), errc::kTimeout, "cut short by the job's timeout");
      releaseFromWorker(job, errc::kTimeout);
      finish(job, JobState::kDead, {}, errc::kTimeout,
             "no result within the job's timeout of " + std::to_string(job.timeout_ms) + " ms" +
                 (was_running ? " (it was running)" : " (it was still queued)"));
      return;
    }
    case DeadlineKind::kAssign:
      // Only while the job still waits for its first worker: once dealt, the limit is met.
      if (job.state != JobState::kQueued || job.attempt != deadline.attempt) return;
      count(*job.queue, TaskCounter::kExpiredAssignTimeout);
      recordEvent(job.id, EventKind::kExpired, job.attempt, std::string(errc::kAssignTimeout));
      finish(job, JobState::kDead, {}, errc::kAssignTimeout,
             "no worker took the job within its assign timeout of " + std::to_string(job.assign_timeout_ms) +
                 " ms");
      return;
    case DeadlineKind::kRun:
      if (job.state != JobState::kRunning || job.attempt != deadline.attempt) return;
      count(*job.queue, TaskCounter::kExpiredRunTimeout);
      {
        std::string worker(workerName(job.worker));
        recordEvent(job.id, EventKind::kExpired, job.attempt, std::string(errc::kRunTimeout));
        releaseFromWorker(job, errc::kRunTimeout);
        failAttempt(job, worker, errc::kRunTimeout,
                    "attempt " + std::to_string(job.attempt) + " ran longer than the run timeout of " +
                        std::to_string(job.run_timeout_ms) + " ms",
                    /*retryable=*/true);
      }
      return;
    case DeadlineKind::kRetry:
      if (job.state == JobState::kRetrying && job.attempt == deadline.attempt) retryDue(job);
      return;
  }
}

void Core::purgeExpiredResults() {
  std::uint64_t wall_now = clock_.wallMillis();
  auto before = [wall_now](std::chrono::milliseconds ttl) {
    auto ms = static_cast<std::uint64_t>(ttl.count());
    return wall_now > ms ? wall_now - ms : 0;
  };
  // finished_before_ms 0 would mean "no bound": a TTL longer than the epoch purges nothing instead.
  if (std::uint64_t cutoff = before(options_.result_ttl); cutoff > 0) {
    auto purged = store_.purgeFinished({{JobState::kSucceeded, JobState::kCancelled}, {}, cutoff});
    if (!purged) spdlog::error("purging expired results failed: {}", purged.status().toString());
  }
  if (std::uint64_t cutoff = before(options_.dead_ttl); cutoff > 0) {
    auto purged = store_.purgeFinished({{JobState::kDead}, {}, cutoff});
    if (!purged) {
      spdlog::error("purging expired dead jobs failed: {}", purged.status().toString());
    } else if (*purged > 0) {
      dead_in_store_ = dead_in_store_ > *purged ? dead_in_store_ - *purged : 0;
    }
  }
  if (options_.dead_max > 0 && dead_in_store_ > options_.dead_max) trimDeadJobs();
}

// ---------------------------------------------------------------------------------------------
// Dealing jobs to workers.

void Core::deal() {
  // Dealing may free nothing, so each dirty queue is visited once per call.
  std::vector<TaskQueue*> dirty;
  dirty.swap(dirty_);
  for (TaskQueue* tq : dirty) {
    tq->dirty = false;
    dealTask(*tq);
  }
}

void Core::dealTask(TaskQueue& tq) {
  if (tq.paused) return;
  auto live = [this](const JobQueue::Entry& entry) {
    const LiveJob* job = jobs_.find(entry.id);
    return job != nullptr && job->ticket == entry.ticket;
  };
  if (tq.rate_wake) return;  // out of tokens until then; tick() deals again
  while (!tq.queue.empty()) {
    auto entry = tq.queue.peek(live);
    if (!entry) return;
    LiveJob& job = *jobs_.find(entry->id);
    if (tq.rate) {
      if (std::optional<MonoTime> next = tq.rate->nextTokenAt(clock_.now())) {
        // No busy loop: the queue sleeps until the bucket has a token again.
        tq.rate_wake = *next;
        rate_waiting_.push_back(&tq);
        return;
      }
    }
    PeerId worker_id = pickWorker(tq, job);
    // Priority ranges may refuse this priority while a lower one still has room (strict mode
    // keeps the top range below the middle one): look down the queue's levels.
    for (std::int32_t refused = job.priority; worker_id == 0 && tq.ranged_workers > 0;) {
      auto lower = tq.queue.peekBelow(refused, live);
      if (!lower) break;
      LiveJob& candidate = *jobs_.find(lower->id);
      worker_id = pickWorker(tq, candidate);
      if (worker_id != 0) {
        entry = lower;
        break;
      }
      refused = candidate.priority;
    }
    if (worker_id == 0) return;
    LiveJob& dealt = *jobs_.find(entry->id);
    if (tq.rate) tq.rate->tryTake(clock_.now());  // there is one: nextTokenAt() said so
    // A failed read finished the job, which left its entry dead at the head: peek skips it.
    auto payload = payloadFor(dealt, payload_scratch_);
    if (!payload) continue;
    tq.queue.popPeeked();
    assign(dealt, *payload, tq, worker_id, peers_.at(worker_id));
  }
}

PeerId Core::pickWorker(const TaskQueue& tq, const LiveJob& job) {
  candidates_.clear();
  for (PeerId id : tq.workers) {
    const Peer& worker = peers_.at(id);
    if (worker.draining || worker.slots == 0 || worker.output_full) continue;
    std::uint64_t held = worker.held();
    // A worker with priority ranges takes a job only into a slot its ranges allow (no prefetch:
    // a prefetched job would take its slot later, when the ranges may no longer allow it).
    if (worker.ranges && !worker.ranges->admits(job.priority)) continue;
    std::uint64_t room = std::uint64_t{worker.slots} + (worker.ranges ? 0 : worker.prefetch);
    if (held >= room) continue;
    candidates_.push_back({id, worker.slots, worker.slots > held ? worker.slots - held : 0, room - held});
  }
  if (candidates_.empty()) return 0;
  std::optional<std::size_t> picked = selection_->pick({tq.task, job.priority}, candidates_);
  // A plugged-in selection may answer anything: only a candidate with room counts.
  if (!picked || *picked >= candidates_.size() || candidates_[*picked].free_room == 0) return 0;
  return candidates_[*picked].id;
}

void Core::markWorkerTasksDirty(const Peer& worker) {
  for (const std::string& task : worker.tasks) {
    TaskQueue& tq = taskQueue(task);
    if (!tq.dirty && !tq.queue.empty()) {
      tq.dirty = true;
      dirty_.push_back(&tq);
    }
  }
}

void Core::leaveTasks(PeerId id, const Peer& worker) {
  for (const std::string& task : worker.tasks) {
    TaskQueue& tq = taskQueue(task);
    tq.workers.erase(std::remove(tq.workers.begin(), tq.workers.end(), id), tq.workers.end());
    if (worker.serves()) --tq.serving;
    if (worker.ranges) --tq.ranged_workers;
  }
}

void Core::joinTasks(PeerId id, const Peer& worker) {
  for (const std::string& task : worker.tasks) {
    TaskQueue& tq = taskQueue(task);
    tq.workers.push_back(id);
    if (worker.serves()) ++tq.serving;
    if (worker.ranges) ++tq.ranged_workers;
  }
}

FairKeys& Core::fairKeys(TaskQueue& tq) {
  if (tq.fair == nullptr) tq.fair = std::make_unique<FairKeys>();
  return *tq.fair;
}

TaskQueue& Core::taskQueue(std::string_view task) {
  auto it = queues_.find(task);
  if (it != queues_.end()) return it->second;
  TaskQueue& tq = queues_[std::string(task)];
  tq.task = std::string(task);
  return tq;
}

// ---------------------------------------------------------------------------------------------
// Output.

template <typename Msg>
void Core::send(PeerId peer, std::uint32_t request_id, const Msg& msg) {
  // Only these report state the store must hold first; everything else may leave at once.
  // STATS_REPLY is a snapshot of counters and lists in memory, promising nothing about the store.
  constexpr bool kReportsDurableState = std::is_same_v<Msg, protocol::SubmittedMsg> ||
                                        std::is_same_v<Msg, protocol::ResultMsg> ||
                                        std::is_same_v<Msg, protocol::JobInfoMsg> ||
                                        std::is_same_v<Msg, protocol::ExplanationMsg> ||
                                        std::is_same_v<Msg, protocol::CountMsg>;
  // While the disk is full no commit comes to release replies, yet STATUS must go on answering:
  // then JOB_INFO leaves at once, reporting what may not be durable yet (docs/protocol.md).
  constexpr bool kAnswersStatus =
      std::is_same_v<Msg, protocol::JobInfoMsg> || std::is_same_v<Msg, protocol::ExplanationMsg>;
  bool durable = kReportsDurableState && !(kAnswersStatus && store_.full());
  encodeTo(durable ? outbox_.output(peer) : outbox_.urgentOutput(peer), peer, request_id, msg);
}

template <typename Msg>
void Core::sendAfterCommit(PeerId peer, std::uint32_t request_id, const Msg& msg) {
  encodeTo(outbox_.output(peer), peer, request_id, msg);
}

template <typename Msg>
void Core::encodeTo(std::string* out, PeerId peer, std::uint32_t request_id, const Msg& msg) {
  if (out != nullptr) protocol::encode(*out, request_id, msg, versionOf(peer));
}

std::uint16_t Core::versionOf(PeerId id) const {
  // A turn mostly answers the peer whose frame it handles: one remembered peer saves the lookups.
  if (id == version_cache_.first) return version_cache_.second;
  auto it = peers_.find(id);
  if (it == peers_.end()) return protocol::kVersion;
  version_cache_ = {id, it->second.version};
  return it->second.version;
}

std::uint8_t wireState(JobState state, std::uint16_t version) {
  // Version 1 knows four states: a retrying job is waiting (queued) and a cancelled one failed.
  if (version < 2) {
    if (state == JobState::kRetrying) return static_cast<std::uint8_t>(JobState::kQueued);
    if (state == JobState::kCancelled) return static_cast<std::uint8_t>(JobState::kDead);
  }
  // Before version 3 a job waiting for its time is simply waiting.
  if (version < 3 && state == JobState::kScheduled) return static_cast<std::uint8_t>(JobState::kQueued);
  return static_cast<std::uint8_t>(state);
}

void Core::sendError(PeerId peer, std::uint32_t request_id, std::string_view code, std::string_view message) {
  send(peer, request_id, protocol::ErrorMsg{code, message.substr(0, 65535)});
}

void Core::sendResult(PeerId peer, const JobRecord& rec) {
  protocol::ResultMsg msg;
  msg.job_id = rec.id;
  msg.state = wireState(rec.state, versionOf(peer));
  msg.attempt = rec.attempt;
  msg.result.data = rec.result;
  msg.error_code = std::string_view(rec.error_code).substr(0, 65535);
  msg.error_message = std::string_view(rec.error_message).substr(0, 65535);
  send(peer, 0, msg);
}

void Core::sendJobInfo(PeerId peer, std::uint32_t request_id, const JobRecord& rec) {
  send(peer, request_id, jobInfoOf(rec, versionOf(peer)));
}

protocol::JobInfoMsg Core::jobInfoOf(const JobRecord& rec, std::uint16_t version) {
  protocol::JobInfoMsg msg;
  msg.job_id = rec.id;
  msg.task = rec.task;
  msg.state = wireState(rec.state, version);
  msg.priority = rec.priority;
  msg.attempt = rec.attempt;
  msg.submitted_ms = rec.submitted_ms;
  msg.started_ms = rec.started_ms;
  msg.finished_ms = rec.finished_ms;
  msg.worker = std::string_view(rec.worker).substr(0, 65535);
  msg.result.data = rec.result;
  msg.error_code = std::string_view(rec.error_code).substr(0, 65535);
  msg.error_message = std::string_view(rec.error_message).substr(0, 65535);
  msg.retries = rec.retries;
  msg.retried = rec.retried;
  msg.run_at_ms = rec.run_at_ms;
  msg.payload.data = rec.payload;
  msg.unique_key = rec.unique_key;
  msg.unique_for_ms = rec.unique_for_ms;
  msg.fair_key = rec.fair_key;
  msg.failures.reserve(rec.failures.size());
  for (const AttemptFailure& f : rec.failures) {
    msg.failures.push_back({f.attempt, protocol::truncateUtf8(f.worker, 65535), f.started_ms, f.ended_ms,
                            protocol::truncateUtf8(f.error_code, 65535),
                            protocol::truncateUtf8(f.error_message, 65535)});
  }
  return msg;
}


// The handlers in core_control.cc send these.
template void Core::send(PeerId, std::uint32_t, const protocol::CountMsg&);
template void Core::send(PeerId, std::uint32_t, const protocol::ExplanationMsg&);
template void Core::send(PeerId, std::uint32_t, const protocol::JobListMsg&);
template void Core::send(PeerId, std::uint32_t, const protocol::CronEntriesMsg&);
template void Core::sendAfterCommit(PeerId, std::uint32_t, const protocol::OkMsg&);
template void Core::sendAfterCommit(PeerId, std::uint32_t, const protocol::CronEntriesMsg&);

}  // namespace corvee::broker
