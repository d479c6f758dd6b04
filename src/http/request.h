// Request and Response: an HTTP exchange as the API's handlers see it, without Beast's types, so
// routing and JSON translation are tested without sockets.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "corvee/status.h"

namespace corvee::http {

struct Request {
  std::string method;                         // "GET", "POST", ...
  std::vector<std::string> segments;          // the path's segments, percent-decoded
  std::map<std::string, std::string> query;   // the query's parameters, percent-decoded
  std::string body;
  std::string if_none_match;                  // the If-None-Match header, if any (the dashboard's files)
  std::string authorization;                  // the Authorization header, if any ("Bearer TOKEN")

  // The query parameter `name`, if given.
  std::optional<std::string> param(const std::string& name) const;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Splits a request target ("/v1/jobs/12?wait=500") into decoded path segments and query
// parameters. Fails with bad_request for a malformed percent escape or a target that is not a path.
Status parseTarget(std::string_view target, Request& into);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in queries).
Result<std::string> percentDecode(std::string_view text, bool plus_is_space);

}  // namespace corvee::http
