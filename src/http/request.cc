#include "http/request.h"

namespace corvee::http {

namespace {
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<std::string> Request::param(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Result<std::string> percentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      bool whole = i + 2 < text.size();
      int high = whole ? hexValue(text[i + 1]) : -1;
      int low = whole ? hexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) return Status::error("bad_request", "malformed percent escape in the request target");
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Status parseTarget(std::string_view target, Request& into) {
  if (target.empty() || target.front() != '/') {
    return Status::error("bad_request", "the request target must be a path starting with '/'");
  }
  std::string_view path = target;
  std::string_view query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  into.segments.clear();
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view raw = path.substr(start, end - start);
    if (!raw.empty()) {
      auto decoded = percentDecode(raw, false);
      if (!decoded) return decoded.status();
      into.segments.push_back(std::move(*decoded));
    }
    start = end + 1;
  }
  into.query.clear();
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq), true);
    if (!key) return key.status();
    auto value = percentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!value) return value.status();
    into.query[std::move(*key)] = std::move(*value);
  }
  return Status::ok();
}

}  // namespace corvee::http
