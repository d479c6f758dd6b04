// Core's periodic jobs (protocol version 4): CRON_ADD, CRON_REMOVE, CRON_PAUSE, CRON_LIST, and the
// firings. CronTable (cron_table.h) decides when an entry fires; a firing is an ordinary SUBMIT,
// made with the body the entry stores, and the entry's new last firing is stored in the same
// commit as the job it made: a crash loses or doubles neither.
#include <spdlog/spdlog.h>

#include "broker/core.h"
#include "corvee/errors.h"
#include "protocol/names.h"

namespace corvee::broker {

using protocol::Frame;

Status Core::loadCrons() {
  Result<std::vector<CronRecord>> stored = store_.crons();
  if (!stored) return stored.status();
  for (CronRecord& cron : *stored) {
    std::string name = cron.name;
    if (Status loaded = crons_.load(std::move(cron)); !loaded) {
      // Say so and go on: one entry the zone database no longer knows must not stop the broker.
      spdlog::error("cron entry '{}' does not load and will not fire: {}", name, loaded.message());
    }
  }
  if (!crons_.entries().empty()) {
    spdlog::info("loaded {} cron entries from {}", crons_.entries().size(), store_.describe());
  }
  return Status::ok();
}

void Core::fireDueCrons() {
  std::uint64_t now_ms = clock_.wallMillis();
  std::optional<std::uint64_t> next = crons_.nextFiringMs();
  if (!next || *next > now_ms) return;
  for (const std::string& name : crons_.due(now_ms)) {
    const CronRecord& cron = crons_.find(name)->record;
    auto submit = protocol::decode<protocol::SubmitMsg>(cron.submit, cron.submit_version);
    Status valid = submit ? checkSubmission(*submit) : submit.status();
    if (!valid) {
      spdlog::error("cron entry '{}' holds a job this broker refuses ({}); this firing submits nothing", name,
                    valid.message());
    } else if (std::optional<JobId> holder = uniqueHolder(*submit)) {
      // The entry's unique key keeps firings from piling up behind a job still running.
      spdlog::info("cron entry '{}' fired but job {} still holds its unique key; no new job", name, *holder);
    } else if (Result<protocol::SubmittedMsg> submitted = submitJob(*submit, /*owner=*/0); !submitted) {
      spdlog::warn("cron entry '{}' fired but its job was refused: {}", name, submitted.status().toString());
    } else {
      spdlog::debug("cron entry '{}' fired: job {}", name, submitted->job_id);
    }
    // In the turn's commit with the job: both are durable, or after a crash neither is.
    store_.saveCron(crons_.fired(name, now_ms));
  }
}

void Core::handleCronAdd(PeerId id, const Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::CronAddMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  if (Status named = protocol::checkName("cron name", msg->name); !named) {
    return sendError(id, frame.request_id, errc::kBadRequest, named.message());
  }
  auto submit = protocol::decode<protocol::SubmitMsg>(msg->submit.data, peer.version);
  if (!submit) {
    return sendError(id, frame.request_id, errc::kBadRequest, "the cron entry's job: " + submit.status().message());
  }
  if (Status named = protocol::checkTaskName(submit->task); !named) {
    return sendError(id, frame.request_id, errc::kBadRequest, named.message());
  }
  if (Status valid = checkSubmission(*submit); !valid) {
    return sendError(id, frame.request_id, valid.code(), "the cron entry's job: " + valid.message());
  }
  if (submit->run_at_ms != 0) {
    return sendError(id, frame.request_id, errc::kBadRequest,
                     "a cron entry's job cannot run at one fixed time (--at); a delay after each firing can be set");
  }
  CronRecord cron;
  cron.name = std::string(msg->name);
  cron.spec = std::string(msg->spec);
  cron.tz = msg->tz.empty() ? "UTC" : std::string(msg->tz);
  cron.task = std::string(submit->task);
  cron.submit = std::string(msg->submit.data);
  cron.submit_version = peer.version;
  cron.created_ms = clock_.wallMillis();
  bool replaced = false;
  if (Status added = crons_.add(std::move(cron), clock_.wallMillis(), &replaced); !added) {
    return sendError(id, frame.request_id, added.code(), added.message());
  }
  const CronTable::Entry& entry = *crons_.find(msg->name);
  store_.saveCron(entry.record);
  spdlog::info("cron entry '{}' {}: '{}' ({}) submits task {}", entry.record.name, replaced ? "replaced" : "added",
               entry.record.spec, entry.record.tz, entry.record.task);
  protocol::CronEntriesMsg reply;
  reply.flags = replaced ? protocol::kCronReplaced : 0;
  std::string scratch;
  reply.entries.push_back(cronItem(entry, peer.version, scratch));
  sendAfterCommit(id, frame.request_id, reply);
}

void Core::handleCronRemove(PeerId id, const Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::CronRemoveMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  if (!crons_.remove(msg->name)) {
    return sendError(id, frame.request_id, errc::kNotFound, "no cron entry " + protocol::quoteName(msg->name));
  }
  store_.removeCron(msg->name);
  spdlog::info("cron entry {} removed", protocol::quoteName(msg->name));
  sendAfterCommit(id, frame.request_id, protocol::OkMsg{});
}

void Core::handleCronPause(PeerId id, const Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::CronPauseMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  bool paused = msg->paused != 0;
  if (!crons_.setPaused(msg->name, paused, clock_.wallMillis())) {
    return sendError(id, frame.request_id, errc::kNotFound, "no cron entry " + protocol::quoteName(msg->name));
  }
  store_.saveCron(crons_.find(msg->name)->record);
  spdlog::info("cron entry {} {}", protocol::quoteName(msg->name), paused ? "paused" : "resumed");
  sendAfterCommit(id, frame.request_id, protocol::OkMsg{});
}

void Core::handleCronList(PeerId id, const Peer& peer, const Frame& frame) {
  auto msg = protocol::decode<protocol::CronListMsg>(frame.body, peer.version);
  if (!msg) return sendError(id, frame.request_id, errc::kBadRequest, msg.status().message());
  protocol::CronEntriesMsg reply;
  // The re-encoded bodies the items point into: sized up front, so none moves while they are made.
  std::vector<std::string> scratch(crons_.entries().size());
  reply.entries.reserve(scratch.size());
  std::size_t i = 0;
  for (const auto& [name, entry] : crons_.entries()) reply.entries.push_back(cronItem(entry, peer.version, scratch[i++]));
  send(id, frame.request_id, reply);
}

protocol::CronEntryItem Core::cronItem(const CronTable::Entry& entry, std::uint16_t version,
                                       std::string& submit_scratch) const {
  const CronRecord& cron = entry.record;
  protocol::CronEntryItem item;
  item.name = cron.name;
  item.spec = cron.spec;
  item.tz = cron.tz;
  item.task = cron.task;
  item.paused = cron.paused ? 1 : 0;
  item.next_ms = entry.next_ms.value_or(0);
  item.last_fire_ms = cron.last_fire_ms;
  item.created_ms = cron.created_ms;
  // Stored in the version of the peer that added it; shown in the version of the peer that asks.
  if (auto submit = protocol::decode<protocol::SubmitMsg>(cron.submit, cron.submit_version)) {
    submit_scratch = protocol::encodeBody(*submit, version);
  }
  item.submit.data = submit_scratch;
  return item;
}

}  // namespace corvee::broker
