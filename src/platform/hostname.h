// The default name a process shows to the broker: "host:pid".
#pragma once

#include <string>

namespace corvee {

std::string defaultPeerName();

}  // namespace corvee
