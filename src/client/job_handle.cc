// JobHandle and JobShared: the caller's view of one submitted job.
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

Result<JobId> JobHandle::id() const {
  std::unique_lock lock(shared_->mutex);
  if (shared_->acked) return shared_->id;
  if (shared_->refused) return *shared_->refused;
  // Acknowledgements normally arrive in microseconds. While the broker is away the client keeps the
  // submission and sends it again on reconnection; this wait gives up once the broker has been
  // unreachable for the client's connect_timeout.
  ++shared_->id_waiters;
  struct Leave {
    std::uint32_t& waiters;
    ~Leave() { --waiters; }  // runs with the lock held: `lock` is destroyed after it
  } leave{shared_->id_waiters};
  for (;;) {
    if (shared_->changed.wait_for(lock, std::chrono::milliseconds(20),
                                  [&] { return shared_->acked || shared_->refused.has_value(); })) {
      break;
    }
    lock.unlock();
    auto client = shared_->client.lock();
    Status down = client ? client->unreachable() : Status::error(errc::kUnavailable, "the client is closed");
    lock.lock();
    if (!down && !shared_->acked && !shared_->refused) return down;
  }
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
  Result<JobInfo> info = client->status(*job_id);
  if (!info) return info.status();
  return info->state;
}

Result<JobOutcome> JobHandle::wait(std::chrono::milliseconds limit) const {
  MonoTime deadline = systemClock().now() + limit;
  std::unique_lock lock(shared_->mutex);
  auto settled = [&] { return shared_->outcome.has_value() || shared_->refused.has_value(); };
  while (!settled()) {
    MonoTime now = systemClock().now();
    if (now >= deadline) {
      return Status::error(errc::kWaitTimeout, "the job did not finish within " + std::to_string(limit.count()) + " ms");
    }
    if (shared_->changed.wait_for(lock, std::min<std::chrono::nanoseconds>(deadline - now, std::chrono::milliseconds(20)), settled)) break;
    lock.unlock();
    auto client = shared_->client.lock();
    Status down = client ? client->unreachable() : Status::error(errc::kUnavailable, "the client is closed");
    lock.lock();
    if (!down && !settled()) return down;
  }
  if (shared_->outcome) return *shared_->outcome;
  return *shared_->refused;
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
      now.state = JobState::kFailed;
      now.error_code = shared_->refused->code();
      now.error_message = shared_->refused->message();
    }
  }
  callback(now);
}

}  // namespace corvee
