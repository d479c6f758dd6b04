#include "broker/worker_selection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "corvee/errors.h"
#include "fakes/fake_random.h"

namespace corvee::broker {
namespace {

using corvee::testing::FakeRandom;

// A worker with `free_slots` of its `slots` free and `prefetch_room` more in its prefetch.
WorkerView worker(PeerId id, std::uint64_t free_slots, std::uint64_t prefetch_room = 0, std::uint32_t slots = 4) {
  return WorkerView{id, slots, free_slots, free_slots + prefetch_room};
}

WorkerView full(PeerId id) { return worker(id, 0, 0); }

// The id `selection` picks, or 0 for none.
PeerId pickId(WorkerSelection& selection, const std::vector<WorkerView>& candidates, std::string_view task = "t") {
  std::optional<std::size_t> index = selection.pick(JobView{task, 0}, candidates);
  if (!index) return 0;
  EXPECT_LT(*index, candidates.size());
  EXPECT_GT(candidates[*index].free_room, 0u) << "picked a worker with no room";
  return candidates[*index].id;
}

// A replayable Random for the statistical test: a fixed seed, so the same draws every run.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) override {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(engine_);
  }

 private:
  std::mt19937_64 engine_;
};

// ---- the factory ----

TEST(WorkerSelection, TheFactoryKnowsTheThreeNames) {
  FakeRandom random;
  for (std::string_view name : {"least-loaded", "round-robin", "random"}) {
    Result<std::unique_ptr<WorkerSelection>> selection = makeWorkerSelection(name, random);
    ASSERT_TRUE(selection.isOk()) << name << ": " << selection.status().toString();
    EXPECT_EQ((*selection)->name(), name);
  }
  Result<std::unique_ptr<WorkerSelection>> fallback = makeWorkerSelection(kDefaultWorkerSelection, random);
  ASSERT_TRUE(fallback.isOk());
  EXPECT_EQ((*fallback)->name(), "least-loaded");
}

TEST(WorkerSelection, TheFactoryRefusesOtherNamesListingTheKnownOnes) {
  FakeRandom random;
  for (std::string_view name : {"", "fastest", "Least-Loaded", "round_robin", "random "}) {
    Result<std::unique_ptr<WorkerSelection>> selection = makeWorkerSelection(name, random);
    ASSERT_FALSE(selection.isOk()) << name;
    EXPECT_EQ(selection.status().code(), errc::kBadRequest);
    EXPECT_EQ(selection.status().message(), "unknown worker selection \"" + std::string(name) +
                                                "\" (expected least-loaded, round-robin or random)");
  }
}

TEST(WorkerSelection, NobodyToPickIsNone) {
  FakeRandom random;
  LeastLoadedSelection least_loaded;
  RoundRobinSelection round_robin;
  RandomSelection random_pick(random);
  for (WorkerSelection* selection :
       std::initializer_list<WorkerSelection*>{&least_loaded, &round_robin, &random_pick}) {
    EXPECT_EQ(pickId(*selection, {}), 0u) << selection->name();
    EXPECT_EQ(pickId(*selection, {full(1), full(2)}), 0u) << selection->name();
    EXPECT_EQ(pickId(*selection, {full(1), worker(2, 0, 1), full(3)}), 2u) << selection->name();
  }
  EXPECT_EQ(random.draws.size(), 1u) << "drew for the lone candidate only";
}

// A user's own selection, as the header describes: here, the highest id with room.
class NewestFirst final : public WorkerSelection {
 public:
  std::optional<std::size_t> pick(const JobView&, std::span<const WorkerView> candidates) override {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].free_room > 0 && (!best || candidates[i].id > candidates[*best].id)) best = i;
    }
    return best;
  }
  std::string_view name() const override { return "newest-first"; }
};

TEST(WorkerSelection, AUserSelectionPlugsInThroughTheInterface) {
  NewestFirst newest;
  WorkerSelection& selection = newest;
  EXPECT_EQ(pickId(selection, {worker(3, 1), worker(9, 1), full(12), worker(5, 4)}), 9u);
}

// ---- least-loaded ----

TEST(WorkerSelectionLeastLoaded, TheMostFreeSlotsWin) {
  LeastLoadedSelection selection;
  EXPECT_EQ(pickId(selection, {worker(1, 1), worker(2, 3), worker(3, 2)}), 2u);
  // Free slots beat prefetch room: an idle worker before another's reserve.
  EXPECT_EQ(pickId(selection, {worker(1, 1, 10), worker(2, 2, 0)}), 2u);
}

