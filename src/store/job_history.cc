#include "store/job_history.h"

#include <array>
#include <charconv>

namespace corvee {

std::string_view toString(EventKind kind) {
  static constexpr std::array<std::string_view, 13> kNames = {
      "omitted", "submitted", "scheduled", "queued", "requeued", "running", "failed",
      "retry",   "expired",   "succeeded", "dead",   "cancelled", "revived"};
  auto index = static_cast<std::size_t>(kind);
  return index < kNames.size() ? kNames[index] : std::string_view("unknown");
}

namespace history {

namespace {

void putVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Reads from `in` at `pos`; false when the bytes end or run past 10.
bool getVarint(std::string_view in, std::size_t& pos, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 70 && pos < in.size(); shift += 7) {
    auto byte = static_cast<unsigned char>(in[pos++]);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool getBytes(std::string_view in, std::size_t& pos, std::string& out) {
  std::uint64_t size = 0;
  if (!getVarint(in, pos, size) || size > in.size() - pos) return false;
  out.assign(in.substr(pos, size));
  pos += size;
  return true;
}

// Reads one event at `pos`, advancing it; false for damaged bytes.
bool getEvent(std::string_view in, std::size_t& pos, HistoryEvent& event) {
  if (pos >= in.size()) return false;
  event.kind = static_cast<EventKind>(static_cast<unsigned char>(in[pos++]));
  std::uint64_t attempt = 0;
  if (!getVarint(in, pos, event.time_ms) || !getVarint(in, pos, attempt) || attempt > UINT32_MAX) return false;
  event.attempt = static_cast<std::uint32_t>(attempt);
  return getBytes(in, pos, event.worker) && getBytes(in, pos, event.detail);
}

std::string encodeAll(const std::vector<HistoryEvent>& events) {
  std::string out(1, static_cast<char>(events.size()));
  for (const HistoryEvent& event : events) out += encodeEvent(event);
  return out;
}

}  // namespace

std::string encodeEvent(const HistoryEvent& event) {
  std::string out;
  out.reserve(4 + 6 + event.worker.size() + event.detail.size());
  out.push_back(static_cast<char>(event.kind));
  putVarint(out, event.time_ms);
  putVarint(out, event.attempt);
  putVarint(out, event.worker.size());
  out += event.worker;
  putVarint(out, event.detail.size());
  out += event.detail;
  return out;
}

void appendEncoded(std::string& blob, std::string_view event) {
  HistoryEvent added;
  std::size_t pos = 0;
  if (!getEvent(event, pos, added) || pos != event.size()) return;
  if (blob.empty()) {
    blob.reserve(1 + event.size());
    blob.push_back(1);
    blob += event;
    return;
  }
  auto count = static_cast<unsigned char>(blob[0]);
  if (count < kMaxEvents) {
    // The common case: no decoding, the count byte and the bytes of one more event.
    blob[0] = static_cast<char>(count + 1);
    blob += event;
    return;
  }
  // At the cap: the first event after the head goes, into the `omitted` marker that stands there.
  Result<std::vector<HistoryEvent>> events = decode(blob);
  if (!events || events->size() != kMaxEvents) return;
  HistoryEvent& marker = (*events)[kHead];
  std::uint64_t omitted = 1;
  if (marker.kind == EventKind::kOmitted) {
    std::uint64_t before = 0;
    std::from_chars(marker.detail.data(), marker.detail.data() + marker.detail.size(), before);
    omitted = before + 1;
  } else {
    // The marker takes the place of the first event it stands for: two events become one.
    marker.kind = EventKind::kOmitted;
    marker.attempt = 0;
    marker.worker.clear();
    omitted = 2;
  }
  marker.detail = std::to_string(omitted);
  events->erase(events->begin() + static_cast<std::ptrdiff_t>(kHead) + 1);
  events->push_back(std::move(added));
  blob = encodeAll(*events);
}

Result<std::vector<HistoryEvent>> decode(std::string_view blob) {
  std::vector<HistoryEvent> events;
  if (blob.empty()) return events;
  auto count = static_cast<unsigned char>(blob[0]);
  events.reserve(count);
  std::size_t pos = 1;
  for (unsigned i = 0; i < count; ++i) {
    if (!getEvent(blob, pos, events.emplace_back())) {
      return Status::error("internal", "a job history is damaged at byte " + std::to_string(pos));
    }
  }
  if (pos != blob.size()) return Status::error("internal", "a job history has bytes past its last event");
  return events;
}

HistoryEvent runningEvent(std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms) {
  return {started_ms, EventKind::kRunning, attempt, std::string(worker), {}};
}

HistoryEvent finishedEvent(const JobRecord& job) {
  EventKind kind = job.state == JobState::kSucceeded   ? EventKind::kSucceeded
                   : job.state == JobState::kCancelled ? EventKind::kCancelled
                                                       : EventKind::kDead;
  return {job.finished_ms, kind, job.attempt, {}, job.error_code};
}

}  // namespace history
}  // namespace corvee
