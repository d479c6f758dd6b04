// Issue 13, TLS: a broker run with --tls-cert/--tls-key serves the wire protocol over TLS only.
// Real broker and worker processes, certificates made by `corvee certs make`; peers are the CLI,
// the C++ client library, and raw sockets from this process.
//
// Covered: submit + worker end to end over TLS; mutual TLS (--tls-client-ca) lets in a peer with a
// certificate from that CA and refuses one without a certificate or with one from another CA; a
// client that trusts another CA refuses the broker; a plain-TCP peer on the TLS port gets no frame
// and is closed while TLS peers are served on; a connection that never starts the handshake is
// dropped after the peer timeout; the CLI without --tls-ca fails with a clear message; the
// broker's TLS flags are checked at start. The HTTP API is served over HTTPS with the same
// certificate (and client CA), checked with curl.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "corvee/client.h"
#include "corvee/errors.h"
#include "support/process.h"
#include "support/wire_client.h"

namespace corvee::testing {
namespace {

using namespace std::chrono_literals;

// Two sets of certificates from `corvee certs make`: `ours` (the broker's CA) and `other` (a CA
// the broker knows nothing of).
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const std::string& dir : {ours(), other()}) {
      CommandResult made = runCorvee({"certs", "make", dir});
      ASSERT_EQ(made.exit_code, 0) << made.describe();
    }
  }

  std::string ours(const std::string& name = "") const { return dir_.path() + "/ours" + (name.empty() ? "" : "/" + name); }
  std::string other(const std::string& name = "") const {
    return dir_.path() + "/other" + (name.empty() ? "" : "/" + name);
  }
  // The broker's TLS flags, plus mutual TLS with `client_ca` when not empty.
  std::vector<std::string> brokerTls(const std::string& client_ca = "") const {
    std::vector<std::string> args = {"--tls-cert", ours("broker.pem"), "--tls-key", ours("broker.key")};
    if (!client_ca.empty()) args.insert(args.end(), {"--tls-client-ca", client_ca});
    return args;
  }

  // A client of `broker` trusting `ca`, with `cert`/`key` when given.
  Result<std::unique_ptr<Client>> connect(const BrokerProcess& broker, const std::string& ca,
                                          const std::string& cert = "", const std::string& key = "",
                                          std::chrono::milliseconds timeout = 10s) {
    ClientOptions options;
    options.endpoint = broker.endpoint();
    options.connect_timeout = timeout;
    options.tls_ca_file = ca;
    options.tls_cert_file = cert;
    options.tls_key_file = key;
    return Client::connect(options);
  }

  TempDir dir_;
};

TEST_F(TlsTest, SubmitAndWorkerEndToEnd) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(brokerTls()));
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 2, {"--tls-ca", ours("ca.pem")}));

  CommandResult submitted = runCorvee(
      {"submit", "echo", "over tls", "--wait", "--connect", broker.endpoint(), "--tls-ca", ours("ca.pem")}, {}, 60s);
  ASSERT_EQ(submitted.exit_code, 0) << submitted.describe() << "\nbroker: " << broker.process().describe();
  EXPECT_EQ(submitted.out, "over tls");

  // The library, with the host given as a name: the certificate names localhost too.
  ClientOptions options;
  options.endpoint = "tcp://localhost:" + std::to_string(broker.port());
  options.connect_timeout = 10s;
  options.tls_ca_file = ours("ca.pem");
  auto client = Client::connect(options);
  ASSERT_TRUE(client) << client.status().toString();
  std::vector<JobHandle> jobs;
  for (int i = 0; i < 50; ++i) jobs.push_back((*client)->submit("reverse", "job " + std::to_string(i)));
  for (int i = 0; i < 50; ++i) {
    auto outcome = jobs[i].wait(60s);
    ASSERT_TRUE(outcome) << outcome.status().toString();
    std::string payload = "job " + std::to_string(i);
    EXPECT_EQ(outcome->result, std::string(payload.rbegin(), payload.rend()));
  }
  // The same from the environment, as the CLI documents it.
  CommandResult via_env = runCommand({"/usr/bin/env", "CORVEE_TLS_CA=" + ours("ca.pem"), corveeBinary(), "submit",
                                      "echo", "from env", "--wait", "--connect", broker.endpoint()},
                                     {}, 60s);
  ASSERT_EQ(via_env.exit_code, 0) << via_env.describe();
  EXPECT_EQ(via_env.out, "from env");
}

