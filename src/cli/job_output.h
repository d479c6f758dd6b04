// How the CLI prints jobs: `status`, `jobs`, `dead list` and `dead show` share these, so a job
// reads the same wherever it appears.
#pragma once

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "corvee/job.h"

namespace corvee::cli {

// Results, messages and names are bytes that need not be UTF-8; dump() would throw on those
// (type_error.316), so they are shown as U+FFFD and the output is always valid JSON. `indent` -1
// gives one line.
std::string dumpJson(const nlohmann::json& doc, int indent = 2);

// A job as listed: id, task, state, priority, attempt, retries, retried, times, worker; run_at_ms
// while retrying and the error once dead or cancelled. No payload, result or failures.
nlohmann::json jobSummaryJson(const JobInfo& info);
// jobSummaryJson() plus the result when succeeded and every failed attempt ("failures").
nlohmann::json jobDetailJson(const JobInfo& info);
// Adds the payload to `doc`: as text when it is valid UTF-8, else in base64 with
// "payload_encoding": "base64", so no byte is lost or replaced.
void addPayload(nlohmann::json& doc, std::string_view payload);
// Standard base64 (RFC 4648, with padding).
std::string base64(std::string_view bytes);

// Prints `jobs` as one JSON object a line (jobSummaryJson), or with `table` as aligned columns for a
// person. An empty list prints nothing as JSON lines and "no jobs" as a table.
void printJobs(std::ostream& out, const std::vector<JobInfo>& jobs, bool table);

}  // namespace corvee::cli
