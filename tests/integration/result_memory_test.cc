// Issue 8, item 8: a `--store memory` broker kept every finished result for the result TTL (a day),
// so its memory grew by the size of every result. With --result-max-bytes it keeps the newest
// results within the bound, drops the oldest, and its resident size stays bounded.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "corvee/client.h"
#include "support/process.h"

namespace corvee::testing {
namespace {

TEST(ResultMemoryTest, AMemoryBrokerKeepsResultsWithinTheByteBound) {
  constexpr int kJobs = 200;
  constexpr std::size_t kResultBytes = 1 << 20;
  BrokerProcess broker;
  ASSERT_TRUE(broker.start({"--result-max-bytes", std::to_string(16 << 20)}));
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 2));
  ClientOptions options;
  options.endpoint = broker.endpoint();
  options.connect_timeout = std::chrono::seconds(20);
  auto client = Client::connect(options);
  ASSERT_TRUE(client.isOk()) << client.status().toString();

  // `echo` answers with its payload: a 1 MiB payload makes a 1 MiB result. A few at a time, so the
  // broker never holds many payloads of live jobs.
  std::vector<JobId> ids;
  for (int first = 0; first < kJobs; first += 8) {
    std::vector<JobHandle> batch;
    for (int i = first; i < first + 8 && i < kJobs; ++i) {
      batch.push_back((*client)->submit("echo", std::string(kResultBytes, static_cast<char>('a' + i % 26))));
    }
    for (JobHandle& job : batch) {
      auto outcome = job.wait(std::chrono::seconds(60));
      ASSERT_TRUE(outcome.isOk()) << outcome.status().toString();
      ASSERT_EQ(outcome->state, JobState::kSucceeded);
      ASSERT_EQ(outcome->result.size(), kResultBytes);
      auto id = job.id();
      ASSERT_TRUE(id.isOk());
      ids.push_back(*id);
    }
  }

  // 200 MiB of results went through; about 16 MiB of them may stay. Generous: the point is that
  // the broker's memory does not grow with everything it ever answered.
  long long rss = residentKiB(broker.pid());
  ASSERT_GT(rss, 0);
  EXPECT_LT(rss, 150 * 1024) << "VmRSS " << rss << " KiB";

  // The oldest results are gone, the newest kept.
  CommandResult oldest = runCorvee({"status", std::to_string(ids.front()), "--connect", broker.endpoint()});
  EXPECT_EQ(oldest.exit_code, 1) << oldest.describe();
  EXPECT_NE(oldest.err.find("not_found"), std::string::npos) << oldest.describe();
  CommandResult newest = runCorvee({"status", std::to_string(ids.back()), "--connect", broker.endpoint()});
  EXPECT_EQ(newest.exit_code, 0) << newest.describe();
  EXPECT_NE(newest.out.find("succeeded"), std::string::npos) << newest.describe().substr(0, 2000);

  // One line per purge, each in a batch: far fewer than one per job.
  std::string log = broker.process().err();
  std::size_t purges = 0;
  for (std::size_t at = log.find("memory store: dropped"); at != std::string::npos;
       at = log.find("memory store: dropped", at + 1)) {
    ++purges;
  }
  EXPECT_GE(purges, 1u) << log.substr(0, 2000);
  EXPECT_LT(purges, static_cast<std::size_t>(kJobs) / 2) << log.substr(0, 2000);
}

}  // namespace
}  // namespace corvee::testing