TEST(WorkerSelectionLeastLoaded, ThenTheMostFreeRoom) {
  LeastLoadedSelection selection;
  EXPECT_EQ(pickId(selection, {worker(1, 2, 1), worker(2, 2, 3), worker(3, 2, 2)}), 2u);
  // No free slot anywhere: the most prefetch room.
  EXPECT_EQ(pickId(selection, {worker(1, 0, 1), worker(2, 0, 2), full(3)}), 2u);
}

TEST(WorkerSelectionLeastLoaded, TiesGoToTheFirstCandidate) {
  LeastLoadedSelection selection;
  EXPECT_EQ(pickId(selection, {worker(7, 2, 1), worker(3, 2, 1), worker(5, 2, 1)}), 7u);
  EXPECT_EQ(pickId(selection, {full(1), worker(8, 0, 1), worker(4, 0, 1)}), 8u);
  // Stateless: the same answer every time.
  EXPECT_EQ(pickId(selection, {worker(7, 2, 1), worker(3, 2, 1)}), 7u);
}

TEST(WorkerSelectionLeastLoaded, SpreadsAFloodEvenly) {
  // Dealing one job at a time and updating the views as the broker does levels the workers.
  LeastLoadedSelection selection;
  std::vector<WorkerView> workers{worker(1, 4), worker(2, 2), worker(3, 4)};
  std::map<PeerId, int> dealt;
  while (auto index = selection.pick(JobView{"t", 0}, workers)) {
    ++dealt[workers[*index].id];
    --workers[*index].free_slots;
    --workers[*index].free_room;
  }
  EXPECT_EQ(dealt, (std::map<PeerId, int>{{1, 4}, {2, 2}, {3, 4}}));
}

// ---- round-robin ----

TEST(WorkerSelectionRoundRobin, TakesTurnsByIdWhateverTheCandidateOrder) {
  RoundRobinSelection selection;
  std::vector<WorkerView> workers{worker(30, 1), worker(10, 4), worker(20, 2)};
  std::vector<PeerId> picks;
  for (int i = 0; i < 7; ++i) {
    picks.push_back(pickId(selection, workers));
    std::rotate(workers.begin(), workers.begin() + 1, workers.end());  // the broker's order may change
  }
  EXPECT_EQ(picks, (std::vector<PeerId>{10, 20, 30, 10, 20, 30, 10}));
}

TEST(WorkerSelectionRoundRobin, SkipsWorkersWithNoRoom) {
  RoundRobinSelection selection;
  EXPECT_EQ(pickId(selection, {worker(1, 1), worker(2, 1), worker(3, 1)}), 1u);
  EXPECT_EQ(pickId(selection, {worker(1, 1), full(2), worker(3, 1)}), 3u);
  EXPECT_EQ(pickId(selection, {worker(1, 1), worker(2, 1), worker(3, 1)}), 1u);
  EXPECT_EQ(pickId(selection, {worker(1, 1), worker(2, 1), worker(3, 1)}), 2u);
}

TEST(WorkerSelectionRoundRobin, WorkersJoiningAndLeavingNeitherSkipNorRepeatATurn) {
  RoundRobinSelection selection;
  EXPECT_EQ(pickId(selection, {worker(1, 1), worker(2, 1), worker(3, 1)}), 1u);
  EXPECT_EQ(pickId(selection, {worker(1, 1), worker(2, 1), worker(3, 1)}), 2u);
  // Worker 2, picked last, leaves: the turn goes on to 3, not back to 1.
  EXPECT_EQ(pickId(selection, {worker(1, 1), worker(3, 1)}), 3u);
  // Worker 4 joins: its turn comes after 3's, before the wrap.
  EXPECT_EQ(pickId(selection, {worker(1, 1), worker(3, 1), worker(4, 1)}), 4u);
  EXPECT_EQ(pickId(selection, {worker(1, 1), worker(3, 1), worker(4, 1)}), 1u);
  // Worker 1 leaves just after its turn: 3 is next.
  EXPECT_EQ(pickId(selection, {worker(3, 1), worker(4, 1)}), 3u);
}

