#include "cli/top_view.h"

#include <gtest/gtest.h>

namespace corvee::cli {
namespace {

nlohmann::json reading(int succeeded, int queued, int oldest_ms) {
  return nlohmann::json::parse(R"({"broker":"b1","store":"memory","uptime_ms":5000,
    "jobs":{"queued":)" + std::to_string(queued) + R"(,"running":1,"succeeded":)" + std::to_string(succeeded) + R"(,"dead":0},
    "queues":[{"task":"echo","rate":null,"queued":)" + std::to_string(queued) + R"(,"running":1,"scheduled":2,
               "retrying":0,"workers":1,"paused":false,"succeeded":)" + std::to_string(succeeded) +
                               R"(,"dead":1,"cancelled":0,"oldest_age_ms":)" + std::to_string(oldest_ms) + R"(}],
    "workers":[{"name":"w1","slots":4,"busy":1,"prefetched":0,"tasks":["echo","add"],"draining":false}]})");
}

TEST(TopViewTest, ShowsQueuesAndWorkersWithoutARateAtFirst) {
  TopView view;
  std::string text = view.render(reading(10, 3, 2500), std::nullopt);
  EXPECT_NE(text.find("TASK"), std::string::npos) << text;
  EXPECT_NE(text.find("echo  3       1        2          0         -     2.5s    -       1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("w1      1/4         0           echo,add"), std::string::npos) << text;
}

TEST(TopViewTest, DonePerSecondComesFromSuccessiveReadings) {
  TopView view;
  view.render(reading(10, 3, 0), std::nullopt);
  // 11 finished (10 + 1 dead) then 31: 20 in 2 s.
  std::string text = view.render(reading(30, 0, 0), 2.0);
  EXPECT_NE(text.find(" 10 "), std::string::npos) << text;  // DONE/S
  EXPECT_NE(text.find("echo  0       1        2          0         -     -"), std::string::npos)
      << "no oldest age with nothing queued: " << text;
}

}  // namespace
}  // namespace corvee::cli
