// broker::Core — the broker's whole state and logic, with no I/O of its own.
//
// The server feeds it decoded frames and connection events; it answers by appending frames to
// peers' output buffers through the Outbox, and records every job change in the Store. Time comes
// from the injected Clock, so every time limit is tested on a fake clock (tests/broker/).
//
// One turn of the event loop: any number of onFrame() calls, then flush() (deal queued jobs to
// free workers and commit the store), and only then does the server write the buffered replies,
// so nothing is acknowledged before it is durable. tick() runs the time limits that fell due.
//
// Not thread-safe: owned by the broker's loop thread, which is why src/broker/ has no locks.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/access.h"
#include "broker/auth_tokens.h"
#include "broker/memory_release.h"
#include "broker/cron_table.h"
#include "broker/deadline_set.h"
#include "broker/job_queue.h"
#include "broker/live_jobs.h"
#include "broker/options.h"
#include "broker/outbox.h"
#include "broker/retry_backoff.h"
#include "broker/schedule_set.h"
#include "broker/slot_ranges.h"
#include "broker/task_queue.h"
#include "broker/unique_keys.h"
#include "broker/wait_reason.h"
#include "broker/worker_selection.h"
#include "platform/clock.h"
#include "platform/random.h"
#include "protocol/frame_decoder.h"
#include "protocol/messages.h"
#include "store/store.h"

namespace corvee::broker {

// The state as a peer speaking protocol `version` knows it: states newer than its version read
// as the nearest older one.
std::uint8_t wireState(JobState state, std::uint16_t version);

// Counters and listings for STATS and tests.
struct CoreCounts {
  std::uint64_t queued = 0;
  std::uint64_t running = 0;
  std::uint64_t retrying = 0;   // waiting for their next attempt
  std::uint64_t scheduled = 0;  // waiting for the time they were submitted for
  // The next four are totals the store keeps: they survive a restart (recover() loads them).
  std::uint64_t succeeded = 0;
  std::uint64_t dead = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t retried = 0;    // retries scheduled
  std::uint64_t stale_refused = 0;  // COMPLETE/FAIL refused as stale_attempt
};

class Core {
 public:
  // `random` draws retry jitter (and random worker selection); tests pass a fake one to replay it.
  // `selection`, when given, replaces the one options.select names (a C++ program embedding the
  // broker plugs its own in here, worker_selection.h); it must outlive the Core.
  Core(const BrokerOptions& options, Store& store, Clock& clock, Outbox& outbox, Random& random = threadRandom(),
       WorkerSelection* selection = nullptr);

  // Loads unfinished jobs from the store: queued jobs in their order, jobs that were running put
  // back in the queue. REQUIRES: called once, before any peer connects.
  Status recover();

  // `trusted`: an in-process peer (the HTTP API's) that greets without a token and is granted its
  // access per request with setAccess().
  void onConnect(PeerId peer, std::string remote, bool trusted = false);
  // The tokens peers must present from now on; nullptr for none (every peer is an admin). Peers
  // already connected are checked again: a peer whose token is gone or no longer allows its role
  // is refused with ERROR unauthenticated or permission_denied and closed; the others get their
  // token's new access. Used at start and when the token file is re-read (SIGHUP).
  void setTokens(std::shared_ptr<const TokenTable> tokens);
  bool authRequired() const { return tokens_ != nullptr; }
  // The access `token` grants: admin when no tokens are required, nullopt when it is not valid.
  std::optional<Access> accessFor(std::string_view token) const;
  // Sets a trusted peer's access (the HTTP API sets each request's).
  void setAccess(PeerId peer, Access access);
  void onFrame(PeerId peer, const protocol::Frame& frame);
  // A worker's output fell back under the high-water mark: it may be dealt jobs again.
  void onOutputDrained(PeerId peer);
  // A frame longer than the limit arrived; its body is being skipped.
  void onOversizedFrame(PeerId peer, const protocol::Frame& header);
  // The stream's framing is broken (a length below the minimum): answer and close.
  void onMalformedStream(PeerId peer);
  // The connection closed or fell silent: a worker's running jobs go back to their queues.
  void onPeerGone(PeerId peer);

