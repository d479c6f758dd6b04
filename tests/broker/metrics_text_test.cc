#include "broker/metrics_text.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace corvee::broker {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(MetricsTextTest, FamilyWritesHelpAndTypeThenItsSamples) {
  MetricsText m;
  m.family("corvee_workers", "gauge", "Registered workers.");
  m.sample("corvee_workers", {}, std::uint64_t{3});
  m.family("corvee_jobs_finished_total", "counter", "Jobs finished.");
  m.sample("corvee_jobs_finished_total", {{"task", "echo"}, {"outcome", "succeeded"}}, std::uint64_t{12});
  EXPECT_EQ(m.text(),
            "# HELP corvee_workers Registered workers.\n"
            "# TYPE corvee_workers gauge\n"
            "corvee_workers 3\n"
            "# HELP corvee_jobs_finished_total Jobs finished.\n"
            "# TYPE corvee_jobs_finished_total counter\n"
            "corvee_jobs_finished_total{task=\"echo\",outcome=\"succeeded\"} 12\n");
}

TEST(MetricsTextTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(escapeLabelValue(R"(a\b"c)" "\n" "d"), R"(a\\b\"c\nd)");
  MetricsText m;
  m.sample("x", {{"task", "say \"hi\"\n"}}, std::uint64_t{1});
  EXPECT_EQ(m.text(), "x{task=\"say \\\"hi\\\"\\n\"} 1\n");
}

TEST(MetricsTextTest, InvalidUtf8InALabelValueIsReplaced) {
  std::string escaped = escapeLabelValue(std::string("a\xff" "b"));
  EXPECT_EQ(escaped, "a\xEF\xBF\xBD" "b");  // U+FFFD
  EXPECT_EQ(escapeLabelValue("h\xC3\xA9"), "h\xC3\xA9");  // valid UTF-8 is kept
}

TEST(MetricsTextTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(escapeHelp("a\\b\n\"c\""), "a\\\\b\\n\"c\"");
}

TEST(MetricsTextTest, ValuesReadBackExactly) {
  EXPECT_EQ(formatMetricValue(0.25), "0.25");
  EXPECT_EQ(formatMetricValue(3.0), "3");
  EXPECT_EQ(formatMetricValue(0.0001), "0.0001");
  EXPECT_EQ(formatMetricValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(formatMetricValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(formatMetricValue(0.0 / 0.0), "NaN");
}

TEST(MetricsTextTest, HistogramBucketsAreCumulativeAndEndWithInfEqualToCount) {
  Histogram h;
  h.observeMicros(50);         // 0.0001 bucket
  h.observeMicros(50);         // 0.0001 bucket
  h.observeMicros(3'000);      // 0.005 bucket
  h.observeMicros(2'000'000'000);  // beyond 1000 s: +Inf only
  MetricsText m;
  m.histogram("corvee_job_run_seconds", {{"task", "echo"}}, h);
  std::vector<std::string> l = lines(m.text());
  ASSERT_EQ(l.size(), Histogram::kBuckets + 2);
  EXPECT_EQ(l[0], "corvee_job_run_seconds_bucket{task=\"echo\",le=\"0.0001\"} 2");
  EXPECT_EQ(l[1], "corvee_job_run_seconds_bucket{task=\"echo\",le=\"0.00025\"} 2");
  EXPECT_EQ(l[4], "corvee_job_run_seconds_bucket{task=\"echo\",le=\"0.0025\"} 2");
  EXPECT_EQ(l[5], "corvee_job_run_seconds_bucket{task=\"echo\",le=\"0.005\"} 3");
  EXPECT_EQ(l[Histogram::kBuckets - 2], "corvee_job_run_seconds_bucket{task=\"echo\",le=\"1000\"} 3");
  EXPECT_EQ(l[Histogram::kBuckets - 1], "corvee_job_run_seconds_bucket{task=\"echo\",le=\"+Inf\"} 4");
  EXPECT_EQ(l[Histogram::kBuckets], "corvee_job_run_seconds_sum{task=\"echo\"} 2000.0031");
  EXPECT_EQ(l[Histogram::kBuckets + 1], "corvee_job_run_seconds_count{task=\"echo\"} 4");
  // Cumulative: never decreasing down the buckets.
  std::uint64_t last = 0;
  for (std::size_t i = 0; i < Histogram::kBuckets; ++i) {
    std::uint64_t v = std::stoull(l[i].substr(l[i].rfind(' ') + 1));
    EXPECT_GE(v, last) << l[i];
    last = v;
  }
}

TEST(MetricsTextTest, HistogramWithoutLabelsHasOnlyLe) {
  Histogram h;
  h.observeMicros(1);
  MetricsText m;
  m.histogram("corvee_store_commit_seconds", {}, h);
  EXPECT_EQ(lines(m.text())[0], "corvee_store_commit_seconds_bucket{le=\"0.0001\"} 1");
  EXPECT_EQ(lines(m.text()).back(), "corvee_store_commit_seconds_count 1");
}

}  // namespace
}  // namespace corvee::broker
