// Priority ranges with guaranteed slots through real processes (issue 11): a worker started with
// `--priority-slots` runs no more low-priority jobs than its lowest range holds, and the broker's
// `--strict-guarantees` caps the top range; bad specs are usage errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "corvee/client.h"
#include "support/process.h"
#include "support/test_client.h"

namespace corvee::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The worker's busy slots once `queued` jobs of the queue wait (the rest were dealt), or -1.
int busyOnceDealt(Client& client, int queued) {
  for (auto deadline = Clock::now() + 30s; Clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
    auto stats = client.stats();
    if (!stats) continue;
    auto doc = nlohmann::json::parse(*stats);
    if (doc["workers"].size() != 1 || doc["queues"].empty()) continue;
    for (const auto& queue : doc["queues"]) {
      if (queue["task"] == "sleep" && queue["queued"] == queued) return doc["workers"][0]["busy"].get<int>();
    }
  }
  return -1;
}

void expectLimit(const std::vector<std::string>& broker_args, std::int32_t priority, int expected_busy) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start(broker_args));
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 10, {"--priority-slots", "1:3,2:2"}));
  auto client = connectTestClient(broker.endpoint());
  ASSERT_NE(client, nullptr);
  SubmitOptions options;
  options.priority = priority;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client->submit("sleep", "60000", options).id());
  EXPECT_EQ(busyOnceDealt(*client, 20 - expected_busy), expected_busy) << "priority " << priority;
}

TEST(PrioritySlotsTest, TheLowestRangeHoldsWhatTheOthersLeave) { expectLimit({}, 0, 5); }
TEST(PrioritySlotsTest, TheMiddleRangeAddsItsGuarantee) { expectLimit({}, 1, 8); }
TEST(PrioritySlotsTest, TheTopRangeMayUseEverySlot) { expectLimit({}, 2, 10); }
TEST(PrioritySlotsTest, StrictGuaranteesCapTheTopRange) { expectLimit({"--strict-guarantees"}, 2, 7); }

TEST(PrioritySlotsTest, ABadSpecIsAUsageError) {
  CommandResult over = runCorvee({"worker", "--builtin", "--slots", "4", "--priority-slots", "1:3,2:2"}, {}, 30s);
  EXPECT_EQ(over.exit_code, 2) << over.describe();
  EXPECT_NE(over.err.find("--priority-slots"), std::string::npos) << over.err;
  CommandResult bad = runCorvee({"worker", "--builtin", "--priority-slots", "x"}, {}, 30s);
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
}

}  // namespace
}  // namespace corvee::testing
