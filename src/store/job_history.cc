#include "store/job_history.h"

#include <algorithm>
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

namespace {

// Whether the row's columns name a running attempt (started_ms is 0 until the first one).
bool ranAnAttempt(const JobRecord& row) { return row.started_ms != 0 && row.attempt > 0; }

// Whether `stored` holds the running event of `attempt`; true for damaged bytes, so that nothing
// is added to them.
bool holdsRunning(std::string_view stored, std::uint32_t attempt) {
  Result<std::vector<HistoryEvent>> events = decode(stored);
  if (!events) return true;
  return std::any_of(events->begin(), events->end(), [attempt](const HistoryEvent& event) {
    return event.kind == EventKind::kRunning && event.attempt == attempt;
  });
}

// Puts a derived event in time order: after every event of its time or earlier (the stored events
// of one moment were recorded before it was read), never before the first (`submitted`).
void placeByTime(std::vector<HistoryEvent>& events, HistoryEvent&& event) {
  std::size_t at = events.size();
  while (at > 1 && events[at - 1].time_ms > event.time_ms) --at;
  events.insert(events.begin() + static_cast<std::ptrdiff_t>(at), std::move(event));
}

// The cap at reading: the derived events may take a history past kMaxEvents; those between the
// head and the tail become one `omitted` event, counting what each stood for.
void capRead(std::vector<HistoryEvent>& events) {
  if (events.size() <= kMaxEvents) return;
  auto first = static_cast<std::ptrdiff_t>(kHead);
  auto last = static_cast<std::ptrdiff_t>(events.size() - kTail);
  std::uint64_t omitted = 0;
  for (auto it = events.begin() + first; it != events.begin() + last; ++it) {
    std::uint64_t stood_for = 1;
    if (it->kind == EventKind::kOmitted) {
      std::from_chars(it->detail.data(), it->detail.data() + it->detail.size(), stood_for);
    }
    omitted += stood_for;
  }
  HistoryEvent& marker = events[kHead];
  marker.kind = EventKind::kOmitted;
  marker.attempt = 0;
  marker.worker.clear();
  marker.detail = std::to_string(omitted);
  events.erase(events.begin() + first + 1, events.begin() + last);
}

}  // namespace

std::string storedPart(std::string_view history) {
  if (history.empty()) return {};
  Result<std::vector<HistoryEvent>> events = decode(history);
  if (!events) return std::string(history);
  std::string stored;
  for (const HistoryEvent& event : *events) {
    if (event.kind != EventKind::kSubmitted) append(stored, event);
  }
  return stored;
}

void addEvent(std::string& stored, const JobRecord& row, std::string_view event) {
  HistoryEvent added;
  std::size_t pos = 0;
  if (!getEvent(event, pos, added) || pos != event.size()) return;
  // An event of the running attempt: the columns will not tell that attempt's start for long.
  if (ranAnAttempt(row) && added.attempt >= row.attempt && !holdsRunning(stored, row.attempt)) {
    append(stored, runningEvent(row.attempt, row.worker, row.started_ms));
  }
  appendEncoded(stored, event);
}

void settleFinished(std::string& stored, const JobRecord& row) {
  if (!isFinished(row.state)) return;
  if (ranAnAttempt(row) && !holdsRunning(stored, row.attempt)) {
    append(stored, runningEvent(row.attempt, row.worker, row.started_ms));
  }
  append(stored, finishedEvent(row));
}

std::string complete(const JobRecord& row) {
  Result<std::vector<HistoryEvent>> stored = decode(row.history);
  if (!stored) return row.history;
  std::vector<HistoryEvent> events;
  events.reserve(stored->size() + 3);
  events.push_back({row.submitted_ms, EventKind::kSubmitted, 0, {}, {}});
  bool running_stored = false;
  for (HistoryEvent& event : *stored) {
    if (event.kind == EventKind::kSubmitted) continue;  // always derived
    if (event.kind == EventKind::kRunning && event.attempt == row.attempt) running_stored = true;
    events.push_back(std::move(event));
  }
  if (ranAnAttempt(row) && !running_stored) {
    placeByTime(events, runningEvent(row.attempt, row.worker, row.started_ms));
  }
  if (isFinished(row.state)) placeByTime(events, finishedEvent(row));
  capRead(events);
  return encodeAll(events);
}

}  // namespace history
}  // namespace corvee
