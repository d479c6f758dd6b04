// Priority ranges with guaranteed slots (proletariat's `prioritySlots`): which jobs a worker's free
// slots may take, so that a flood of low-priority jobs always leaves room for higher ones.
//
// A worker started with `--slots 100 --priority-slots 1:30,2:20` has three ranges: priorities from
// 2 up are guaranteed 20 slots, [1, 2) 30, and everything below 1 (negative priorities too) gets
// the 50 left over. A job may use the slots of its own range and of every range below it, so at
// most 50 jobs of priority < 1 run at once, 80 of [1, 2) and 100 of >= 2: the low ranges can never
// fill the slots kept for the high ones. High priorities can still fill the slots "guaranteed" to
// the middle ranges, though; with the broker's --strict-guarantees (proletariat's
// SACRED_GUARANTEES) a range that overflows its own slots borrows only from the lowest range, and
// the limits become 50 / 80 / 70.
//
// SlotRanges is the parsed, immutable configuration; SlotOccupancy counts one worker's running
// jobs against it. Neither is thread-safe (they belong to the broker's loop thread); both are
// values that own everything they use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "corvee/status.h"

namespace corvee::broker {

class SlotRanges {
 public:
  struct Range {
    // The lowest priority in the range; the range ends where the next one starts. The lowest
    // range also takes every priority below its bound.
    std::int32_t from;
    // Slots no lower range may use.
    std::uint32_t guaranteed;
    bool operator==(const Range&) const = default;
  };

  // No ranges: one range holding every slot, so every priority may use any free slot.
  explicit SlotRanges(std::uint32_t total_slots = 0);

  // Parses "P:K,P:K,..." (P an int32 priority, K a slot count), P strictly increasing. The slots
  // the entries leave over form the lowest range, below the first P (proletariat's implicit
  // `0: rest`); when the entries use up every slot there is no such range, and the first entry's
  // range takes the priorities below it. An empty spec means no ranges.
  // On failure returns bad_request naming the entry at fault: bad syntax, a K of 0, P not
  // increasing, or the Ks adding up to more than `total_slots`.
  static Result<SlotRanges> parse(std::string_view spec, std::uint32_t total_slots);

  std::uint32_t totalSlots() const { return total_slots_; }
  // Lowest first; never empty. ranges()[0] is the lowest range.
  const std::vector<Range>& ranges() const { return ranges_; }
  // The index in ranges() of the range `priority` belongs to.
  std::size_t rangeOf(std::int32_t priority) const;
  // How many jobs of range `index` an otherwise idle worker runs at once.
  std::uint32_t limit(std::size_t index, bool strict) const;
  // The canonical spec, "P:K,..." with the lowest range's own slots left implicit when it is
  // implicit; "" for no ranges. parse(toString()) gives back an equal value.
  std::string toString() const;

  bool operator==(const SlotRanges&) const = default;

 private:
  std::uint32_t total_slots_;
  std::vector<Range> ranges_;
  bool implicit_lowest_ = true;  // ranges_[0] holds the slots the spec left over
};

// One worker's running jobs, counted per range of its SlotRanges. The broker asks admits() before
// dealing a job to a free slot, and calls take() when the job gets the slot and release() when it
// gives it back (finished, failed, lost or cancelled).
//
// Jobs are not pinned to particular slots: the counts alone decide, so whatever order jobs arrive
// and finish in, a job is admitted exactly when the running jobs plus it could be seated within the
// rules. For range i with G_i slots of its own and r_i jobs running (range 0 the lowest):
//   - normal: a job may sit in its own range or any lower one, which holds for every k when
//     r_0 + ... + r_k <= G_0 + ... + G_k;
//   - strict: a job may sit in its own range or the lowest, which holds when
//     r_0 + sum over i >= 1 of max(0, r_i - G_i) <= G_0.
class SlotOccupancy {
 public:
  SlotOccupancy(SlotRanges ranges, bool strict);

  // Whether one more job of `priority` may start now.
  bool admits(std::int32_t priority) const;
  // Counts a job of `priority` as running. Normally called after admits(); counting a job beyond
  // the limits (say a worker that reconnects with more jobs than its new ranges allow) is allowed,
  // and then admits() refuses every job that would need the over-full slots until enough jobs are
  // released.
  void take(std::int32_t priority);
  // REQUIRES: a job of `priority` was taken and not yet released.
  void release(std::int32_t priority);

  // Jobs running in all ranges.
  std::uint32_t running() const { return running_total_; }
  // Jobs running in range `index` of ranges().
  std::uint32_t runningIn(std::size_t index) const { return running_[index]; }
  const SlotRanges& ranges() const { return ranges_; }
  bool strict() const { return strict_; }

 private:
  bool admitsRange(std::size_t index) const;

  SlotRanges ranges_;
  bool strict_;
  std::vector<std::uint32_t> running_;  // per range, parallel to ranges_.ranges()
  std::uint32_t running_total_ = 0;
};

}  // namespace corvee::broker
