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
    case MsgType::kCronAdd: return "CRON_ADD";
    case MsgType::kCronRemove: return "CRON_REMOVE";
    case MsgType::kCronPause: return "CRON_PAUSE";
    case MsgType::kCronList: return "CRON_LIST";
    case MsgType::kCronEntries: return "CRON_ENTRIES";
    case MsgType::kMetrics: return "METRICS";
    case MsgType::kMetricsText: return "METRICS_TEXT";
    case MsgType::kRate: return "RATE";
    case MsgType::kExplain: return "EXPLAIN";
    case MsgType::kExplanation: return "EXPLANATION";
  }
  return "unknown";
}

std::uint16_t introducedIn(std::uint8_t type) {
  switch (static_cast<MsgType>(type)) {
    case MsgType::kCancelJob:
    case MsgType::kPurge:
    case MsgType::kPause:
    case MsgType::kListJobs:
    case MsgType::kJobList:
    case MsgType::kDeadRetry:
    case MsgType::kDeadPurge:
    case MsgType::kCount:
      return 2;
    case MsgType::kRate:
    case MsgType::kCronAdd:
    case MsgType::kCronRemove:
    case MsgType::kCronPause:
    case MsgType::kCronList:
    case MsgType::kCronEntries:
      return 4;
    case MsgType::kMetrics:
    case MsgType::kMetricsText:
    case MsgType::kExplain:
    case MsgType::kExplanation:
      return 5;
    default:
      return 1;
  }
}

}  // namespace corvee::protocol
