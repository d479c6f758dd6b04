// Tokens through real processes (issue 13): a broker run with --auth-tokens, workers and CLI
// commands with no token, a wrong one, one of the wrong role and the right one; HTTP bearer
// tokens; the token file re-read on SIGHUP; older peers.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "protocol/messages.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/wire_client.h"

namespace corvee::testing {
namespace {

using namespace std::chrono_literals;

const std::string kClientToken = "client-token-0123456789";
const std::string kWorkerToken = "worker-token-0123456789";
const std::string kAdminToken = "admin-token-0123456789";

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writeTokens(kClientToken + " client\n" + kWorkerToken + " worker\n" + kAdminToken + " admin\n");
    ASSERT_TRUE(broker_.start({"--auth-tokens", tokens_file()}));
  }
  std::string tokens_file() const { return dir_.file("tokens"); }
  void writeTokens(const std::string& text) {
    std::ofstream out(tokens_file(), std::ios::trunc);
    out << "# TOKEN ROLE\n" << text;
  }
  // `corvee ARGS... --connect EP` with `token` (none when empty).
  CommandResult corvee(std::vector<std::string> args, const std::string& token) {
    args.insert(args.end(), {"--connect", broker_.endpoint(), "--connect-timeout-ms", "10000"});
    if (!token.empty()) args.insert(args.end(), {"--token", token});
    return runCorvee(args);
  }
  std::string submit(const std::string& payload) {
    CommandResult submitted = corvee({"submit", "reverse", payload}, kClientToken);
    EXPECT_EQ(submitted.exit_code, 0) << submitted.describe();
    std::string id = submitted.out;
    while (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }
  // A worker started with `extra` is refused: it exits 3 at once with `code` on stderr.
  void expectWorkerRefused(const std::vector<std::string>& extra, const std::string& code) {
    WorkerProcess worker;
    ASSERT_TRUE(worker.start(broker_.endpoint(), 1, extra));
    auto ended = worker.process().wait(20s);
    ASSERT_TRUE(ended.has_value()) << "a refused worker must exit, not retry forever: " << worker.process().describe();
    EXPECT_TRUE(ended->exitedWith(3)) << ended->toString() << "\n" << worker.process().describe();
    EXPECT_NE(worker.process().err().find(code), std::string::npos) << worker.process().err();
  }
  std::string state(const std::string& id) {
    CommandResult status = corvee({"status", id}, kClientToken);
    EXPECT_EQ(status.exit_code, 0) << status.describe();
    auto doc = nlohmann::json::parse(status.out, nullptr, false);
    return doc.is_object() ? doc.value("state", "") : status.out;
  }

  TempDir dir_;
  BrokerProcess broker_;
};

TEST_F(AuthTest, AWorkerWithoutAValidTokenCannotTakeAJob) {
  std::string id = submit("hello");
  ASSERT_FALSE(id.empty());
  expectWorkerRefused({}, "unauthenticated");
  expectWorkerRefused({"--token", "wrong-token-0123456789"}, "unauthenticated");
  expectWorkerRefused({"--token", kClientToken}, "permission_denied");
  EXPECT_EQ(state(id), "queued") << "no refused worker may have taken the job";

  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker_.endpoint(), 1, {"--token", kWorkerToken}));
  CommandResult waited = corvee({"wait", id}, kClientToken);
  EXPECT_EQ(waited.exit_code, 0) << waited.describe();
  EXPECT_EQ(waited.out, "olleh");
  // The token never reaches the broker's log.
  EXPECT_EQ(broker_.process().err().find(kWorkerToken), std::string::npos);
  EXPECT_EQ(broker_.process().err().find("wrong-token"), std::string::npos);
}

TEST_F(AuthTest, ClientsNeedATokenAndControlsAnAdminOne) {
  CommandResult none = corvee({"submit", "reverse", "x"}, "");
  EXPECT_EQ(none.exit_code, 3) << none.describe();
  EXPECT_NE(none.err.find("unauthenticated"), std::string::npos) << none.describe();
  CommandResult wrong = corvee({"stats"}, "wrong-token-0123456789");
  EXPECT_EQ(wrong.exit_code, 3) << wrong.describe();
  EXPECT_NE(wrong.err.find("the token is not valid"), std::string::npos) << wrong.describe();

  // From the environment, as the docs advise (it keeps the token out of `ps`).
  CommandResult from_env = runCommand({"/usr/bin/env", "CORVEE_TOKEN=" + kClientToken, corveeBinary(), "stats",
                                       "--connect", broker_.endpoint()});
  EXPECT_EQ(from_env.exit_code, 0) << from_env.describe();

  ASSERT_FALSE(submit("z").empty());  // a task with a job can be paused
  CommandResult pause = corvee({"pause", "reverse"}, kClientToken);
  EXPECT_EQ(pause.exit_code, 3) << pause.describe();
  EXPECT_NE(pause.err.find("permission_denied"), std::string::npos) << pause.describe();
  pause = corvee({"pause", "reverse"}, kWorkerToken);
  EXPECT_EQ(pause.exit_code, 3) << pause.describe();
  pause = corvee({"pause", "reverse"}, kAdminToken);
  EXPECT_EQ(pause.exit_code, 0) << pause.describe();
  CommandResult cancel = corvee({"cancel", submit("y")}, kClientToken);
  EXPECT_EQ(cancel.exit_code, 3) << cancel.describe();
  EXPECT_NE(cancel.err.find("permission_denied"), std::string::npos) << cancel.describe();
}

