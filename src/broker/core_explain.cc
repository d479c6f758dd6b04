// Core's answer to EXPLAIN (protocol version 5): a job's record, why it waits (broker/wait_reason.h
// names the reason; this only gathers the facts), and its history as the store keeps it.
#include <spdlog/spdlog.h>

#include "broker/core.h"
#include "corvee/errors.h"
#include "protocol/utf8.h"

namespace corvee::broker {

using protocol::Frame;

void Core::handleExplain(PeerId id, const Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::ExplainMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  auto rec = fullRecord(msg->job_id, /*with_payload=*/false);
  if (!rec) return sendError(id, frame.request_id, errc::kInternal, rec.status().toString());
  if (!rec->has_value()) {
    return sendError(id, frame.request_id, errc::kNotFound, "no job " + std::to_string(msg->job_id));
  }
  const JobRecord& job = **rec;
  WaitReason reason;
  if (const LiveJob* live = jobs_.find(job.id)) reason = explainWait(waitFacts(*live));
  auto events = history::decode(job.history);
  if (!events) {
    // The record is still worth showing: the history alone is lost.
    spdlog::error("job {}: {}", job.id, events.status().message());
    events = std::vector<HistoryEvent>();
  }
  protocol::ExplanationMsg reply;
  reply.job = jobInfoOf(job, peer.version);
  reply.reason_code = reason.code;
  reply.reason = protocol::truncateUtf8(reason.text, 65535);
  reply.events.reserve(events->size());
  for (const HistoryEvent& event : *events) {
    reply.events.push_back({event.time_ms, toString(event.kind), event.attempt, protocol::truncateUtf8(event.worker, 65535),
                            protocol::truncateUtf8(event.detail, 65535)});
  }
  send(id, frame.request_id, reply);
}

WaitFacts Core::waitFacts(const LiveJob& job) const {
  WaitFacts facts;
  const TaskQueue& tq = *job.queue;
  facts.state = job.state;
  facts.now_ms = clock_.wallMillis();
  facts.task = tq.task;
  facts.priority = job.priority;
  facts.attempt = job.attempt;
  if (job.state == JobState::kScheduled) facts.run_at_ms = job.started_ms;  // see LiveJob::started_ms
  if (const JobRetry* retry = job.retry(); retry != nullptr && job.state == JobState::kRetrying) {
    facts.run_at_ms = retry->run_at_ms;
  }
  facts.stopping = job.stopping;
  facts.in_slot = job.in_slot;
  facts.worker = workerName(job.worker);
  facts.paused = tq.paused;
  MonoTime now = clock_.now();
  std::optional<MonoTime> next_token = tq.rate_wake;
  if (!next_token && tq.rate) next_token = tq.rate->nextTokenAt(now);
  if (next_token) {
    auto wait = std::chrono::duration_cast<Millis>(*next_token > now ? *next_token - now : MonoTime::duration::zero());
    facts.rate_next_ms = facts.now_ms + static_cast<std::uint64_t>(wait.count());
  }
  for (PeerId worker_id : tq.workers) {
    const Peer& worker = peers_.at(worker_id);
    ++facts.workers;
    if (worker.draining) ++facts.draining;
    if (!worker.serves()) continue;
    ++facts.serving;
    facts.slots += worker.slots;
    // As pickWorker() sees room: a worker with priority ranges takes no prefetch.
    std::uint64_t room = std::uint64_t{worker.slots} + (worker.ranges ? 0 : worker.prefetch);
    if (worker.output_full || worker.held() >= room) continue;
    ++facts.with_room;
    if (!worker.ranges || worker.ranges->admits(job.priority)) ++facts.admitting;
  }
  facts.queued = tq.queue.size();
  if (job.has_fair && tq.fair != nullptr && tq.fair->atCap(job.fairKey())) {
    facts.key_capped.emplace(tq.fair->name(job.fairKey()), tq.fair->cap());
  }
  return facts;
}

}  // namespace corvee::broker
