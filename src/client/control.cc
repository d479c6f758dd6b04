// ClientImpl's control and inspection requests (protocol version 2): listing jobs, cancel, purge,
// pause/resume and the dead letters. Each is one request and one reply, like status() and stats().
#include <algorithm>

#include "client/client_impl.h"
#include "client/job_info.h"
#include "corvee/errors.h"
#include "protocol/names.h"

namespace corvee::detail {

using protocol::MsgType;

namespace {

// The version that defines every request in this file.
constexpr std::uint16_t kControlVersion = 2;

}  // namespace

Result<std::vector<JobInfo>> ClientImpl::jobs(const JobFilter& filter) {
  if (!filter.task.empty()) {
    if (Status named = protocol::checkTaskName(filter.task); !named) return named;
  }
  protocol::ListJobsMsg msg;
  msg.task = filter.task;
  msg.state = filter.state ? static_cast<std::uint8_t>(*filter.state) : std::uint8_t{0};
  msg.limit = filter.limit;
  msg.before_id = filter.before_id;
  auto encode = [&msg](std::string& frame, std::uint16_t version) { protocol::encode(frame, 0, msg, version); };
  Result<Reply> reply = request(encode, MsgType::kListJobs, MsgType::kJobList, kControlVersion);
  if (!reply) return reply.status();
  auto list = protocol::decode<protocol::JobListMsg>(reply->body, reply->version);
  if (!list) return list.status();
  std::vector<JobInfo> jobs;
  jobs.reserve(list->jobs.size());
  for (const protocol::JobInfoMsg& item : list->jobs) jobs.push_back(toJobInfo(item));
  return jobs;
}

Status ClientImpl::cancel(JobId id) { return requestOk(protocol::CancelJobMsg{id}, kControlVersion); }

Result<std::uint64_t> ClientImpl::purge(std::string_view task) {
  if (Status named = protocol::checkTaskName(task); !named) return named;
  return requestCount(protocol::PurgeMsg{task}, kControlVersion);
}

Status ClientImpl::pause(std::string_view task, bool paused) {
  if (Status named = protocol::checkTaskName(task); !named) return named;
  return requestOk(protocol::PauseMsg{task, static_cast<std::uint8_t>(paused ? 1 : 0)}, kControlVersion);
}

Status ClientImpl::setRate(std::string_view task, std::string_view rate) {
  if (Status named = protocol::checkTaskName(task); !named) return named;
  if (rate.empty()) return Status::error(errc::kBadRequest, "a rate is N/s[:BURST] (or /m, /h), or off");
  // RATE arrived in version 4; "off" is an empty rate on the wire.
  return requestOk(protocol::RateMsg{task, rate == "off" ? std::string_view() : rate}, 4);
}

Result<std::uint64_t> ClientImpl::retryDead(JobId id, std::string_view task) {
  if (!task.empty()) {
    if (Status named = protocol::checkTaskName(task); !named) return named;
  }
  return requestCount(protocol::DeadRetryMsg{id, task}, kControlVersion);
}

Result<std::uint64_t> ClientImpl::purgeDead(std::string_view task, std::chrono::milliseconds older_than) {
  if (!task.empty()) {
    if (Status named = protocol::checkTaskName(task); !named) return named;
  }
  auto older = static_cast<std::uint64_t>(std::max<long long>(older_than.count(), 0));
  return requestCount(protocol::DeadPurgeMsg{task, older}, kControlVersion);
}

}  // namespace corvee::detail