TEST(WorkerSelectionRoundRobin, EachTaskHasItsOwnTurn) {
  // Task a has workers 1, 2 and 3; task b only worker 1. With one turn for both, b's jobs would
  // keep pulling the turn back to 1 and a's jobs would never reach worker 3.
  RoundRobinSelection selection;
  std::vector<WorkerView> a{worker(1, 9), worker(2, 9), worker(3, 9)};
  std::vector<WorkerView> b{worker(1, 9)};
  std::vector<PeerId> a_picks;
  for (int i = 0; i < 6; ++i) {
    a_picks.push_back(pickId(selection, a, "a"));
    EXPECT_EQ(pickId(selection, b, "b"), 1u);
  }
  EXPECT_EQ(a_picks, (std::vector<PeerId>{1, 2, 3, 1, 2, 3}));
}

TEST(WorkerSelectionRoundRobin, FairOverManyPicksWithChangingCandidates) {
  // Phases of random length, each with a random set of workers present and some of them full.
  // Within a phase the candidates with room do not change, and each of them gets as many jobs as
  // any other, give or take one.
  RoundRobinSelection selection;
  std::mt19937 generator(42);  // a fixed seed: the same phases every run
  std::map<PeerId, int> total;
  int picks = 0;
  for (int phase = 0; phase < 300; ++phase) {
    std::vector<WorkerView> candidates;
    for (PeerId id = 1; id <= 8; ++id) {
      int draw = std::uniform_int_distribution<int>(0, 3)(generator);
      if (draw == 0) continue;                                  // not connected, or not serving
      candidates.push_back(draw == 1 ? full(id) : worker(id, 2));  // present with or without room
    }
    std::shuffle(candidates.begin(), candidates.end(), generator);
    std::map<PeerId, int> dealt;
    int length = std::uniform_int_distribution<int>(1, 40)(generator);
    for (int i = 0; i < length; ++i) {
      PeerId id = pickId(selection, candidates);
      if (id == 0) break;
      ++dealt[id];
      ++total[id];
      ++picks;
    }
    if (dealt.empty()) continue;
    auto [fewest, most] = std::minmax_element(dealt.begin(), dealt.end(),
                                              [](const auto& x, const auto& y) { return x.second < y.second; });
    EXPECT_LE(most->second - fewest->second, 1) << "phase " << phase;
    // Every candidate with room had its turn once the phase went round at least once.
    std::size_t with_room = std::count_if(candidates.begin(), candidates.end(),
                                          [](const WorkerView& w) { return w.free_room > 0; });
    if (static_cast<std::size_t>(length) >= with_room) {
      EXPECT_EQ(dealt.size(), with_room) << "phase " << phase;
    }
  }
  // Over the whole run every worker was present about as often, and got about as many jobs.
  ASSERT_EQ(total.size(), 8u);
  for (auto [id, count] : total) {
    EXPECT_NEAR(count, picks / 8, picks / 8 * 0.2) << "worker " << id;
  }
}

// ---- random ----

TEST(WorkerSelectionRandom, DrawsAmongTheCandidatesWithRoomOnly) {
  FakeRandom random(0.0);
  RandomSelection selection(random);
  std::vector<WorkerView> candidates{full(1), worker(2, 1), full(3), worker(4, 0, 2), worker(5, 3), full(6)};
  EXPECT_EQ(pickId(selection, candidates), 2u);  // the first of three with room
  random.setFraction(0.5);
  EXPECT_EQ(pickId(selection, candidates), 4u);  // the second
  random.setFraction(1.0);
  EXPECT_EQ(pickId(selection, candidates), 5u);  // the last
  ASSERT_EQ(random.draws.size(), 3u);
  for (const FakeRandom::Draw& draw : random.draws) {
    EXPECT_EQ(draw.lo, 0u);
    EXPECT_EQ(draw.hi, 2u);
  }
}

TEST(WorkerSelectionRandom, IsUniformAmongTheCandidatesWithRoom) {
  SeededRandom random(2024);
  RandomSelection selection(random);
  std::vector<WorkerView> candidates{worker(1, 1), full(2), worker(3, 9, 9), worker(4, 0, 1), full(5), worker(6, 2)};
  std::map<PeerId, int> dealt;
  constexpr int kPicks = 40'000;
  for (int i = 0; i < kPicks; ++i) ++dealt[pickId(selection, candidates)];
  // Load plays no part: each of the four with room gets a quarter (10,000; a standard deviation
  // is 87, so 500 either way never happens by chance).
  ASSERT_EQ(dealt.size(), 4u);
  for (PeerId id : {1, 3, 4, 6}) EXPECT_NEAR(dealt[id], kPicks / 4, 500) << "worker " << id;
}

}  // namespace
}  // namespace corvee::broker
