// Core with --auth-tokens: who is let in, what each token's role may do, and a reload of the file.
#include <gtest/gtest.h>

#include "broker/core_fixture.h"
#include "corvee/errors.h"

namespace corvee::broker::test {
namespace {

const std::string kClientToken = "client-0123456789abcdef";
const std::string kWorkerToken = "worker-0123456789abcdef";
const std::string kAdminToken = "admin-0123456789abcdef";

std::shared_ptr<const TokenTable> tokens(const std::string& text) {
  auto table = TokenTable::parse(text, "tokens");
  EXPECT_TRUE(table.isOk()) << table.status().toString();
  return std::make_shared<const TokenTable>(std::move(*table));
}

class CoreAuthTest : public CoreTest {
 protected:
  void SetUp() override {
    core().setTokens(tokens(kClientToken + " client\n" + kWorkerToken + " worker\n" + kAdminToken + " admin\n"));
  }

  // Greets with `token` in `role` at protocol `version` and returns the peer and HELLO's request id.
  std::pair<PeerId, std::uint32_t> greet(protocol::Role role, std::string_view token,
                                         std::uint16_t version = protocol::kVersion) {
    PeerId id = connect();
    protocol::HelloMsg hello;
    hello.version = version;
    hello.role = static_cast<std::uint8_t>(role);
    hello.name = "peer";
    hello.token = token;
    std::string wire;
    std::uint32_t rid = next_request_++;
    // As a peer of that version lays it out: older ones have no token field.
    protocol::encode(wire, rid, hello, version);
    deliver(id, wire);
    return {id, rid};
  }
  // A peer let in with `token` in `role`.
  PeerId admitted(protocol::Role role, std::string_view token) {
    auto [id, rid] = greet(role, token);
    auto welcomes = takeType(id, MsgType::kWelcome);
    auto errs = errors(id);
    EXPECT_EQ(welcomes.size(), 1u) << (errs.empty() ? "" : errs[0].code + ": " + errs[0].message);
    EXPECT_FALSE(outbox_.closing(id));
    return id;
  }
  void expectRefused(protocol::Role role, std::string_view token, std::string_view code,
                     std::uint16_t version = protocol::kVersion) {
    auto [id, rid] = greet(role, token, version);
    expectError(id, rid, code);
    EXPECT_TRUE(takeType(id, MsgType::kWelcome).empty());
    EXPECT_TRUE(outbox_.closing(id)) << "a refused peer must be closed";
  }
};

TEST_F(CoreAuthTest, APeerWithoutAValidTokenIsRefusedBeforeItCanDoAnything) {
  expectRefused(protocol::Role::kClient, "", errc::kUnauthenticated);
  expectRefused(protocol::Role::kWorker, "", errc::kUnauthenticated);
  expectRefused(protocol::Role::kWorker, "not-a-token-0123456789", errc::kUnauthenticated);
  expectRefused(protocol::Role::kClient, kAdminToken + " ", errc::kUnauthenticated);
  // A peer older than version 6 cannot carry a token at all.
  expectRefused(protocol::Role::kClient, "", errc::kUnauthenticated, 5);
  // Frames after a refused HELLO are not served: the peer never got past the greeting.
  auto [id, rid] = greet(protocol::Role::kClient, "");
  errors(id);
  std::uint32_t submit_rid = send(id, submitMsg({}));
  expectError(id, submit_rid, errc::kBadRequest);  // "the first frame must be HELLO"
  EXPECT_TRUE(takeType(id, MsgType::kSubmitted).empty());
}

TEST_F(CoreAuthTest, AClientTokenCannotRegisterAsAWorker) {
  expectRefused(protocol::Role::kWorker, kClientToken, errc::kPermissionDenied);
  admitted(protocol::Role::kWorker, kWorkerToken);
  admitted(protocol::Role::kWorker, kAdminToken);
}

TEST_F(CoreAuthTest, EachRoleDoesWhatItAllowsAndIsRefusedTheRest) {
  PeerId c = admitted(protocol::Role::kClient, kClientToken);
  JobId job = submit(c);
  ASSERT_NE(job, 0u);
  // A client may read ...
  std::uint32_t rid = send(c, protocol::StatusMsg{job});
  EXPECT_EQ(takeType(c, MsgType::kJobInfo).size(), 1u);
  EXPECT_TRUE(errors(c).empty());
  // ... but not control, nor act as a worker.
  rid = send(c, protocol::CancelJobMsg{job});
  expectError(c, rid, errc::kPermissionDenied);
  rid = send(c, protocol::PauseMsg{"echo", 1});
  expectError(c, rid, errc::kPermissionDenied);
  rid = send(c, protocol::CompleteMsg{job, 1, {"forged"}});
  expectError(c, rid, errc::kPermissionDenied);
  EXPECT_FALSE(outbox_.closing(c)) << "a refused request is an answer, not a reason to close";

  // A worker token serves jobs (and may submit: handlers submit follow-up jobs).
  PeerId w = admitted(protocol::Role::kWorker, kWorkerToken);
  expectOk(w, send(w, protocol::RegisterMsg{1, {"echo"}, 0}));
  flush();
  ASSERT_EQ(assigns(w).size(), 1u);
  rid = send(w, protocol::CancelJobMsg{job});
  expectError(w, rid, errc::kPermissionDenied);

  // An admin controls.
  PeerId a = admitted(protocol::Role::kClient, kAdminToken);
  rid = send(a, protocol::CancelJobMsg{job});
  expectOk(a, rid);
}

TEST_F(CoreAuthTest, AReloadClosesPeersWhoseTokensWentAwayAndRegrantsTheRest) {
  PeerId c = admitted(protocol::Role::kClient, kClientToken);
  PeerId w = admitted(protocol::Role::kWorker, kWorkerToken);
  PeerId a = admitted(protocol::Role::kClient, kAdminToken);
  // The worker token now only submits; the client token is gone; the admin's is a client's.
  core().setTokens(tokens(kWorkerToken + " client\n" + kAdminToken + " client\n"));
  auto closed_with = [&](PeerId peer, std::string_view code) {
    auto errs = errors(peer);
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].code, code) << errs[0].message;
    EXPECT_TRUE(outbox_.closing(peer));
  };
  closed_with(c, errc::kUnauthenticated);
  closed_with(w, errc::kPermissionDenied);
  EXPECT_FALSE(outbox_.closing(a));
  std::uint32_t rid = send(a, protocol::PauseMsg{"echo", 1});
  expectError(a, rid, errc::kPermissionDenied);
  // A token added by the reload lets a new peer in.
  core().setTokens(tokens(kWorkerToken + " client\n" + "fresh-0123456789abcdef admin\n"));
  admitted(protocol::Role::kWorker, "fresh-0123456789abcdef");
}

