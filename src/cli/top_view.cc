#include "cli/top_view.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

#include "cli/table.h"

namespace corvee::cli {

namespace {

double number(const nlohmann::json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string count(const nlohmann::json& doc, const char* key) {
  return std::to_string(static_cast<std::uint64_t>(number(doc, key)));
}

std::string text(const nlohmann::json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "850ms", "12.5s", "3m20s", "2h05m".
std::string age(double ms) {
  char buf[32];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%.0fms", ms);
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(ms / 60'000), static_cast<int>(ms / 1000) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(ms / 3'600'000), static_cast<int>(ms / 60'000) % 60);
  }
  return buf;
}

std::string rate(double per_second) {
  char buf[32];
  std::snprintf(buf, sizeof buf, per_second < 10 ? "%.1f" : "%.0f", per_second);
  return buf;
}

}  // namespace

std::string TopView::render(const nlohmann::json& stats, std::optional<double> elapsed_s) {
  std::ostringstream out;
  const nlohmann::json& jobs = stats.contains("jobs") ? stats["jobs"] : nlohmann::json::object();
  out << "broker " << text(stats, "broker") << "  store " << text(stats, "store") << "  up "
      << age(number(stats, "uptime_ms")) << "  queued " << count(jobs, "queued") << "  running "
      << count(jobs, "running") << "  succeeded " << count(jobs, "succeeded") << "  dead " << count(jobs, "dead")
      << "\n\n";

  std::vector<std::vector<std::string>> queues = {
      {"TASK", "QUEUED", "RUNNING", "SCHEDULED", "RETRYING", "RATE", "OLDEST", "DONE/S", "WORKERS"}};
  std::map<std::string, double> finished;
  if (stats.contains("queues") && stats["queues"].is_array()) {
    // By task name, so that a row stays where it was from one reading to the next.
    std::vector<nlohmann::json> sorted(stats["queues"].begin(), stats["queues"].end());
    std::sort(sorted.begin(), sorted.end(),
              [](const nlohmann::json& a, const nlohmann::json& b) { return text(a, "task") < text(b, "task"); });
    for (const auto& q : sorted) {
      std::string task = text(q, "task");
      double done = number(q, "succeeded") + number(q, "dead") + number(q, "cancelled");
      finished[task] = done;
      std::string per_second = "-";
      auto before = finished_.find(task);
      if (elapsed_s && *elapsed_s > 0) {
        double was = before != finished_.end() ? before->second : done;
        per_second = rate(done >= was ? (done - was) / *elapsed_s : 0.0);
      }
      std::string limit = "-";
      if (q.contains("rate") && q["rate"].is_object()) limit = text(q["rate"], "limit");
      if (q.value("paused", false)) limit = "paused";
      double oldest = number(q, "oldest_age_ms");
      queues.push_back({cell(task, 40), count(q, "queued"), count(q, "running"), count(q, "scheduled"),
                        count(q, "retrying"), limit, number(q, "queued") > 0 ? age(oldest) : "-", per_second,
                        count(q, "workers")});
    }
  }
  finished_ = std::move(finished);
  printTable(out, queues);
  out << "\n";

  std::vector<std::vector<std::string>> workers = {{"WORKER", "BUSY/SLOTS", "PREFETCHED", "TASKS"}};
  if (stats.contains("workers") && stats["workers"].is_array()) {
    for (const auto& w : stats["workers"]) {
      std::string tasks;
      if (w.contains("tasks") && w["tasks"].is_array()) {
        for (const auto& t : w["tasks"]) {
          if (!tasks.empty()) tasks += ",";
          if (t.is_string()) tasks += t.get<std::string>();
        }
      }
      std::string name = text(w, "name");
      if (w.value("draining", false)) name += " (draining)";
      workers.push_back({cell(name, 40), count(w, "busy") + "/" + count(w, "slots"), count(w, "prefetched"),
                         cell(tasks, 60)});
    }
  }
  printTable(out, workers);
  return out.str();
}

}  // namespace corvee::cli
