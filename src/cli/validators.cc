#include "cli/validators.h"

#include <absl/time/time.h>

#include "broker/fair_keys.h"
#include "broker/rate_limiter.h"

#include <charconv>
#include <string_view>

#include "protocol/endpoint.h"
#include "protocol/names.h"
#include "worker/exec_handler.h"

namespace corvee::cli {

namespace {

enum class Decimal { kNumber, kNotDecimal, kTooBig };

// Reads `text` as decimal digits with an optional leading '-' into a sign and a magnitude.
Decimal readDecimal(std::string_view text, bool& negative, std::uint64_t& magnitude) {
  negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty()) return Decimal::kNotDecimal;
  for (char c : text) {
    if (c < '0' || c > '9') return Decimal::kNotDecimal;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude);
  return ec == std::errc() && end == text.data() + text.size() ? Decimal::kNumber : Decimal::kTooBig;
}

std::string describeRange(const std::string& min, const std::string& max) { return "in [" + min + ", " + max + "]"; }

std::string notANumber(const std::string& value, const std::string& range) {
  return "'" + value + "' is not a whole decimal number (expected one " + range + ")";
}

std::string outOfRange(const std::string& value, const std::string& range) {
  return value + " is out of range (expected a whole number " + range + ")";
}

}  // namespace

CLI::Validator unsignedIn(std::uint64_t min, std::uint64_t max) {
  std::string range = describeRange(std::to_string(min), std::to_string(max));
  return CLI::Validator(
      [min, max, range](std::string& value) -> std::string {
        bool negative = false;
        std::uint64_t n = 0;
        switch (readDecimal(value, negative, n)) {
          case Decimal::kNotDecimal: return notANumber(value, range);
          case Decimal::kTooBig: return outOfRange(value, range);
          case Decimal::kNumber: break;
        }
        if ((negative && n != 0) || n < min || n > max) return outOfRange(value, range);
        value = std::to_string(n);
        return {};
      },
      range);
}

CLI::Validator signedIn(std::int64_t min, std::int64_t max) {
  std::string range = describeRange(std::to_string(min), std::to_string(max));
  return CLI::Validator(
      [min, max, range](std::string& value) -> std::string {
        bool negative = false;
        std::uint64_t magnitude = 0;
        switch (readDecimal(value, negative, magnitude)) {
          case Decimal::kNotDecimal: return notANumber(value, range);
          case Decimal::kTooBig: return outOfRange(value, range);
          case Decimal::kNumber: break;
        }
        // In two's complement the most negative value's magnitude is one above the most positive.
        constexpr auto kMaxPositive = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        if (magnitude > kMaxPositive + (negative ? 1 : 0)) return outOfRange(value, range);
        auto n = negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
        if (n < min || n > max) return outOfRange(value, range);
        value = std::to_string(n);
        return {};
      },
      range);
}

CLI::Validator duration(std::uint64_t max_ms) {
  std::string range = "(a number of ms, or with a unit: 30s, 15m, 2h, 7d; at most " + std::to_string(max_ms) + " ms)";
  return CLI::Validator(
      [max_ms, range](std::string& value) -> std::string {
        struct Unit {
          std::string_view suffix;
          std::uint64_t ms;
        };
        // "ms" before "m" and "s", so the longest suffix wins.
        static constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
        std::string_view text = value;
        std::uint64_t scale = 1;
        for (const Unit& unit : kUnits) {
          if (text.size() > unit.suffix.size() && text.substr(text.size() - unit.suffix.size()) == unit.suffix) {
            text.remove_suffix(unit.suffix.size());
            scale = unit.ms;
            break;
          }
        }
        bool negative = false;
        std::uint64_t n = 0;
        Decimal read = readDecimal(text, negative, n);
        if (read == Decimal::kNotDecimal || negative) return "'" + value + "' is not a duration " + range;
        if (read == Decimal::kTooBig || n > max_ms / scale) return value + " is too long " + range;
        value = std::to_string(n * scale);
        return {};
      },
      "DURATION");
}

CLI::Validator wallTime() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        absl::Time time;
        std::string why;
        if (!absl::ParseTime(absl::RFC3339_full, value, &time, &why)) {
          return "'" + value + "' is not an RFC 3339 time such as 2026-12-01T09:00:00Z (" + why + ")";
        }
        std::int64_t ms = absl::ToUnixMillis(time);
        if (ms <= 0) return "'" + value + "' is before 1970";
        value = std::to_string(ms);
        return {};
      },
      "TIME");
}

CLI::Validator jobId() {
  CLI::Validator number = unsignedIn(1, std::numeric_limits<std::uint64_t>::max());
  return CLI::Validator(
      [number](std::string& value) -> std::string {
        std::string original = value;
        if (number(value).empty()) return {};
        return "'" + original + "' is not a job id (ids are positive decimal integers, as submit prints them)";
      },
      "a positive integer");
}

CLI::Validator endpoint(const std::string& source) {
  return CLI::Validator(
      [source](std::string& value) -> std::string {
        auto parsed = protocol::parseEndpoint(value);
        if (parsed) return {};
        return source.empty() ? parsed.status().message() : parsed.status().message() + " " + source;
      },
      "");
}

CLI::Validator wireName(const std::string& what) {
  return CLI::Validator(
      [what](std::string& value) -> std::string {
        Status ok = protocol::checkName(what, value);
        return ok ? std::string() : ok.message();
      },
      "");
}

CLI::Validator nonEmpty() {
  return CLI::Validator([](std::string& value) { return value.empty() ? std::string("it is empty") : std::string(); },
                        "");
}

CLI::Validator rateLimit() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto spec = broker::TaskRateSpec::parse(value);
        return spec ? std::string() : spec.status().message();
      },
      "TASK=RATE");
}

CLI::Validator rateOrOff() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value == "off") return {};
        auto spec = broker::RateSpec::parse(value);
        return spec ? std::string() : spec.status().message() + " (or off, for no limit)";
      },
      "RATE");
}

CLI::Validator fairWeight() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto spec = broker::FairWeightSpec::parse(value);
        return spec ? std::string() : spec.status().message();
      },
      "TASK:KEY=W");
}

CLI::Validator keyConcurrency() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto spec = broker::KeyConcurrencySpec::parse(value);
        return spec ? std::string() : spec.status().message();
      },
      "TASK=N");
}

CLI::Validator execSpec() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto spec = parseExecSpec(value);
        if (!spec) return spec.status().message();
        Status ok = protocol::checkTaskName(spec->task);
        return ok ? std::string() : ok.message();
      },
      "");
}

}  // namespace corvee::cli
