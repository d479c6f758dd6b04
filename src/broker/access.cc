#include "broker/access.h"

namespace corvee::broker {

using protocol::MsgType;

std::string_view accessName(Access access) {
  switch (access) {
    case Access::kClient: return "client";
    case Access::kWorker: return "worker";
    case Access::kAdmin: return "admin";
  }
  return "unknown";
}

std::optional<Access> parseAccess(std::string_view name) {
  if (name == "client") return Access::kClient;
  if (name == "worker") return Access::kWorker;
  if (name == "admin") return Access::kAdmin;
  return std::nullopt;
}

Access neededFor(MsgType type) {
  switch (type) {
    // Serving jobs.
    case MsgType::kRegister:
    case MsgType::kComplete:
    case MsgType::kFail:
    case MsgType::kDrain:
      return Access::kWorker;
    // Controls: they change or remove other people's jobs, or what every worker is dealt.
    case MsgType::kCancelJob:
    case MsgType::kPurge:
    case MsgType::kPause:
    case MsgType::kDeadRetry:
    case MsgType::kDeadPurge:
    case MsgType::kRate:
    case MsgType::kCronAdd:
    case MsgType::kCronRemove:
    case MsgType::kCronPause:
      return Access::kAdmin;
    // Submitting and reading (and whatever the broker sends, which the Core refuses as such).
    default:
      return Access::kClient;
  }
}

Access neededFor(protocol::Role role) { return role == protocol::Role::kWorker ? Access::kWorker : Access::kClient; }

}  // namespace corvee::broker
