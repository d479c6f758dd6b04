#include "cli/job_output.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "cli/table.h"
#include "protocol/utf8.h"

namespace corvee::cli {

namespace {

nlohmann::json errorJson(const std::string& code, const std::string& message) {
  return {{"code", code}, {"message", message}};
}

}  // namespace

std::string dumpJson(const nlohmann::json& doc, int indent) {
  return doc.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json jobSummaryJson(const JobInfo& info) {
  nlohmann::json doc = {
      {"id", info.id},
      {"task", info.task},
      {"state", std::string(toString(info.state))},
      {"priority", info.priority},
      {"attempt", info.attempt},
      {"retries", info.retries},
      {"retried", info.retried},
      {"submitted_ms", info.submitted_ms},
      {"started_ms", info.started_ms},
      {"finished_ms", info.finished_ms},
      {"worker", info.worker},
  };
  if (info.state == JobState::kRetrying || info.state == JobState::kScheduled) doc["run_at_ms"] = info.run_at_ms;
  if (!info.unique_key.empty()) {
    doc["unique_key"] = info.unique_key;
    doc["unique_for_ms"] = info.unique_for_ms;
  }
  if (!info.fair_key.empty()) doc["fair_key"] = info.fair_key;
  // A retrying job shows the error it retries after.
  if (info.state == JobState::kDead || info.state == JobState::kCancelled || info.state == JobState::kRetrying) {
    doc["error"] = errorJson(info.error_code, info.error_message);
  }
  return doc;
}

nlohmann::json jobDetailJson(const JobInfo& info) {
  nlohmann::json doc = jobSummaryJson(info);
  if (info.state == JobState::kSucceeded) doc["result"] = info.result;
  nlohmann::json failures = nlohmann::json::array();
  for (const AttemptFailure& failure : info.failures) {
    failures.push_back({{"attempt", failure.attempt},
                        {"worker", failure.worker},
                        {"started_ms", failure.started_ms},
                        {"ended_ms", failure.ended_ms},
                        {"error", errorJson(failure.error_code, failure.error_message)}});
  }
  doc["failures"] = std::move(failures);
  return doc;
}

void addPayload(nlohmann::json& doc, std::string_view payload) {
  if (protocol::isValidUtf8(payload)) {
    doc["payload"] = std::string(payload);
  } else {
    doc["payload"] = base64(payload);
    doc["payload_encoding"] = "base64";
  }
}

std::string base64(std::string_view bytes) {
  static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (static_cast<std::uint8_t>(bytes[i]) << 16) | (static_cast<std::uint8_t>(bytes[i + 1]) << 8) |
                      static_cast<std::uint8_t>(bytes[i + 2]);
    out += {kDigits[(n >> 18) & 63], kDigits[(n >> 12) & 63], kDigits[(n >> 6) & 63], kDigits[n & 63]};
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out += kDigits[(n >> 18) & 63];
    out += kDigits[(n >> 12) & 63];
    out += rest == 2 ? kDigits[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void printJobs(std::ostream& out, const std::vector<JobInfo>& jobs, bool table) {
  if (!table) {
    for (const JobInfo& info : jobs) out << dumpJson(jobSummaryJson(info), -1) << '\n';
    out.flush();
    return;
  }
  if (jobs.empty()) {
    out << "no jobs" << std::endl;
    return;
  }
  // A KEY column only when a listed job has a fairness key.
  bool keyed = std::any_of(jobs.begin(), jobs.end(), [](const JobInfo& info) { return !info.fair_key.empty(); });
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"ID", "TASK", "STATE", "ATTEMPT", "SUBMITTED (UTC)", "WORKER", "ERROR"});
  if (keyed) rows.back().insert(rows.back().begin() + 2, "KEY");
  for (const JobInfo& info : jobs) {
    std::string attempt = std::to_string(info.attempt);
    if (info.retries > 0) attempt += " (" + std::to_string(info.retried) + "/" + std::to_string(info.retries) + " retries)";
    std::string error;
    if (!info.error_code.empty()) error = info.error_code + (info.error_message.empty() ? "" : ": " + info.error_message);
    if (info.state == JobState::kRetrying) error = "next attempt " + utcTime(info.run_at_ms);
    if (info.state == JobState::kScheduled) error = "runs at " + utcTime(info.run_at_ms);
    rows.push_back({std::to_string(info.id), cell(info.task, 32), std::string(toString(info.state)), attempt,
                    utcTime(info.submitted_ms), cell(info.worker, 24), cell(error, 60)});
    if (keyed) rows.back().insert(rows.back().begin() + 2, cell(info.fair_key, 24));
  }
  printTable(out, rows);
}

}  // namespace corvee::cli
