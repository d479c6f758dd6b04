#include "broker/cron_table.h"

#include <algorithm>
#include <utility>

namespace corvee::broker {

Status CronTable::load(CronRecord record) {
  Result<CronSpec> spec = CronSpec::parse(record.spec, record.tz);
  if (!spec) return spec.status();
  std::optional<std::uint64_t> next;
  if (!record.paused) next = spec->nextAfter(std::max(record.last_fire_ms, record.created_ms));
  std::string name = record.name;
  remove(name);
  auto [it, added] = entries_.emplace(name, Entry{std::move(record), std::move(*spec), std::nullopt});
  setNext(it->first, it->second, next);
  return Status::ok();
}

Status CronTable::add(CronRecord record, std::uint64_t now_ms, bool* replaced) {
  Result<CronSpec> spec = CronSpec::parse(record.spec, record.tz);
  if (!spec) return spec.status();
  auto old = entries_.find(record.name);
  *replaced = old != entries_.end();
  if (*replaced) {
    record.created_ms = old->second.record.created_ms;
    record.last_fire_ms = old->second.record.last_fire_ms;
  }
  std::optional<std::uint64_t> next = spec->nextAfter(std::max(now_ms, record.last_fire_ms));
  if (!next) {
    return Status::error("bad_request", "the cron expression '" + record.spec + "' never fires (within " +
                                            std::to_string(CronSpec::kHorizonYears) + " years)");
  }
  if (record.paused) next.reset();
  std::string name = record.name;
  remove(name);
  auto [it, added] = entries_.emplace(name, Entry{std::move(record), std::move(*spec), std::nullopt});
  setNext(it->first, it->second, next);
  return Status::ok();
}

bool CronTable::remove(std::string_view name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return false;
  setNext(it->first, it->second, std::nullopt);
  entries_.erase(it);
  return true;
}

bool CronTable::setPaused(std::string_view name, bool paused, std::uint64_t now_ms) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return false;
  Entry& entry = it->second;
  if (entry.record.paused == paused) return true;
  entry.record.paused = paused;
  // Resumed, it goes on from now: firings it missed while paused are not made up.
  setNext(it->first, entry, paused ? std::nullopt : entry.spec.nextAfter(std::max(now_ms, entry.record.last_fire_ms)));
  return true;
}

const CronTable::Entry* CronTable::find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::optional<std::uint64_t> CronTable::nextFiringMs() const {
  if (by_time_.empty()) return std::nullopt;
  return by_time_.begin()->first;
}

std::vector<std::string> CronTable::due(std::uint64_t now_ms) const {
  std::vector<std::string> names;
  for (auto it = by_time_.begin(); it != by_time_.end() && it->first <= now_ms; ++it) names.push_back(it->second);
  std::sort(names.begin(), names.end());
  return names;
}

const CronRecord& CronTable::fired(std::string_view name, std::uint64_t now_ms) {
  auto it = entries_.find(name);
  Entry& entry = it->second;
  // The firing covers every time up to now, missed ones included: it is recorded at now, not at
  // its scheduled time, so a restart right after it does not make up those times a second time.
  entry.record.last_fire_ms = std::max(now_ms, entry.record.last_fire_ms);
  setNext(it->first, entry, entry.spec.nextAfter(entry.record.last_fire_ms));
  return entry.record;
}

void CronTable::setNext(const std::string& name, Entry& entry, std::optional<std::uint64_t> next) {
  if (entry.next_ms) by_time_.erase({*entry.next_ms, name});
  entry.next_ms = next;
  if (next) by_time_.emplace(*next, name);
}

}  // namespace corvee::broker