  // Deals queued jobs to workers with free slots. The server calls it at the end of every turn.
  void deal();
  // Makes every change so far durable. A failed commit means nothing since the last commit may be
  // acknowledged: the caller must stop.
  [[nodiscard]] Status commit() {
    if (!counters_dirty_.empty()) storeCounters();
    Status committed = store_.commit();
    if (committed.isOk()) {
      first_uncommitted_ = next_id_;
      acknowledgeSubmissions();
    }
    return committed;
  }
  // deal() then commit(), for callers that do not defer commits.
  [[nodiscard]] Status flush() {
    deal();
    return commit();
  }
  // Fires every time limit due at the clock's now.
  void tick();
  // Hands freed memory back to the system if jobs freed enough of it and none finished since the
  // last call (memory_release.h). The server calls it periodically (housekeeping).
  void releaseMemoryWhenQuiet();
  // The earliest time limit or scheduled job, for the server's timer.
  std::optional<MonoTime> nextDeadline() const;
  // Deletes finished jobs older than their retention (result_ttl, dead_ttl) from the store.
  void purgeExpiredResults();

  const CoreCounts& counts() const { return counts_; }
  // A store commit took `took` (the server measures it around commit()), for METRICS.
  void observeCommit(std::chrono::nanoseconds took) { commit_latency_.observe(took); }
  // True for a registered worker that holds jobs (running, prefetched or being cancelled).
  bool holdsJobs(PeerId peer) const;
  // The STATS document (docs/protocol.md, section 6). Fails with `internal` only if rendering it
  // failed, which must never end the broker.
  Result<std::string> statsJson();
  // The METRICS_TEXT document (docs/protocol.md, "Metrics (v5)"): the Prometheus text format.
  // Not const: finding each queue's oldest job drops the dead entries at the queue's heads.
  std::string metricsText();

 private:
  struct Peer {
    std::string remote;
    std::string name;
    std::uint16_t version = protocol::kVersion;  // the protocol version its WELCOME chose
    protocol::Role role = protocol::Role::kClient;
    bool greeted = false;  // HELLO accepted
    // SUBMITs since the last commit, whose answers wait for it (--max-in-flight-per-client).
    std::uint32_t in_flight = 0;
    // What it may do (access.h): its token's access, or admin when no tokens are required.
    Access access = Access::kAdmin;
    bool trusted = false;               // in process; access set per request (setAccess)
    std::optional<TokenDigest> token;   // the digest of the token its HELLO presented
    // Worker part, meaningful after REGISTER.
    bool registered = false;
    std::uint32_t slots = 0;
    std::uint32_t prefetch = 0;
    bool draining = false;
    std::vector<std::string> tasks;
    std::unordered_set<JobId> running;  // every job dealt to it and not yet finished
    // Prefetch model: the worker runs its jobs in the order they were dealt, so the broker knows a
    // prefetched job takes a slot when an earlier one finishes, without a message saying so.
    std::uint32_t in_slots = 0;                                   // running jobs holding a slot
    std::deque<std::pair<JobId, std::uint32_t>> awaiting_slot;    // (job, attempt) in deal order
    // Attempts the broker cancelled (time limits) that the worker has not yet reported back: the
    // worker is still stopping them, so they keep counting against its room, and against a slot
    // if they held one, until its COMPLETE or FAIL for that attempt arrives.
    struct Cancelled {
      std::uint32_t attempt;
      bool in_slot;
      std::int32_t priority;  // for its priority range, when in_slot
    };
    std::unordered_map<JobId, Cancelled> cancelling;
    // Its unwritten output is over the high-water mark (it does not read its ASSIGNs): no more
    // jobs go to it until Server reports the output drained.
    bool output_full = false;
    // Jobs it holds or is still stopping: what its slots + prefetch bound.
    std::size_t held() const { return running.size() + cancelling.size(); }
    // Counted in its tasks' TaskQueue::serving: a worker that may be dealt jobs.
    bool serves() const { return registered && !draining && slots > 0; }
    // Its priority ranges (REGISTER priority_slots), with the jobs holding its slots by priority.
    std::optional<SlotOccupancy> ranges;
    // A job leaves one of its slots.
    void freeSlot(std::int32_t priority) {
      --in_slots;
      if (ranges) ranges->release(priority);
    }
  };

