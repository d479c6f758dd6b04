#include "broker/rate_limiter.h"

#include <algorithm>

#include "common/parse_whole.h"
#include "corvee/errors.h"
#include "protocol/names.h"

namespace corvee::broker {

namespace {

constexpr std::uint64_t kMicro = 1'000'000;  // 10^kMaxDecimals
constexpr std::uint64_t kNanosPerSecond = 1'000'000'000;

Status badRate(std::string_view spec, std::string_view why) {
  return Status::error(errc::kBadRequest, "rate \"" + std::string(spec) + "\": " + std::string(why) +
                                              " (expected N/s, N/m or N/h, then optionally :BURST)");
}

}  // namespace

Result<TaskRateSpec> TaskRateSpec::parse(std::string_view spec) {
  auto eq = spec.find('=');
  if (eq == std::string_view::npos) {
    return Status::error(errc::kBadRequest, "--rate wants TASK=N/s[:BURST], got '" + std::string(spec) + "'");
  }
  std::string_view task = spec.substr(0, eq);
  if (Status named = protocol::checkTaskName(task); !named) return named;
  Result<RateSpec> rate = RateSpec::parse(spec.substr(eq + 1));
  if (!rate) return rate.status();
  return TaskRateSpec{std::string(task), *rate};
}

Result<RateSpec> RateSpec::parse(std::string_view spec) {
  RateSpec rate;
  std::size_t slash = spec.find('/');
  if (slash == std::string_view::npos) return badRate(spec, "no period");
  std::string_view count = spec.substr(0, slash);
  std::string_view rest = spec.substr(slash + 1);
  std::size_t colon = rest.find(':');
  std::string_view period = rest.substr(0, colon);

  // N: digits, then optionally a point and 1..kMaxDecimals digits.
  std::size_t point = count.find('.');
  std::uint64_t whole = 0, fraction = 0;
  if (!parseWhole(count.substr(0, point), whole)) return badRate(spec, "N is not a decimal number");
  if (point != std::string_view::npos) {
    std::string_view decimals = count.substr(point + 1);
    if (!parseWhole(decimals, fraction)) return badRate(spec, "N is not a decimal number");
    if (decimals.size() > kMaxDecimals) {
      return badRate(spec, "N has more than " + std::to_string(kMaxDecimals) + " decimals");
    }
    for (std::size_t i = decimals.size(); i < kMaxDecimals; ++i) fraction *= 10;
  }
  if (whole > kMaxCount) return badRate(spec, "N is over " + std::to_string(kMaxCount));
  rate.micro_count_ = whole * kMicro + fraction;
  if (rate.micro_count_ == 0) return badRate(spec, "N must be positive (pause the task to stop it)");
  if (rate.micro_count_ > kMaxCount * kMicro) return badRate(spec, "N is over " + std::to_string(kMaxCount));

  if (period == "s") {
    rate.period_seconds_ = 1;
  } else if (period == "m") {
    rate.period_seconds_ = 60;
  } else if (period == "h") {
    rate.period_seconds_ = 3600;
  } else {
    return badRate(spec, "the period is not s, m or h");
  }

  // A second's worth of tokens, rounded up, and at least 1.
  std::uint64_t micro_per_second = rate.micro_count_ / rate.period_seconds_;
  rate.burst_ = std::max<std::uint64_t>(1, (micro_per_second + kMicro - 1) / kMicro);
  if (colon != std::string_view::npos) {
    if (!parseWhole(rest.substr(colon + 1), rate.burst_)) return badRate(spec, "BURST is not a whole number");
    if (rate.burst_ == 0) return badRate(spec, "BURST must be at least 1");
    if (rate.burst_ > kMaxCount) return badRate(spec, "BURST is over " + std::to_string(kMaxCount));
  }
  return rate;
}

double RateSpec::perSecond() const {
  return static_cast<double>(micro_count_) / static_cast<double>(kMicro) / period_seconds_;
}

std::string RateSpec::toString() const {
  std::string out = std::to_string(micro_count_ / kMicro);
  if (std::uint64_t fraction = micro_count_ % kMicro; fraction != 0) {
    std::string decimals = std::to_string(fraction);
    decimals.insert(0, kMaxDecimals - decimals.size(), '0');
    decimals.erase(decimals.find_last_not_of('0') + 1);
    out += '.' + decimals;
  }
  out += period_seconds_ == 1 ? "/s" : period_seconds_ == 60 ? "/m" : "/h";
  return out + ':' + std::to_string(burst_);
}

TokenBucket::TokenBucket(const RateSpec& spec, MonoTime now) : at_(now) { setSpec(spec, now); }

void TokenBucket::setSpec(const RateSpec& spec, MonoTime now) {
  bool first = token_ == 0;
  Units banked = creditAt(now);
  std::uint32_t old_period = spec_.period_seconds_;
  spec_ = spec;
  token_ = Units{spec.period_seconds_} * kNanosPerSecond * kMicro;
  capacity_ = Units{spec.burst_} * token_;
  // A new bucket starts full; a changed one keeps its tokens, fraction included, in the new units
  // (a token's units scale with the period).
  credit_ = first ? capacity_ : std::min(banked * spec.period_seconds_ / old_period, capacity_);
  at_ = std::max(at_, now);
}

TokenBucket::Units TokenBucket::creditAt(MonoTime now) const {
  if (now <= at_ || credit_ >= capacity_) return credit_;
  // Below 2^63 ns times at most 10^15 units a nanosecond (kMaxCount * 10^6): under 2^113, no overflow.
  auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - at_);
  Units gained = Units{static_cast<std::uint64_t>(elapsed.count())} * spec_.micro_count_;
  return gained >= capacity_ - credit_ ? capacity_ : credit_ + gained;
}

bool TokenBucket::tryTake(MonoTime now) {
  credit_ = creditAt(now);
  at_ = std::max(at_, now);
  if (credit_ < token_) return false;
  credit_ -= token_;
  return true;
}

std::optional<MonoTime> TokenBucket::nextTokenAt(MonoTime now) const {
  Units credit = creditAt(now);
  if (credit >= token_) return std::nullopt;
  // Rounded up, so that at the time returned the token is there. At most period * 10^15 units
  // missing, gained at 1 unit a nanosecond or more: at most 3.6 * 10^18 ns, within MonoTime's range.
  Units missing = token_ - credit;
  Units wait_ns = (missing + spec_.micro_count_ - 1) / spec_.micro_count_;
  MonoTime from = std::max(at_, now);
  auto wait = std::chrono::nanoseconds(static_cast<std::int64_t>(wait_ns));
  return from + std::chrono::duration_cast<MonoTime::duration>(wait);
}

double TokenBucket::tokens(MonoTime now) const {
  return static_cast<double>(creditAt(now)) / static_cast<double>(token_);
}

}  // namespace corvee::broker
