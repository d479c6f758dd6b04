// parseEndpoint: the "tcp://HOST:PORT" spelling users type on command lines.
#include "protocol/endpoint.h"

#include <gtest/gtest.h>

#include <string>

namespace corvee::protocol {
namespace {

struct GoodCase {
  const char* text;
  const char* host;
  std::uint16_t port;
};

class ParseEndpointGoodTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ParseEndpointGoodTest, Parses) {
  const GoodCase& c = GetParam();
  auto ep = parseEndpoint(c.text);
  ASSERT_TRUE(ep.isOk()) << c.text << ": " << ep.status().toString();
  EXPECT_EQ(ep->host, c.host);
  EXPECT_EQ(ep->port, c.port);
}

INSTANTIATE_TEST_SUITE_P(Endpoints, ParseEndpointGoodTest,
                         ::testing::Values(GoodCase{"tcp://127.0.0.1:7600", "127.0.0.1", 7600},
                                           GoodCase{"tcp://localhost:1", "localhost", 1},
                                           GoodCase{"tcp://broker.example.com:65535", "broker.example.com", 65535},
                                           // Port 0 means "any free port" when binding.
                                           GoodCase{"tcp://0.0.0.0:0", "0.0.0.0", 0},
                                           // Brackets let an IPv6 address hold colons; they are not part of the host.
                                           GoodCase{"tcp://[::1]:7600", "::1", 7600},
                                           GoodCase{"tcp://[fe80::1:2]:80", "fe80::1:2", 80},
                                           GoodCase{"tcp://host:007", "host", 7}));

class ParseEndpointBadTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ParseEndpointBadTest, IsRefusedWithBadRequest) {
  auto ep = parseEndpoint(GetParam());
  ASSERT_FALSE(ep.isOk()) << GetParam() << " parsed as host '" << ep->host << "' port " << ep->port;
  EXPECT_EQ(ep.status().code(), "bad_request");
  // The message must quote the input and show the expected form, since users read it.
  EXPECT_NE(ep.status().message().find(std::string("'") + GetParam() + "'"), std::string::npos)
      << ep.status().message();
  EXPECT_NE(ep.status().message().find("tcp://HOST:PORT"), std::string::npos) << ep.status().message();
}

INSTANTIATE_TEST_SUITE_P(Endpoints, ParseEndpointBadTest,
                         ::testing::Values("",                      // nothing
                                           "127.0.0.1:7600",        // no scheme
                                           "http://127.0.0.1:7600",  // wrong scheme
                                           "TCP://127.0.0.1:7600",   // schemes are case-sensitive here
                                           "tcp:/host:1",            // mangled scheme
                                           "tcp://",                 // nothing after the scheme
                                           "tcp://host",             // no port
                                           "tcp://host:",            // empty port
                                           "tcp://:7600",            // empty host
                                           "tcp://[]:7600",          // empty bracketed host
                                           "tcp://host:65536",       // port out of range
                                           "tcp://host:99999999999999999999",  // overflows any integer
                                           "tcp://host:-1",          // negative port
                                           "tcp://host:+80",         // sign
                                           "tcp://host:80x",         // trailing junk
                                           "tcp://host:8 0",         // space inside
                                           "tcp://host:80/path",     // a path
                                           "tcp://[::1]",            // IPv6 without a port
                                           "tcp://[::1:7600",        // unbalanced bracket
                                           "tcp://::1]:7600"));      // unbalanced bracket

TEST(EndpointTest, ToStringRoundTrips) {
  for (const char* text : {"tcp://127.0.0.1:7600", "tcp://localhost:0"}) {
    auto ep = parseEndpoint(text);
    ASSERT_TRUE(ep.isOk());
    EXPECT_EQ(ep->toString(), text);
    auto again = parseEndpoint(ep->toString());
    ASSERT_TRUE(again.isOk());
    EXPECT_EQ(again->host, ep->host);
    EXPECT_EQ(again->port, ep->port);
  }
}

}  // namespace
}  // namespace corvee::protocol
