#include "broker/job_queue.h"

#include <algorithm>

namespace corvee::broker {

void JobQueue::pushBack(JobId id, std::int32_t priority, std::uint32_t ticket, FairKeys::KeyId key) {
  if (keys_ != nullptr) {
    pushKeyed({id, ticket, key}, priority, /*at_front=*/false);
  } else {
    levels_[priority].push_back({id, ticket, key});
  }
  ++live_;
}

void JobQueue::pushFront(JobId id, std::int32_t priority, std::uint32_t ticket, FairKeys::KeyId key) {
  if (keys_ != nullptr) {
    pushKeyed({id, ticket, key}, priority, /*at_front=*/true);
  } else {
    levels_[priority].push_front({id, ticket, key});
  }
  ++live_;
}

std::optional<JobQueue::Entry> JobQueue::peek(const LivenessCheck& live) {
  if (keys_ != nullptr) return peekKeyedFrom(keyed_.begin(), live);
  return peekFrom(levels_.begin(), live);
}

std::optional<JobQueue::Entry> JobQueue::peekBelow(std::int32_t priority, const LivenessCheck& live) {
  // Highest first: upper_bound finds the first level after `priority`, the highest one below it.
  if (keys_ != nullptr) return peekKeyedFrom(keyed_.upper_bound(priority), live);
  return peekFrom(levels_.upper_bound(priority), live);
}

std::optional<JobQueue::Entry> JobQueue::peekFrom(Levels::iterator level, const LivenessCheck& live) {
  while (level != levels_.end()) {
    auto& entries = level->second;
    while (!entries.empty() && !live(entries.front())) entries.pop_front();
    if (!entries.empty()) {
      peeked_ = level;
      return entries.front();
    }
    level = levels_.erase(level);  // an empty level would make every later peek walk past it
  }
  return std::nullopt;
}

void JobQueue::popPeeked() {
  --live_;
  if (keys_ != nullptr) return popKeyed();
  peeked_->second.pop_front();
  if (peeked_->second.empty()) levels_.erase(peeked_);
  peeked_ = levels_.end();
}

void JobQueue::forEachHead(const LivenessCheck& live, const std::function<void(const Entry&)>& visit) {
  // Emptied levels and lanes stay: peek() erases them, keeping its iterators and rotations right.
  auto head = [&](std::deque<Entry>& entries) {
    while (!entries.empty() && !live(entries.front())) entries.pop_front();
    if (!entries.empty()) visit(entries.front());
  };
  for (auto& [priority, entries] : levels_) head(entries);
  for (auto& [priority, level] : keyed_) {
    for (auto& [key, lane] : level.lanes) head(lane.entries);
  }
}

void JobQueue::dealByKeys(const FairKeys& keys) {
  if (keys_ != nullptr) return;
  keys_ = &keys;
  for (auto& [priority, entries] : levels_) {
    if (entries.empty()) continue;
    KeyedLevel& level = keyed_[priority];
    level.lanes[FairKeys::kNoKey].entries = std::move(entries);
    level.ring.push_back(FairKeys::kNoKey);
  }
  levels_.clear();
  peeked_ = levels_.end();
}

void JobQueue::pushKeyed(const Entry& entry, std::int32_t priority, bool at_front) {
  KeyedLevel& level = keyed_[priority];
  auto [lane, added] = level.lanes.try_emplace(entry.key);
  if (at_front) {
    // A job put back after its worker was lost goes first: first in its key, and its key first
    // among the keys (found by a scan, which is rare enough: a worker lost).
    lane->second.entries.push_front(entry);
    if (!added) {
      for (auto* turns : {&level.fresh, &level.ring}) {
        if (auto at = std::find(turns->begin(), turns->end(), entry.key); at != turns->end()) {
          turns->erase(at);
          break;
        }
      }
    }
    level.fresh.push_front(entry.key);
  } else {
    lane->second.entries.push_back(entry);
    if (added) level.fresh.push_back(entry.key);
  }
}

std::optional<JobQueue::Entry> JobQueue::peekTurns(KeyedLevel& level, std::deque<FairKeys::KeyId>& turns,
                                                   const LivenessCheck& live) {
  // Each key is looked at once: the front one either deals, or leaves (nothing live left), or
  // goes to the back of the rotation (at its cap), which brings the next one to the front.
  for (std::size_t left = turns.size(); left > 0 && !turns.empty(); --left) {
    FairKeys::KeyId key = turns.front();
    auto lane = level.lanes.find(key);
    auto& entries = lane->second.entries;
    while (!entries.empty() && !live(entries.front())) entries.pop_front();
    if (entries.empty()) {
      level.lanes.erase(lane);
      turns.pop_front();
      continue;
    }
    if (keys_->atCap(key)) {
      lane->second.credit = 0;
      turns.pop_front();
      level.ring.push_back(key);
      continue;
    }
    if (lane->second.credit == 0) lane->second.credit = keys_->weight(key);
    return entries.front();
  }
  return std::nullopt;
}

std::optional<JobQueue::Entry> JobQueue::peekKeyedFrom(KeyedLevels::iterator level, const LivenessCheck& live) {
  while (level != keyed_.end()) {
    KeyedLevel& l = level->second;
    std::optional<Entry> found = peekTurns(l, l.fresh, live);
    peeked_fresh_ = found.has_value();
    if (!found) found = peekTurns(l, l.ring, live);
    if (found) {
      peeked_keyed_ = level;
      return found;
    }
    if (l.empty()) {
      level = keyed_.erase(level);  // an empty level would make every later peek walk past it
    } else {
      ++level;  // every key here is at its cap: lower priorities may still be dealt
    }
  }
  return std::nullopt;
}

void JobQueue::popKeyed() {
  KeyedLevel& l = peeked_keyed_->second;
  std::deque<FairKeys::KeyId>& turns = peeked_fresh_ ? l.fresh : l.ring;
  FairKeys::KeyId key = turns.front();
  auto lane = l.lanes.find(key);
  lane->second.entries.pop_front();
  if (lane->second.entries.empty()) {
    l.lanes.erase(lane);
    turns.pop_front();
  } else if (--lane->second.credit == 0) {
    // Its turn is over: it joins the back of the rotation.
    turns.pop_front();
    l.ring.push_back(key);
  }
  if (l.empty()) keyed_.erase(peeked_keyed_);
  peeked_keyed_ = keyed_.end();
}

}  // namespace corvee::broker
