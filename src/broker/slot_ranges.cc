#include "broker/slot_ranges.h"

#include <algorithm>
#include <cassert>
#include <limits>

#include "common/parse_whole.h"
#include "corvee/errors.h"

namespace corvee::broker {

namespace {

constexpr std::int32_t kLowestPriority = std::numeric_limits<std::int32_t>::min();

Status badSpec(std::string_view entry, std::string_view why) {
  return Status::error(errc::kBadRequest,
                       "priority slots entry \"" + std::string(entry) + "\": " + std::string(why));
}

}  // namespace

SlotRanges::SlotRanges(std::uint32_t total_slots)
    : total_slots_(total_slots), ranges_{{kLowestPriority, total_slots}} {}

Result<SlotRanges> SlotRanges::parse(std::string_view spec, std::uint32_t total_slots) {
  SlotRanges result(total_slots);
  if (spec.empty()) return result;

  std::vector<Range> entries;
  std::uint64_t guaranteed_sum = 0;
  for (std::size_t start = 0; start <= spec.size();) {
    std::size_t comma = std::min(spec.find(',', start), spec.size());
    std::string_view entry = spec.substr(start, comma - start);
    start = comma + 1;

    std::size_t colon = entry.find(':');
    if (colon == std::string_view::npos) return badSpec(entry, "expected PRIORITY:SLOTS");
    Range range{};
    if (!parseWhole(entry.substr(0, colon), range.from)) {
      return badSpec(entry, "the priority is not a 32-bit integer");
    }
    if (!parseWhole(entry.substr(colon + 1), range.guaranteed)) {
      return badSpec(entry, "the slot count is not a non-negative 32-bit integer");
    }
    // A range guaranteed nothing would only move a boundary: almost certainly a typo.
    if (range.guaranteed == 0) return badSpec(entry, "guarantees no slot; leave it out");
    if (!entries.empty() && range.from <= entries.back().from) {
      return badSpec(entry, "priorities must be strictly increasing (" + std::to_string(range.from) +
                                " after " + std::to_string(entries.back().from) + ")");
    }
    guaranteed_sum += range.guaranteed;
    if (guaranteed_sum > total_slots) {
      return badSpec(entry, "the guaranteed slots add up to " + std::to_string(guaranteed_sum) +
                                ", more than the worker's " + std::to_string(total_slots));
    }
    entries.push_back(range);
  }

  std::uint32_t rest = total_slots - static_cast<std::uint32_t>(guaranteed_sum);
  result.ranges_.clear();
  // With no slots left over, an implicit lowest range could never run anything: the priorities
  // below the first entry join its range instead.
  result.implicit_lowest_ = rest > 0;
  if (result.implicit_lowest_) result.ranges_.push_back({kLowestPriority, rest});
  result.ranges_.insert(result.ranges_.end(), entries.begin(), entries.end());
  return result;
}

std::size_t SlotRanges::rangeOf(std::int32_t priority) const {
  // The last range starting at or below `priority`; the lowest one when none does.
  auto after = std::upper_bound(ranges_.begin(), ranges_.end(), priority,
                                [](std::int32_t p, const Range& range) { return p < range.from; });
  return after == ranges_.begin() ? 0 : static_cast<std::size_t>(after - ranges_.begin()) - 1;
}

std::uint32_t SlotRanges::limit(std::size_t index, bool strict) const {
  if (strict) return index == 0 ? ranges_[0].guaranteed : ranges_[0].guaranteed + ranges_[index].guaranteed;
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i <= index; ++i) sum += ranges_[i].guaranteed;
  return sum;
}

std::string SlotRanges::toString() const {
  std::string out;
  for (std::size_t i = implicit_lowest_ ? 1 : 0; i < ranges_.size(); ++i) {
    if (!out.empty()) out += ',';
    out += std::to_string(ranges_[i].from) + ':' + std::to_string(ranges_[i].guaranteed);
  }
  return out;
}

SlotOccupancy::SlotOccupancy(SlotRanges ranges, bool strict)
    : ranges_(std::move(ranges)), strict_(strict), running_(ranges_.ranges().size(), 0) {}

bool SlotOccupancy::admits(std::int32_t priority) const {
  if (running_total_ >= ranges_.totalSlots()) return false;
  return admitsRange(ranges_.rangeOf(priority));
}

bool SlotOccupancy::admitsRange(std::size_t index) const {
  const std::vector<SlotRanges::Range>& ranges = ranges_.ranges();
  if (strict_) {
    // A free slot of its own range needs nothing from the lowest one.
    if (index > 0 && running_[index] < ranges[index].guaranteed) return true;
    // Otherwise it sits in the lowest range, which holds that range's jobs and every other range's
    // overflow.
    std::uint64_t lowest_used = running_[0];
    for (std::size_t i = 1; i < ranges.size(); ++i) {
      if (running_[i] > ranges[i].guaranteed) lowest_used += running_[i] - ranges[i].guaranteed;
    }
    return lowest_used < ranges[0].guaranteed;
  }
  // One more job in range `index` counts in every prefix from `index` up; each must still fit in
  // the slots of its ranges. Prefixes below `index` are unchanged.
  std::uint64_t slots = 0, used = 0;
  for (std::size_t k = 0; k < ranges.size(); ++k) {
    slots += ranges[k].guaranteed;
    used += running_[k];
    if (k >= index && used >= slots) return false;
  }
  return true;
}

void SlotOccupancy::take(std::int32_t priority) {
  ++running_[ranges_.rangeOf(priority)];
  ++running_total_;
}

void SlotOccupancy::release(std::int32_t priority) {
  std::size_t index = ranges_.rangeOf(priority);
  // A release without its take means the caller's bookkeeping is wrong: fail loudly in debug
  // builds, and never let the count wrap around (and shut the range for good) in release ones.
  if (running_[index] == 0) {
    assert(!"SlotOccupancy::release() without take()");
    return;
  }
  --running_[index];
  --running_total_;
}

}  // namespace corvee::broker
