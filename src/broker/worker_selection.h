// WorkerSelection: which of the workers able to take a job gets it (broker `--select`).
//
// The broker deals a task's queued jobs one at a time. For each, it lists the workers that serve
// the task and may be dealt a job now (registered, not draining, output not backed up, and, with
// priority slots, admitting the job's priority), and asks the selection to pick one. Three come
// with Corvee:
//   - least-loaded (the default): the worker with the most free slots, then the most free room
//     counting its prefetch; ties go to the earliest candidate. An idle worker is served before
//     another one's prefetch fills (proletariat balances load by free slots the same way).
//   - round-robin: each task's jobs go to its workers in turn, by increasing worker id, skipping
//     workers with no room. A worker that joins takes its turn in id order; one that leaves is
//     simply skipped.
//   - random: uniformly among the candidates with room, drawn from the broker's Random.
//
// Plugging in your own (proletariat's `manager.workSelectWorker`), for a C++ program that embeds
// the broker: derive from WorkerSelection, implement pick(), and give the broker an instance that
// outlives it. pick() is called on the broker's loop thread only, once per job dealt, so it needs
// no locks but must be quick and must not block; it must not throw. It may keep state between
// calls (round-robin does). Return the index of a candidate with free_room > 0, or nullopt to
// leave the job queued for now; the broker treats any other answer as nullopt. A job left queued is
// offered again the next time the broker deals its task (a job finishes, a worker joins).
//
// Instances are not thread-safe; each belongs to one broker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "broker/outbox.h"
#include "corvee/status.h"
#include "platform/random.h"

namespace corvee::broker {

// What a selection sees of the job being dealt.
struct JobView {
  std::string_view task;
  std::int32_t priority = 0;
};

// What a selection sees of one worker that could take the job. Valid only during pick().
struct WorkerView {
  PeerId id = 0;                // unique while connected; a later connection gets a larger id
  std::uint32_t slots = 0;      // its --slots: jobs it runs at once
  std::uint64_t free_slots = 0;  // slots not holding a job
  std::uint64_t free_room = 0;   // jobs it may still be dealt: free slots plus free prefetch room
};

class WorkerSelection {
 public:
  virtual ~WorkerSelection() = default;

  // The index in `candidates` of the worker to deal `job` to, or nullopt for none: never one whose
  // free_room is 0, and nullopt when every candidate's is.
  virtual std::optional<std::size_t> pick(const JobView& job, std::span<const WorkerView> candidates) = 0;
  // The name `--select` knows it by, for logs and stats.
  virtual std::string_view name() const = 0;
};

// The selection the broker uses when `--select` does not say.
inline constexpr std::string_view kDefaultWorkerSelection = "least-loaded";

// Builds a selection by name: "least-loaded", "round-robin" or "random". `random` is kept by
// reference and must outlive the result (the random selection draws from it).
// On failure (any other name) returns bad_request listing the names.
Result<std::unique_ptr<WorkerSelection>> makeWorkerSelection(std::string_view name, Random& random);

// The three selections, for tests and for C++ users who wrap or compose them.

class LeastLoadedSelection final : public WorkerSelection {
 public:
  std::optional<std::size_t> pick(const JobView& job, std::span<const WorkerView> candidates) override;
  std::string_view name() const override { return "least-loaded"; }
};

class RoundRobinSelection final : public WorkerSelection {
 public:
  std::optional<std::size_t> pick(const JobView& job, std::span<const WorkerView> candidates) override;
  std::string_view name() const override { return "round-robin"; }

 private:
  // Per task, the id of the worker picked last: the next pick is the smallest id above it. An id
  // rather than a position, so workers joining and leaving never make the rotation skip or repeat
  // one. One entry per task name seen, as the broker keeps a queue per task anyway. Heterogeneous
  // lookup, so a pick finds its task's entry without allocating.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, PeerId, NameHash, std::equal_to<>> last_;
};

class RandomSelection final : public WorkerSelection {
 public:
  // `random` must outlive this.
  explicit RandomSelection(Random& random) : random_(random) {}
  std::optional<std::size_t> pick(const JobView& job, std::span<const WorkerView> candidates) override;
  std::string_view name() const override { return "random"; }

 private:
  Random& random_;
};

}  // namespace corvee::broker
