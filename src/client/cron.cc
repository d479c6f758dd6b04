// ClientImpl's periodic-job requests (protocol version 4): CRON_ADD, CRON_LIST, CRON_REMOVE and
// CRON_PAUSE. An entry's job travels as a SUBMIT body laid out in the session's version, made
// from its SubmitOptions by the same translation as submit().
#include "client/client_impl.h"
#include "client/submit_fields.h"
#include "corvee/errors.h"
#include "protocol/names.h"

namespace corvee::detail {

using protocol::MsgType;

namespace {

// The version that defines every request in this file.
constexpr std::uint16_t kCronVersion = 4;

CronEntry toCronEntry(const protocol::CronEntryItem& item, std::uint16_t version) {
  CronEntry entry;
  entry.name = std::string(item.name);
  entry.spec = std::string(item.spec);
  entry.time_zone = std::string(item.tz);
  entry.task = std::string(item.task);
  entry.paused = item.paused != 0;
  entry.next_fire_ms = item.next_ms;
  entry.last_fire_ms = item.last_fire_ms;
  entry.created_ms = item.created_ms;
  if (auto submit = protocol::decode<protocol::SubmitMsg>(item.submit.data, version)) {
    entry.payload = std::string(submit->payload.data);
    entry.options = submitOptionsOf(*submit);
  }
  return entry;
}

Status checkCronName(std::string_view name) { return protocol::checkName("cron name", name); }

}  // namespace

Result<CronEntry> ClientImpl::cronAdd(const CronEntry& entry, bool* replaced) {
  if (Status named = checkCronName(entry.name); !named) return named;
  if (Status named = protocol::checkTaskName(entry.task); !named) return named;
  protocol::SubmitMsg submit = submitMsgOf(entry.task, entry.payload, entry.options);
  auto encode = [&](std::string& frame, std::uint16_t version) {
    std::string body = protocol::encodeBody(submit, version);
    protocol::encode(frame, 0, protocol::CronAddMsg{entry.name, entry.spec, entry.time_zone, {body}}, version);
  };
  Result<Reply> reply = request(encode, MsgType::kCronAdd, MsgType::kCronEntries, kCronVersion);
  if (!reply) return reply.status();
  auto added = protocol::decode<protocol::CronEntriesMsg>(reply->body, reply->version);
  if (!added) return added.status();
  if (added->entries.size() != 1) {
    return Status::error(errc::kInternal, "the broker answered CRON_ADD with " + std::to_string(added->entries.size()) +
                                              " entries instead of one");
  }
  if (replaced != nullptr) *replaced = (added->flags & protocol::kCronReplaced) != 0;
  return toCronEntry(added->entries[0], reply->version);
}

Result<std::vector<CronEntry>> ClientImpl::cronList() {
  auto encode = [](std::string& frame, std::uint16_t version) {
    protocol::encode(frame, 0, protocol::CronListMsg{}, version);
  };
  Result<Reply> reply = request(encode, MsgType::kCronList, MsgType::kCronEntries, kCronVersion);
  if (!reply) return reply.status();
  auto listed = protocol::decode<protocol::CronEntriesMsg>(reply->body, reply->version);
  if (!listed) return listed.status();
  std::vector<CronEntry> entries;
  entries.reserve(listed->entries.size());
  for (const protocol::CronEntryItem& item : listed->entries) entries.push_back(toCronEntry(item, reply->version));
  return entries;
}

Status ClientImpl::cronRemove(std::string_view name) {
  if (Status named = checkCronName(name); !named) return named;
  return requestOk(protocol::CronRemoveMsg{name}, kCronVersion);
}

Status ClientImpl::cronPause(std::string_view name, bool paused) {
  if (Status named = checkCronName(name); !named) return named;
  return requestOk(protocol::CronPauseMsg{name, static_cast<std::uint8_t>(paused ? 1 : 0)}, kCronVersion);
}

}  // namespace corvee::detail
