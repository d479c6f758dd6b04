#include "cli/job_options.h"

#include "cli/validators.h"

namespace corvee::cli {

SubmitOptions JobOptionArgs::options() const {
  SubmitOptions out = submit;
  out.timeout = std::chrono::milliseconds(timeout_ms);
  out.run_timeout = std::chrono::milliseconds(run_timeout_ms);
  out.assign_timeout = std::chrono::milliseconds(assign_timeout_ms);
  out.backoff = std::chrono::milliseconds(backoff_ms);
  out.backoff_max = std::chrono::milliseconds(backoff_max_ms);
  out.delay = std::chrono::milliseconds(delay_ms);
  out.unique_for = std::chrono::milliseconds(unique_for_ms);
  if (at_ms > 0) out.run_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(at_ms));
  return out;
}

void addJobOptions(CLI::App& cmd, JobOptionArgs& args, bool with_at, const std::string& delay_meaning) {
  cmd.add_option("--priority", args.submit.priority, "higher runs first")
      ->capture_default_str()
      ->transform(numberIn<std::int32_t>());
  cmd.add_option("--timeout", args.timeout_ms, "ms from submission to result (0: none)")
      ->transform(numberIn<std::int64_t>(0, UINT32_MAX));
  cmd.add_option("--run-timeout", args.run_timeout_ms, "ms one attempt may run on a worker (0: none)")
      ->transform(numberIn<std::int64_t>(0, UINT32_MAX));
  cmd.add_option("--assign-timeout", args.assign_timeout_ms, "ms the job may wait for a worker (0: none)")
      ->transform(numberIn<std::int64_t>(0, UINT32_MAX));
  cmd.add_option("--retries", args.submit.retries,
                 "attempts after a failed one (handler error or run timeout), with exponential backoff")
      ->capture_default_str()
      ->transform(numberIn<std::uint32_t>(0, 1000000));
  cmd.add_option("--backoff", args.backoff_ms,
                 "ms before the first retry (at most; each retry waits a random time up to twice the last)")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, UINT32_MAX));
  cmd.add_option("--backoff-max", args.backoff_max_ms, "the longest wait between retries, in ms")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(0, UINT32_MAX));
  cmd.add_flag("--require-worker", args.submit.require_worker,
               "refuse the job (no_worker, exit 3) when no connected worker serves the task, instead of "
               "queueing it with a warning");
  auto* delay = cmd.add_option("--delay", args.delay_ms,
                               "run no earlier than this long after " + delay_meaning +
                                   ": ms, or 30s, 15m, 2h, 1d; the job is `scheduled` meanwhile, its time limits "
                                   "counting from then")
                    ->transform(duration(UINT32_MAX));
  if (with_at) {
    cmd.add_option("--at", args.at_ms,
                   "run no earlier than this time, RFC 3339 (2026-12-01T09:00:00Z); a time past runs at once")
        ->transform(wallTime())
        ->excludes(delay);
  }
  cmd.add_option("--fair-key", args.submit.fair_key,
                 "fairness key, e.g. a tenant id: the broker deals a task's jobs round robin across keys, so one "
                 "key's flood does not hold up the others (see broker --fair-weight, --key-concurrency)")
      ->check(wireName("fair key"));
  auto* unique_key = cmd.add_option("--unique-key", args.submit.unique_key,
                                    "make the job unique in its task: while a job of the task with this key is "
                                    "scheduled, queued, retrying or running (or within --unique-for after it "
                                    "succeeded), that job's id answers instead of a second job")
                         ->check(wireName("unique key"));
  cmd.add_option("--unique-for", args.unique_for_ms,
                 "how long the key stays held after its job succeeds: ms, or 30s, 15m, 2h, 1d (default 0: freed "
                 "when it finishes); a dead or cancelled job frees it at once")
      ->transform(duration(UINT32_MAX))
      ->needs(unique_key);
}

}  // namespace corvee::cli
