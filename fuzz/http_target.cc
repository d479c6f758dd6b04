// Fuzz target: the HTTP request target (src/http/request.cc): splitting into path segments and
// query parameters, and percent-decoding.
//
// Input: the target. Properties: parsing never fails other than with bad_request; a parsed target
// has no empty segment; and any bytes, percent-encoded, decode back to themselves (in a path and
// in a query).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/request.h"

namespace {

std::string percentEncode(std::string_view bytes, bool plus_for_space) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                 c == '_' || c == '~';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ' && plus_for_space) {
      out.push_back('+');
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace corvee::http;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  Request request;
  corvee::Status parsed = parseTarget(input, request);
  if (parsed) {
    for (const auto& segment : request.segments) FUZZ_CHECK(!segment.empty());
  } else {
    FUZZ_CHECK(parsed.code() == "bad_request");
  }
  for (bool plus : {false, true}) {
    auto decoded = percentDecode(input, plus);
    if (decoded) FUZZ_CHECK(decoded->size() <= input.size());
  }

  // The input as one segment and as one query value.
  std::string target = "/v1/queues/" + percentEncode(input, false) + "?task=" + percentEncode(input, true);
  Request encoded;
  FUZZ_CHECK(parseTarget(target, encoded));
  if (input.empty()) {
    FUZZ_CHECK(encoded.segments.size() == 2);
  } else {
    FUZZ_CHECK(encoded.segments.size() == 3 && encoded.segments[2] == input);
  }
  FUZZ_CHECK(encoded.param("task") == std::string(input));
  return 0;
}
