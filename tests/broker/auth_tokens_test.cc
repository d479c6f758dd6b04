#include "broker/auth_tokens.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace corvee::broker {
namespace {

const std::string kClientToken = "client-0123456789abcdef";
const std::string kWorkerToken = "worker-0123456789abcdef";
const std::string kAdminToken = "admin-0123456789abcdef";

TEST(TokenTableTest, EachTokenGrantsItsRoleAndNothingElseIsFound) {
  auto table = TokenTable::parse("# tokens\n\n" + kClientToken + " client\n  " + kWorkerToken + "\tworker  \r\n" +
                                     kAdminToken + " admin",
                                 "tokens");
  ASSERT_TRUE(table.isOk()) << table.status().toString();
  EXPECT_EQ(table->size(), 3u);
  EXPECT_EQ(table->find(kClientToken), Access::kClient);
  EXPECT_EQ(table->find(kWorkerToken), Access::kWorker);
  EXPECT_EQ(table->find(kAdminToken), Access::kAdmin);
  EXPECT_EQ(table->find(""), std::nullopt);
  EXPECT_EQ(table->find(kAdminToken + "x"), std::nullopt);
  EXPECT_EQ(table->find(kAdminToken.substr(1)), std::nullopt);
  EXPECT_EQ(table->find(TokenTable::digest(kWorkerToken)), Access::kWorker);
}

// Each malformed file is refused with its line named, never with the token on it.
TEST(TokenTableTest, MalformedFilesAreRefusedNamingTheLine) {
  struct Case {
    std::string text;
    std::string says;
  };
  const std::vector<Case> cases = {
      {kClientToken + "\n", "tokens:1: expected `TOKEN ROLE`"},
      {"# x\n" + kClientToken + " client extra\n", "tokens:2: expected `TOKEN ROLE`"},
      {kClientToken + " root\n", "tokens:1: unknown role 'root'"},
      {"short client\n", "tokens:1: a token must be 16 to 1024 characters long (this one has 5)"},
      {std::string(1025, 'a') + " admin\n", "this one has 1025"},
      {kClientToken + " client\n" + kClientToken + " admin\n", "tokens:2: this token is already listed above"},
      {"caf\xc3\xa9-0123456789abcdef client\n", "tokens:1: a token must be visible ASCII"},
      {"# nothing but comments\n\n", "tokens: no tokens"},
      {"", "tokens: no tokens"},
  };
  for (const Case& c : cases) {
    auto table = TokenTable::parse(c.text, "tokens");
    ASSERT_FALSE(table.isOk()) << c.text;
    EXPECT_EQ(table.status().code(), "bad_request");
    EXPECT_NE(table.status().message().find(c.says), std::string::npos) << table.status().message();
    EXPECT_EQ(table.status().message().find(kClientToken), std::string::npos) << "the token was quoted";
  }
}

TEST(TokenTableTest, LoadReadsAFileAndAMissingOneIsUnavailable) {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("corvee-tokens-" + std::to_string(::getpid()));
  {
    std::ofstream out(path);
    out << kAdminToken << " admin\n";
  }
  auto table = TokenTable::load(path.string());
  ASSERT_TRUE(table.isOk()) << table.status().toString();
  EXPECT_EQ(table->find(kAdminToken), Access::kAdmin);
  std::filesystem::remove(path);
  auto missing = TokenTable::load(path.string());
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().code(), "unavailable");
  EXPECT_NE(missing.status().message().find(path.string()), std::string::npos);
}

TEST(AccessTest, WorkersServeAndAdminsControl) {
  using protocol::MsgType;
  EXPECT_EQ(neededFor(MsgType::kSubmit), Access::kClient);
  EXPECT_EQ(neededFor(MsgType::kStatus), Access::kClient);
  EXPECT_EQ(neededFor(MsgType::kListJobs), Access::kClient);
  EXPECT_EQ(neededFor(MsgType::kPing), Access::kClient);
  for (MsgType type : {MsgType::kRegister, MsgType::kComplete, MsgType::kFail, MsgType::kDrain}) {
    EXPECT_EQ(neededFor(type), Access::kWorker) << protocol::msgTypeName(static_cast<std::uint8_t>(type));
  }
  for (MsgType type : {MsgType::kCancelJob, MsgType::kPurge, MsgType::kPause, MsgType::kDeadRetry,
                       MsgType::kDeadPurge, MsgType::kRate, MsgType::kCronAdd, MsgType::kCronRemove,
                       MsgType::kCronPause}) {
    EXPECT_EQ(neededFor(type), Access::kAdmin) << protocol::msgTypeName(static_cast<std::uint8_t>(type));
  }
  EXPECT_EQ(neededFor(protocol::Role::kClient), Access::kClient);
  EXPECT_EQ(neededFor(protocol::Role::kWorker), Access::kWorker);
  EXPECT_EQ(parseAccess("admin"), Access::kAdmin);
  EXPECT_EQ(parseAccess("Admin"), std::nullopt);
  EXPECT_EQ(accessName(Access::kWorker), "worker");
}

}  // namespace
}  // namespace corvee::broker
