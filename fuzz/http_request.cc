// Fuzz target: a raw HTTP request through Boost.Beast's request parser as Session reads it (the
// same header limit, the body limit the broker derives from its payload limit, eager parsing),
// then what Session takes from a parsed request: method, keep-alive, If-None-Match, and the target
// through parseTarget().
//
// Input: byte 0 picks the broker's payload limit (so the body limit is reached), byte 1 the size
// of the reads the request arrives in, the rest is the request. Properties: nothing throws; a body
// is never larger than the limit; a request parsed whole parses the same in pieces.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/request.h"
#include "http/request_limits.h"

namespace bhttp = boost::beast::http;

namespace {

struct Parsed {
  boost::system::error_code error;
  std::string method, target, body, if_none_match;
  bool keep_alive = false;
  bool operator==(const Parsed&) const = default;
};

// Puts `raw` into a parser as async_read does: each read appends up to `read_size` bytes to the
// buffer, the parser takes what it can, the rest waits in front of the next read; the end of the
// input is the peer closing. Stops when the request is complete or parsing fails.
Parsed parse(std::string_view raw, std::size_t read_size, std::uint64_t body_limit) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(corvee::http::kHeaderLimit);
  parser.body_limit(body_limit);
  parser.eager(true);
  Parsed out;
  std::string buffer;
  bool read_more = true;
  while (!parser.is_done()) {
    if (read_more || buffer.empty()) {
      if (raw.empty()) {
        parser.put_eof(out.error);
        if (!out.error && !parser.is_done()) out.error = bhttp::error::partial_message;
        if (out.error) return out;
        break;
      }
      std::size_t n = std::min(read_size, raw.size());
      buffer.append(raw.substr(0, n));
      raw.remove_prefix(n);
    }
    std::size_t used = parser.put(boost::asio::buffer(buffer), out.error);
    buffer.erase(0, used);
    read_more = out.error == bhttp::error::need_more || used == 0;
    if (out.error == bhttp::error::need_more) out.error = {};
    if (out.error) return out;
  }
  auto& request = parser.get();
  out.method = std::string(request.method_string());
  out.target = std::string(request.target());
  out.keep_alive = request.keep_alive();
  out.body = request.body();
  if (auto tags = request.find(bhttp::field::if_none_match); tags != request.end()) {
    out.if_none_match = std::string(tags->value());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::uint32_t max_payload = std::uint32_t{data[0]} * 64;
  std::uint64_t body_limit = data[0] == 0xff ? corvee::http::requestBodyLimit(16 * 1024 * 1024)
                                             : std::uint64_t{max_payload} + 64;
  std::size_t read_size = 1 + data[1];
  std::string_view raw(reinterpret_cast<const char*>(data + 2), size - 2);

  Parsed whole = parse(raw, raw.size() + 1, body_limit);
  Parsed pieces = parse(raw, read_size, body_limit);
  if (!whole.error) {
    FUZZ_CHECK(whole.body.size() <= body_limit);
    FUZZ_CHECK(whole == pieces);
    corvee::http::Request request;
    request.method = whole.method;
    corvee::Status parsed = corvee::http::parseTarget(whole.target, request);
    FUZZ_CHECK(parsed || parsed.code() == "bad_request");
  }
  return 0;
}
