// Rate limits on dispatch: a token bucket per task (broker `--rate TASK=N/s[:BURST]`).
//
// Each job dealt for a rate-limited task takes a token; tokens come back at N per period, up to
// BURST banked while the task is idle. When the bucket is empty the broker does not poll:
// nextTokenAt() says when to wake up.
//
// Tokens are counted in exact integer units (a token is period * 10^15 units, and each nanosecond
// adds N * 10^6 of them), so no rounding is ever dropped: as long as the bucket does not fill up,
// the k-th token after it was emptied comes at exactly ceil(k * period / N), however many refills
// came in between. (A full bucket drops what comes in, as a token bucket must.) Not thread-safe:
// owned by the broker's loop thread, like the rest of src/broker/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "corvee/status.h"
#include "platform/clock.h"

namespace corvee::broker {

// A parsed rate: N tokens per second, minute or hour, and a burst.
class RateSpec {
 public:
  // The most N and BURST may be; far beyond any dispatch rate a broker reaches.
  static constexpr std::uint64_t kMaxCount = 1'000'000'000;
  // N has at most this many decimals, which with kMaxCount and an hour keeps every interval and
  // every count in range (the slowest rate, 0.000001/h, is a token in 114 years).
  static constexpr int kMaxDecimals = 6;

  // Parses "N/s", "N/m" or "N/h", optionally followed by ":BURST". N is a positive decimal
  // (0.5/s, 30/m) with at most kMaxDecimals decimals; BURST a positive integer, by default a
  // second's worth of tokens and at least 1 (as Guava's RateLimiter.create does). A burst of 1
  // keeps any two jobs 1/N apart, but then a broker that wakes up late loses the time it was late,
  // which at 1000/s and a millisecond's lateness would halve the rate; a second's worth absorbs
  // that. On failure returns bad_request saying what is wrong.
  static Result<RateSpec> parse(std::string_view spec);

  // Tokens per second, for humans (stats).
  double perSecond() const;
  std::uint64_t burst() const { return burst_; }
  // The canonical spec, with the burst always written: "0.5/s:1", "30/m:10".
  std::string toString() const;

  bool operator==(const RateSpec&) const = default;

 private:
  friend class TokenBucket;
  RateSpec() = default;  // only parse() makes one, so every RateSpec has a positive rate

  std::uint64_t micro_count_ = 0;  // N * 10^6, so that N may be a fraction
  std::uint32_t period_seconds_ = 1;
  std::uint64_t burst_ = 1;
};

// A task's rate as `broker --rate` spells it: "TASK=N/s[:BURST]" (TASK up to the first '=').
struct TaskRateSpec {
  std::string task;
  RateSpec rate;
  // bad_request naming what is wrong: no '=', a bad task name, or a bad rate.
  static Result<TaskRateSpec> parse(std::string_view spec);
};

// One task's bucket. Starts full.
class TokenBucket {
 public:
  TokenBucket(const RateSpec& spec, MonoTime now);

  // Takes a token if there is one at `now`: true means the job may be dealt.
  bool tryTake(MonoTime now);
  // When the next token arrives, if there is none at `now`; nullopt when there is one already, so
  // the caller can deal at once rather than set a timer.
  std::optional<MonoTime> nextTokenAt(MonoTime now) const;

  // Changes the rate at run time (`corvee rate`), keeping the tokens banked up to the new burst.
  void setSpec(const RateSpec& spec, MonoTime now);

  const RateSpec& spec() const { return spec_; }
  // The tokens banked at `now`, with the fraction of the next one: for stats.
  double tokens(MonoTime now) const;

 private:
  using Units = unsigned __int128;

  // The credit at `now`, refilled since at_ and capped at the burst. A `now` before at_ (which a
  // monotonic clock never gives) adds nothing.
  Units creditAt(MonoTime now) const;

  RateSpec spec_;
  Units token_ = 0;     // units per token: period_seconds * 10^15
  Units capacity_ = 0;  // units in a full bucket: burst * token_
  Units credit_ = 0;    // units banked as of at_
  MonoTime at_;
};

}  // namespace corvee::broker
