// The JSON body of POST /v1/jobs (and of a cron entry's job) as a SUBMIT message. Field names are
// the wire protocol's (docs/http-api.md lists them); every SUBMIT option is one.
#pragma once

#include <cstdint>
#include <string>

#include "corvee/status.h"
#include "http/json_codec.h"
#include "protocol/messages.h"

namespace corvee::http {

struct SubmitRequest {
  std::string task;
  std::string payload;
  std::string unique_key;
  std::string fair_key;
  protocol::SubmitMsg fields;  // the numbers and flags; its strings are set by message()

  // The SUBMIT, viewing this object's strings: valid while it lives unchanged.
  protocol::SubmitMsg message() const;
};

// Reads a submission from `doc`. `extra_fields` are allowed besides the submission's (a cron
// entry's name and spec). bad_request naming the field for a wrong type, range or unknown field.
Result<SubmitRequest> parseSubmit(const Json& doc, std::initializer_list<std::string_view> extra_fields = {});

}  // namespace corvee::http
