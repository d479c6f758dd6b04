// Core's metrics: the totals' round trip through the store, the oldest queued job, and the
// METRICS_TEXT document (docs/protocol.md, "Metrics (v5)"). Kept apart from core.cc, which only
// counts (Core::count) and observes; the text format itself is MetricsText's.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "broker/core.h"
#include "broker/metrics_text.h"
#include "corvee/version.h"

namespace corvee::broker {

void Core::storeCounters() {
  for (TaskQueue* tq : counters_dirty_) {
    tq->metrics.takeDeltas(
        [&](TaskCounter counter, std::uint64_t delta) { store_.addCounter(tq->task, counterName(counter), delta); });
  }
  counters_dirty_.clear();
}

Status Core::loadCounters() {
  Result<std::vector<CounterTotal>> totals = store_.counters();
  if (!totals) return totals.status();
  for (const CounterTotal& total : *totals) {
    std::optional<TaskCounter> counter = counterNamed(total.name);
    if (!counter) continue;  // a newer broker's: kept in the store, not shown here
    taskQueue(total.task).metrics.load(*counter, total.value);
    switch (*counter) {
      case TaskCounter::kSucceeded: counts_.succeeded += total.value; break;
      case TaskCounter::kDead: counts_.dead += total.value; break;
      case TaskCounter::kCancelled: counts_.cancelled += total.value; break;
      case TaskCounter::kRetried: counts_.retried += total.value; break;
      default: break;
    }
  }
  return Status::ok();
}

std::uint64_t Core::readyMs(const LiveJob& job) {
  // Submitted; or came due (a scheduled job keeps that time in started_ms); or requeued after its
  // worker was lost (since that attempt started); or its retry came due.
  std::uint64_t ready = std::max(job.submitted_ms, job.started_ms);
  if (const JobRetry* retry = job.retry()) ready = std::max(ready, retry->run_at_ms);
  return ready;
}

std::uint64_t Core::oldestQueuedAgeMs(TaskQueue& tq, std::uint64_t now_ms) {
  if (tq.queue.empty()) return 0;
  auto live = [this](const JobQueue::Entry& entry) {
    const LiveJob* job = jobs_.find(entry.id);
    return job != nullptr && job->ticket == entry.ticket;
  };
  std::uint64_t oldest = now_ms;
  tq.queue.forEachHead(live, [&](const JobQueue::Entry& entry) {
    oldest = std::min(oldest, readyMs(*jobs_.find(entry.id)));
  });
  return now_ms - oldest;
}

std::string Core::metricsText() {
  MetricsText m;
  std::uint64_t now_ms = clock_.wallMillis();
  auto seconds = [](auto duration) { return std::chrono::duration<double>(duration).count(); };
  // Tasks in name order, so that a scrape reads the same from one to the next.
  std::vector<TaskQueue*> tasks;
  tasks.reserve(queues_.size());
  for (auto& [name, tq] : queues_) tasks.push_back(&tq);
  std::sort(tasks.begin(), tasks.end(), [](const TaskQueue* a, const TaskQueue* b) { return a->task < b->task; });

  m.family("corvee_build_info", "gauge", "Always 1: the broker's release and the highest protocol version it speaks.");
  std::string protocol_version = std::to_string(protocol::kVersion);
  m.sample("corvee_build_info", {{"version", kVersionString}, {"protocol", protocol_version}}, std::uint64_t{1});
  m.family("corvee_uptime_seconds", "gauge", "Seconds since the broker started.");
  m.sample("corvee_uptime_seconds", {}, seconds(clock_.now() - started_at_));

  auto perTask = [&](std::string_view name, std::string_view help, TaskCounter counter) {
    m.family(name, "counter", help);
    for (const TaskQueue* tq : tasks) m.sample(name, {{"task", tq->task}}, tq->metrics.total(counter));
  };
  perTask("corvee_jobs_submitted_total", "Jobs submitted, by task (kept by the store across restarts).",
          TaskCounter::kSubmitted);
  m.family("corvee_jobs_finished_total", "counter",
           "Jobs finished, by task and outcome (kept by the store across restarts).");
  constexpr std::array<std::pair<std::string_view, TaskCounter>, 3> kOutcomes = {
      {{"succeeded", TaskCounter::kSucceeded}, {"dead", TaskCounter::kDead}, {"cancelled", TaskCounter::kCancelled}}};
  for (const TaskQueue* tq : tasks) {
    for (const auto& [outcome, counter] : kOutcomes) {
      m.sample("corvee_jobs_finished_total", {{"task", tq->task}, {"outcome", outcome}}, tq->metrics.total(counter));
    }
  }
  perTask("corvee_jobs_retried_total", "Retries scheduled after a failed attempt, by task (kept across restarts).",
          TaskCounter::kRetried);
  perTask("corvee_jobs_redelivered_total",
          "Jobs put back in their queue because their worker was lost or the broker restarted (kept across restarts).",
          TaskCounter::kRedelivered);
  m.family("corvee_attempts_expired_total", "counter",
           "Time limits that fired, by task and limit: timeout, assign_timeout, run_timeout (kept across restarts).");
  constexpr std::array<std::pair<std::string_view, TaskCounter>, 3> kLimits = {
      {{"timeout", TaskCounter::kExpiredTimeout},
       {"assign_timeout", TaskCounter::kExpiredAssignTimeout},
       {"run_timeout", TaskCounter::kExpiredRunTimeout}}};
  for (const TaskQueue* tq : tasks) {
    for (const auto& [limit, counter] : kLimits) {
      m.sample("corvee_attempts_expired_total", {{"task", tq->task}, {"limit", limit}}, tq->metrics.total(counter));
    }
  }

  m.family("corvee_queue_depth", "gauge", "Jobs waiting, by task and state: queued, scheduled, retrying.");
  for (const TaskQueue* tq : tasks) {
    m.sample("corvee_queue_depth", {{"task", tq->task}, {"state", "queued"}}, std::uint64_t{tq->queue.size()});
    m.sample("corvee_queue_depth", {{"task", tq->task}, {"state", "scheduled"}}, tq->scheduled);
    m.sample("corvee_queue_depth", {{"task", tq->task}, {"state", "retrying"}}, tq->retrying);
  }
  m.family("corvee_jobs_running", "gauge", "Jobs dealt to a worker and not finished, by task.");
  for (const TaskQueue* tq : tasks) m.sample("corvee_jobs_running", {{"task", tq->task}}, tq->running);
  m.family("corvee_queue_oldest_age_seconds", "gauge",
           "Seconds the task's longest-waiting queued job has been ready to run; 0 with none queued.");
  for (TaskQueue* tq : tasks) {
    m.sample("corvee_queue_oldest_age_seconds", {{"task", tq->task}},
             static_cast<double>(oldestQueuedAgeMs(*tq, now_ms)) / 1000.0);
  }
  m.family("corvee_queue_paused", "gauge", "1 while the task is paused.");
  for (const TaskQueue* tq : tasks) m.sample("corvee_queue_paused", {{"task", tq->task}}, std::uint64_t{tq->paused});
  m.family("corvee_task_workers", "gauge", "Connected workers registered for the task.");
  for (const TaskQueue* tq : tasks) {
    m.sample("corvee_task_workers", {{"task", tq->task}}, std::uint64_t{tq->workers.size()});
  }
  m.family("corvee_queue_wait_seconds", "histogram",
           "Seconds from ready (submitted, due, retry due, requeued) to being dealt to a worker, per attempt.");
  for (const TaskQueue* tq : tasks) m.histogram("corvee_queue_wait_seconds", {{"task", tq->task}}, tq->metrics.queue_wait);
  m.family("corvee_job_run_seconds", "histogram",
           "Seconds from being dealt to a worker to the end of the attempt, per attempt.");
  for (const TaskQueue* tq : tasks) m.histogram("corvee_job_run_seconds", {{"task", tq->task}}, tq->metrics.run_time);

  std::uint64_t workers = 0, slots = 0, busy = 0, clients = 0;
  for (const auto& [id, peer] : peers_) {
    if (peer.role == protocol::Role::kWorker && peer.registered) {
      ++workers;
      slots += peer.slots;
      busy += peer.in_slots;
    } else if (peer.role == protocol::Role::kClient && peer.greeted) {
      ++clients;
    }
  }
  m.family("corvee_workers", "gauge", "Registered workers.");
  m.sample("corvee_workers", {}, workers);
  m.family("corvee_worker_slots", "gauge", "Slots of the registered workers.");
  m.sample("corvee_worker_slots", {}, slots);
  m.family("corvee_worker_slots_busy", "gauge", "Slots held by a job (attempts being cancelled included).");
  m.sample("corvee_worker_slots_busy", {}, busy);
  m.family("corvee_connections", "gauge", "Open connections: clients, workers, and peers still greeting.");
  m.sample("corvee_connections", {}, std::uint64_t{peers_.size()});
  m.family("corvee_clients", "gauge", "Connections greeted as clients.");
  m.sample("corvee_clients", {}, clients);
  m.family("corvee_dead_jobs_kept", "gauge", "Dead jobs the store keeps.");
  m.sample("corvee_dead_jobs_kept", {}, dead_in_store_);
  m.family("corvee_stale_reports_total", "counter",
           "COMPLETE and FAIL frames refused as stale_attempt since the broker started.");
  m.sample("corvee_stale_reports_total", {}, counts_.stale_refused);
  m.family("corvee_store_commit_seconds", "histogram", "Seconds each commit of the store took.");
  m.histogram("corvee_store_commit_seconds", {}, commit_latency_);
  return m.take();
}

}  // namespace corvee::broker
