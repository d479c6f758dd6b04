#include "client/submit_fields.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace corvee::detail {

namespace {

std::uint32_t millisField(std::chrono::milliseconds d) {
  return static_cast<std::uint32_t>(std::clamp<long long>(d.count(), 0, UINT32_MAX));
}

}  // namespace

protocol::SubmitMsg submitMsgOf(std::string_view task, std::string_view payload, const SubmitOptions& options) {
  protocol::SubmitMsg msg;
  msg.task = task;
  msg.payload.data = payload;
  msg.priority = options.priority;
  msg.timeout_ms = millisField(options.timeout);
  msg.run_timeout_ms = millisField(options.run_timeout);
  msg.assign_timeout_ms = millisField(options.assign_timeout);
  msg.retries = options.retries;
  msg.backoff_ms = millisField(options.backoff);
  msg.backoff_max_ms = millisField(options.backoff_max);
  msg.flags = options.require_worker ? protocol::kSubmitRequireWorker : 0;
  msg.delay_ms = millisField(options.delay);
  if (options.run_at.time_since_epoch().count() > 0) {
    auto epoch_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options.run_at.time_since_epoch()).count();
    msg.run_at_ms = static_cast<std::uint64_t>(std::max<long long>(epoch_ms, 1));
  }
  msg.unique_key = options.unique_key;
  msg.unique_for_ms = millisField(options.unique_for);
  msg.fair_key = options.fair_key;
  return msg;
}

SubmitOptions submitOptionsOf(const protocol::SubmitMsg& msg) {
  using std::chrono::milliseconds;
  SubmitOptions options;
  options.priority = msg.priority;
  options.timeout = milliseconds(msg.timeout_ms);
  options.run_timeout = milliseconds(msg.run_timeout_ms);
  options.assign_timeout = milliseconds(msg.assign_timeout_ms);
  options.retries = msg.retries;
  options.backoff = milliseconds(msg.backoff_ms);
  options.backoff_max = milliseconds(msg.backoff_max_ms);
  options.require_worker = (msg.flags & protocol::kSubmitRequireWorker) != 0;
  options.delay = milliseconds(msg.delay_ms);
  if (msg.run_at_ms > 0) options.run_at = std::chrono::system_clock::time_point(milliseconds(msg.run_at_ms));
  options.unique_key = std::string(msg.unique_key);
  options.unique_for = milliseconds(msg.unique_for_ms);
  options.fair_key = std::string(msg.fair_key);
  return options;
}

}  // namespace corvee::detail
