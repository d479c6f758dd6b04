#include "broker/cron_spec.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <vector>

namespace corvee::broker {

namespace {

// Longer specs are refused outright: a real one is a few dozen characters, and the bound keeps a
// hostile one from costing more than a glance.
constexpr std::size_t kMaxSpecLength = 1024;
// Longer tokens are cut in error messages, so an error never echoes a huge input back.
constexpr std::size_t kMaxShownToken = 24;
// Longer zone names are refused; the longest IANA name is about 30 characters.
constexpr std::size_t kMaxZoneNameLength = 64;
// 9999-12-31T23:59:59.999Z: the last instant nextAfter() answers for.
constexpr std::uint64_t kMaxMs = 253402300799999;

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                           "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct Field {
  const char* name;  // as it appears in error messages
  int min;
  int max;
  // Names standing for min, min + 1, ... (months from 1, days of week from 0); empty if none.
  const std::string_view* names = nullptr;
  std::size_t name_count = 0;
};

constexpr Field kSecond{"second", 0, 59};
constexpr Field kMinute{"minute", 0, 59};
constexpr Field kHour{"hour", 0, 23};
constexpr Field kDom{"day-of-month", 1, 31};
constexpr Field kMonth{"month", 1, 12, kMonthNames.data(), kMonthNames.size()};
constexpr Field kDow{"day-of-week", 0, 7, kDayNames.data(), kDayNames.size()};

std::string shown(std::string_view token) {
  if (token.size() <= kMaxShownToken) return std::string(token);
  return std::string(token.substr(0, kMaxShownToken)) + "...";
}

Status fieldError(const Field& field, const std::string& detail) {
  return Status::error("bad_request", std::string(field.name) + " field: " + detail);
}

bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

// Digits saturate here, so "99999999999999999999" is just out of range rather than an overflow.
constexpr int kSaturated = 1000000;

int digitsValue(std::string_view digits) {
  int value = 0;
  for (char c : digits) {
    value = std::min(kSaturated, value * 10 + (c - '0'));
  }
  return value;
}

// One value of `field`: a number in range, or one of its names.
Result<int> parseValue(const Field& field, std::string_view token) {
  if (token.empty()) return fieldError(field, "a value is missing");
  if (isDigits(token)) {
    int value = digitsValue(token);
    if (value < field.min || value > field.max) {
      return fieldError(field, shown(token) + " is out of range " + std::to_string(field.min) + "-" +
                                   std::to_string(field.max));
    }
    return value;
  }
  for (std::size_t i = 0; i < field.name_count; ++i) {
    if (equalsIgnoreCase(token, field.names[i])) return field.min + static_cast<int>(i);
  }
  if (field.name_count > 0) {
    return fieldError(field, "\"" + shown(token) + "\" is not a number or a " + field.name + " name");
  }
  return fieldError(field, "\"" + shown(token) + "\" is not a number");
}

// One comma-separated item: `*`, `v`, `a-b`, each optionally with `/step`. Sets its bits in `bits`.
Status parseItem(const Field& field, std::string_view item, std::uint64_t& bits) {
  if (item.empty()) return fieldError(field, "empty list item");
  std::string_view base = item;
  int step = 1;
  bool has_step = false;
  if (std::size_t slash = item.find('/'); slash != std::string_view::npos) {
    base = item.substr(0, slash);
    std::string_view step_text = item.substr(slash + 1);
    if (!isDigits(step_text)) return fieldError(field, "step \"" + shown(step_text) + "\" is not a number");
    step = digitsValue(step_text);
    if (step < 1 || step > field.max) {
      return fieldError(field, "step " + shown(step_text) + " is out of range 1-" + std::to_string(field.max));
    }
    has_step = true;
  }
  int lo = field.min;
  int hi = field.max;
  if (base != "*") {
    std::size_t dash = base.find('-');
    // A leading '-' is a negative number, not a range: let parseValue reject the whole token.
    if (dash == std::string_view::npos || dash == 0) {
      Result<int> value = parseValue(field, base);
      if (!value) return value.status();
      lo = *value;
      // "a/step" runs from a to the field's maximum (croniter and cronie agree); a bare "a" is a.
      hi = has_step ? field.max : lo;
    } else {
      Result<int> first = parseValue(field, base.substr(0, dash));
      if (!first) return first.status();
      Result<int> last = parseValue(field, base.substr(dash + 1));
      if (!last) return last.status();
      if (*first > *last) {
        return fieldError(field, "range " + shown(base) + " runs backwards (ranges do not wrap around)");
      }
      lo = *first;
      hi = *last;
    }
  }
  for (int v = lo; v <= hi; v += step) bits |= std::uint64_t{1} << v;
  return Status::ok();
}

Result<std::uint64_t> parseField(const Field& field, std::string_view text) {
  std::uint64_t bits = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (Status status = parseItem(field, item, bits); !status) return status;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return bits;
}

// The @names, as the five fields they stand for (cronie's and croniter's expansions).
struct Alias {
  std::string_view name;
  std::string_view fields;
};
constexpr std::array<Alias, 7> kAliases = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

std::vector<std::string_view> splitWhitespace(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

// An IANA name: letters, digits and "/_-+", no empty, "." or ".." component. Abseil would also
// take an absolute path or "localtime"; neither is a zone a schedule should name.
bool plausibleZoneName(std::string_view name) {
  if (name.empty() || name.size() > kMaxZoneNameLength || name == "localtime") return false;
  std::size_t component = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      std::string_view part = name.substr(component, i - component);
      if (part.empty() || part == "." || part == "..") return false;
      component = i + 1;
      continue;
    }
    char c = name[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '+' && c != '.') return false;
  }
  return true;
}

