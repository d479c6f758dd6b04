// Core::statsJson: the STATS document (docs/protocol.md, section 6). Kept apart from core.cc
// because it is presentation, not logic.
#include <nlohmann/json.hpp>

#include "broker/core.h"
#include "corvee/errors.h"

namespace corvee::broker {

Result<std::string> Core::statsJson() try {
  using nlohmann::json;
  json queues = json::array();
  MonoTime now = clock_.now();
  std::uint64_t now_ms = clock_.wallMillis();
  for (auto& [task, tq] : queues_) {
    json rate = nullptr;
    if (tq.rate) rate = {{"limit", tq.rate->spec().toString()}, {"tokens", tq.rate->tokens(now)}};
    // Where the limit comes from: set at run time (`corvee rate`, which may have turned it off),
    // the command line's --rate, or nowhere.
    json rate_origin = tq.rate_setting ? json("runtime") : tq.rate ? json("flag") : json(nullptr);
    queues.push_back({{"task", task},
                      {"rate", rate},
                      {"rate_origin", rate_origin},
                      {"queued", tq.queue.size()},
                      {"running", tq.running},
                      {"retrying", tq.retrying},
                      {"scheduled", tq.scheduled},
                      {"workers", tq.workers.size()},
                      {"served", tq.serving > 0},
                      {"paused", tq.paused},
                      // Fairness keys: those with jobs queued now, and the --key-concurrency cap.
                      {"fair_keys_waiting", tq.fair ? tq.fair->waitingKeys() : 0},
                      {"key_concurrency", tq.fair && tq.fair->cap() > 0 ? json(tq.fair->cap()) : json(nullptr)},
                      // Totals the store keeps across restarts, and the oldest queued job's wait.
                      {"submitted", tq.metrics.total(TaskCounter::kSubmitted)},
                      {"succeeded", tq.metrics.total(TaskCounter::kSucceeded)},
                      {"dead", tq.metrics.total(TaskCounter::kDead)},
                      {"cancelled", tq.metrics.total(TaskCounter::kCancelled)},
                      {"oldest_age_ms", oldestQueuedAgeMs(tq, now_ms)}});
  }
  json workers = json::array();
  std::uint64_t clients = 0;
  for (const auto& [id, peer] : peers_) {
    if (peer.role != protocol::Role::kWorker) {
      if (peer.greeted) ++clients;
      continue;
    }
    workers.push_back({{"id", id},
                       {"name", peer.name},
                       {"remote", peer.remote},
                       {"slots", peer.slots},
                       {"prefetch", peer.prefetch},
                       {"busy", peer.in_slots},
                       {"prefetched", peer.held() - peer.in_slots},
                       {"cancelling", peer.cancelling.size()},
                       {"tasks", peer.tasks},
                       {"draining", peer.draining}});
  }
  std::size_t paused_crons = 0;
  for (const auto& [name, entry] : crons_.entries()) paused_crons += entry.record.paused ? 1 : 0;
  json doc = {
      {"broker", options_.name},
      {"version", protocol::kVersion},
      {"store", store_.describe()},
      {"select", std::string(selection_->name())},
      {"uptime_ms", std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started_at_).count()},
      {"jobs",
       {{"queued", counts_.queued},
        {"running", counts_.running},
        {"retrying", counts_.retrying},
        {"scheduled", counts_.scheduled},
        {"succeeded", counts_.succeeded},
        {"dead", counts_.dead},
        {"cancelled", counts_.cancelled},
        {"retried", counts_.retried},
        {"dead_kept", dead_in_store_},
        {"stale_refused", counts_.stale_refused}}},
      {"queues", queues},
      {"workers", workers},
      {"clients", clients},
      {"connections", peers_.size()},
      {"cron", {{"entries", crons_.entries().size()}, {"paused", paused_crons}}},
  };
  // Names are checked UTF-8 on the wire, but records written by older versions may hold any
  // bytes: replace them rather than throw.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
} catch (const std::exception& e) {
  return Status::error(errc::kInternal, std::string("rendering the STATS document failed: ") + e.what());
}

}  // namespace corvee::broker
