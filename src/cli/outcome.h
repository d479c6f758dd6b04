// How `submit --wait` and `wait` report a job's end, so both print and exit alike.
#pragma once

#include "corvee/job.h"
#include "corvee/status.h"

namespace corvee::cli {

// Prints the outcome of job `id` and returns the exit code:
// - succeeded: exactly the result's bytes on stdout, no newline added (a result may be binary, and
//   what a shell pipeline gets must be what the worker returned); exit 0;
// - dead or cancelled: "CODE: message" on stderr, nothing on stdout; exit 1;
// - no outcome: "corvee: job ID: CODE: message" on stderr; exit 1 when the job is unknown
//   (not_found, as `status` does), else 3 (unreachable broker, wait_timeout).
int printOutcome(JobId id, const Result<JobOutcome>& outcome);

}  // namespace corvee::cli
