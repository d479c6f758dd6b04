#include "platform/hostname.h"

#include <unistd.h>

namespace corvee {

std::string defaultPeerName() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "unknown") + ":" + std::to_string(getpid());
}

}  // namespace corvee
