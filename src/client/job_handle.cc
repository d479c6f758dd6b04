// JobHandle and JobShared: the caller's view of one submitted job.
#include <functional>
#include <optional>

#include "client/client_impl.h"
#include "corvee/errors.h"
#include "platform/clock.h"

namespace corvee {

using detail::JobShared;

std::vector<std::function<void(const JobOutcome&)>> JobShared::settle(JobOutcome result) {
  std::vector<std::function<void(const JobOutcome&)>> run;
  std::lock_guard lock(mutex);
  if (outcome || refused) return run;  // settled once; a duplicate RESULT changes nothing
  outcome = std::move(result);
  run.swap(callbacks);
  changed.notify_all();
  return run;
}

std::vector<std::function<void(const JobOutcome&)>> JobShared::refuse(const Status& why) {
  std::vector<std::function<void(const JobOutcome&)>> run;
  std::lock_guard lock(mutex);
  if (outcome || refused) return run;
  refused = why;
  run.swap(callbacks);
  changed.notify_all();
  return run;
}

JobHandle::JobHandle(std::shared_ptr<JobShared> shared) : shared_(std::move(shared)) {}

namespace {

// Waits on `job` until `done()` holds. Gives up with wait_timeout at `deadline`, or with
// `unavailable` once the job's client has been unable to reach the broker for its connect_timeout
// (the client keeps unanswered requests and sends them again when it reconnects, so a short outage
// is waited out). REQUIRES: `lock` holds job.mutex. Returns OK once `done()` holds.
Status waitSettled(JobShared& job, std::unique_lock<std::mutex>& lock, const std::function<bool()>& done,
                   std::optional<MonoTime> deadline) {
  constexpr auto kRecheck = std::chrono::milliseconds(20);  // how often reachability is looked at
  while (!done()) {
    auto slice = std::chrono::duration_cast<std::chrono::nanoseconds>(kRecheck);
    if (deadline) {
      MonoTime now = systemClock().now();
      if (now >= *deadline) return Status::error(errc::kWaitTimeout, "");
      slice = std::min<std::chrono::nanoseconds>(*deadline - now, slice);
    }
    if (job.changed.wait_for(lock, slice, done)) break;
    // The client's lock is never taken under a job's lock.
    lock.unlock();
    auto client = job.client.lock();
    Status down = client ? client->unreachable() : Status::error(errc::kUnavailable, "the client is closed");
    lock.lock();
    if (!down && !done()) return down;
  }
  return Status::ok();
}

}  // namespace

Result<JobId> JobHandle::id() const {
  std::unique_lock lock(shared_->mutex);
  // Counted so an acknowledgement wakes only threads that wait for it.
  ++shared_->id_waiters;
  struct Leave {
    std::uint32_t& waiters;
    ~Leave() { --waiters; }  // runs with the lock held: `lock` is destroyed after it
  } leave{shared_->id_waiters};
  Status waited = waitSettled(*shared_, lock, [&] { return shared_->acked || shared_->refused.has_value(); },
                              std::nullopt);
  if (!waited) return waited;
  if (shared_->acked) return shared_->id;
  return *shared_->refused;
}

Result<JobState> JobHandle::status() const {
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->outcome) return shared_->outcome->state;
  }
  Result<JobId> job_id = id();
  if (!job_id) return job_id.status();
  auto client = shared_->client.lock();
  if (!client) return Status::error(errc::kUnavailable, "the client is closed");
  Result<JobInfo> info = client->status(*job_id, false);
  if (!info) return info.status();
  return info->state;
}

Result<JobOutcome> JobHandle::wait(std::chrono::milliseconds limit) const {
  MonoTime deadline = systemClock().now() + limit;
  std::unique_lock lock(shared_->mutex);
  Status waited = waitSettled(
      *shared_, lock, [&] { return shared_->outcome.has_value() || shared_->refused.has_value(); }, deadline);
  if (waited.code() == errc::kWaitTimeout) {
    return Status::error(errc::kWaitTimeout, "the job did not finish within " + std::to_string(limit.count()) + " ms");
  }
  if (!waited) return waited;
  if (shared_->outcome) return *shared_->outcome;
  return *shared_->refused;
}

bool JobHandle::duplicate() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->acked && shared_->duplicate;
}

bool JobHandle::unserved() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->acked && shared_->unserved;
}

bool JobHandle::done() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->outcome.has_value() || shared_->refused.has_value();
}

void JobHandle::onComplete(std::function<void(const JobOutcome&)> callback) const {
  JobOutcome now;
  {
    std::lock_guard lock(shared_->mutex);
    if (!shared_->outcome && !shared_->refused) {
      shared_->callbacks.push_back(std::move(callback));
      return;
    }
    if (shared_->outcome) {
      now = *shared_->outcome;
    } else {
      now.state = JobState::kDead;
      now.error_code = shared_->refused->code();
      now.error_message = shared_->refused->message();
    }
  }
  callback(now);
}

}  // namespace corvee
