// Core's control and inspection requests (protocol version 2): cancel, purge, pause and resume,
// listing jobs, and the dead letters. Kept apart from core.cc, which deals and runs jobs; these
// only end, hold back or bring back jobs through the same lifecycle functions.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <queue>

#include "broker/core.h"
#include "corvee/errors.h"
#include "protocol/names.h"
#include "protocol/utf8.h"

namespace corvee::broker {

using protocol::Frame;

namespace {

// A listing answers in one frame; a longer one is paged with before_id.
constexpr std::uint32_t kMaxListed = 1000;
constexpr std::uint32_t kDefaultListed = 100;
// Error messages in a listing are cut to this; STATUS shows them whole.
constexpr std::size_t kListedMessageBytes = 512;
// DEAD_RETRY of every dead job reads them from the store this many at a time.
constexpr std::uint32_t kRevivePage = 1000;

bool isLive(JobState state) { return !isFinished(state); }

std::string describeEnd(JobId id, JobState state) {
  return "job " + std::to_string(id) + " is " + std::string(toString(state));
}

}  // namespace

void Core::handleCancelJob(PeerId id, const Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::CancelJobMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  if (LiveJob* job = jobs_.find(msg->job_id)) {
    cancel(*job, "cancelled by request");
    return sendAfterCommit(id, frame.request_id, protocol::OkMsg{});
  }
  auto stored = store_.find(msg->job_id);
  if (!stored) return sendError(id, frame.request_id, errc::kInternal, stored.status().toString());
  if (!stored->has_value()) {
    return sendError(id, frame.request_id, errc::kNotFound, "no job " + std::to_string(msg->job_id));
  }
  sendError(id, frame.request_id, errc::kWrongState,
            describeEnd(msg->job_id, (*stored)->state) + " already; only an unfinished job can be cancelled");
}

void Core::cancel(LiveJob& job, std::string_view why) {
  if (job.state == JobState::kRunning) {
    // The attempt ends here for the broker; its worker is told, and its slot stays taken until the
    // worker reports the attempt stopped (releaseFromWorker).
    recordFailure(job, workerName(job.worker), errc::kCancelled, why);
    releaseFromWorker(job, errc::kCancelled);
  }
  finish(job, JobState::kCancelled, {}, errc::kCancelled, why);
}

void Core::handlePurge(PeerId id, const Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::PurgeMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  if (Status named = protocol::checkTaskName(msg->task); !named) {
    return sendError(id, frame.request_id, errc::kBadRequest, named.message());
  }
  auto it = queues_.find(msg->task);
  std::vector<JobId> doomed;
  if (it != queues_.end()) {
    const TaskQueue* tq = &it->second;
    // A purge is rare and may cover most of the broker's jobs: one pass over them all is simpler
    // than indexing retrying jobs by task for it.
    jobs_.forEach([&](const LiveJob& job) {
      if (job.queue == tq && job.state != JobState::kRunning) {
        doomed.push_back(job.id);
      }
    });
  }
  std::sort(doomed.begin(), doomed.end());
  for (JobId job_id : doomed) cancel(*jobs_.find(job_id), "purged with its task's queue");
  if (!doomed.empty()) spdlog::info("purged {} queued jobs of task {}", doomed.size(), msg->task);
  send(id, frame.request_id, protocol::CountMsg{doomed.size()});
}

void Core::handlePause(PeerId id, const Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::PauseMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  if (Status named = protocol::checkTaskName(msg->task); !named) {
    return sendError(id, frame.request_id, errc::kBadRequest, named.message());
  }
  auto it = queues_.find(msg->task);
  if (it == queues_.end()) {
    // Most likely a typo: pausing it would hold back nothing and stay stored for ever.
    return sendError(id, frame.request_id, errc::kNotFound,
                     "unknown task '" + std::string(msg->task) +
                         "': no worker serves it and no job of it was submitted since the broker started");
  }
  TaskQueue& tq = it->second;
  bool paused = msg->paused != 0;
  if (tq.paused != paused) {
    tq.paused = paused;
    store_.setTaskSettings(tq.task, settingsOf(tq));
    spdlog::info("task {} {}", tq.task, paused ? "paused" : "resumed");
    if (!paused && !tq.queue.empty() && !tq.dirty) {
      tq.dirty = true;
      dirty_.push_back(&tq);
    }
  }
  sendAfterCommit(id, frame.request_id, protocol::OkMsg{});
}

TaskSettings Core::settingsOf(const TaskQueue& tq) {
  TaskSettings settings;
  settings.paused = tq.paused;
  settings.rate = tq.rate_setting;
  return settings;
}

void Core::handleRate(PeerId id, const Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::RateMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  if (Status named = protocol::checkTaskName(msg->task); !named) {
    return sendError(id, frame.request_id, errc::kBadRequest, named.message());
  }
  std::optional<RateSpec> spec;
  if (!msg->rate.empty()) {
    Result<RateSpec> parsed = RateSpec::parse(msg->rate);
    if (!parsed) return sendError(id, frame.request_id, errc::kBadRequest, "rate: " + parsed.status().message());
    spec = *parsed;
  }
  // A task not seen yet is fine: an operator may limit a task before its jobs come.
  TaskQueue& tq = taskQueue(msg->task);
  tq.rate_setting = spec ? spec->toString() : std::string();
  setRate(tq, spec);
  store_.setTaskSettings(tq.task, settingsOf(tq));
  spdlog::info("task {}: rate {}", tq.task, spec ? spec->toString() : std::string("off (no limit)"));
  sendAfterCommit(id, frame.request_id, protocol::OkMsg{});
}

void Core::setRate(TaskQueue& tq, const std::optional<RateSpec>& spec) {
  MonoTime now = clock_.now();
  if (!spec) {
    tq.rate.reset();
  } else if (tq.rate) {
    tq.rate->setSpec(*spec, now);  // the tokens banked stay, up to the new burst
  } else {
    tq.rate.emplace(*spec, now);
  }
  // A queue asleep until its next token under the old rate deals again now; dealTask() puts it
  // to sleep again if the new rate has no token for it either.
  if (tq.rate_wake) {
    tq.rate_wake.reset();
    std::erase(rate_waiting_, &tq);
  }
  if (!tq.dirty && !tq.queue.empty()) {
    tq.dirty = true;
    dirty_.push_back(&tq);
  }
}

void Core::handleListJobs(PeerId id, const Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::ListJobsMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  std::optional<JobState> state;
  if (msg->state != 0) {
    state = static_cast<JobState>(msg->state);
    if (toString(*state) == "unknown") {
      return sendError(id, frame.request_id, errc::kBadRequest, "unknown job state " + std::to_string(msg->state));
    }
  }
  std::uint32_t limit = msg->limit == 0 ? kDefaultListed : std::min(msg->limit, kMaxListed);
  JobId before = msg->before_id == 0 ? UINT64_MAX : msg->before_id;

  std::vector<JobRecord> listed;
  if (!state || isLive(*state)) {
    // The newest `limit` matching live jobs: a min-heap of ids keeps the largest ones seen.
    std::priority_queue<JobId, std::vector<JobId>, std::greater<>> newest;
    jobs_.forEach([&](const LiveJob& job) {
      if (job.id >= before || (state && job.state != *state)) return;
      if (!msg->task.empty() && job.queue->task != msg->task) return;
      newest.push(job.id);
      if (newest.size() > limit) newest.pop();
    });
    for (; !newest.empty(); newest.pop()) listed.push_back(recordOf(*jobs_.find(newest.top())));
  }
  if (!state || !isLive(*state)) {
    JobFilter filter;
    filter.task = std::string(msg->task);
    filter.state = state;
    filter.limit = limit;
    filter.before_id = msg->before_id;
    auto finished = store_.listFinished(filter);
    if (!finished) return sendError(id, frame.request_id, errc::kInternal, finished.status().toString());
    for (JobRecord& rec : *finished) listed.push_back(std::move(rec));
  }
  std::sort(listed.begin(), listed.end(), [](const JobRecord& a, const JobRecord& b) { return a.id > b.id; });
  if (listed.size() > limit) listed.resize(limit);

  protocol::JobListMsg reply;
  reply.jobs.reserve(listed.size());
  for (const JobRecord& rec : listed) {
    protocol::JobInfoMsg& info = reply.jobs.emplace_back();
    info.job_id = rec.id;
    info.task = rec.task;
    info.state = wireState(rec.state, peer.version);
    info.priority = rec.priority;
    info.attempt = rec.attempt;
    info.submitted_ms = rec.submitted_ms;
    info.started_ms = rec.started_ms;
    info.finished_ms = rec.finished_ms;
    info.worker = protocol::truncateUtf8(rec.worker, 65535);
    info.error_code = protocol::truncateUtf8(rec.error_code, 65535);
    info.error_message = protocol::truncateUtf8(rec.error_message, kListedMessageBytes);
    info.retries = rec.retries;
    info.retried = rec.retried;
    info.run_at_ms = rec.run_at_ms;
    info.unique_key = rec.unique_key;
    info.unique_for_ms = rec.unique_for_ms;
    info.fair_key = rec.fair_key;
  }
  send(id, frame.request_id, reply);
}

void Core::handleDeadRetry(PeerId id, const Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::DeadRetryMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  if (store_.full()) {
    return sendError(id, frame.request_id, errc::kStoreFull,
                     "the broker's disk is full (or below its --disk-reserve); it takes back no jobs until space "
                     "is freed");
  }
  if (msg->job_id != 0) {
    if (const LiveJob* job = jobs_.find(msg->job_id)) {
      return sendError(id, frame.request_id, errc::kWrongState,
                       describeEnd(job->id, job->state) + ", not dead; only a dead job can be retried");
    }
    auto stored = store_.find(msg->job_id);
    if (!stored) return sendError(id, frame.request_id, errc::kInternal, stored.status().toString());
    if (!stored->has_value()) {
      return sendError(id, frame.request_id, errc::kNotFound, "no job " + std::to_string(msg->job_id));
    }
    if ((*stored)->state != JobState::kDead) {
      return sendError(id, frame.request_id, errc::kWrongState,
                       describeEnd(msg->job_id, (*stored)->state) + ", not dead; only a dead job can be retried");
    }
    revive(std::move(**stored));
    return send(id, frame.request_id, protocol::CountMsg{1});
  }
  std::uint64_t revived = 0;
  JobFilter page;
  page.task = std::string(msg->task);
  page.state = JobState::kDead;
  page.limit = kRevivePage;
  for (;;) {
    auto dead = store_.listFinished(page);
    if (!dead) return sendError(id, frame.request_id, errc::kInternal, dead.status().toString());
    if (dead->empty()) break;
    for (const JobRecord& listed : *dead) {
      auto stored = store_.find(listed.id);
      if (!stored) return sendError(id, frame.request_id, errc::kInternal, stored.status().toString());
      if (!stored->has_value() || (*stored)->state != JobState::kDead) continue;
      revive(std::move(**stored));
      ++revived;
    }
    page.before_id = dead->back().id;
  }
  if (revived > 0) spdlog::info("{} dead jobs are back in their queues", revived);
  send(id, frame.request_id, protocol::CountMsg{revived});
}

void Core::revive(JobRecord&& rec) {
  rec.state = JobState::kQueued;
  rec.retried = 0;
  rec.run_at_ms = 0;
  LiveJob& job = adopt(rec, /*payload_known=*/true);
  job.lost = 0;  // fresh attempts, worker losses included
  store_.markRevived(rec.id);
  recordEvent(rec.id, EventKind::kRevived, rec.attempt);
  if (dead_in_store_ > 0) --dead_in_store_;
  // Its time limits count again from now: counted from its submission, a job that once ran out of
  // time would be dead again at once.
  addDeadlines(job, clock_.now());
  enqueue(job, false);
}

void Core::handleDeadPurge(PeerId id, const Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::DeadPurgeMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  if (store_.full()) {
    return sendError(id, frame.request_id, errc::kStoreFull,
                     "the broker's disk is full; deleting needs room in the journal too, retry once space is freed");
  }
  PurgeFilter filter;
  filter.states = {JobState::kDead};
  filter.task = std::string(msg->task);
  if (msg->older_than_ms > 0) {
    std::uint64_t now = clock_.wallMillis();
    // Nothing can have died longer ago than the epoch.
    if (now <= msg->older_than_ms) return send(id, frame.request_id, protocol::CountMsg{0});
    filter.finished_before_ms = now - msg->older_than_ms;
  }
  auto purged = store_.purgeFinished(filter);
  if (!purged) return sendError(id, frame.request_id, errc::kInternal, purged.status().toString());
  dead_in_store_ = dead_in_store_ > *purged ? dead_in_store_ - *purged : 0;
  if (*purged > 0) spdlog::info("deleted {} dead jobs", *purged);
  send(id, frame.request_id, protocol::CountMsg{*purged});
}

}  // namespace corvee::broker
