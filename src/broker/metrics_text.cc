#include "broker/metrics_text.h"

#include <charconv>
#include <cmath>

#include "protocol/utf8.h"

namespace corvee::broker {

std::string escapeLabelValue(std::string_view value) {
  std::string valid;
  if (!protocol::isValidUtf8(value)) {
    valid = protocol::toValidUtf8(value);
    value = valid;
  }
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string formatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Plain decimals ("0.0001", not "1e-04") for the usual magnitudes, so bucket bounds read well;
  // each is still the shortest text that reads back exactly.
  double magnitude = std::fabs(value);
  bool fixed = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15);
  auto [end, error] = fixed ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed)
                            : std::to_chars(buf, buf + sizeof buf, value);
  return error == std::errc() ? std::string(buf, end) : std::string("NaN");
}

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escapeHelp(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void MetricsText::head(std::string_view name, std::string_view suffix, MetricLabels labels, const MetricLabel* extra) {
  out_ += name;
  out_ += suffix;
  if (labels.size() == 0 && extra == nullptr) return;
  out_ += '{';
  bool first = true;
  auto add = [&](const MetricLabel& label) {
    if (!first) out_ += ',';
    first = false;
    out_ += label.first;
    out_ += "=\"";
    out_ += escapeLabelValue(label.second);
    out_ += '"';
  };
  for (const MetricLabel& label : labels) add(label);
  if (extra != nullptr) add(*extra);
  out_ += '}';
}

void MetricsText::sample(std::string_view name, MetricLabels labels, std::uint64_t value) {
  head(name, {}, labels, nullptr);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

void MetricsText::sample(std::string_view name, MetricLabels labels, double value) {
  head(name, {}, labels, nullptr);
  out_ += ' ';
  out_ += formatMetricValue(value);
  out_ += '\n';
}

void MetricsText::histogram(std::string_view name, MetricLabels labels, const Histogram& histogram) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < Histogram::kBuckets; ++i) {
    cumulative += histogram.bucket(i);
    std::string le = i + 1 < Histogram::kBuckets
                         ? formatMetricValue(static_cast<double>(Histogram::kBoundsMicros[i]) / 1e6)
                         : std::string("+Inf");
    MetricLabel bound{"le", le};
    head(name, "_bucket", labels, &bound);
    out_ += ' ';
    out_ += std::to_string(cumulative);
    out_ += '\n';
  }
  head(name, "_sum", labels, nullptr);
  out_ += ' ';
  out_ += formatMetricValue(static_cast<double>(histogram.sumMicros()) / 1e6);
  out_ += '\n';
  head(name, "_count", labels, nullptr);
  out_ += ' ';
  out_ += std::to_string(histogram.count());
  out_ += '\n';
}

}  // namespace corvee::broker
