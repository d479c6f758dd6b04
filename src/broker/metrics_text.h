// MetricsText: writes the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), for METRICS (docs/protocol.md,
// "Metrics (v5)"). Presentation only: what the numbers are is Core's business (metrics_render.cc).
//
// A family is announced once with its HELP and TYPE lines, and all its samples follow it: the
// caller writes family by family. Label values are escaped (backslash, double quote, line feed)
// and made valid UTF-8, so a task name with any bytes in it still yields a document that
// `promtool check metrics` accepts.
//
// Not thread-safe; a value type used for one rendering.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "broker/histogram.h"

namespace corvee::broker {

using MetricLabel = std::pair<std::string_view, std::string_view>;  // name, unescaped value
using MetricLabels = std::initializer_list<MetricLabel>;

class MetricsText {
 public:
  // Starts family `name` of `type` (counter, gauge, histogram): its # HELP and # TYPE lines.
  // REQUIRES: `name` and the label names are valid metric names ([a-zA-Z_:][a-zA-Z0-9_:]*).
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample: `name{labels} value`.
  void sample(std::string_view name, MetricLabels labels, std::uint64_t value);
  void sample(std::string_view name, MetricLabels labels, double value);
  // A histogram's samples: NAME_bucket for each bound, cumulative, ending with le="+Inf" (equal to
  // NAME_count), then NAME_sum in seconds and NAME_count. `labels` come before `le`.
  void histogram(std::string_view name, MetricLabels labels, const Histogram& histogram);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  // Writes `name{labels` with `extra` appended as one more label, and the closing brace.
  void head(std::string_view name, std::string_view suffix, MetricLabels labels, const MetricLabel* extra);
  std::string out_;
};

// A label value as the text format spells it between its quotes: \ as \\, " as \", line feed as
// \n; invalid UTF-8 replaced by U+FFFD.
std::string escapeLabelValue(std::string_view value);
// HELP text: \ as \\ and line feed as \n.
std::string escapeHelp(std::string_view help);
// A sample value: the shortest text that reads back as `value`; +Inf, -Inf and NaN as Prometheus
// spells them.
std::string formatMetricValue(double value);

}  // namespace corvee::broker
