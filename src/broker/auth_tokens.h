// TokenTable: the broker's --auth-tokens file, and the access each token grants.
//
// The file holds one `TOKEN ROLE` per line (role: client, worker or admin); blank lines and lines
// starting with '#' are skipped. Tokens are kept only as SHA-256 digests and looked up in constant
// time: every entry is compared, with CRYPTO_memcmp, whichever one matches, so the time a lookup
// takes says nothing about how close a guess came. Neither tokens nor digests are ever logged.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/access.h"
#include "corvee/status.h"

namespace corvee::broker {

using TokenDigest = std::array<unsigned char, 32>;

// Shortest token the file may hold: a guessable token is no protection.
inline constexpr std::size_t kMinTokenLength = 16;
// Longest token: it travels in HELLO's str field and in an HTTP header.
inline constexpr std::size_t kMaxTokenLength = 1024;

class TokenTable {
 public:
  // Parses the file's text; `source` names it in errors ("FILE:LINE: ..."). Fails with bad_request
  // on a malformed line, an unknown role, a token too short or too long, or a token listed twice.
  static Result<TokenTable> parse(std::string_view text, const std::string& source);
  // Reads and parses the file at `path`; `unavailable` when it cannot be read.
  static Result<TokenTable> load(const std::string& path);

  static TokenDigest digest(std::string_view token);

  // The access `token` grants, nullopt when it is not in the table.
  std::optional<Access> find(std::string_view token) const { return find(digest(token)); }
  std::optional<Access> find(const TokenDigest& digest) const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    TokenDigest digest;
    Access access;
  };
  std::vector<Entry> entries_;
};

}  // namespace corvee::broker
