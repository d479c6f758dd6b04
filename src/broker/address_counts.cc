#include "broker/address_counts.h"

#include <functional>
#include <string_view>

namespace corvee::broker {

std::size_t AddressCounts::Hash::operator()(const boost::asio::ip::address& address) const {
  if (address.is_v4()) return std::hash<std::uint32_t>()(address.to_v4().to_uint());
  auto bytes = address.to_v6().to_bytes();
  return std::hash<std::string_view>()(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

bool AddressCounts::admit(const boost::asio::ip::address& address) {
  if (limit_ == 0) return true;
  std::size_t& held = counts_[address];
  if (held >= limit_) return false;
  ++held;
  return true;
}

void AddressCounts::release(const boost::asio::ip::address& address) {
  if (limit_ == 0) return;
  auto it = counts_.find(address);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
}

std::size_t AddressCounts::count(const boost::asio::ip::address& address) const {
  auto it = counts_.find(address);
  return it == counts_.end() ? 0 : it->second;
}

}  // namespace corvee::broker
