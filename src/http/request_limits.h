// The sizes an HTTP request may have: Session gives them to Beast's parser, and the fuzz target
// (fuzz/http_request.cc) parses with the same ones.
#pragma once

#include <cstdint>

namespace corvee::http {

// Request headers above this size are refused (431).
inline constexpr std::uint32_t kHeaderLimit = 16 * 1024;

// The largest request body (413 above it) when jobs carry at most `max_payload` bytes: a payload
// in base64 (4/3 of its size) with room for the other fields of a submission.
constexpr std::uint64_t requestBodyLimit(std::uint32_t max_payload) {
  return std::uint64_t{max_payload} * 4 / 3 + 64 * 1024;
}

}  // namespace corvee::http
