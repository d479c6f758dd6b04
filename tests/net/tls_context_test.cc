// net/tls_context: the contexts the broker and its peers build from PEM files, checked by real
// handshakes over loopback: the host name is verified, a certificate from another CA is refused,
// and files that cannot be used are refused up front with a clear message.
#include "net/tls_context.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <unistd.h>

#include "net/certificates.h"
#include "platform/filesystem.h"

namespace corvee::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/corvee-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto ca = makeCertificateAuthority("Test CA", 1);
    auto other = makeCertificateAuthority("Other CA", 1);
    ASSERT_TRUE(ca && other);
    auto server = makeSignedCertificate(*ca, "broker", {"localhost", "127.0.0.1"}, true, 1);
    auto client = makeSignedCertificate(*ca, "client", {}, false, 1);
    auto stranger = makeSignedCertificate(*other, "client", {}, false, 1);
    ASSERT_TRUE(server && client && stranger);
    write("ca.pem", ca->certificate);
    write("other.pem", other->certificate);
    write("server.pem", server->certificate);
    write("server.key", server->private_key);
    write("client.pem", client->certificate);
    write("client.key", client->private_key);
    write("stranger.pem", stranger->certificate);
    write("stranger.key", stranger->private_key);
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  void write(const std::string& name, const std::string& content) {
    ASSERT_TRUE(writeNewFile(file(name), content, 0600, false));
  }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }

  // One handshake over loopback: the server side with `server`, the client dialling `host`. Returns
  // the client's error ("" when it succeeded) and stores the server's in `server_error`. A TLS 1.3
  // server checks the client's certificate after the client's side completed, so the client also
  // reads once: a refusal shows there.
  std::string handshake(asio::ssl::context& server, asio::ssl::context& client, const std::string& host,
                        std::string* server_error = nullptr) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::ssl::stream<tcp::socket> server_stream(io, server);
    asio::ssl::stream<tcp::socket> client_stream(io, client);
    std::string client_result = "not run";
    std::string server_result = "not run";
    char byte = 'x';
    char got = 0;
    acceptor.async_accept(server_stream.next_layer(), [&](const boost::system::error_code& error) {
      if (error) return;
      server_stream.async_handshake(asio::ssl::stream_base::server, [&](const boost::system::error_code& e) {
        server_result = e ? describeTlsError(e, server_stream.native_handle()) : "";
        if (!e) asio::async_write(server_stream, asio::buffer(&byte, 1), [](auto, auto) {});
        else server_stream.lowest_layer().close();
      });
    });
    EXPECT_TRUE(expectPeerHost(client_stream.native_handle(), host));
    client_stream.next_layer().async_connect(acceptor.local_endpoint(), [&](const boost::system::error_code& error) {
      if (error) return;
      client_stream.async_handshake(asio::ssl::stream_base::client, [&](const boost::system::error_code& e) {
        if (e) {
          client_result = describeTlsError(e, client_stream.native_handle());
          client_stream.lowest_layer().close();
          return;
        }
        asio::async_read(client_stream, asio::buffer(&got, 1), [&](const boost::system::error_code& r, std::size_t) {
          client_result = r ? describeTlsError(r, nullptr) : "";
        });
      });
    });
    io.run_for(std::chrono::seconds(20));
    if (server_error != nullptr) *server_error = server_result;
    return client_result;
  }

  std::string dir_;
};

TEST_F(TlsContextTest, HandshakeSucceedsForTheCertifiedHostAndAddress) {
  auto server = makeServerContext(file("server.pem"), file("server.key"), "");
  auto client = makeClientContext(file("ca.pem"), "", "");
  ASSERT_TRUE(server) << server.status().toString();
  ASSERT_TRUE(client) << client.status().toString();
  EXPECT_EQ(handshake(**server, **client, "localhost"), "");
  EXPECT_EQ(handshake(**server, **client, "127.0.0.1"), "");
}

