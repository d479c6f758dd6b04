// TopView: what `corvee top` prints for one reading of the broker's STATS document: its queues and
// workers, with each queue's jobs done per second since the reading before. Pure text, so that it
// is tested without a broker or a terminal; cmd_top.cc does the reading and the redrawing.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>

namespace corvee::cli {

class TopView {
 public:
  // Renders reading `stats` (the STATS_REPLY document, docs/protocol.md section 6), taken
  // `elapsed_s` seconds after the previous one passed to render(); the first reading has no
  // rates ("-"). Remembers each queue's finished total for the next reading.
  std::string render(const nlohmann::json& stats, std::optional<double> elapsed_s);

 private:
  std::map<std::string, double> finished_;  // per task: succeeded + dead + cancelled, last reading
};

}  // namespace corvee::cli
