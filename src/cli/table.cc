#include "cli/table.h"

#include <time.h>

#include <algorithm>
#include <array>

#include "protocol/utf8.h"

namespace corvee::cli {

namespace {

// Display width, counting each UTF-8 character as one column (near enough for names and codes).
std::size_t columns(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string utcTime(std::uint64_t ms) {
  if (ms == 0) return "-";
  time_t seconds = static_cast<time_t>(ms / 1000);
  struct tm parts {};
  if (gmtime_r(&seconds, &parts) == nullptr) return std::to_string(ms);
  std::array<char, 32> text{};
  std::size_t n = strftime(text.data(), text.size(), "%Y-%m-%d %H:%M:%S", &parts);
  return n == 0 ? std::to_string(ms) : std::string(text.data(), n);
}

std::string cell(std::string_view text, std::size_t max) {
  std::string shown = protocol::toValidUtf8(text);
  std::replace(shown.begin(), shown.end(), '\n', ' ');
  std::replace(shown.begin(), shown.end(), '\t', ' ');
  if (shown.size() <= max) return shown;
  return std::string(protocol::truncateUtf8(shown, max - 3)) + "...";
}

void printTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size());
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], columns(row[c]));
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - columns(row[c]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
  out.flush();
}

}  // namespace corvee::cli
