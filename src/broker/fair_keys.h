// FairKeys: the fairness keys of one task's jobs (`submit --fair-key`), interned to small ids.
//
// A key (a tenant id, say) is interned once per task and counted by reference: every live job
// holding it (queued, scheduled, retrying or running) is one reference, so the keys of finished
// jobs are freed and their ids reused. Per key it keeps the configured weight (broker
// `--fair-weight TASK:KEY=W`, default 1), the jobs of the key running now and queued now. The
// task's `--key-concurrency N` cap makes a key with N running jobs wait (atCap()) until one ends.
//
// Jobs without a key share id kNoKey: JobQueue deals them as one key of their own, of weight 1,
// and the cap does not apply to them. Not thread-safe: owned by the broker's loop thread.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "corvee/status.h"

namespace corvee::broker {

// A broker `--fair-weight TASK:KEY=W`: the task's jobs of that key get W jobs per turn.
struct FairWeightSpec {
  std::string task;
  std::string key;
  std::uint32_t weight = 1;
  // Parses "TASK:KEY=W": TASK up to the first ':' (so a task name with ':' cannot be given one),
  // KEY up to the last '=', W from 1 to FairKeys::kMaxWeight; task and key valid names. On failure
  // returns bad_request saying what is wrong.
  static Result<FairWeightSpec> parse(std::string_view spec);
};

// A broker `--key-concurrency TASK=N`: at most N jobs of one key of the task run at once.
struct KeyConcurrencySpec {
  std::string task;
  std::uint32_t cap = 0;  // 0: no cap
  // Parses "TASK=N" (TASK up to the last '='), N from 0 to 1,000,000. bad_request on failure.
  static Result<KeyConcurrencySpec> parse(std::string_view spec);
};

class FairKeys {
 public:
  using KeyId = std::uint32_t;
  static constexpr KeyId kNoKey = 0;
  // Keys travel as `str` (u16 length); the broker refuses longer ones on SUBMIT.
  static constexpr std::size_t kMaxKeyBytes = 255;
  // A weight is the number of jobs a key is dealt per turn: far above any sane share.
  static constexpr std::uint32_t kMaxWeight = 1'000'000;

  FairKeys();

  // Running jobs one key may have at once; 0 = no cap.
  void setCap(std::uint32_t cap) { cap_ = cap; }
  std::uint32_t cap() const { return cap_; }
  // The weight of `key` (from 1 to kMaxWeight), for the key's current and future jobs.
  void setWeight(std::string_view key, std::uint32_t weight);

  // A live job holds `key`: its id, interned on first use. "" is kNoKey and is not counted.
  KeyId acquire(std::string_view key);
  // A job holding `id` is gone. The last reference frees the key. REQUIRES: acquire() returned id.
  void release(KeyId id);

  std::string_view name(KeyId id) const { return slots_[id].name; }
  std::uint32_t weight(KeyId id) const { return slots_[id].weight; }

  // A job of the key starts running, or stops (finished, failed, cancelled, put back).
  void started(KeyId id) { ++slots_[id].running; }
  // True when the key was at its cap and so may be dealt again.
  bool ended(KeyId id);
  std::uint32_t running(KeyId id) const { return slots_[id].running; }
  // The key may not be dealt a job now: it has `cap` running. Never for kNoKey.
  bool atCap(KeyId id) const { return cap_ > 0 && id != kNoKey && slots_[id].running >= cap_; }

  // A job of the key joins or leaves the queue.
  void queued(KeyId id);
  void dequeued(KeyId id);
  // Keys (kNoKey aside) with jobs queued now, for `stats`.
  std::size_t waitingKeys() const { return waiting_keys_; }
  // Keys (kNoKey aside) held by live jobs now.
  std::size_t size() const { return by_name_.size(); }

 private:
  struct Slot {
    std::string name;
    std::uint32_t refs = 0;     // live jobs holding the key
    std::uint32_t weight = 1;
    std::uint32_t running = 0;  // of them, running
    std::uint32_t queued = 0;   // of them, waiting in the queue
  };
  std::uint32_t weightOf(std::string_view key) const;

  // Heterogeneous lookup, so a string_view finds without allocating.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using ByName = absl::flat_hash_map<std::string, V, NameHash, std::equal_to<>>;

  std::vector<Slot> slots_;  // by id; slot 0 is kNoKey
  std::vector<KeyId> free_;  // ids of freed keys, for reuse
  ByName<KeyId> by_name_;
  ByName<std::uint32_t> weights_;  // configured, by key name
  std::uint32_t cap_ = 0;
  std::size_t waiting_keys_ = 0;
};

}  // namespace corvee::broker
