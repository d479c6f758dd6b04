// The protocol's messages as structs, with one encoder and one decoder for all of them.
//
// Each struct names its wire type and lists its fields in wire order in `fields()`, which both
// directions share, so the encoder and decoder cannot drift apart. String fields are views: when
// decoding they point into the frame (copy what you keep); when encoding they point at the
// caller's data. docs/protocol.md, section 4, is the reference for every layout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "corvee/status.h"
#include "protocol/constants.h"
#include "protocol/frame_decoder.h"
#include "protocol/wire.h"

namespace corvee::protocol {

// A field added in protocol version `version`: written and read only when the session speaks that
// version or a later one, so a broker goes on speaking older versions to peers that ask for them.
template <typename T>
struct Since {
  std::uint16_t version;
  T& field;
};
template <typename T>
Since<T> since(std::uint16_t version, T& field) {
  return {version, field};
}

struct HelloMsg {
  static constexpr MsgType kType = MsgType::kHello;
  std::uint32_t magic = kMagic;
  std::uint16_t version = kVersion;
  std::uint8_t role = 0;
  std::string_view name;
  // Since version 6: the credential of a broker run with --auth-tokens; empty for none. A peer
  // without one may send the version-5 layout (no token field) at any version: see decodeHello().
  std::string_view token{};
  template <typename F> void fields(F&& f) { f(magic); f(version); f(role); f(name); f(since(6, token)); }
};

struct WelcomeMsg {
  static constexpr MsgType kType = MsgType::kWelcome;
  std::uint16_t version = kVersion;
  std::uint32_t heartbeat_ms = 0;
  std::uint32_t peer_timeout_ms = 0;
  std::uint32_t max_payload = 0;
  std::uint64_t store_id = 0;
  std::string_view broker;
  template <typename F> void fields(F&& f) { f(version); f(heartbeat_ms); f(peer_timeout_ms); f(max_payload); f(store_id); f(broker); }
};

struct PingMsg {
  static constexpr MsgType kType = MsgType::kPing;
  template <typename F> void fields(F&&) {}
};

struct PongMsg {
  static constexpr MsgType kType = MsgType::kPong;
  template <typename F> void fields(F&&) {}
};

struct ErrorMsg {
  static constexpr MsgType kType = MsgType::kError;
  std::string_view code;
  std::string_view message;
  template <typename F> void fields(F&& f) { f(code); f(message); }
};

struct OkMsg {
  static constexpr MsgType kType = MsgType::kOk;
  template <typename F> void fields(F&&) {}
};

// `bytes` fields are a distinct type so the codec knows to use a u32 length.
struct Bytes {
  std::string_view data;
};

// Bits of SubmitMsg::flags.
inline constexpr std::uint8_t kSubmitRequireWorker = 0x01;
// Bits of SubmittedMsg::flags.
inline constexpr std::uint8_t kSubmittedUnserved = 0x01;  // no connected worker serves the task
// Since version 4: job_id is an existing job's, which holds the submission's unique key; no job was made.
inline constexpr std::uint8_t kSubmittedDuplicate = 0x02;
// Bits of StatusMsg::flags.
inline constexpr std::uint8_t kStatusWithPayload = 0x01;

struct SubmitMsg {
  static constexpr MsgType kType = MsgType::kSubmit;
  std::string_view task;
  Bytes payload;
  std::int32_t priority = 0;
  std::uint32_t timeout_ms = 0;
  std::uint32_t run_timeout_ms = 0;
  std::uint32_t assign_timeout_ms = 0;
  std::uint32_t retries = 0;                // since version 2
  std::uint32_t backoff_ms = 1000;          // since version 2
  std::uint32_t backoff_max_ms = 3600000;   // since version 2
  std::uint8_t flags = 0;                   // since version 2: kSubmit* bits
  std::uint32_t delay_ms = 0;               // since version 3: run no earlier than this after acceptance
  std::uint64_t run_at_ms = 0;              // since version 3: or than this wall time; wins when set
  std::string_view unique_key{};            // since version 4: at most one job of the task holds it; empty: none
  std::uint32_t unique_for_ms = 0;          // since version 4: how long a succeeded job keeps holding it
  std::string_view fair_key{};              // since version 4: fairness key (a tenant id); empty: none
  template <typename F> void fields(F&& f) {
    f(task); f(payload); f(priority); f(timeout_ms); f(run_timeout_ms); f(assign_timeout_ms);
    f(since(2, retries)); f(since(2, backoff_ms)); f(since(2, backoff_max_ms)); f(since(2, flags));
    f(since(3, delay_ms)); f(since(3, run_at_ms)); f(since(4, unique_key)); f(since(4, unique_for_ms));
    f(since(4, fair_key));
  }
};

struct SubmittedMsg {
  static constexpr MsgType kType = MsgType::kSubmitted;
  std::uint64_t job_id = 0;
  std::uint8_t flags = 0;  // since version 2: kSubmitted* bits
  template <typename F> void fields(F&& f) { f(job_id); f(since(2, flags)); }
};

struct SubscribeMsg {
  static constexpr MsgType kType = MsgType::kSubscribe;
  std::uint64_t job_id = 0;
  template <typename F> void fields(F&& f) { f(job_id); }
};

struct ResultMsg {
  static constexpr MsgType kType = MsgType::kResult;
  std::uint64_t job_id = 0;
  std::uint8_t state = 0;
  std::uint32_t attempt = 0;
  Bytes result;
  std::string_view error_code;
  std::string_view error_message;
  template <typename F> void fields(F&& f) { f(job_id); f(state); f(attempt); f(result); f(error_code); f(error_message); }
};

struct StatusMsg {
  static constexpr MsgType kType = MsgType::kStatus;
  std::uint64_t job_id = 0;
  std::uint8_t flags = 0;  // since version 2: kStatus* bits
  template <typename F> void fields(F&& f) { f(job_id); f(since(2, flags)); }
};

// One failed attempt, in JOB_INFO.
struct FailureItem {
  std::uint32_t attempt = 0;
  std::string_view worker;
  std::uint64_t started_ms = 0;
  std::uint64_t ended_ms = 0;
  std::string_view error_code;
  std::string_view error_message;
  template <typename F> void fields(F&& f) { f(attempt); f(worker); f(started_ms); f(ended_ms); f(error_code); f(error_message); }
};

struct JobInfoMsg {
  static constexpr MsgType kType = MsgType::kJobInfo;
  std::uint64_t job_id = 0;
  std::string_view task;
  std::uint8_t state = 0;
  std::int32_t priority = 0;
  std::uint32_t attempt = 0;
  std::uint64_t submitted_ms = 0;
  std::uint64_t started_ms = 0;
  std::uint64_t finished_ms = 0;
  std::string_view worker;
  Bytes result;
  std::string_view error_code;
  std::string_view error_message;
  std::uint32_t retries = 0;             // since version 2
  std::uint32_t retried = 0;             // since version 2
  std::uint64_t run_at_ms = 0;           // since version 2
  Bytes payload;                         // since version 2; empty unless asked for
  std::vector<FailureItem> failures;     // since version 2
  std::string_view unique_key{};         // since version 4; empty: none
  std::uint32_t unique_for_ms = 0;       // since version 4
  std::string_view fair_key{};           // since version 4: empty for a job without one
  template <typename F> void fields(F&& f) {
    f(job_id); f(task); f(state); f(priority); f(attempt); f(submitted_ms); f(started_ms);
    f(finished_ms); f(worker); f(result); f(error_code); f(error_message);
    f(since(2, retries)); f(since(2, retried)); f(since(2, run_at_ms)); f(since(2, payload)); f(since(2, failures));
    f(since(4, unique_key)); f(since(4, unique_for_ms)); f(since(4, fair_key));
  }
};

struct StatsMsg {
  static constexpr MsgType kType = MsgType::kStats;
  template <typename F> void fields(F&&) {}
};

struct StatsReplyMsg {
  static constexpr MsgType kType = MsgType::kStatsReply;
  Bytes json;
  template <typename F> void fields(F&& f) { f(json); }
};

// Version 5: the broker's metrics in the Prometheus text format (docs/protocol.md, "Metrics (v5)").
struct MetricsMsg {
  static constexpr MsgType kType = MsgType::kMetrics;
  template <typename F> void fields(F&&) {}
};

struct MetricsTextMsg {
  static constexpr MsgType kType = MsgType::kMetricsText;
  Bytes text;
  template <typename F> void fields(F&& f) { f(text); }
};

struct RegisterMsg {
  static constexpr MsgType kType = MsgType::kRegister;
  std::uint32_t slots = 0;
  std::vector<std::string> tasks;
  std::uint32_t prefetch = 0;  // jobs the worker will hold beyond its slots, waiting for one
  std::string_view priority_slots{};  // since version 3: "P:K,..." priority ranges with guaranteed slots
  template <typename F> void fields(F&& f) { f(slots); f(tasks); f(prefetch); f(since(3, priority_slots)); }
};

struct AssignMsg {
  static constexpr MsgType kType = MsgType::kAssign;
  std::uint64_t job_id = 0;
  std::uint32_t attempt = 0;
  std::string_view task;
  Bytes payload;
  std::uint32_t run_timeout_ms = 0;
  template <typename F> void fields(F&& f) { f(job_id); f(attempt); f(task); f(payload); f(run_timeout_ms); }
};

struct CompleteMsg {
  static constexpr MsgType kType = MsgType::kComplete;
  std::uint64_t job_id = 0;
  std::uint32_t attempt = 0;
  Bytes result;
  template <typename F> void fields(F&& f) { f(job_id); f(attempt); f(result); }
};

struct FailMsg {
  static constexpr MsgType kType = MsgType::kFail;
  std::uint64_t job_id = 0;
  std::uint32_t attempt = 0;
  std::string_view code;
  std::string_view message;
  template <typename F> void fields(F&& f) { f(job_id); f(attempt); f(code); f(message); }
};

struct CancelMsg {
  static constexpr MsgType kType = MsgType::kCancel;
  std::uint64_t job_id = 0;
  std::uint32_t attempt = 0;
  std::string_view code;
  template <typename F> void fields(F&& f) { f(job_id); f(attempt); f(code); }
};

struct DrainMsg {
  static constexpr MsgType kType = MsgType::kDrain;
  template <typename F> void fields(F&&) {}
};

// Version 2: control and inspection.

struct CancelJobMsg {
  static constexpr MsgType kType = MsgType::kCancelJob;
  std::uint64_t job_id = 0;
  template <typename F> void fields(F&& f) { f(job_id); }
};

struct PurgeMsg {
  static constexpr MsgType kType = MsgType::kPurge;
  std::string_view task;
  template <typename F> void fields(F&& f) { f(task); }
};

struct PauseMsg {
  static constexpr MsgType kType = MsgType::kPause;
  std::string_view task;
  std::uint8_t paused = 1;  // 1 pause, 0 resume
  template <typename F> void fields(F&& f) { f(task); f(paused); }
};

struct ListJobsMsg {
  static constexpr MsgType kType = MsgType::kListJobs;
  std::string_view task;       // empty: every task
  std::uint8_t state = 0;      // 0: every state
  std::uint32_t limit = 100;
  std::uint64_t before_id = 0; // 0: from the newest
  template <typename F> void fields(F&& f) { f(task); f(state); f(limit); f(before_id); }
};

struct JobListMsg {
  static constexpr MsgType kType = MsgType::kJobList;
  std::vector<JobInfoMsg> jobs;  // newest first; without payload, result or failures
  template <typename F> void fields(F&& f) { f(jobs); }
};

struct DeadRetryMsg {
  static constexpr MsgType kType = MsgType::kDeadRetry;
  std::uint64_t job_id = 0;  // 0: every dead job (of `task`, when given)
  std::string_view task;
  template <typename F> void fields(F&& f) { f(job_id); f(task); }
};

struct DeadPurgeMsg {
  static constexpr MsgType kType = MsgType::kDeadPurge;
  std::string_view task;            // empty: every task
  std::uint64_t older_than_ms = 0;  // only jobs dead for longer than this; 0: all
  template <typename F> void fields(F&& f) { f(task); f(older_than_ms); }
};

struct CountMsg {
  static constexpr MsgType kType = MsgType::kCount;
  std::uint64_t count = 0;
  template <typename F> void fields(F&& f) { f(count); }
};

// Version 4: periodic jobs (cron).

// Adds a cron entry, or replaces the one of that name. Answered by CRON_ENTRIES with that entry.
struct CronAddMsg {
  static constexpr MsgType kType = MsgType::kCronAdd;
  std::string_view name;
  std::string_view spec;
  std::string_view tz;  // IANA zone; empty: UTC
  Bytes submit;         // a SUBMIT body, in this session's version: the job each firing submits
  template <typename F> void fields(F&& f) { f(name); f(spec); f(tz); f(submit); }
};

// CRON_REMOVE: answered by OK, or ERROR not_found.
struct CronRemoveMsg {
  static constexpr MsgType kType = MsgType::kCronRemove;
  std::string_view name;
  template <typename F> void fields(F&& f) { f(name); }
};

// CRON_PAUSE: answered by OK, or ERROR not_found.
struct CronPauseMsg {
  static constexpr MsgType kType = MsgType::kCronPause;
  std::string_view name;
  std::uint8_t paused = 1;  // 1 pause, 0 resume
  template <typename F> void fields(F&& f) { f(name); f(paused); }
};

struct CronListMsg {
  static constexpr MsgType kType = MsgType::kCronList;
  template <typename F> void fields(F&&) {}
};

// One cron entry, in CRON_ENTRIES.
struct CronEntryItem {
  std::string_view name;
  std::string_view spec;
  std::string_view tz;
  std::string_view task;
  std::uint8_t paused = 0;
  std::uint64_t next_ms = 0;       // the next firing, Unix milliseconds; 0 when paused or never
  std::uint64_t last_fire_ms = 0;  // 0: never fired
  std::uint64_t created_ms = 0;
  Bytes submit;                    // its SUBMIT body, in the session's version
  template <typename F> void fields(F&& f) {
    f(name); f(spec); f(tz); f(task); f(paused); f(next_ms); f(last_fire_ms); f(created_ms); f(submit);
  }
};

// Bits of CronEntriesMsg::flags.
inline constexpr std::uint8_t kCronReplaced = 0x01;  // CRON_ADD replaced an entry of that name

// The answer to CRON_LIST (every entry, by name) and to CRON_ADD (the entry added).
struct CronEntriesMsg {
  static constexpr MsgType kType = MsgType::kCronEntries;
  std::uint8_t flags = 0;
  std::vector<CronEntryItem> entries;
  template <typename F> void fields(F&& f) { f(flags); f(entries); }
};

// Version 4.

struct RateMsg {
  static constexpr MsgType kType = MsgType::kRate;
  std::string_view task;
  std::string_view rate;  // "N/s[:BURST]" (also /m, /h); empty: no limit
  template <typename F> void fields(F&& f) { f(task); f(rate); }
};

// Version 5: history and explain.

// Asks why a job is (not) running and what happened to it. Answered by EXPLANATION.
struct ExplainMsg {
  static constexpr MsgType kType = MsgType::kExplain;
  std::uint64_t job_id = 0;
  template <typename F> void fields(F&& f) { f(job_id); }
};

// One event of a job's history, in EXPLANATION.
struct EventItem {
  std::uint64_t time_ms = 0;    // wall clock, Unix milliseconds
  std::string_view kind;        // "submitted", "running", ... (docs/protocol.md, "History and explain")
  std::uint32_t attempt = 0;
  std::string_view worker;      // empty: none
  std::string_view detail;      // an error code, a time in Unix ms, or a reason word
  template <typename F> void fields(F&& f) { f(time_ms); f(kind); f(attempt); f(worker); f(detail); }
};

struct ExplanationMsg {
  static constexpr MsgType kType = MsgType::kExplanation;
  JobInfoMsg job;                  // laid out as JOB_INFO's body, without its payload
  std::string_view reason_code;    // why it waits ("no_worker", "paused", ...); empty when it does not
  std::string_view reason;         // the same for people: one sentence
  std::vector<EventItem> events;   // oldest first
  template <typename F> void fields(F&& f) { job.fields(f); f(reason_code); f(reason); f(events); }
};

namespace detail {
struct FieldWriter {
  WireWriter& w;
  std::uint16_t version;
  template <typename T>
  void operator()(Since<T> field) {
    if (version >= field.version) (*this)(field.field);
  }
  // A list of records: u32 count, then each record's fields.
  template <typename T>
  void operator()(std::vector<T>& items) {
    w.u32(static_cast<std::uint32_t>(items.size()));
    for (T& item : items) item.fields(*this);
  }
  void operator()(std::uint8_t v) { w.u8(v); }
  void operator()(std::uint16_t v) { w.u16(v); }
  void operator()(std::uint32_t v) { w.u32(v); }
  void operator()(std::uint64_t v) { w.u64(v); }
  void operator()(std::int32_t v) { w.i32(v); }
  void operator()(std::string_view v) { w.str(v); }
  void operator()(Bytes v) { w.bytes(v.data); }
  void operator()(std::vector<std::string>& v) { w.strList(v); }
};
struct FieldReader {
  WireReader& r;
  std::uint16_t version;
  template <typename T>
  void operator()(Since<T> field) {
    if (version >= field.version) (*this)(field.field);
  }
  template <typename T>
  void operator()(std::vector<T>& items) {
    std::uint32_t n = r.u32();
    // Every record takes at least one byte: a count beyond the bytes left is a lie, not a reason
    // to reserve memory for it.
    if (n > r.remaining()) return r.invalidate();
    items.resize(n);
    for (T& item : items) {
      if (!r.ok()) return;
      item.fields(*this);
    }
  }
  void operator()(std::uint8_t& v) { v = r.u8(); }
  void operator()(std::uint16_t& v) { v = r.u16(); }
  void operator()(std::uint32_t& v) { v = r.u32(); }
  void operator()(std::uint64_t& v) { v = r.u64(); }
  void operator()(std::int32_t& v) { v = r.i32(); }
  void operator()(std::string_view& v) { v = r.str(); }
  void operator()(Bytes& v) { v.data = r.bytes(); }
  void operator()(std::vector<std::string>& v) { v = r.strList(); }
};
// Writes the frame header with a placeholder length and returns where the length goes.
std::size_t beginFrame(std::string& out, MsgType type, std::uint32_t request_id);
void endFrame(std::string& out, std::size_t start);
}  // namespace detail

// Appends one complete frame carrying `msg` to `out`, laid out for protocol `version`.
// REQUIRES: every str field is at most 65535 bytes (callers validate user input first).
template <typename Msg>
void encode(std::string& out, std::uint32_t request_id, Msg msg, std::uint16_t version = kVersion) {
  std::size_t start = detail::beginFrame(out, Msg::kType, request_id);
  WireWriter writer(out);
  msg.fields(detail::FieldWriter{writer, version});
  detail::endFrame(out, start);
}

// The body alone of `msg` at `version`, without a frame header: for a message carried inside
// another (a cron entry's SUBMIT).
template <typename Msg>
std::string encodeBody(Msg msg, std::uint16_t version = kVersion) {
  std::string out;
  WireWriter writer(out);
  msg.fields(detail::FieldWriter{writer, version});
  return out;
}

// Decodes a frame's body as `Msg`, laid out for protocol `version`. Fails with bad_request when the body does not match the layout
// exactly (too short, or bytes left over) or a `str` field is not valid UTF-8.
template <typename Msg>
Result<Msg> decode(std::string_view body, std::uint16_t version = kVersion) {
  Msg msg;
  WireReader reader(body);
  msg.fields(detail::FieldReader{reader, version});
  if (!reader.exhausted()) {
    return Status::error("bad_request", std::string("malformed ") + msgTypeName(static_cast<std::uint8_t>(Msg::kType)) +
                                            " body (" + std::to_string(body.size()) + " bytes)");
  }
  if (!reader.textValid()) {
    return Status::error("bad_request", std::string(msgTypeName(static_cast<std::uint8_t>(Msg::kType))) +
                                            " has a text field that is not valid UTF-8");
  }
  return msg;
}

// Decodes HELLO, which comes before any version is agreed: its body has the layout of the version
// it offers (with a token), or the version-5 layout (without one). The two cannot be confused: the
// later layout is the earlier one plus the token.
Result<HelloMsg> decodeHello(std::string_view body);
// Appends HELLO: with the token field when `hello.token` is set, else in the version-5 layout, which
// brokers older than version 6 read too.
void encodeHello(std::string& out, const HelloMsg& hello);

}  // namespace corvee::protocol