  // One handler per message type, named after its command.
  void handleHello(PeerId id, Peer& peer, const protocol::Frame& frame);
  // A commit released every SUBMIT's answer: no connection has submissions in flight.
  void acknowledgeSubmissions();
  // Checks HELLO's token against the token table and sets the peer's access (core_auth.cc).
  Status admit(Peer& peer, const protocol::HelloMsg& hello) const;
  // Answers a frame its peer's access does not allow with ERROR permission_denied.
  void refuseAccess(PeerId id, const Peer& peer, const protocol::Frame& frame);
  void handlePing(PeerId id, const protocol::Frame& frame);
  void handleSubmit(PeerId id, Peer& peer, const protocol::Frame& frame);
  void handleSubscribe(PeerId id, const protocol::Frame& frame);
  void handleStatus(PeerId id, const protocol::Frame& frame);
  void handleStats(PeerId id, const protocol::Frame& frame);
  void handleMetrics(PeerId id, const protocol::Frame& frame);
  void handleRegister(PeerId id, Peer& peer, const protocol::Frame& frame);
  void handleComplete(PeerId id, Peer& peer, const protocol::Frame& frame);
  void handleFail(PeerId id, Peer& peer, const protocol::Frame& frame);
  void handleDrain(PeerId id, Peer& peer, const protocol::Frame& frame);
  // Control and inspection (core_control.cc).
  void handleCancelJob(PeerId id, const Peer& peer, const protocol::Frame& frame);
  void handlePurge(PeerId id, const Peer& peer, const protocol::Frame& frame);
  void handlePause(PeerId id, const Peer& peer, const protocol::Frame& frame);
  void handleListJobs(PeerId id, const Peer& peer, const protocol::Frame& frame);
  void handleDeadRetry(PeerId id, const Peer& peer, const protocol::Frame& frame);
  void handleDeadPurge(PeerId id, const Peer& peer, const protocol::Frame& frame);
  // Periodic jobs (core_cron.cc).
  void handleCronAdd(PeerId id, const Peer& peer, const protocol::Frame& frame);
  void handleCronRemove(PeerId id, const Peer& peer, const protocol::Frame& frame);
  void handleCronPause(PeerId id, const Peer& peer, const protocol::Frame& frame);
  void handleCronList(PeerId id, const Peer& peer, const protocol::Frame& frame);
  // Loads the stored cron entries at start (recover()).
  Status loadCrons();
  // Submits the jobs of the cron entries due now, each committed with its entry's firing.
  void fireDueCrons();
  // The entry as CRON_ENTRIES lists it to a peer speaking `version`; `submit_scratch` holds its
  // re-encoded SUBMIT body.
  protocol::CronEntryItem cronItem(const CronTable::Entry& entry, std::uint16_t version, std::string& submit_scratch) const;
  void handleRate(PeerId id, const Peer& peer, const protocol::Frame& frame);
  // History and explain (core_explain.cc).
  void handleExplain(PeerId id, const Peer& peer, const protocol::Frame& frame);
  // What the broker knows of a live job's wait, for explainWait().
  WaitFacts waitFacts(const LiveJob& job) const;
  // The task's settings as the store keeps them.
  static TaskSettings settingsOf(const TaskQueue& tq);
  // Limits the task's dispatch to `spec` (nullopt: no limit) from now on.
  void setRate(TaskQueue& tq, const std::optional<RateSpec>& spec);

  // The checks of a SUBMIT that do not depend on the broker's state (CRON_ADD makes them too).
  Status checkSubmission(const protocol::SubmitMsg& msg) const;
  // The job holding the SUBMIT's unique key, live or finished within its window; nullopt when
  // it has none or the key is free (a holder whose record was purged frees it here).
  std::optional<JobId> uniqueHolder(const protocol::SubmitMsg& msg);
  // A SUBMIT whose unique key job `holder` holds: answered with its id, flagged duplicate, and the
  // peer gets its RESULT.
  void answerDuplicate(PeerId id, std::uint32_t request_id, JobId holder);
  // A new job from a SUBMIT (a client's, or a cron entry's firing with owner 0): stored, queued or
  // scheduled. The SUBMITTED to answer with, or the error to refuse it with. REQUIRES:
  // checkSubmission(msg) passed and uniqueHolder(msg) found none.
  Result<protocol::SubmittedMsg> submitJob(const protocol::SubmitMsg& msg, PeerId owner);

