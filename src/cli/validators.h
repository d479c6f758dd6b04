// Checks for every value the command line takes: numbers, job ids, endpoints and names. Every
// option and argument of every subcommand goes through one of these, so a bad value is always a
// usage error (exit 2) with a message naming the option and the value, never a silent misreading.
//
// Why not CLI11's own conversion: CLI11 2.1 reads numbers with strtoull/strtoll in base 0, so "-1"
// wraps to 18446744073709551615 in an unsigned option, "010" is octal 8, "0x10" is 16 and " 5"
// passes. The number validators here accept plain decimal only, check the range, and hand CLI11
// back the canonical decimal text, so the value CLI11 converts is the one that was checked.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace corvee::cli {

// A transform (use Option::transform): a whole decimal number in [min, max]; a '-' sign only when
// min < 0. Leading zeros are read as decimal ("010" is ten).
CLI::Validator unsignedIn(std::uint64_t min, std::uint64_t max);
CLI::Validator signedIn(std::int64_t min, std::int64_t max);

// The validator for an option stored in a T, with [min, max] inside T's own range (the default:
// all of it), so no value can wrap when CLI11 stores it.
template <typename T>
CLI::Validator numberIn(T min = std::numeric_limits<T>::min(), T max = std::numeric_limits<T>::max()) {
  static_assert(std::numeric_limits<T>::is_integer);
  if constexpr (std::numeric_limits<T>::is_signed) {
    return signedIn(min, max);
  } else {
    return unsignedIn(min, max);
  }
}

// A duration (a transform to whole milliseconds, in [0, max_ms]): a decimal number of
// milliseconds, or one followed by a unit: ms, s, m, h or d ("30s", "15m", "2h", "7d").
CLI::Validator duration(std::uint64_t max_ms = std::numeric_limits<std::uint64_t>::max());

// A moment as RFC 3339 writes it ("2026-12-01T09:00:00Z", "2026-12-01T10:00:00.5+01:00"), a
// transform to Unix epoch milliseconds.
CLI::Validator wallTime();

// A job id: a positive decimal integer that fits in 64 bits (a transform).
CLI::Validator jobId();

// tcp://HOST:PORT, as protocol::parseEndpoint reads it. `source`, when given, ends the message
// (where the value may have come from other than the option itself).
CLI::Validator endpoint(const std::string& source = "");

// A name on the wire (protocol::checkName): 1 to 255 bytes of valid UTF-8. `what` starts the
// message, e.g. "task name".
CLI::Validator wireName(const std::string& what);

// Any text but the empty string (paths).
CLI::Validator nonEmpty();

// `--exec NAME=COMMAND`: both parts present, NAME a valid task name.
CLI::Validator execSpec();

// `--rate TASK=N/s[:BURST]`: TASK a valid task name, the rest as broker::RateSpec reads it.
CLI::Validator rateLimit();

// `corvee rate TASK RATE`: N/s[:BURST] as broker::RateSpec reads it, or "off".
CLI::Validator rateOrOff();
// `--fair-weight TASK:KEY=W` and `--key-concurrency TASK=N`, as broker::FairWeightSpec and
// broker::KeyConcurrencySpec read them.
CLI::Validator fairWeight();
CLI::Validator keyConcurrency();

}  // namespace corvee::cli
