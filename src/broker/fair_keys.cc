#include "broker/fair_keys.h"

#include <optional>

#include "common/parse_whole.h"
#include "corvee/errors.h"
#include "protocol/names.h"

namespace corvee::broker {

namespace {

// A whole decimal number from `min` to `max`, or nullopt.
std::optional<std::uint32_t> parseCount(std::string_view text, std::uint32_t min, std::uint32_t max) {
  std::uint64_t value = 0;
  if (!parseWhole(text, value) || value < min || value > max) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

}  // namespace

Result<FairWeightSpec> FairWeightSpec::parse(std::string_view spec) {
  auto colon = spec.find(':');
  auto eq = spec.rfind('=');
  if (colon == std::string_view::npos || eq == std::string_view::npos || eq < colon) {
    return Status::error(errc::kBadRequest, "--fair-weight wants TASK:KEY=W, got '" + std::string(spec) + "'");
  }
  std::string_view task = spec.substr(0, colon);
  std::string_view key = spec.substr(colon + 1, eq - colon - 1);
  if (Status ok = protocol::checkTaskName(task); !ok) return ok;
  if (Status ok = protocol::checkName("fair key", key); !ok) return ok;
  auto weight = parseCount(spec.substr(eq + 1), 1, FairKeys::kMaxWeight);
  if (!weight) {
    return Status::error(errc::kBadRequest, "--fair-weight: the weight must be a whole number from 1 to " +
                                                std::to_string(FairKeys::kMaxWeight) + ", got '" +
                                                std::string(spec.substr(eq + 1)) + "'");
  }
  return FairWeightSpec{std::string(task), std::string(key), *weight};
}

Result<KeyConcurrencySpec> KeyConcurrencySpec::parse(std::string_view spec) {
  auto eq = spec.rfind('=');
  if (eq == std::string_view::npos) {
    return Status::error(errc::kBadRequest, "--key-concurrency wants TASK=N, got '" + std::string(spec) + "'");
  }
  std::string_view task = spec.substr(0, eq);
  if (Status ok = protocol::checkTaskName(task); !ok) return ok;
  auto cap = parseCount(spec.substr(eq + 1), 0, 1'000'000);
  if (!cap) {
    return Status::error(errc::kBadRequest, "--key-concurrency: N must be a whole number from 0 to 1000000, got '" +
                                                std::string(spec.substr(eq + 1)) + "'");
  }
  return KeyConcurrencySpec{std::string(task), *cap};
}

FairKeys::FairKeys() : slots_(1) {}

std::uint32_t FairKeys::weightOf(std::string_view key) const {
  auto it = weights_.find(key);
  return it == weights_.end() ? 1 : it->second;
}

void FairKeys::setWeight(std::string_view key, std::uint32_t weight) {
  if (weight == 0) weight = 1;
  if (weight > kMaxWeight) weight = kMaxWeight;
  weights_.insert_or_assign(std::string(key), weight);
  if (auto it = by_name_.find(key); it != by_name_.end()) slots_[it->second].weight = weight;
}

FairKeys::KeyId FairKeys::acquire(std::string_view key) {
  if (key.empty()) return kNoKey;
  auto it = by_name_.find(key);
  if (it != by_name_.end()) {
    ++slots_[it->second].refs;
    return it->second;
  }
  KeyId id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<KeyId>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[id];
  slot.name = std::string(key);
  slot.refs = 1;
  slot.weight = weightOf(key);
  by_name_.emplace(slot.name, id);
  return id;
}

void FairKeys::release(KeyId id) {
  if (id == kNoKey) return;
  Slot& slot = slots_[id];
  if (--slot.refs > 0) return;
  // No job holds it, so none runs or waits: the counts are zero and the slot starts afresh.
  by_name_.erase(std::string_view(slot.name));
  slot = Slot{};
  free_.push_back(id);
}

bool FairKeys::ended(KeyId id) {
  bool was_capped = atCap(id);
  --slots_[id].running;
  return was_capped;
}

void FairKeys::queued(KeyId id) {
  if (slots_[id].queued++ == 0 && id != kNoKey) ++waiting_keys_;
}

void FairKeys::dequeued(KeyId id) {
  if (--slots_[id].queued == 0 && id != kNoKey) --waiting_keys_;
}

}  // namespace corvee::broker