  // Job lifecycle.
  void enqueue(LiveJob& job, bool at_front);
  void assign(LiveJob& job, std::string_view payload, TaskQueue& tq, PeerId worker_id, Peer& worker);
  // Finishes the job with `state` and notifies its owner and watchers; erases it.
  void finish(LiveJob& job, JobState state, std::string_view result, std::string_view code, std::string_view message);
  // The running attempt failed with `code` (already released from its worker): it is recorded, and
  // the job retries after its backoff if it has retries left and `retryable`, else it is dead.
  void failAttempt(LiveJob& job, std::string_view worker, std::string_view code, std::string_view message,
                   bool retryable);
  // Records the job's running attempt as failed in the store's history.
  void recordFailure(const LiveJob& job, std::string_view worker, std::string_view code, std::string_view message);
  // Appends an event with no change of state of its own to the job's history, at the wall time now.
  void recordEvent(JobId id, EventKind kind, std::uint32_t attempt, std::string detail = {});
  // A retrying job's time came: it joins its queue, unless an earlier attempt is still stopping.
  void retryDue(LiveJob& job);
  // A scheduled job waits until `run_at_ms` (wall time), due on the monotonic clock at `due`.
  void schedule(LiveJob& job, std::uint64_t run_at_ms, MonoTime due);
  // A scheduled job's time came: it joins its queue.
  void scheduledDue(LiveJob& job);
  // The worker reported a cancelled attempt stopped (or is gone): a retry waiting for that may go.
  void attemptStopped(JobId job_id, std::uint32_t attempt);
  // Cancels a live job: ends it `cancelled` now; a running attempt is told to stop.
  void cancel(LiveJob& job, std::string_view why);
  // Brings a dead job from the store back to its queue with fresh retries. REQUIRES: rec is dead.
  void revive(JobRecord&& rec);
  // Keeps at most options_.dead_max dead jobs in the store, dropping the oldest.
  void trimDeadJobs();
  // The name of the worker on connection `id`; empty when gone.
  std::string_view workerName(PeerId id) const;
  // The job as the store and STATUS see it (without payload).
  JobRecord recordOf(const LiveJob& job) const;
  // Takes a running job off its worker, telling the worker to drop it.
  void releaseFromWorker(LiveJob& job, std::string_view cancel_code);
  // A running job stopped running (released or its worker lost): its fairness key counts one
  // running job less, and its task deals again if that brings the key under its cap.
  void keyStopped(LiveJob& job);
  // The job takes a slot on its worker: its run time limit starts now.
  void occupySlot(LiveJob& job, Peer& worker);
  // Moves prefetched jobs into the slots the worker has free, oldest first.
  void fillSlots(Peer& worker);
  void onDeadline(const Deadline& deadline);
  void addDeadlines(const LiveJob& job, MonoTime submitted_at);
  // Makes the live job for `rec` (in `queue`, when the caller has looked it up), keeping its payload in memory if `payload_known` and the budget
  // allows (always, for a store without a live journal); otherwise it is read from the store when
  // the job is dealt.
  LiveJob& adopt(const JobRecord& rec, bool payload_known, TaskQueue* queue = nullptr);
  // The job's payload: its own bytes, or read from the store into `scratch`. Nullopt when the store
  // could not provide it; the job has then been failed.
  std::optional<std::string_view> payloadFor(LiveJob& job, std::string& scratch);
  // Checks that `attempt` is the job's running attempt on `worker`; refuses with stale_attempt,
  // unless it is an attempt the broker cancelled, whose report only frees its slot.
  LiveJob* fencedJob(PeerId id, Peer& worker, std::uint32_t request_id, JobId job_id, std::uint32_t attempt,
                     const char* what);
  // Frees the room of a cancelled attempt the worker reports gone. False when it is not one.
  bool reapCancelled(Peer& worker, JobId job_id, std::uint32_t attempt);

  // Metrics (metrics_render.cc renders them).
  // Counts one more `counter` for the task; its total reaches the store with the next commit.
  void count(TaskQueue& tq, TaskCounter counter) {
    if (tq.metrics.add(counter)) counters_dirty_.push_back(&tq);
  }
  // Hands the store what the totals of counters_dirty_ gained since the last commit.
  void storeCounters();
  // Loads the totals the store kept (recover()).
  Status loadCounters();
  // Wall time (ms) since which a queued job has been ready: submitted, came due, retry came due,
  // or (requeued after its worker was lost) its last attempt started.
  static std::uint64_t readyMs(const LiveJob& job);
  // How long the task's oldest queued job has been ready, in ms at wall time `now_ms`; 0 when
  // none is queued. Looks only at the heads of its queue's levels and lanes.
  std::uint64_t oldestQueuedAgeMs(TaskQueue& tq, std::uint64_t now_ms);

