#include "broker/auth_tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace corvee::broker {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Splits `line` into its whitespace-separated words.
std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && isSpace(line[i])) ++i;
    std::size_t start = i;
    while (i < line.size() && !isSpace(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// A token must be sendable as an HTTP header value and a command-line word: visible ASCII.
bool isTokenText(std::string_view token) {
  for (char c : token) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

}  // namespace

TokenDigest TokenTable::digest(std::string_view token) {
  TokenDigest out{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), out.data());
  return out;
}

Result<TokenTable> TokenTable::parse(std::string_view text, const std::string& source) {
  TokenTable table;
  std::size_t line_number = 0;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    auto fields = words(line);
    if (fields.empty() || fields[0].front() == '#') continue;
    // Errors name the line, never the token on it: the message may end up in a log.
    std::string where = source + ":" + std::to_string(line_number) + ": ";
    if (fields.size() != 2) {
      return Status::error("bad_request", where + "expected `TOKEN ROLE`, got " + std::to_string(fields.size()) +
                                              " words");
    }
    std::optional<Access> access = parseAccess(fields[1]);
    if (!access) {
      return Status::error("bad_request", where + "unknown role '" + std::string(fields[1]) +
                                              "' (expected client, worker or admin)");
    }
    std::string_view token = fields[0];
    if (!isTokenText(token)) return Status::error("bad_request", where + "a token must be visible ASCII characters");
    if (token.size() < kMinTokenLength || token.size() > kMaxTokenLength) {
      return Status::error("bad_request", where + "a token must be " + std::to_string(kMinTokenLength) + " to " +
                                              std::to_string(kMaxTokenLength) + " characters long (this one has " +
                                              std::to_string(token.size()) + ")");
    }
    TokenDigest hashed = digest(token);
    if (table.find(hashed)) return Status::error("bad_request", where + "this token is already listed above");
    table.entries_.push_back({hashed, *access});
  }
  if (table.entries_.empty()) {
    // An empty file would lock everyone out, almost certainly by mistake.
    return Status::error("bad_request", source + ": no tokens (one `TOKEN ROLE` per line)");
  }
  return table;
}

Result<TokenTable> TokenTable::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error("unavailable", "cannot read the token file " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::error("unavailable", "cannot read the token file " + path);
  return parse(text.str(), path);
}

std::optional<Access> TokenTable::find(const TokenDigest& wanted) const {
  // No early exit: every entry costs the same, matching or not.
  std::optional<Access> found;
  for (const Entry& entry : entries_) {
    bool same = CRYPTO_memcmp(entry.digest.data(), wanted.data(), wanted.size()) == 0;
    if (same) found = entry.access;
  }
  return found;
}

}  // namespace corvee::broker
