// CronRecord: a periodic job as the store keeps it, so it survives a broker restart.
#pragma once

#include <cstdint>
#include <string>

namespace corvee {

struct CronRecord {
  std::string name;       // unique; what `cron remove|pause|resume NAME` names
  std::string spec;       // the cron expression (broker/cron_spec.h)
  std::string tz = "UTC"; // IANA zone the expression is read in
  std::string task;       // the task each firing submits (also inside `submit`; kept for listings)
  // The SUBMIT each firing makes, encoded as a SUBMIT body at protocol version `submit_version`:
  // every submission option works for a cron entry without the store knowing it.
  std::string submit;
  std::uint16_t submit_version = 0;
  bool paused = false;
  std::uint64_t created_ms = 0;    // Unix milliseconds
  // When the last firing happened, committed together with the job it made: a restart after that
  // commit never fires it again, one before it fires it (once). 0: never fired.
  std::uint64_t last_fire_ms = 0;
};

}  // namespace corvee
