#include "broker/peer_link.h"

namespace corvee::broker {

void PeerLink::takeWritable(std::string& into) {
  if (into.empty()) {
    into.swap(urgent_);  // urgent_ is left empty
  } else {
    into.append(urgent_);
    urgent_.clear();
  }
  if (released_ == 0) return;
  if (into.empty() && released_ == output_.size()) {
    into.swap(output_);  // the common case: no copy
  } else {
    into.append(output_, 0, released_);
    output_.erase(0, released_);
  }
  released_ = 0;
}

}  // namespace corvee::broker
