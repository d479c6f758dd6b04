// A full disk (issue 8, item 10), with a real broker on a small tmpfs: the broker used to exit at
// the first failed commit and die again at every restart on the still-full disk. Now it refuses
// new jobs with store_full, keeps answering, logs once, and carries on by itself when space
// returns, without losing anything it acknowledged.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/small_tmpfs.h"

namespace corvee::testing {
namespace {

constexpr std::uint64_t kDisk = 32 * 1024 * 1024;
// More than the WAL grows between two checkpoints (4 MiB): results and failures must fit in it.
constexpr std::uint64_t kReserve = 8 * 1024 * 1024;
const std::string kPayload(128 * 1024, 'p');  // a dozen or more fit in the room left
const char kEpisodeLog[] = "refusing new jobs with store_full";

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.available()) GTEST_SKIP() << disk_.why();
  }

  ::testing::AssertionResult startBroker(std::uint64_t reserve) {
    return broker_.start({"--disk-reserve", std::to_string(reserve)});
  }

  CommandResult submit(const std::string& payload) {
    return runCorvee({"submit", "parked", "-", "--connect", broker_.endpoint()}, payload);
  }

  // Submits 128 KiB jobs for a task no worker serves until one is refused. Returns the
  // acknowledged ids; `refusal` gets the refused command's result.
  std::vector<std::string> submitUntilRefused(CommandResult& refusal) {
    std::vector<std::string> acknowledged;
    for (int i = 0; i < 200; ++i) {
      CommandResult r = submit(kPayload);
      if (r.exit_code != 0) {
        refusal = r;
        return acknowledged;
      }
      acknowledged.push_back(r.out.substr(0, r.out.find('\n')));
    }
    ADD_FAILURE() << "200 jobs of 128 KiB fit in the 2 MiB left above the reserve";
    return acknowledged;
  }

  nlohmann::json stats() {
    std::string text;
    if (!fetchStats(broker_.endpoint(), text)) return nlohmann::json();
    return nlohmann::json::parse(text, nullptr, false);
  }

  std::string stateOf(const std::string& id) {
    CommandResult r = runCorvee({"status", id, "--connect", broker_.endpoint()});
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    return doc.is_object() && doc.contains("state") ? doc["state"].get<std::string>() : "?" + r.describe();
  }

  SmallTmpfs disk_{kDisk};
  BrokerProcess broker_{BrokerStore::sqlite(disk_.path())};
};

// Below --disk-reserve, new jobs are refused before any write fails; what finishes jobs still
// writes into the reserve.
TEST_F(FullDiskTest, BelowTheReserveNewJobsAreRefusedAndTheBrokerCarriesOnWhenSpaceReturns) {
  ASSERT_TRUE(startBroker(kReserve));
  ASSERT_TRUE(disk_.fill(kReserve + 2 * 1024 * 1024));
  CommandResult refusal;
  std::vector<std::string> acknowledged = submitUntilRefused(refusal);
  ASSERT_FALSE(acknowledged.empty());
  EXPECT_EQ(refusal.exit_code, 3) << refusal.describe();
  EXPECT_NE(refusal.err.find("store_full"), std::string::npos) << refusal.describe();

  // Still serving: more refusals, stats and status answer, and the process is alive.
  for (int i = 0; i < 3; ++i) {
    CommandResult again = submit("x");
    EXPECT_NE(again.err.find("store_full"), std::string::npos) << again.describe();
  }
  nlohmann::json doc = stats();
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["jobs"]["queued"].get<std::size_t>(), acknowledged.size());
  EXPECT_EQ(stateOf(acknowledged.front()), "queued");
  EXPECT_TRUE(broker_.process().running());
  EXPECT_EQ(count(broker_.process().err(), kEpisodeLog), 1u) << "logged once per episode:\n"
                                                             << broker_.process().err();

  // A worker runs them meanwhile, and their results are written: the reserve is for that.
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker_.endpoint(), 2, {"--exec", "parked=wc -c"}, /*builtin=*/false));
  ASSERT_TRUE(eventually([&] {
    nlohmann::json now = stats();
    return now.is_object() && now["jobs"]["succeeded"].get<std::size_t>() == acknowledged.size();
  }));
  for (const std::string& id : acknowledged) EXPECT_EQ(stateOf(id), "succeeded") << "job " << id;

  disk_.release();
  ASSERT_TRUE(eventually([&] { return submit("after").exit_code == 0; }))
      << "the broker never took jobs again (" << disk_.freeBytes() << " bytes free):\n" << broker_.process().err();
  EXPECT_NE(broker_.process().err().find("writable again"), std::string::npos) << broker_.process().err();
}

