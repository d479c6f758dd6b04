// JOB_INFO on the wire to the public JobInfo: shared by status() and jobs().
#pragma once

#include "corvee/job.h"
#include "protocol/messages.h"

namespace corvee::detail {

// Copies every field of `msg` (whose views point into a frame) into a JobInfo that owns its
// strings. The fields a version-1 broker does not send keep their defaults.
JobInfo toJobInfo(const protocol::JobInfoMsg& msg);

}  // namespace corvee::detail
