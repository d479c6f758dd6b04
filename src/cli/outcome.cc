#include "cli/outcome.h"

#include <iostream>
#include <string>

#include "cli/common.h"
#include "corvee/errors.h"

namespace corvee::cli {

int printOutcome(JobId id, const Result<JobOutcome>& outcome) {
  if (!outcome) {
    printError("job " + std::to_string(id) + ": " + outcome.status().toString());
    return outcome.status().code() == errc::kNotFound ? kExitJobFailed : kExitUnavailable;
  }
  if (!outcome->succeeded()) {
    // A cancelled job carries the code "cancelled"; the state names it should a broker send none.
    std::string code = outcome->error_code.empty() ? std::string(toString(outcome->state)) : outcome->error_code;
    std::cerr << code << ": " << outcome->error_message << std::endl;
    return kExitJobFailed;
  }
  std::cout.write(outcome->result.data(), static_cast<std::streamsize>(outcome->result.size()));
  std::cout.flush();
  return kExitOk;
}

}  // namespace corvee::cli
