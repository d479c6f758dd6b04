#include "corvee/status.h"

namespace corvee {

std::string Status::toString() const {
  if (isOk()) return "ok";
  return message_.empty() ? code_ : code_ + ": " + message_;
}

}  // namespace corvee
