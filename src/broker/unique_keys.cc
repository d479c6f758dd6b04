#include "broker/unique_keys.h"

namespace corvee::broker {

std::string UniqueKeys::slotOf(std::string_view task, std::string_view key) {
  std::string slot;
  slot.reserve(1 + task.size() + key.size());
  slot.push_back(static_cast<char>(static_cast<unsigned char>(task.size() & 0xff)));
  slot.append(task);
  slot.append(key);
  return slot;
}

void UniqueKeys::expire(MonoTime now) {
  while (!expiries_.empty() && expiries_.top().until <= now) {
    const Expiry& due = expiries_.top();
    auto it = by_key_.find(due.slot);
    // Only the entry this expiry was made for: the key may have been taken again since.
    if (it != by_key_.end() && it->second.job == due.job && it->second.until == due.until) by_key_.erase(it);
    expiries_.pop();
  }
}

std::optional<JobId> UniqueKeys::holder(std::string_view task, std::string_view key, MonoTime now) {
  expire(now);
  auto it = by_key_.find(slotOf(task, key));
  if (it == by_key_.end()) return std::nullopt;
  return it->second.job;
}

bool UniqueKeys::hold(std::string_view task, std::string_view key, JobId job, std::uint32_t window_ms, MonoTime now) {
  expire(now);
  std::string slot = slotOf(task, key);
  auto [it, inserted] = by_key_.try_emplace(slot, Entry{job, std::nullopt});
  if (!inserted) return false;
  by_job_[job] = Live{std::move(slot), Held{std::string(key), window_ms}};
  return true;
}

bool UniqueKeys::holdFinished(std::string_view task, std::string_view key, JobId job, MonoTime until,
                              MonoTime now) {
  expire(now);
  if (until <= now) return false;
  std::string slot = slotOf(task, key);
  auto [it, inserted] = by_key_.try_emplace(slot, Entry{job, until});
  if (!inserted) return false;
  expiries_.push({until, job, std::move(slot)});
  return true;
}

void UniqueKeys::finished(JobId job, bool succeeded, MonoTime now) {
  auto live = by_job_.find(job);
  if (live == by_job_.end()) return;
  auto it = by_key_.find(live->second.slot);
  if (it != by_key_.end() && it->second.job == job) {
    std::uint32_t window = live->second.held.window_ms;
    if (succeeded && window > 0) {
      it->second.until = now + Millis(window);
      expiries_.push({*it->second.until, job, live->second.slot});
    } else {
      by_key_.erase(it);
    }
  }
  by_job_.erase(live);
}

void UniqueKeys::forget(std::string_view task, std::string_view key) {
  auto it = by_key_.find(slotOf(task, key));
  if (it == by_key_.end()) return;
  by_job_.erase(it->second.job);
  by_key_.erase(it);
}

const UniqueKeys::Held* UniqueKeys::of(JobId job) const {
  auto it = by_job_.find(job);
  return it == by_job_.end() ? nullptr : &it->second.held;
}

}  // namespace corvee::broker
