#include "protocol/endpoint.h"

#include <charconv>

namespace corvee::protocol {

Result<Endpoint> parseEndpoint(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::error("bad_request", "bad endpoint '" + std::string(text) + "': " + why +
                                            " (expected tcp://HOST:PORT)");
  };
  constexpr std::string_view kScheme = "tcp://";
  if (text.substr(0, kScheme.size()) != kScheme) return bad("it must start with tcp://");
  std::string_view rest = text.substr(kScheme.size());
  std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = rest.substr(0, colon);
  std::string_view port_text = rest.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return bad("no host");
  // A bracket left over is half of an IPv6 address's pair ("[::1:80"), never part of a host name.
  if (host.find_first_of("[]") != std::string_view::npos) return bad("unbalanced brackets around the host");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  return Endpoint{std::string(host), static_cast<std::uint16_t>(port)};
}

}  // namespace corvee::protocol
