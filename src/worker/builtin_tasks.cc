#include "worker/builtin_tasks.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <thread>

#include "corvee/errors.h"
#include "protocol/utf8.h"

namespace corvee {

namespace {

// The characters of `text` in reverse order. REQUIRES: protocol::isValidUtf8(text).
std::string reverseCharacters(std::string_view text) {
  std::string reversed(text.size(), '\0');
  std::size_t out = text.size();
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t length = std::max<std::size_t>(1, protocol::utf8CharLength(text.substr(pos)));
    out -= length;
    reversed.replace(out, length, text.substr(pos, length));
    pos += length;
  }
  return reversed;
}

}  // namespace

Result<std::string> builtinEcho(JobContext& job) { return job.payload(); }

Result<std::string> builtinReverse(JobContext& job) {
  // Text reverses by characters (reversing its bytes would scramble every multi-byte character);
  // anything else is opaque bytes and reverses byte by byte.
  const std::string& payload = job.payload();
  if (protocol::isValidUtf8(payload)) return reverseCharacters(payload);
  return std::string(payload.rbegin(), payload.rend());
}

Result<std::string> builtinAdd(JobContext& job) {
  auto doc = nlohmann::json::parse(job.payload(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_array()) {
    return Status::error(errc::kHandlerError, "add expects a JSON array of numbers, like [5,6]");
  }
  // Integers add exactly as integers; any fraction makes the sum a floating-point number.
  bool all_integers = true;
  std::int64_t int_sum = 0;
  double sum = 0;
  for (const auto& item : doc) {
    if (!item.is_number()) return Status::error(errc::kHandlerError, "add expects only numbers, got " + item.dump());
    // A number above INT64_MAX is held unsigned; read as int64 it would wrap (2^64-1 as -1).
    bool fits = item.is_number_integer() &&
                (!item.is_number_unsigned() ||
                 item.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    if (fits && all_integers) {
      std::int64_t v = item.get<std::int64_t>();
      if (__builtin_add_overflow(int_sum, v, &int_sum)) all_integers = false;
    } else {
      all_integers = false;
    }
    sum += item.get<double>();
  }
  if (all_integers) return std::to_string(int_sum);
  return nlohmann::json(sum).dump();
}

Result<std::string> builtinSleep(JobContext& job) {
  long long ms = 0;
  const std::string& text = job.payload();
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || end != text.data() + text.size() || ms < 0) {
    return Status::error(errc::kHandlerError, "sleep expects a number of milliseconds, got '" + text + "'");
  }
  // Sleep in short steps so a cancelled job gives its thread back promptly.
  constexpr long long kStep = 10;
  for (long long slept = 0; slept < ms; slept += kStep) {
    if (job.cancelled()) return Status::error(errc::kHandlerError, "cancelled");
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(kStep, ms - slept)));
  }
  return "slept " + std::to_string(ms) + " ms";
}

Result<std::string> builtinFail(JobContext& job) {
  return Status::error(errc::kHandlerError, "the fail task always fails" +
                                                (job.payload().empty() ? std::string() : ": " + job.payload()));
}

void registerBuiltinTasks(Worker& worker) {
  worker.handle("echo", builtinEcho);
  worker.handle("reverse", builtinReverse);
  worker.handle("add", builtinAdd);
  worker.handle("sleep", builtinSleep);
  worker.handle("fail", builtinFail);
}

}  // namespace corvee
