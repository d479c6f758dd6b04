#include "protocol/constants.h"

namespace corvee::protocol {

const char* msgTypeName(std::uint8_t type) {
  switch (static_cast<MsgType>(type)) {
    case MsgType::kHello: return "HELLO";
    case MsgType::kWelcome: return "WELCOME";
    case MsgType::kPing: return "PING";
    case MsgType::kPong: return "PONG";
    case MsgType::kError: return "ERROR";
    case MsgType::kOk: return "OK";
    case MsgType::kSubmit: return "SUBMIT";
    case MsgType::kSubmitted: return "SUBMITTED";
    case MsgType::kSubscribe: return "SUBSCRIBE";
    case MsgType::kResult: return "RESULT";
    case MsgType::kStatus: return "STATUS";
    case MsgType::kJobInfo: return "JOB_INFO";
    case MsgType::kStats: return "STATS";
    case MsgType::kStatsReply: return "STATS_REPLY";
    case MsgType::kRegister: return "REGISTER";
    case MsgType::kAssign: return "ASSIGN";
    case MsgType::kComplete: return "COMPLETE";
    case MsgType::kFail: return "FAIL";
    case MsgType::kCancel: return "CANCEL";
    case MsgType::kDrain: return "DRAIN";
    case MsgType::kCancelJob: return "CANCEL_JOB";
    case MsgType::kPurge: return "PURGE";
    case MsgType::kPause: return "PAUSE";
    case MsgType::kListJobs: return "LIST_JOBS";
    case MsgType::kJobList: return "JOB_LIST";
    case MsgType::kDeadRetry: return "DEAD_RETRY";
    case MsgType::kDeadPurge: return "DEAD_PURGE";
    case MsgType::kCount: return "COUNT";
    case MsgType::kRate: return "RATE";
  }
  return "unknown";
}

}  // namespace corvee::protocol
