// The flags that set a job's SubmitOptions (--priority, time limits, retries, --delay, ...):
// shared by `corvee submit` and `corvee cron add`, whose entries submit jobs the same way.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>

#include "corvee/job.h"

namespace corvee::cli {

struct JobOptionArgs {
  SubmitOptions submit;
  std::int64_t timeout_ms = 0;
  std::int64_t run_timeout_ms = 0;
  std::int64_t assign_timeout_ms = 0;
  std::uint64_t backoff_ms = 1000;
  std::uint64_t backoff_max_ms = 3600 * 1000;
  std::uint64_t delay_ms = 0;
  std::uint64_t at_ms = 0;  // Unix epoch ms; 0: not given
  std::uint64_t unique_for_ms = 0;

  // The options as given on the command line.
  SubmitOptions options() const;
};

// Adds the job option flags to `cmd`; `--at` only with `with_at` (a periodic job's jobs have no
// one fixed time). `delay_meaning` says what --delay counts from.
void addJobOptions(CLI::App& cmd, JobOptionArgs& args, bool with_at, const std::string& delay_meaning);

}  // namespace corvee::cli
