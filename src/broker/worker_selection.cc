#include "broker/worker_selection.h"

#include <utility>

#include "corvee/errors.h"

namespace corvee::broker {

Result<std::unique_ptr<WorkerSelection>> makeWorkerSelection(std::string_view name, Random& random) {
  std::unique_ptr<WorkerSelection> selection;
  if (name == "least-loaded") {
    selection = std::make_unique<LeastLoadedSelection>();
  } else if (name == "round-robin") {
    selection = std::make_unique<RoundRobinSelection>();
  } else if (name == "random") {
    selection = std::make_unique<RandomSelection>(random);
  } else {
    return Status::error(errc::kBadRequest, "unknown worker selection \"" + std::string(name) +
                                                "\" (expected least-loaded, round-robin or random)");
  }
  return selection;
}

std::optional<std::size_t> LeastLoadedSelection::pick(const JobView&, std::span<const WorkerView> candidates) {
  // Core::pickWorker's rule, kept as it was: the most free slots, then the most free room, the
  // first candidate on ties. A free slot beats room in a prefetch, so an idle worker is served
  // before another one's reserve fills.
  std::optional<std::size_t> best;
  std::pair<std::uint64_t, std::uint64_t> best_free{0, 0};
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const WorkerView& worker = candidates[i];
    if (worker.free_room == 0) continue;
    std::pair<std::uint64_t, std::uint64_t> free{worker.free_slots, worker.free_room};
    if (!best || free > best_free) {
      best = i;
      best_free = free;
    }
  }
  return best;
}

std::optional<std::size_t> RoundRobinSelection::pick(const JobView& job, std::span<const WorkerView> candidates) {
  auto last = last_.find(job.task);
  PeerId after = last == last_.end() ? 0 : last->second;
  // The next id above the last one picked, or the smallest id when the turn wraps around.
  std::optional<std::size_t> next, first;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    PeerId id = candidates[i].id;
    if (candidates[i].free_room == 0) continue;
    if (!first || id < candidates[*first].id) first = i;
    if (id > after && (!next || id < candidates[*next].id)) next = i;
  }
  std::optional<std::size_t> chosen = next ? next : first;
  if (!chosen) return std::nullopt;
  if (last == last_.end()) {
    last_.emplace(std::string(job.task), candidates[*chosen].id);
  } else {
    last->second = candidates[*chosen].id;
  }
  return chosen;
}

std::optional<std::size_t> RandomSelection::pick(const JobView&, std::span<const WorkerView> candidates) {
  std::uint64_t with_room = 0;
  for (const WorkerView& worker : candidates) with_room += worker.free_room > 0 ? 1 : 0;
  if (with_room == 0) return std::nullopt;
  // The n-th candidate with room, n uniform in [0, with_room).
  std::uint64_t n = random_.uniform(0, with_room - 1);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].free_room == 0) continue;
    if (n-- == 0) return i;
  }
  return std::nullopt;  // unreachable: n < with_room
}

}  // namespace corvee::broker