TEST_F(AuthTest, EveryHttpCallButHealthAndTheDashboardFilesNeedsABearerToken) {
  ASSERT_NE(broker_.httpPort(), 0);
  HttpClient http(broker_.httpPort());
  HttpReply reply = http.get("/v1/stats");
  EXPECT_EQ(reply.status, 401u) << reply.describe();
  EXPECT_EQ(reply.header("www-authenticate"), "Bearer realm=\"corvee\"");
  EXPECT_EQ(reply.json()["error"]["code"], "unauthenticated");
  EXPECT_EQ(http.get("/metrics").status, 401u);
  EXPECT_EQ(http.post("/v1/jobs", R"({"task":"reverse","payload":"x"})").status, 401u);
  EXPECT_EQ(http.get("/healthz").status, 200u);
  EXPECT_EQ(http.get("/").status, 200u);

  http.setAuthorization("Bearer wrong-token-0123456789");
  EXPECT_EQ(http.get("/v1/stats").status, 401u);
  http.setAuthorization("Basic " + kAdminToken);
  EXPECT_EQ(http.get("/v1/stats").status, 401u) << "only the Bearer scheme";

  http.setAuthorization("bearer " + kClientToken);
  reply = http.get("/v1/stats");
  EXPECT_EQ(reply.status, 200u) << reply.describe();
  reply = http.post("/v1/jobs", R"({"task":"reverse","payload":"x"})");
  EXPECT_EQ(reply.status, 201u) << reply.describe();
  reply = http.post("/v1/queues/reverse/pause", "");
  EXPECT_EQ(reply.status, 403u) << reply.describe();
  EXPECT_EQ(reply.json()["error"]["code"], "permission_denied");

  // The same connection, another token: each request is judged by its own.
  http.setAuthorization("Bearer " + kAdminToken);
  reply = http.post("/v1/queues/reverse/pause", "");
  EXPECT_EQ(reply.status, 200u) << reply.describe();
  http.setAuthorization("");
  EXPECT_EQ(http.post("/v1/queues/reverse/resume", "").status, 401u);
}

TEST_F(AuthTest, SighupRereadsTheTokenFileAndClosesWhatItNoLongerLetsIn) {
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker_.endpoint(), 1, {"--token", kWorkerToken}));
  CommandResult waited = corvee({"wait", submit("abc")}, kClientToken);
  ASSERT_EQ(waited.out, "cba") << waited.describe();

  // A file that does not parse changes nothing.
  writeTokens("not a valid line at all\n");
  ASSERT_TRUE(broker_.process().kill(SIGHUP));
  EXPECT_TRUE(eventually([&] { return broker_.process().err().find("keeping the tokens in force") != std::string::npos; }))
      << broker_.process().describe();
  EXPECT_EQ(corvee({"stats"}, kClientToken).exit_code, 0);
  EXPECT_TRUE(worker.process().running());

  const std::string fresh = "fresh-token-0123456789";
  writeTokens(fresh + " admin\n");
  ASSERT_TRUE(broker_.process().kill(SIGHUP));
  auto ended = worker.process().wait(20s);
  ASSERT_TRUE(ended.has_value()) << "the worker whose token was removed must be closed and stop";
  EXPECT_TRUE(ended->exitedWith(3)) << ended->toString();
  EXPECT_NE(worker.process().err().find("unauthenticated"), std::string::npos) << worker.process().err();
  EXPECT_EQ(corvee({"stats"}, kClientToken).exit_code, 3);
  EXPECT_EQ(corvee({"stats"}, fresh).exit_code, 0);
}

TEST_F(AuthTest, PeersOlderThanVersion6AreRefusedHereAndServedWhereNoTokensAreRequired) {
  // Version 5's HELLO, which has no token field.
  protocol::HelloMsg hello;
  hello.version = 5;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  hello.name = "old";
  std::string frame;
  protocol::encode(frame, 1, hello, 5);

  WireClient wire;
  ASSERT_TRUE(wire.connect(broker_.port()));
  ASSERT_TRUE(wire.sendRaw(frame));
  EXPECT_TRUE(wire.expectError("unauthenticated", 1));
  EXPECT_TRUE(wire.expectClosed());

  BrokerProcess open;
  ASSERT_TRUE(open.start());
  WireClient old_peer;
  ASSERT_TRUE(old_peer.connect(open.port()));
  ASSERT_TRUE(old_peer.sendRaw(frame));
  OwnedFrame welcome;
  EXPECT_TRUE(old_peer.expect(protocol::MsgType::kWelcome, welcome, 1));
}

TEST(AuthFlagsTest, ABrokerWithABadTokenFileDoesNotStart) {
  TempDir dir;
  {
    std::ofstream out(dir.file("tokens"));
    out << "short client\n";
  }
  CommandResult bad = runCorvee({"broker", "--store", "memory", "--bind", "tcp://127.0.0.1:0", "--http", "off",
                                 "--auth-tokens", dir.file("tokens")});
  EXPECT_NE(bad.exit_code, 0) << bad.describe();
  EXPECT_NE(bad.err.find(":1: a token must be 16 to 1024 characters long"), std::string::npos) << bad.describe();
  CommandResult missing = runCorvee({"broker", "--store", "memory", "--bind", "tcp://127.0.0.1:0", "--http", "off",
                                     "--auth-tokens", dir.file("nope")});
  EXPECT_EQ(missing.exit_code, 2) << missing.describe();
}

}  // namespace
}  // namespace corvee::testing
