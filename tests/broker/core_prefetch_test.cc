// Prefetch: a worker that holds jobs beyond its slots. The broker deals up to slots + prefetch,
// prefers free slots to free reserve, and starts a prefetched job's run limit only when the job
// takes a slot, which it infers from the worker's results (jobs start in the order dealt).
#include "broker/core_fixture.h"

namespace corvee::broker::test {
namespace {

TEST_F(CoreTest, PrefetchExtendsTheCreditBeyondTheSlots) {
  PeerId c = client();
  PeerId w = prefetchingWorker(2, 3);
  for (int i = 0; i < 10; ++i) submit(c);
  flush();
  auto held = assigns(w);
  ASSERT_EQ(held.size(), 5u) << "2 slots + 3 prefetched";
  flush();
  EXPECT_TRUE(assigns(w).empty());
  complete(w, held[0].id, held[0].attempt);
  flush();
  EXPECT_EQ(assigns(w).size(), 1u) << "one finished, one more";
  EXPECT_EQ(core().counts().running, 5u);
  EXPECT_EQ(core().counts().queued, 4u);
}

TEST_F(CoreTest, AFreeSlotBeatsRoomInAnotherWorkersPrefetch) {
  PeerId c = client();
  PeerId deep = prefetchingWorker(1, 4);  // registered first: a tie-break by order favours it
  PeerId shallow = worker(1);
  submit(c);
  submit(c);
  flush();
  EXPECT_EQ(assigns(deep).size(), 1u);
  EXPECT_EQ(assigns(shallow).size(), 1u) << "an idle slot is served before a prefetch";
  submit(c);
  submit(c);
  flush();
  EXPECT_EQ(assigns(deep).size(), 2u) << "no free slot anywhere: the reserve takes them";
  EXPECT_TRUE(assigns(shallow).empty());
}

TEST_F(CoreTest, APrefetchedJobsRunLimitStartsWhenItTakesASlot) {
  PeerId c = client();
  PeerId w = prefetchingWorker(1, 1);
  JobId first = submit(c, {.run_timeout_ms = 500});
  JobId second = submit(c, {.run_timeout_ms = 500});
  flush();
  auto held = assigns(w);
  ASSERT_EQ(idsOf(held), (std::vector<JobId>{first, second}));
  advance(400);
  complete(w, first, held[0].attempt);  // the worker now starts `second`
  flush();
  ASSERT_EQ(results(c).size(), 1u);
  advance(499);  // 899 ms after it was dealt, 499 ms in its slot
  EXPECT_TRUE(cancels(w).empty()) << "time spent in the prefetch must not count";
  advance(1);
  auto cancel = cancels(w);
  ASSERT_EQ(cancel.size(), 1u);
  EXPECT_EQ(cancel[0].id, second);
  EXPECT_EQ(cancel[0].code, "run_timeout");
}

TEST_F(CoreTest, APrefetchedJobThatLeavesEarlyDoesNotTakeASlot) {
  PeerId c = client();
  PeerId w = prefetchingWorker(1, 2);
  JobId first = submit(c);
  JobId doomed = submit(c, {.timeout_ms = 100});
  JobId third = submit(c, {.run_timeout_ms = 300});
  flush();
  auto held = assigns(w);
  ASSERT_EQ(held.size(), 3u);
  advance(100);  // the global deadline catches `doomed` while it waits in the prefetch
  auto cancel = cancels(w);
  ASSERT_EQ(cancel.size(), 1u);
  EXPECT_EQ(cancel[0].id, doomed);
  advance(500);
  EXPECT_TRUE(cancels(w).empty()) << "`third` is still waiting behind `first`";
  complete(w, first, held[0].attempt);
  flush();
  advance(299);
  EXPECT_TRUE(cancels(w).empty());
  advance(1);
  cancel = cancels(w);
  ASSERT_EQ(cancel.size(), 1u) << "`third` took the freed slot, not `doomed`";
  EXPECT_EQ(cancel[0].id, third);
}

TEST_F(CoreTest, MoreSlotsOnRegisterStartPrefetchedJobs) {
  PeerId c = client();
  PeerId w = prefetchingWorker(1, 1);
  submit(c, {.run_timeout_ms = 200});
  JobId waiting = submit(c, {.run_timeout_ms = 200});
  flush();
  ASSERT_EQ(assigns(w).size(), 2u);
  expectOk(w, send(w, protocol::RegisterMsg{2, {"echo"}, 1}));
  advance(200);
  auto cancel = cancels(w);
  ASSERT_EQ(cancel.size(), 2u) << "both held a slot from the second REGISTER on";
  EXPECT_EQ(cancel[1].id, waiting);
}

TEST_F(CoreTest, AWorkerWithoutSlotsGetsNothingWhateverItsPrefetch) {
  PeerId c = client();
  PeerId w = prefetchingWorker(0, 8);
  submit(c);
  flush();
  EXPECT_TRUE(assigns(w).empty());
  EXPECT_EQ(core().counts().queued, 1u);
}

TEST_F(CoreTest, LostWorkerPutsItsPrefetchedJobsBackInOrder) {
  PeerId c = client();
  PeerId w = prefetchingWorker(1, 2);
  JobId a = submit(c);
  JobId b = submit(c);
  JobId d = submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 3u);
  lose(w);
  PeerId next = worker(1);
  std::vector<JobId> order;
  for (int i = 0; i < 3; ++i) {
    flush();
    auto got = assigns(next);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].attempt, 2u);
    order.push_back(got[0].id);
    complete(next, got[0].id, got[0].attempt);
  }
  EXPECT_EQ(order, (std::vector<JobId>{a, b, d}));
}

TEST_F(CoreTest, StatsTellSlotsFromPrefetch) {
  PeerId c = client();
  PeerId w = prefetchingWorker(2, 3);
  for (int i = 0; i < 4; ++i) submit(c);
  flush();
  ASSERT_EQ(assigns(w).size(), 4u);
  auto s = stats(c);
  ASSERT_EQ(s["workers"].size(), 1u);
  EXPECT_EQ(s["workers"][0]["slots"], 2);
  EXPECT_EQ(s["workers"][0]["prefetch"], 3);
  EXPECT_EQ(s["workers"][0]["busy"], 2);
  EXPECT_EQ(s["workers"][0]["prefetched"], 2);
}

}  // namespace
}  // namespace corvee::broker::test
