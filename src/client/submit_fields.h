// The SUBMIT fields for a job's SubmitOptions, and back: one translation, so that submit() and a
// cron entry's job (cronAdd, cronList) spell every option the same way.
#pragma once

#include <string_view>

#include "corvee/job.h"
#include "protocol/messages.h"

namespace corvee::detail {

// The message views `task` and `payload`: they must outlive it.
protocol::SubmitMsg submitMsgOf(std::string_view task, std::string_view payload, const SubmitOptions& options);
// The options a SUBMIT carries (its task and payload aside).
SubmitOptions submitOptionsOf(const protocol::SubmitMsg& msg);

}  // namespace corvee::detail