// With no reserve, a write fails for space: the submission in flight is held, not lost and not
// acknowledged, until room returns; the broker goes on answering meanwhile.
TEST_F(FullDiskTest, WhenAWriteFailsForSpaceTheSubmissionIsHeldUntilRoomReturns) {
  ASSERT_TRUE(startBroker(0));
  ASSERT_TRUE(disk_.fill(1024 * 1024));
  std::vector<std::string> acknowledged;
  ChildProcess held;
  for (int i = 0; i < 200 && !held.started(); ++i) {
    ChildProcess child;
    ASSERT_TRUE(child.start({corveeBinary(), "submit", "parked", "-", "--connect", broker_.endpoint()}, kPayload));
    // Either it is acknowledged, or the broker says the disk is full (and holds its reply).
    ASSERT_TRUE(eventually([&] { return !child.running() || broker_.process().err().find(kEpisodeLog) != std::string::npos; }, 30s));
    if (auto exit = child.exitInfo(); exit && exit->exitedWith(0)) {
      acknowledged.push_back(child.out().substr(0, child.out().find('\n')));
    } else if (!child.exitInfo()) {
      held = std::move(child);
    } else {
      FAIL() << "submit failed: " << child.describe();
    }
  }
  ASSERT_TRUE(held.started()) << "the disk never filled";

  nlohmann::json doc = stats();
  ASSERT_TRUE(doc.is_object()) << broker_.process().err();
  CommandResult refused = submit("x");
  EXPECT_EQ(refused.exit_code, 3) << refused.describe();
  EXPECT_NE(refused.err.find("store_full"), std::string::npos) << refused.describe();
  EXPECT_TRUE(held.running()) << "the submission caught by the full disk is not acknowledged yet";

  disk_.release();
  auto exit = held.wait(30s);
  ASSERT_TRUE(exit && exit->exitedWith(0)) << held.describe();
  std::string held_id = held.out().substr(0, held.out().find('\n'));
  EXPECT_EQ(stateOf(held_id), "queued");
  for (const std::string& id : acknowledged) EXPECT_EQ(stateOf(id), "queued") << "job " << id;
  ASSERT_TRUE(eventually([&] { return submit("after").exit_code == 0; })) << broker_.process().err();
}

TEST_F(FullDiskTest, ABrokerKilledWhileTheDiskIsFullRestartsOnItAndLosesNothing) {
  ASSERT_TRUE(startBroker(kReserve));
  ASSERT_TRUE(disk_.fill(kReserve + 2 * 1024 * 1024));
  CommandResult refusal;
  std::vector<std::string> acknowledged = submitUntilRefused(refusal);
  ASSERT_FALSE(acknowledged.empty());
  ASSERT_NE(refusal.err.find("store_full"), std::string::npos) << refusal.describe();

  ASSERT_TRUE(broker_.killNine());
  ASSERT_TRUE(disk_.fill(0));  // and whatever is left is taken too
  ASSERT_TRUE(broker_.restart()) << "a restart on the full disk must come up";
  nlohmann::json doc = stats();
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["jobs"]["queued"].get<std::size_t>(), acknowledged.size());
  CommandResult refused = submit(kPayload);
  EXPECT_NE(refused.err.find("store_full"), std::string::npos) << refused.describe();

  disk_.release();
  ASSERT_TRUE(eventually([&] { return submit("after").exit_code == 0; })) << broker_.process().err();
  for (const std::string& id : acknowledged) EXPECT_EQ(stateOf(id), "queued") << "job " << id;
}

}  // namespace
}  // namespace corvee::testing