TEST_F(TlsTest, MutualTlsNeedsACertificateFromTheClientCa) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(brokerTls(ours("ca.pem"))));

  auto with_cert = connect(broker, ours("ca.pem"), ours("client.pem"), ours("client.key"));
  ASSERT_TRUE(with_cert) << with_cert.status().toString();
  EXPECT_TRUE((*with_cert)->stats());

  auto without = connect(broker, ours("ca.pem"), "", "", 1500ms);
  ASSERT_FALSE(without);
  EXPECT_EQ(without.status().code(), errc::kTlsError) << without.status().toString();
  EXPECT_NE(without.status().message().find("certificate"), std::string::npos) << without.status().toString();

  auto stranger = connect(broker, ours("ca.pem"), other("client.pem"), other("client.key"), 1500ms);
  ASSERT_FALSE(stranger);
  EXPECT_EQ(stranger.status().code(), errc::kTlsError) << stranger.status().toString();

  // Each refusal is one clear line in the broker's log, and the broker serves on.
  EXPECT_TRUE(eventually([&] {
    std::string err = broker.process().err();
    return err.find("TLS handshake failed: peer did not return a certificate") != std::string::npos &&
           err.find("TLS handshake failed: certificate verify failed") != std::string::npos;
  })) << broker.process().describe();
  EXPECT_TRUE((*with_cert)->stats());
  auto again = connect(broker, ours("ca.pem"), ours("client.pem"), ours("client.key"));
  ASSERT_TRUE(again) << again.status().toString();

  // A worker needs its certificate too.
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1,
                           {"--tls-ca", ours("ca.pem"), "--tls-cert", ours("client.pem"), "--tls-key", ours("client.key")}));
  auto outcome = (*again)->submit("echo", "mutual").wait(60s);
  ASSERT_TRUE(outcome) << outcome.status().toString();
  EXPECT_EQ(outcome->result, "mutual");
}

// A failed certificate check is certain (the next attempt meets the same certificate): the
// client, the CLI and a worker that never connected give up at once with the reason, instead of
// retrying until a connect timeout (here minutes, beyond the tests' own limits).
TEST_F(TlsTest, ClientTrustingAnotherCaRefusesTheBrokerAtOnce) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(brokerTls()));
  auto client = connect(broker, other("ca.pem"), "", "", 200s);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.status().code(), errc::kTlsError);
  EXPECT_NE(client.status().message().find("certificate verify failed"), std::string::npos)
      << client.status().toString();

  CommandResult cli = runCorvee(
      {"stats", "--connect", broker.endpoint(), "--tls-ca", other("ca.pem"), "--connect-timeout-ms", "600000"}, {}, 120s);
  EXPECT_NE(cli.exit_code, 0) << cli.describe();
  EXPECT_NE(cli.err.find("tls_error"), std::string::npos) << cli.describe();
  EXPECT_NE(cli.err.find("certificate verify failed"), std::string::npos) << cli.describe();

  // No --connect-timeout-ms: a worker otherwise waits for its broker for ever.
  CommandResult worker = runCorvee({"worker", "--builtin", "--connect", broker.endpoint(), "--tls-ca", other("ca.pem")}, {}, 120s);
  EXPECT_NE(worker.exit_code, 0) << worker.describe();
  EXPECT_NE(worker.err.find("certificate verify failed"), std::string::npos) << worker.describe();
}

TEST_F(TlsTest, PlainTcpPeerOnTheTlsPortGetsATlsAlertAndIsClosed) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(brokerTls()));
  auto tls_client = connect(broker, ours("ca.pem"));
  ASSERT_TRUE(tls_client) << tls_client.status().toString();

  WireClient plain;
  ASSERT_TRUE(plain.connect(broker.port()));
  protocol::HelloMsg hello;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  hello.name = "plain";
  ASSERT_TRUE(plain.send(1, hello));
  // No frame (no WELCOME, no ERROR, no PING): one TLS record, a fatal protocol_version alert, and
  // the connection is closed.
  std::string answer;
  EXPECT_TRUE(plain.readRawUntilClosed(answer, 20s));
  EXPECT_EQ(answer, std::string("\x15\x03\x01\x00\x02\x02\x46", 7));
  EXPECT_TRUE(eventually([&] {
    std::string err = broker.process().err();
    return err.find("TLS handshake failed") != std::string::npos && err.find("plain-TCP") != std::string::npos;
  })) << broker.process().describe();

  // The broker serves its TLS peers on, old and new.
  EXPECT_TRUE((*tls_client)->stats());
  auto another = connect(broker, ours("ca.pem"));
  ASSERT_TRUE(another) << another.status().toString();
  EXPECT_TRUE((*another)->stats());
}