TEST_F(TlsContextTest, ClientRefusesAWrongHostOrAnotherCa) {
  auto server = makeServerContext(file("server.pem"), file("server.key"), "");
  auto client = makeClientContext(file("ca.pem"), "", "");
  auto trusting_other = makeClientContext(file("other.pem"), "", "");
  ASSERT_TRUE(server && client && trusting_other);
  std::string wrong_host = handshake(**server, **client, "broker.example.com");
  EXPECT_NE(wrong_host.find("certificate verify failed"), std::string::npos) << wrong_host;
  EXPECT_NE(wrong_host.find("hostname mismatch"), std::string::npos) << wrong_host;
  std::string wrong_address = handshake(**server, **client, "127.0.0.2");
  EXPECT_NE(wrong_address.find("IP address mismatch"), std::string::npos) << wrong_address;
  std::string other_ca = handshake(**server, **trusting_other, "localhost");
  EXPECT_NE(other_ca.find("certificate verify failed"), std::string::npos) << other_ca;
}

TEST_F(TlsContextTest, MutualTlsNeedsACertificateFromTheClientCa) {
  auto server = makeServerContext(file("server.pem"), file("server.key"), file("ca.pem"));
  ASSERT_TRUE(server) << server.status().toString();
  auto with_cert = makeClientContext(file("ca.pem"), file("client.pem"), file("client.key"));
  auto without = makeClientContext(file("ca.pem"), "", "");
  auto stranger = makeClientContext(file("ca.pem"), file("stranger.pem"), file("stranger.key"));
  ASSERT_TRUE(with_cert && without && stranger);
  EXPECT_EQ(handshake(**server, **with_cert, "localhost"), "");
  std::string server_error;
  EXPECT_NE(handshake(**server, **without, "localhost", &server_error), "");
  EXPECT_NE(server_error.find("certificate"), std::string::npos) << server_error;
  EXPECT_NE(handshake(**server, **stranger, "localhost", &server_error), "");
  EXPECT_NE(server_error.find("certificate verify failed"), std::string::npos) << server_error;
}

TEST_F(TlsContextTest, UnusableFilesAreRefusedWithTheirName) {
  auto missing = makeServerContext(file("nope.pem"), file("server.key"), "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), "bad_request");
  EXPECT_NE(missing.status().message().find("nope.pem"), std::string::npos) << missing.status().message();
  auto mismatch = makeServerContext(file("server.pem"), file("client.key"), "");
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.status().message().find("does not match"), std::string::npos) << mismatch.status().message();
  auto not_pem = makeServerContext(file("server.key"), file("server.key"), "");
  ASSERT_FALSE(not_pem);
  EXPECT_NE(not_pem.status().message().find("no PEM certificate"), std::string::npos) << not_pem.status().message();
  auto half = makeClientContext(file("ca.pem"), file("client.pem"), "");
  ASSERT_FALSE(half);
  EXPECT_EQ(half.status().code(), "bad_request");
  auto bad_ca = makeClientContext(file("client.key"), "", "");
  ASSERT_FALSE(bad_ca);
  EXPECT_NE(bad_ca.status().message().find("TLS CA file"), std::string::npos) << bad_ca.status().message();
}

TEST(LooksLikeTls, TellsTlsRecordsFromCorveeFrames) {
  EXPECT_TRUE(looksLikeTls(std::string("\x15\x03\x03\x00\x02\x02\x46", 7)));  // an alert
  EXPECT_TRUE(looksLikeTls(std::string("\x16\x03\x01\x00\xa5", 5)));          // a handshake
  EXPECT_FALSE(looksLikeTls(std::string("\x1a\x00\x00\x00\x02", 5)));         // a short frame
  EXPECT_FALSE(looksLikeTls(std::string("\x16\x03", 2)));                     // too short to tell
}

}  // namespace
}  // namespace corvee::net