int lowestBit(std::uint64_t bits) { return std::countr_zero(bits); }

// The smallest set bit >= from, or -1.
int nextBit(std::uint64_t bits, int from) {
  if (from >= 64) return -1;
  std::uint64_t rest = bits & (~std::uint64_t{0} << from);
  return rest == 0 ? -1 : std::countr_zero(rest);
}

bool hasBit(std::uint64_t bits, int value) { return (bits >> value) & 1; }

}  // namespace

Result<CronSpec> CronSpec::parse(std::string_view spec, std::string_view tz) {
  if (spec.size() > kMaxSpecLength) {
    return Status::error("bad_request", "cron expression is longer than " + std::to_string(kMaxSpecLength) +
                                            " characters");
  }
  std::vector<std::string_view> words = splitWhitespace(spec);
  if (words.size() == 1 && words[0].front() == '@') {
    for (const Alias& alias : kAliases) {
      if (equalsIgnoreCase(words[0], alias.name)) words = splitWhitespace(alias.fields);
    }
    if (words.size() == 1) {
      return Status::error("bad_request", "unknown schedule name \"" + shown(words[0]) +
                                              "\" (known: @yearly @annually @monthly @weekly @daily "
                                              "@midnight @hourly)");
    }
  }
  if (words.size() != 5 && words.size() != 6) {
    return Status::error("bad_request", "cron expression has " + std::to_string(words.size()) +
                                            " fields; expected 5 (minute hour day-of-month month "
                                            "day-of-week), 6 with seconds first, or an @name");
  }
  CronSpec cron;
  std::size_t first = 0;
  if (words.size() == 6) {
    Result<std::uint64_t> seconds = parseField(kSecond, words[0]);
    if (!seconds) return seconds.status();
    cron.seconds_ = *seconds;
    first = 1;
  } else {
    cron.seconds_ = 1;  // second 0
  }
  const std::array<const Field*, 5> fields = {&kMinute, &kHour, &kDom, &kMonth, &kDow};
  std::array<std::uint64_t, 5> bits{};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    Result<std::uint64_t> field = parseField(*fields[i], words[first + i]);
    if (!field) return field.status();
    bits[i] = *field;
  }
  cron.minutes_ = bits[0];
  cron.hours_ = static_cast<std::uint32_t>(bits[1]);
  cron.doms_ = static_cast<std::uint32_t>(bits[2]);
  cron.months_ = static_cast<std::uint32_t>(bits[3]);
  // Sunday is both 0 and 7; keep it as 0 only.
  cron.dows_ = static_cast<std::uint32_t>((bits[4] | (bits[4] >> 7)) & 0x7f);
  cron.wildcard_ = words[first][0] == '*' || words[first + 1][0] == '*';
  cron.dom_star_ = words[first + 2][0] == '*';
  cron.dow_star_ = words[first + 4][0] == '*';

  if (!plausibleZoneName(tz) || !absl::LoadTimeZone(std::string(tz), &cron.tz_)) {
    return Status::error("bad_request", "unknown time zone \"" + shown(tz) + "\"");
  }
  cron.text_ = std::string(spec);
  cron.tz_name_ = std::string(tz);
  return cron;
}

bool CronSpec::dayMatches(absl::CivilDay day) const {
  bool dom = hasBit(doms_, day.day());
  // absl numbers weekdays from Monday = 0; cron from Sunday = 0.
  bool dow = hasBit(dows_, (static_cast<int>(absl::GetWeekday(day)) + 1) % 7);
  if (dom_star_ || dow_star_) return dom && dow;
  return dom || dow;
}