TEST_F(TlsTest, ConnectionThatNeverHandshakesIsDroppedAfterThePeerTimeout) {
  BrokerProcess broker;
  std::vector<std::string> args = brokerTls();
  args.insert(args.end(), {"--heartbeat-ms", "100", "--peer-timeout-ms", "500"});
  ASSERT_TRUE(broker.start(args));
  WireClient silent;
  ASSERT_TRUE(silent.connect(broker.port()));
  // Sends nothing at all: no ClientHello. The broker must neither wait for ever nor write to it.
  EXPECT_TRUE(silent.expectClosed(30s));
  EXPECT_NE(broker.process().err().find("silent for more than 500 ms"), std::string::npos)
      << broker.process().describe();
  auto client = connect(broker, ours("ca.pem"));
  ASSERT_TRUE(client) << client.status().toString();
  EXPECT_TRUE((*client)->stats());
}

// The broker's TLS alert makes the answer certain: each fails at once, not after its connect
// timeout (ten minutes here, longer than the test's own limit; the worker has none at all).
TEST_F(TlsTest, CliWithoutTlsCaFailsWithAClearMessage) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(brokerTls()));
  CommandResult stats = runCorvee({"stats", "--connect", broker.endpoint(), "--connect-timeout-ms", "600000"}, {}, 120s);
  EXPECT_EQ(stats.exit_code, 3) << stats.describe();
  EXPECT_NE(stats.err.find("tls_error"), std::string::npos) << stats.describe();
  EXPECT_NE(stats.err.find("is the broker using TLS?"), std::string::npos) << stats.describe();

  ClientOptions options;
  options.endpoint = broker.endpoint();
  options.connect_timeout = 600s;
  auto plain = Client::connect(options);
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.status().code(), errc::kTlsError) << plain.status().toString();
  EXPECT_NE(plain.status().message().find("is the broker using TLS?"), std::string::npos) << plain.status().toString();

  // A worker that never connected gives up with the same hint.
  CommandResult worker = runCorvee({"worker", "--builtin", "--connect", broker.endpoint()}, {}, 120s);
  EXPECT_NE(worker.exit_code, 0) << worker.describe();
  EXPECT_NE(worker.err.find("is the broker using TLS?"), std::string::npos) << worker.describe();
}

TEST_F(TlsTest, TlsClientAgainstAPlainBrokerFailsClearly) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start({"--heartbeat-ms", "100"}));
  auto client = connect(broker, ours("ca.pem"), "", "", 1500ms);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.status().code(), errc::kTlsError) << client.status().toString();
  EXPECT_NE(client.status().message().find("plain TCP"), std::string::npos) << client.status().toString();
}

// curl (scripts/install-deps installs it) against the broker's HTTP port: "-w" appends the
// status code on a line of its own.
CommandResult curl(const BrokerProcess& broker, const std::string& scheme, const std::string& target,
                   std::vector<std::string> options) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--max-time", "30", "-w", "\n%{http_code}"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(scheme + "://127.0.0.1:" + std::to_string(broker.httpPort()) + target);
  return runCommand(argv, {}, 60s);
}

