#include "platform/hostname.h"

#include <unistd.h>

namespace corvee {

std::string hostName() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return host;
}

std::string defaultPeerName() {
  std::string host = hostName();
  return (host.empty() ? std::string("unknown") : host) + ":" + std::to_string(getpid());
}

}  // namespace corvee
