// Aligned text tables for people at a terminal (`jobs`, `dead list`, `cron list`), and the cell
// formats they share.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace corvee::cli {

// Epoch milliseconds as UTC "2026-11-28 06:50:23"; "-" for 0 (not yet, or never).
std::string utcTime(std::uint64_t ms);
// What a table cell shows of `text`: valid UTF-8, no line breaks, at most `max` bytes.
std::string cell(std::string_view text, std::size_t max);
// Prints `rows` (the first is the header) in columns two spaces apart, without trailing blanks.
void printTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

}  // namespace corvee::cli