std::optional<absl::CivilSecond> CronSpec::firstMatch(absl::CivilSecond from, absl::CivilSecond end) const {
  // Each step moves `c` to the start of the next unit that could match, so the loop runs at most a
  // few times per year, per matching day, per matching hour and per matching minute.
  absl::CivilSecond c = from;
  while (c < end) {
    if (!hasBit(months_, c.month())) {
      int month = nextBit(months_, c.month() + 1);
      c = month > 0 ? absl::CivilSecond(c.year(), month, 1)
                    : absl::CivilSecond(c.year() + 1, lowestBit(months_), 1);
      continue;
    }
    absl::CivilDay day(c);
    if (!dayMatches(day)) {
      c = absl::CivilSecond(day + 1);
      continue;
    }
    if (!hasBit(hours_, c.hour())) {
      int hour = nextBit(hours_, c.hour() + 1);
      c = hour >= 0 ? absl::CivilSecond(c.year(), c.month(), c.day(), hour) : absl::CivilSecond(day + 1);
      continue;
    }
    if (!hasBit(minutes_, c.minute())) {
      int minute = nextBit(minutes_, c.minute() + 1);
      c = minute >= 0 ? absl::CivilSecond(c.year(), c.month(), c.day(), c.hour(), minute)
                      : absl::CivilSecond(absl::CivilHour(c) + 1);
      continue;
    }
    if (!hasBit(seconds_, c.second())) {
      int second = nextBit(seconds_, c.second() + 1);
      c = second >= 0 ? absl::CivilSecond(c.year(), c.month(), c.day(), c.hour(), c.minute(), second)
                      : absl::CivilSecond(absl::CivilMinute(c) + 1);
      continue;
    }
    return c;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> CronSpec::nextAfter(std::uint64_t after_ms) const {
  if (after_ms >= kMaxMs) return std::nullopt;
  auto toMs = [](absl::Time t) -> std::optional<std::uint64_t> {
    std::int64_t ms = absl::ToUnixMillis(t);
    if (ms < 0 || static_cast<std::uint64_t>(ms) > kMaxMs) return std::nullopt;
    return static_cast<std::uint64_t>(ms);
  };
  // Firings are on whole seconds; the first candidate is the first whole second after after_ms.
  absl::Time seg = absl::FromUnixSeconds(static_cast<std::int64_t>(after_ms / 1000) + 1);
  absl::CivilSecond seg_civil = tz_.At(seg).cs;
  absl::CivilSecond horizon(seg_civil.year() + kHorizonYears, seg_civil.month(), seg_civil.day(),
                            seg_civil.hour(), seg_civil.minute(), seg_civil.second());

  // The search walks segments of constant UTC offset; within one, wall clock and instants move
  // together. `from` is where matching starts in the current segment.
  absl::CivilSecond from = seg_civil;
  absl::TimeZone::CivilTransition prev;
  if (!wildcard_ && tz_.PrevTransition(seg + absl::Seconds(1), &prev)) {
    if (prev.to > prev.from && seg_civil == prev.to && firstMatch(prev.from, prev.to)) {
      // `seg` is the very end of a gap that held a fixed-time firing: that firing is due now.
      return toMs(seg);
    }
    // In the second pass of a repeated hour: a fixed-time spec already fired in the first pass.
    if (prev.to < prev.from && from < prev.from) from = prev.from;
  }
  while (true) {
    absl::TimeZone::CivilTransition next;
    bool has_next = tz_.NextTransition(seg, &next) && next.from < horizon;
    absl::CivilSecond end = has_next ? next.from : horizon;
    if (std::optional<absl::CivilSecond> match = firstMatch(from, end)) {
      return toMs(seg + absl::Seconds(*match - seg_civil));
    }
    if (!has_next) return std::nullopt;
    // The old offset holds until the transition, where the wall clock reads next.from.
    absl::Time transition = seg + absl::Seconds(next.from - seg_civil);
    // NextTransition() reports changes after `seg`, so this never fires; it guards the loop's
    // progress against a corrupt zone file all the same.
    if (transition <= seg) return std::nullopt;
    if (next.to > next.from) {
      // A gap: its wall-clock times never happen. A fixed-time spec fires once as it closes.
      if (!wildcard_ && firstMatch(next.from, next.to)) return toMs(transition);
      from = next.to;
    } else {
      // A repeat (or an offset-neutral change): the wall clock runs [next.to, next.from) again,
      // which a wildcard spec matches again and a fixed-time spec does not.
      from = wildcard_ ? next.to : next.from;
    }
    seg = transition;
    seg_civil = next.to;
  }
}

}  // namespace corvee::broker
