#include "broker/histogram.h"

#include <algorithm>

namespace corvee::broker {

void Histogram::observeMicros(std::uint64_t micros) {
  // lower_bound: the first bound >= micros, since a bucket holds values up to and including it.
  auto at = std::lower_bound(kBoundsMicros.begin(), kBoundsMicros.end(), micros);
  ++counts_[static_cast<std::size_t>(at - kBoundsMicros.begin())];
  ++count_;
  sum_micros_ += micros;
}

}  // namespace corvee::broker
