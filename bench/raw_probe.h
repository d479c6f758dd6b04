// Raw probes: the W1 and W2 workloads again, but spoken over plain blocking sockets by one thread
// that plays both the client and a worker (docs/protocol.md), without corvee::Client or
// corvee::Worker. What remains is the broker plus loopback TCP, so the difference between these
// figures and the library ones is what the client and worker libraries cost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace corvee::bench {

struct RawThroughput {
  double seconds = 0;
  double jobs_per_second = 0;
};

// W1 over raw sockets: `jobs` no-op jobs, at most `window` unfinished at once, a worker with
// `slots` slots that answers every ASSIGN with COMPLETE at once. False with `error` on failure.
bool rawThroughput(const std::string& endpoint, std::size_t jobs, const std::string& payload, std::uint32_t slots,
                   std::size_t window, int timeout_s, RawThroughput& result, std::string& error);

// W2 over raw sockets: submit, take the ASSIGN, COMPLETE it, read the RESULT; one job at a time.
// Appends one submit-to-result time in microseconds per job after the first `warmup`.
bool rawLatency(const std::string& endpoint, std::size_t jobs, std::size_t warmup, const std::string& payload,
                std::vector<double>& samples_us, std::string& error);

}  // namespace corvee::bench
