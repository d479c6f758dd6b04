// Protocol constants, fixed by docs/protocol.md. Every number on the wire is named here once.
#pragma once

#include <cstddef>
#include <cstdint>

namespace corvee::protocol {

inline constexpr std::uint32_t kMagic = 0x45565243;  // "CRVE" read as little-endian bytes
inline constexpr std::uint16_t kVersion = 6;         // the highest version this build speaks
inline constexpr std::uint16_t kMinVersion = 1;      // the lowest version the broker still speaks

// Bytes before the body: u32 length, u8 type, u32 request_id.
inline constexpr std::size_t kLengthSize = 4;
inline constexpr std::size_t kHeaderSize = 9;
// `length` counts type + request_id + body, so it is at least this.
inline constexpr std::uint32_t kMinLength = 5;
// A frame may exceed max_payload by this much: room for the task name and fixed fields.
inline constexpr std::uint32_t kFrameOverhead = 64 * 1024;

enum class MsgType : std::uint8_t {
  kHello = 0x01,
  kWelcome = 0x02,
  kPing = 0x03,
  kPong = 0x04,
  kError = 0x05,
  kOk = 0x06,
  kSubmit = 0x10,
  kSubmitted = 0x11,
  kSubscribe = 0x12,
  kResult = 0x13,
  kStatus = 0x14,
  kJobInfo = 0x15,
  kStats = 0x16,
  kStatsReply = 0x17,
  kRegister = 0x20,
  kAssign = 0x21,
  kComplete = 0x22,
  kFail = 0x23,
  kCancel = 0x24,
  kDrain = 0x25,
  // Control and inspection (version 2).
  kCancelJob = 0x30,
  kPurge = 0x31,
  kPause = 0x32,
  kListJobs = 0x33,
  kJobList = 0x34,
  kDeadRetry = 0x35,
  kDeadPurge = 0x36,
  kCount = 0x37,
  // Version 4.
  kRate = 0x38,
  // Periodic jobs (version 4).
  kCronAdd = 0x40,
  kCronRemove = 0x41,
  kCronPause = 0x42,
  kCronList = 0x43,
  kCronEntries = 0x44,
  // Metrics (version 5).
  kMetrics = 0x52,
  kMetricsText = 0x53,
  // History and explain (version 5).
  kExplain = 0x50,
  kExplanation = 0x51,
};

// The protocol version that introduced message `type`; a session that speaks an older version
// does not know it. 1 for unknown types (those are refused as unknown in every version).
std::uint16_t introducedIn(std::uint8_t type);

enum class Role : std::uint8_t {
  kClient = 1,
  kWorker = 2,
};

// A name for logs: "SUBMIT", or "0x7f" for unknown types.
const char* msgTypeName(std::uint8_t type);

}  // namespace corvee::protocol
