// JobQueue: the waiting jobs of one task, highest priority first, FIFO within a priority.
//
// Jobs that leave the queue other than by pop() (a time limit fired, say) are not searched for:
// the caller bumps the job's ticket so its old entry no longer matches, and pop() skips it. This
// keeps removal O(1). Jobs put back after their worker was lost go to the front of their priority.
//
// Fairness keys: once dealByKeys() is called (the task's first job with a `--fair-key`), each
// priority level keeps one FIFO lane per key and deals round robin across the keys that have jobs
// waiting, a key of weight W getting W jobs per turn (FairKeys holds the weights). Jobs without a
// key are one key of their own (FairKeys::kNoKey). As in FQ-CoDel's new and old flow lists, a key
// that had nothing waiting goes first: the next job dealt is its, not the next of a flooding key,
// so it waits at most for one slot to free. After its turn it joins the others' rotation. A key
// at its concurrency cap is passed over (it keeps its jobs and goes to the back of the rotation),
// and when every key of a level is capped the next lower level is dealt: a capped key never
// holds up the others. A task whose jobs have no keys keeps the plain layout, one deque per
// level, and pays nothing for this. A job put back at the front (its worker was lost) is dealt
// next in its level, unless its key is capped.
// Not thread-safe; owned by the broker's loop.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>

#include "broker/fair_keys.h"
#include "corvee/job.h"

namespace corvee::broker {

class JobQueue {
 public:
  struct Entry {
    JobId id;
    std::uint32_t ticket;    // must equal the job's current ticket for the entry to be live
    FairKeys::KeyId key = FairKeys::kNoKey;  // the job's fairness key, in what was padding
  };
  // Says whether an entry is still live (the job exists and still holds this ticket).
  using LivenessCheck = std::function<bool(const Entry&)>;

  void pushBack(JobId id, std::int32_t priority, std::uint32_t ticket, FairKeys::KeyId key = FairKeys::kNoKey);
  void pushFront(JobId id, std::int32_t priority, std::uint32_t ticket, FairKeys::KeyId key = FairKeys::kNoKey);
  // The first live entry, skipping (and discarding) dead ones; nullopt when none is live (or,
  // dealing by keys, when every key with a live entry is at its cap).
  std::optional<Entry> peek(const LivenessCheck& live);
  // The same among the entries of priority below `priority` (a worker's priority ranges may refuse
  // the head's priority yet take a lower one).
  std::optional<Entry> peekBelow(std::int32_t priority, const LivenessCheck& live);
  // The priority of the entry peek() or peekBelow() returned last. REQUIRES: it returned a value.
  std::int32_t peekPriority() const { return keys_ != nullptr ? peeked_keyed_->first : peeked_->first; }
  // Removes the entry peek() or peekBelow() returned. REQUIRES: it just returned a value.
  void popPeeked();
  // Live jobs: the caller reports removals made by ticket bump through forget().
  std::size_t size() const { return live_; }
  void forget() { --live_; }
  bool empty() const { return live_ == 0; }

  // Calls visit(entry) with the first live entry of each priority level (of each key's lane, when
  // dealing by keys), dropping the dead entries before it as peek() would. Within a level or lane
  // entries wait in the order they were queued, so the job queued longest ago is among these: the
  // broker's metrics find the oldest queued job without a scan of the queue.
  void forEachHead(const LivenessCheck& live, const std::function<void(const Entry&)>& visit);

  // From now on, deal round robin across fairness keys, with the weights and caps of `keys`, which
  // must outlive the queue. The entries already queued (all without a key) keep their order.
  void dealByKeys(const FairKeys& keys);
  bool byKeys() const { return keys_ != nullptr; }

 private:
  using Levels = std::map<std::int32_t, std::deque<Entry>, std::greater<>>;
  // One priority level dealt by keys.
  struct Lane {
    std::deque<Entry> entries;  // FIFO
    std::uint32_t credit = 0;   // jobs left in the key's current turn; 0: its next turn starts anew
  };
  struct KeyedLevel {
    absl::flat_hash_map<FairKeys::KeyId, Lane> lanes;  // the keys with entries here
    // Every key of `lanes` is in one of these, in turn order. `fresh`: keys that had nothing
    // waiting when their job came, dealt before the others; `ring`: the others, in rotation.
    std::deque<FairKeys::KeyId> fresh;
    std::deque<FairKeys::KeyId> ring;
    bool empty() const { return fresh.empty() && ring.empty(); }
  };
  using KeyedLevels = std::map<std::int32_t, KeyedLevel, std::greater<>>;

  // The first live entry from `level` on, erasing the levels it empties; sets peeked_.
  std::optional<Entry> peekFrom(Levels::iterator level, const LivenessCheck& live);
  std::optional<Entry> peekKeyedFrom(KeyedLevels::iterator level, const LivenessCheck& live);
  // The front key of `turns` with a live entry and under its cap, in `level`; nullopt if none.
  std::optional<Entry> peekTurns(KeyedLevel& level, std::deque<FairKeys::KeyId>& turns, const LivenessCheck& live);
  void pushKeyed(const Entry& entry, std::int32_t priority, bool at_front);
  void popKeyed();

  Levels levels_;  // highest priority first; while not dealing by keys
  Levels::iterator peeked_ = levels_.end();
  KeyedLevels keyed_;  // while dealing by keys
  KeyedLevels::iterator peeked_keyed_ = keyed_.end();
  bool peeked_fresh_ = false;  // the entry peeked last is the front of its level's `fresh`
  const FairKeys* keys_ = nullptr;
  std::size_t live_ = 0;
};

}  // namespace corvee::broker