  // Dealing.
  void dealTask(TaskQueue& tq);
  // The worker the selection picks for `job` among those of `tq` that may be dealt a job now; 0 for none.
  PeerId pickWorker(const TaskQueue& tq, const LiveJob& job);
  void markWorkerTasksDirty(const Peer& worker);
  // A worker joins or leaves the worker lists (and serving counts) of its tasks.
  void joinTasks(PeerId id, const Peer& worker);
  void leaveTasks(PeerId id, const Peer& worker);
  TaskQueue& taskQueue(std::string_view task);
  // The task's FairKeys, made on first use.
  FairKeys& fairKeys(TaskQueue& tq);

  // Output.
  template <typename Msg>
  void send(PeerId peer, std::uint32_t request_id, const Msg& msg);
  // For replies that report a change of state (a cancel, a pause): sent once it is committed.
  template <typename Msg>
  void sendAfterCommit(PeerId peer, std::uint32_t request_id, const Msg& msg);
  template <typename Msg>
  void encodeTo(std::string* out, PeerId peer, std::uint32_t request_id, const Msg& msg);
  // The version peer `id` speaks; kVersion for an unknown peer.
  std::uint16_t versionOf(PeerId id) const;
  void sendError(PeerId peer, std::uint32_t request_id, std::string_view code, std::string_view message);
  void sendResult(PeerId peer, const JobRecord& rec);
  void sendJobInfo(PeerId peer, std::uint32_t request_id, const JobRecord& rec);
  // JOB_INFO's fields for `rec` at `version`; views into `rec`, which must outlive it.
  static protocol::JobInfoMsg jobInfoOf(const JobRecord& rec, std::uint16_t version);
  // The job's record with its failures (and payload, with `with_payload`), live or from the store.
  Result<std::optional<JobRecord>> fullRecord(JobId id, bool with_payload);

  BrokerOptions options_;
  Store& store_;
  Clock& clock_;
  Outbox& outbox_;
  Random& random_;
  std::unique_ptr<WorkerSelection> own_selection_;  // when the constructor was given none
  WorkerSelection* selection_;
  std::vector<WorkerView> candidates_;  // pickWorker's scratch, kept to save an allocation per job
  std::vector<TaskQueue*> rate_waiting_;  // queues out of tokens, each until its rate_wake
  MonoTime started_at_;

  std::unordered_map<PeerId, Peer> peers_;
  std::shared_ptr<const TokenTable> tokens_;  // nullptr: no tokens required
  std::vector<PeerId> in_flight_peers_;       // peers with Peer::in_flight > 0
  LiveJobs jobs_;                                 // queued and running jobs
  std::unordered_map<JobId, std::vector<PeerId>> watchers_;  // SUBSCRIBE from other connections; rare
  // Task names to queues; heterogeneous lookup, so a string_view finds without allocating.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, TaskQueue, NameHash, std::equal_to<>> queues_;
  std::vector<TaskQueue*> dirty_;                 // queues with dirty == true
  DeadlineSet deadlines_;
  ScheduleSet scheduled_;
  CronTable crons_;
  JobId next_id_ = 1;
  // Jobs from this id on were submitted since the last successful commit: a reply naming one of
  // them must wait for the next commit like its own SUBMITTED.
  JobId first_uncommitted_ = 1;
  UniqueKeys unique_;  // unique keys and the jobs holding them
  std::size_t payload_bytes_ = 0;  // sum of payload sizes held in LiveJobs
  MemoryRelease memory_release_;   // hands the memory of finished jobs back to the system in batches
  std::string payload_scratch_;    // a payload read back from the store, while its ASSIGN is made
  CoreCounts counts_;
  std::vector<TaskQueue*> counters_dirty_;  // queues whose totals changed since the last commit
  Histogram commit_latency_;                // store commits, as the server measured them
  std::uint64_t dead_in_store_ = 0;  // dead jobs the store keeps, for the dead_max bound
  mutable std::pair<PeerId, std::uint16_t> version_cache_{0, protocol::kVersion};  // see versionOf()
};

}  // namespace corvee::broker
