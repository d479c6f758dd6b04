// AddressCounts: the connections each remote address holds, for --max-connections-per-address.
//
// One host (a runaway script, a misconfigured pool) must not take every connection the broker
// has (--max-connections) and lock everyone else out. With a limit of 0 nothing is counted.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <unordered_map>

namespace corvee::broker {

class AddressCounts {
 public:
  explicit AddressCounts(std::size_t limit) : limit_(limit) {}

  // Counts a connection from `address` and returns true, or returns false (counting nothing)
  // when that address already holds the limit.
  bool admit(const boost::asio::ip::address& address);
  // A connection admit() counted has closed.
  void release(const boost::asio::ip::address& address);
  std::size_t count(const boost::asio::ip::address& address) const;
  std::size_t limit() const { return limit_; }
  // Addresses holding at least one connection.
  std::size_t addresses() const { return counts_.size(); }

 private:
  struct Hash {
    std::size_t operator()(const boost::asio::ip::address& address) const;
  };
  std::size_t limit_;
  std::unordered_map<boost::asio::ip::address, std::size_t, Hash> counts_;
};

}  // namespace corvee::broker
