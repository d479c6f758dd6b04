// CronSpec: a parsed cron schedule and when it next fires.
//
// Syntax (Vixie cron / cronie, plus an optional leading seconds field):
//   MIN HOUR DOM MON DOW          five fields; fires at second 0
//   SEC MIN HOUR DOM MON DOW      six fields; "* * * * * *" fires every second
//   @yearly @annually @monthly @weekly @daily @midnight @hourly   (case-insensitive)
// Each field is a comma list of items; an item is `*`, a value, or a range `a-b`, optionally
// followed by `/step`. `a/step` means `a-max/step`. Values are numbers, or three-letter names in the
// month (JAN-DEC) and day-of-week (SUN-SAT) fields, case-insensitive. Day of week is 0-7, both 0
// and 7 meaning Sunday. Ranges do not wrap ("5-1" is an error) and a step must be 1 to the field's
// maximum. Ranges: SEC 0-59, MIN 0-59, HOUR 0-23, DOM 1-31, MON 1-12.
//
// Days (the Vixie rule): when both DOM and DOW are restricted, a day matches if EITHER matches
// ("0 0 13 * 5" is the 13th and every Friday). A field counts as unrestricted when it starts with
// `*`, so "*/2" DOM with a DOW of 1 means odd days that are also Mondays, as in cronie. (croniter
// counts only a field covering every value as unrestricted there, and ORs.)
//
// Time zone and daylight saving, as cronie does it. Fields are matched against wall-clock time in
// the spec's zone. A spec is "fixed-time" unless its minute or hour field starts with `*` (cronie's
// MIN_STAR/HR_STAR; the seconds field plays no part), and a fixed-time spec is not "wildcard".
//   - Spring forward (a gap, e.g. Europe/Berlin 02:00-03:00 on the last Sunday of March): a
//     fixed-time spec that matches any wall-clock time in the gap fires once, at the instant of the
//     transition (the first valid time after the gap: 03:00 local in Berlin), so "30 2 * * *" runs
//     at 03:00 that day. Several matches in the gap, and a match at the transition itself, are that
//     one firing. A wildcard spec skips the gap ("*/15 * * * *" goes 01:45, 03:00).
//   - Fall back (a repeat, e.g. Berlin 02:00-03:00 on the last Sunday of October happens twice): a
//     fixed-time spec fires only at the first occurrence ("30 2 * * *" once, at 02:30 CEST); a
//     wildcard spec fires in both ("30 * * * *" at 02:30 CEST and 02:30 CET).
// cronie applies these only to jumps under 3 hours; here they apply to every transition.
//
// Immutable once built: safe to share between threads. Copyable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include "corvee/status.h"

namespace corvee::broker {

class CronSpec {
 public:
  // Parses `spec` in the IANA zone `tz` ("UTC", "Europe/Berlin"). On success returns the schedule;
  // on failure `bad_request` with a message naming the field and the bad value ("minute field: 61
  // is out of range 0-59"), or the unknown zone. Never crashes, whatever the input.
  // The zone is loaded from the system's tzdata (through Abseil, which caches every name it is
  // asked for, unknown ones too): call this when a schedule is configured, not per request.
  static Result<CronSpec> parse(std::string_view spec, std::string_view tz = "UTC");

  // The first firing strictly after `after_ms` (Unix epoch milliseconds), in epoch milliseconds
  // (always a whole second). nullopt when there is none within kHorizonYears (e.g. "0 0 30 2 *"),
  // or none before the year 10000. Skips by month, day, hour, minute and second, so the cost does
  // not grow with the gap between firings.
  std::optional<std::uint64_t> nextAfter(std::uint64_t after_ms) const;

  // The spec and zone name as given to parse().
  const std::string& text() const { return text_; }
  const std::string& timeZone() const { return tz_name_; }

  // How far ahead nextAfter() looks. 8 years, so a Feb 29 schedule is found even across 2100,
  // which is not a leap year; rarer schedules (Feb 29 on a Monday with a `*`-led DOW) count as none.
  static constexpr int kHorizonYears = 8;

 private:
  CronSpec() = default;

  // The first civil second in [from, end) that matches every field, ignoring daylight saving.
  std::optional<absl::CivilSecond> firstMatch(absl::CivilSecond from, absl::CivilSecond end) const;
  bool dayMatches(absl::CivilDay day) const;

  std::string text_;
  std::string tz_name_;
  absl::TimeZone tz_;
  // One bit per allowed value.
  std::uint64_t seconds_ = 0;  // bits 0-59
  std::uint64_t minutes_ = 0;  // bits 0-59
  std::uint32_t hours_ = 0;    // bits 0-23
  std::uint32_t doms_ = 0;     // bits 1-31
  std::uint32_t months_ = 0;   // bits 1-12
  std::uint32_t dows_ = 0;     // bits 0-6, Sunday = 0 (a 7 in the spec is folded into 0)
  bool dom_star_ = false;      // the DOM field starts with `*` (the Vixie OR rule is off)
  bool dow_star_ = false;      // the DOW field starts with `*`
  bool wildcard_ = false;      // the minute or hour field starts with `*` (daylight-saving rules)
};

}  // namespace corvee::broker
