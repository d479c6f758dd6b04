// Value types that describe a job as clients and workers see it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace corvee {

// A job's id: unique within a broker's store, never reused. Printed as a decimal number.
using JobId = std::uint64_t;

// Wire values are fixed by docs/protocol.md ("Job states").
enum class JobState : std::uint8_t {
  kQueued = 1,
  kRunning = 2,
  kSucceeded = 3,
  kFailed = 4,
};

// "queued", "running", "succeeded", "failed"; "unknown" for values outside the enum.
std::string_view toString(JobState state);
inline bool isFinished(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed;
}

// How a job is to be run. Zero durations mean "no limit".
struct SubmitOptions {
  std::int32_t priority = 0;                  // higher runs first; FIFO within a priority
  std::chrono::milliseconds timeout{0};       // global: submission to result
  std::chrono::milliseconds run_timeout{0};   // from start on a worker
  std::chrono::milliseconds assign_timeout{0};  // waiting to be dealt to a worker
};

// The end of a job: a result, or an error code and message.
struct JobOutcome {
  JobId id = 0;
  JobState state = JobState::kQueued;  // kSucceeded or kFailed once finished
  std::uint32_t attempt = 0;           // the attempt that finished it
  std::string result;                  // the handler's output when succeeded
  std::string error_code;              // a protocol error code when failed
  std::string error_message;
  bool succeeded() const { return state == JobState::kSucceeded; }
};

// A job's full record, as returned by a status query.
struct JobInfo {
  JobId id = 0;
  std::string task;
  JobState state = JobState::kQueued;
  std::int32_t priority = 0;
  std::uint32_t attempt = 0;
  std::uint64_t submitted_ms = 0;  // Unix epoch milliseconds; 0 when it has not happened
  std::uint64_t started_ms = 0;
  std::uint64_t finished_ms = 0;
  std::string worker;  // the worker running or last running it
  std::string result;
  std::string error_code;
  std::string error_message;
};

}  // namespace corvee
