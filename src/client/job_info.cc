#include "client/job_info.h"

namespace corvee::detail {

JobInfo toJobInfo(const protocol::JobInfoMsg& msg) {
  JobInfo info;
  info.id = msg.job_id;
  info.task = std::string(msg.task);
  // Not checked against the enum: a newer broker's state comes through and prints as "unknown".
  info.state = static_cast<JobState>(msg.state);
  info.priority = msg.priority;
  info.attempt = msg.attempt;
  info.submitted_ms = msg.submitted_ms;
  info.started_ms = msg.started_ms;
  info.finished_ms = msg.finished_ms;
  info.worker = std::string(msg.worker);
  info.result = std::string(msg.result.data);
  info.error_code = std::string(msg.error_code);
  info.error_message = std::string(msg.error_message);
  info.retries = msg.retries;
  info.retried = msg.retried;
  info.run_at_ms = msg.run_at_ms;
  info.fair_key = std::string(msg.fair_key);
  info.payload = std::string(msg.payload.data);
  info.unique_key = std::string(msg.unique_key);
  info.unique_for_ms = msg.unique_for_ms;
  info.failures.reserve(msg.failures.size());
  for (const protocol::FailureItem& item : msg.failures) {
    AttemptFailure failure;
    failure.attempt = item.attempt;
    failure.worker = std::string(item.worker);
    failure.started_ms = item.started_ms;
    failure.ended_ms = item.ended_ms;
    failure.error_code = std::string(item.error_code);
    failure.error_message = std::string(item.error_message);
    info.failures.push_back(std::move(failure));
  }
  return info;
}

}  // namespace corvee::detail
