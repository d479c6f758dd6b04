// JobHistory: what happened to a job, event by event, in the compact form every store keeps with
// the job's record (docs/store-schema.md, "History").
//
// A history is a byte string: one count byte (the events held), then each event as
//   u8 kind, varint time_ms, varint attempt, varint length + worker bytes, varint length + detail
// (varints are LEB128, 7 bits a byte, low first). A store keeps only the events the job's columns
// cannot tell (see complete() below), appended in the same write as the change, and capped: past kHead + 1 + kTail events, the first kHead stay, one
// `omitted` event stands for those dropped (its detail counts them), and the last kTail follow. A job
// retried 10,000 times so keeps 59 events, not 40,000.
//
// Pure functions on values; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "corvee/job.h"
#include "corvee/status.h"
#include "store/job_record.h"

namespace corvee {

// What an event records. Stored as a byte: numbers are fixed (docs/store-schema.md); the wire
// protocol carries the names toString() gives.
enum class EventKind : std::uint8_t {
  kOmitted = 0,     // stands for events the cap dropped; detail: how many
  kSubmitted = 1,   // accepted by the broker
  kScheduled = 2,   // waits for its time; detail: that time (Unix ms)
  kQueued = 3,      // joined its queue: its time came (detail "due") or its retry did ("retry")
  kRequeued = 4,    // back in its queue; detail: "worker_lost" or "broker_restart"
  kRunning = 5,     // dealt to `worker` as attempt `attempt`
  kFailed = 6,      // attempt `attempt` failed; detail: the error code
  kRetry = 7,       // its next attempt waits until a time; detail: that time (Unix ms)
  kExpired = 8,     // a time limit ran out; detail: timeout, run_timeout or assign_timeout
  kSucceeded = 9,   // finished with a result
  kDead = 10,       // failed for good; detail: the error code
  kCancelled = 11,  // cancelled or purged; detail: the error code
  kRevived = 12,    // brought back from dead by `dead retry`
};

// "submitted", "running", ...; "unknown" for a number this build does not know.
std::string_view toString(EventKind kind);

// One event of a job's history.
struct HistoryEvent {
  std::uint64_t time_ms = 0;  // wall clock, Unix milliseconds
  EventKind kind = EventKind::kSubmitted;
  std::uint32_t attempt = 0;  // the job's attempt number when it happened (0: none started yet)
  std::string worker;         // the worker concerned; empty when none
  std::string detail;         // an error code, a time in Unix ms, or a reason word
};

namespace history {

// The cap: the first kHead events, an `omitted` marker, the last kTail.
inline constexpr std::size_t kHead = 8;
inline constexpr std::size_t kTail = 50;
inline constexpr std::size_t kMaxEvents = kHead + 1 + kTail;

// One event, encoded alone (without the count byte): what appendEncoded() takes.
std::string encodeEvent(const HistoryEvent& event);
// Appends one encoded event to `blob` (a history, or empty), applying the cap. An `event` that does
// not decode, or a damaged `blob`, leaves `blob` as it was.
void appendEncoded(std::string& blob, std::string_view event);
inline void append(std::string& blob, const HistoryEvent& event) { appendEncoded(blob, encodeEvent(event)); }
// The events of `blob`, oldest first; empty for an empty blob. Fails with `internal` for bytes
// that are not a history.
Result<std::vector<HistoryEvent>> decode(std::string_view blob);

// What a store keeps. The ordinary events are not stored but derived from the record's own
// columns when the history is read: `submitted` from submitted_ms, the running event of the last
// attempt from attempt/worker/started_ms, and the final event from state/finished_ms/error_code. So
// an ordinary job (submitted, ran once, succeeded) writes no history at all; only the unusual
// events are stored (failed, retry, queued, requeued, scheduled, expired, revived, omitted), and
// the running event of an attempt is stored too once an event of that attempt follows it (the
// columns then move on). docs/store-schema.md, "History".

// The stored part of `history` given with a record to insert(): without its `submitted` event.
std::string storedPart(std::string_view history);
// Appends one encoded event to `stored`, the stored history of the job whose columns `row` holds
// before the change: first the running event of the row's attempt, when the event belongs to that
// attempt (or a later one) and it is not stored yet.
void addEvent(std::string& stored, const JobRecord& row, std::string_view event);
// For a finished job about to be brought back (markRevived(), with `row` its columns before): its
// last running event and its final event join the stored history, as its columns are cleared.
void settleFinished(std::string& stored, const JobRecord& row);
// The whole history of `row`, encoded: its stored events (`row.history`) with the derived ones, in
// time order, capped as appendEncoded() caps. `row.history` itself when it does not decode (the
// reader then reports the damage).
std::string complete(const JobRecord& row);

// The derived events, from a record's columns.
HistoryEvent runningEvent(std::uint32_t attempt, std::string_view worker, std::uint64_t started_ms);
HistoryEvent finishedEvent(const JobRecord& job);

}  // namespace history
}  // namespace corvee