TEST_F(TlsTest, HttpApiIsServedOverHttpsWithTheBrokersCertificate) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(brokerTls()));
  ASSERT_NE(broker.httpPort(), 0);
  EXPECT_NE(broker.process().out().find("http on https://"), std::string::npos) << broker.process().describe();
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1, {"--tls-ca", ours("ca.pem")}));

  CommandResult submitted = curl(broker, "https", "/v1/jobs?wait=20000",
                                 {"--cacert", ours("ca.pem"), "-X", "POST", "-d", R"({"task":"echo","payload":"over https"})"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.describe();
  EXPECT_NE(submitted.out.find("\"succeeded\""), std::string::npos) << submitted.describe();
  EXPECT_NE(submitted.out.find("over https"), std::string::npos) << submitted.describe();

  // A client that does not trust the broker's CA refuses it (curl: 60, certificate problem).
  CommandResult untrusted = curl(broker, "https", "/healthz", {"--cacert", other("ca.pem")});
  EXPECT_EQ(untrusted.exit_code, 60) << untrusted.describe();

  // Plain HTTP on the HTTPS port: told so in plain text, and the broker serves on.
  CommandResult plain = curl(broker, "http", "/healthz", {});
  EXPECT_EQ(plain.exit_code, 0) << plain.describe();
  EXPECT_NE(plain.out.find("serves HTTPS on this port"), std::string::npos) << plain.describe();
  EXPECT_TRUE(plain.out.ends_with("\n400")) << plain.describe();
  CommandResult healthy = curl(broker, "https", "/healthz", {"--cacert", ours("ca.pem")});
  EXPECT_EQ(healthy.exit_code, 0) << healthy.describe();
  EXPECT_TRUE(healthy.out.ends_with("\n200")) << healthy.describe();
}

TEST_F(TlsTest, HttpsWithMutualTlsNeedsAClientCertificateFromTheClientCa) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(brokerTls(ours("ca.pem"))));
  CommandResult without = curl(broker, "https", "/healthz", {"--cacert", ours("ca.pem")});
  EXPECT_NE(without.exit_code, 0) << without.describe();
  CommandResult foreign =
      curl(broker, "https", "/healthz", {"--cacert", ours("ca.pem"), "--cert", other("client.pem"), "--key", other("client.key")});
  EXPECT_NE(foreign.exit_code, 0) << foreign.describe();
  CommandResult ours_cert =
      curl(broker, "https", "/healthz", {"--cacert", ours("ca.pem"), "--cert", ours("client.pem"), "--key", ours("client.key")});
  EXPECT_EQ(ours_cert.exit_code, 0) << ours_cert.describe();
  EXPECT_TRUE(ours_cert.out.ends_with("\n200")) << ours_cert.describe();
}

TEST_F(TlsTest, BrokerChecksItsTlsFlagsAtStart) {
  CommandResult cert_only =
      runCorvee({"broker", "--store", "memory", "--bind", "tcp://127.0.0.1:0", "--tls-cert", ours("broker.pem")});
  EXPECT_EQ(cert_only.exit_code, 2) << cert_only.describe();
  EXPECT_NE(cert_only.err.find("--tls-cert and --tls-key go together"), std::string::npos) << cert_only.describe();

  CommandResult missing = runCorvee({"broker", "--store", "memory", "--bind", "tcp://127.0.0.1:0", "--tls-cert",
                                     ours("nope.pem"), "--tls-key", ours("broker.key")});
  EXPECT_EQ(missing.exit_code, 2) << missing.describe();
  EXPECT_NE(missing.err.find("cannot read " + ours("nope.pem")), std::string::npos) << missing.describe();

  CommandResult mismatch = runCorvee({"broker", "--store", "memory", "--bind", "tcp://127.0.0.1:0", "--tls-cert",
                                      ours("broker.pem"), "--tls-key", ours("client.key")});
  EXPECT_EQ(mismatch.exit_code, 2) << mismatch.describe();
  EXPECT_NE(mismatch.err.find("does not match the certificate"), std::string::npos) << mismatch.describe();

  CommandResult client_ca_alone = runCorvee(
      {"broker", "--store", "memory", "--bind", "tcp://127.0.0.1:0", "--tls-client-ca", ours("ca.pem")});
  EXPECT_EQ(client_ca_alone.exit_code, 2) << client_ca_alone.describe();
}

TEST_F(TlsTest, CertsMakeRefusesToOverwriteUnlessForced) {
  CommandResult again = runCorvee({"certs", "make", ours()});
  EXPECT_EQ(again.exit_code, 2) << again.describe();
  EXPECT_NE(again.err.find("exists already"), std::string::npos) << again.describe();
  CommandResult bad_host = runCorvee({"certs", "make", dir_.file("bad"), "--host", "not a host"});
  EXPECT_EQ(bad_host.exit_code, 2) << bad_host.describe();
  CommandResult forced = runCorvee({"certs", "make", ours(), "--force", "--host", "broker.example.com", "--days", "2"});
  EXPECT_EQ(forced.exit_code, 0) << forced.describe();
  EXPECT_NE(forced.out.find("broker.example.com"), std::string::npos) << forced.describe();
  struct stat info {};
  ASSERT_EQ(::stat(ours("broker.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(ours("ca.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace corvee::testing
