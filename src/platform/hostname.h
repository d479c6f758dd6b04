// The default name a process shows to the broker: "host:pid".
#pragma once

#include <string>

namespace corvee {

std::string defaultPeerName();
// This machine's host name (gethostname); empty when it has none.
std::string hostName();

}  // namespace corvee