TEST_F(CoreAuthTest, TrustedPeersAreGrantedAccessPerRequest) {
  PeerId http = next_peer_++;
  outbox_.connect(http);
  core().onConnect(http, "http:127.0.0.1:1", /*trusted=*/true);
  protocol::HelloMsg hello;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  hello.name = "http";
  send(http, hello);
  ASSERT_EQ(takeType(http, MsgType::kWelcome).size(), 1u);
  EXPECT_EQ(core().accessFor(kClientToken), Access::kClient);
  EXPECT_EQ(core().accessFor("nope-0123456789abcdef"), std::nullopt);
  ASSERT_NE(submit(http), 0u);  // a task with a job can be paused
  core().setAccess(http, Access::kClient);
  std::uint32_t rid = send(http, protocol::PauseMsg{"echo", 1});
  expectError(http, rid, errc::kPermissionDenied);
  core().setAccess(http, Access::kAdmin);
  expectOk(http, send(http, protocol::PauseMsg{"echo", 1}));
}

TEST_F(CoreTest, WithoutTokensEveryPeerOfEveryVersionMayDoEverything) {
  EXPECT_FALSE(core().authRequired());
  EXPECT_EQ(core().accessFor(""), Access::kAdmin);
  PeerId id = connect();
  protocol::HelloMsg hello;
  hello.version = 1;
  hello.role = static_cast<std::uint8_t>(protocol::Role::kClient);
  hello.name = "old";
  std::string wire;
  protocol::encode(wire, 1, hello, 1);
  deliver(id, wire);
  ASSERT_EQ(takeType(id, MsgType::kWelcome).size(), 1u);
  PeerId c = client();
  ASSERT_NE(submit(c), 0u);
  expectOk(c, send(c, protocol::PauseMsg{"echo", 1}));
}

}  // namespace
}  // namespace corvee::broker::test
