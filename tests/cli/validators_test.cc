// The CLI's value checks: what each accepts, what it hands CLI11 back, and what it refuses.
#include "cli/validators.h"

#include <gtest/gtest.h>

#include <string>

namespace corvee::cli {
namespace {

// The validator's verdict on `value`: "" when accepted (with `value` rewritten), else the message.
std::string check(const CLI::Validator& validator, std::string& value) { return validator(value); }

std::string accepted(const CLI::Validator& validator, std::string value) {
  std::string error = check(validator, value);
  EXPECT_EQ(error, "") << "'" << value << "' was refused";
  return value;
}

std::string refused(const CLI::Validator& validator, std::string value) {
  std::string error = check(validator, value);
  EXPECT_NE(error, "") << "'" << value << "' was accepted";
  return error;
}

TEST(DurationTest, PlainNumbersAreMilliseconds) {
  EXPECT_EQ(accepted(duration(), "0"), "0");
  EXPECT_EQ(accepted(duration(), "1500"), "1500");
  EXPECT_EQ(accepted(duration(), "007"), "7");
}

TEST(DurationTest, UnitsGiveMilliseconds) {
  EXPECT_EQ(accepted(duration(), "250ms"), "250");
  EXPECT_EQ(accepted(duration(), "30s"), "30000");
  EXPECT_EQ(accepted(duration(), "15m"), "900000");
  EXPECT_EQ(accepted(duration(), "2h"), "7200000");
  EXPECT_EQ(accepted(duration(), "7d"), "604800000");
}

TEST(DurationTest, RefusesWhatIsNotADuration) {
  for (const char* bad : {"", "s", "ms", "-5", "-5s", "1.5h", "5 s", " 5s", "5S", "5w", "h5", "5hs", "0x10", "5sm"}) {
    std::string message = refused(duration(), bad);
    EXPECT_NE(message.find("not a duration"), std::string::npos) << bad << ": " << message;
  }
}

TEST(DurationTest, RefusesWhatOverflowsOrPassesTheMaximum) {
  // 2^64 / 86400000 is about 2.1e11 days: this many days does not fit in 64-bit milliseconds.
  EXPECT_NE(refused(duration(), "300000000000d").find("too long"), std::string::npos);
  EXPECT_NE(refused(duration(), "99999999999999999999").find("too long"), std::string::npos);
  EXPECT_EQ(accepted(duration(60'000), "1m"), "60000");
  EXPECT_NE(refused(duration(60'000), "61s").find("too long"), std::string::npos);
}

TEST(WallTimeTest, Rfc3339TimesBecomeEpochMilliseconds) {
  EXPECT_EQ(accepted(wallTime(), "2026-12-01T09:00:00Z"), "1796115600000");
  EXPECT_EQ(accepted(wallTime(), "2026-12-01T10:00:00+01:00"), "1796115600000");
  EXPECT_EQ(accepted(wallTime(), "2026-12-01T09:00:00.250Z"), "1796115600250");
  EXPECT_EQ(accepted(wallTime(), "1970-01-01T00:00:00.001Z"), "1");
}

TEST(WallTimeTest, RefusesWhatIsNotRfc3339) {
  for (const char* bad : {"", "tomorrow", "2026-12-01", "2026-12-01 09:00:00", "2026-13-01T09:00:00Z",
                          "2026-12-01T09:00:00", "1796115600000"}) {
    std::string message = refused(wallTime(), bad);
    EXPECT_NE(message.find("RFC 3339"), std::string::npos) << bad << ": " << message;
  }
  EXPECT_NE(refused(wallTime(), "1969-12-31T23:59:59Z").find("before 1970"), std::string::npos);
}

TEST(RateLimitTest, TaskEqualsRate) {
  EXPECT_EQ(accepted(rateLimit(), "resize=10/s"), "resize=10/s");
  EXPECT_EQ(accepted(rateLimit(), "mail=100/m:20"), "mail=100/m:20");
  EXPECT_EQ(accepted(rateLimit(), "x=0.5/s"), "x=0.5/s");
  for (const char* bad : {"", "resize", "=10/s", "resize=", "resize=fast", "resize=0/s", "resize=10/s:x"}) {
    refused(rateLimit(), bad);
  }
}

TEST(RateOrOffTest, ARateOrOff) {
  EXPECT_EQ(accepted(rateOrOff(), "10/s"), "10/s");
  EXPECT_EQ(accepted(rateOrOff(), "100/m:20"), "100/m:20");
  EXPECT_EQ(accepted(rateOrOff(), "off"), "off");
  for (const char* bad : {"", "fast", "0/s", "10/s:x", "OFF", "echo=10/s"}) refused(rateOrOff(), bad);
}

TEST(FairnessTest, FairWeightAndKeyConcurrency) {
  EXPECT_EQ(accepted(fairWeight(), "report:tenant-1=3"), "report:tenant-1=3");
  EXPECT_EQ(accepted(fairWeight(), "report:org:7=2"), "report:org:7=2");
  for (const char* bad : {"", "report", "report=3", "report:k", ":k=1", "report:=2", "report:k=0", "report:k=x"}) {
    refused(fairWeight(), bad);
  }
  EXPECT_EQ(accepted(keyConcurrency(), "report=2"), "report=2");
  EXPECT_EQ(accepted(keyConcurrency(), "report=0"), "report=0");
  for (const char* bad : {"", "report", "=2", "report=", "report=-1", "report=many"}) refused(keyConcurrency(), bad);
}

TEST(NumberTest, PlainDecimalInRangeOnly) {
  EXPECT_EQ(accepted(numberIn<std::uint32_t>(0, 1000000), "010"), "10");
  refused(numberIn<std::uint32_t>(0, 1000000), "-1");
  refused(numberIn<std::uint32_t>(0, 1000000), "1000001");
  refused(numberIn<std::uint32_t>(0, 1000000), "0x10");
}

TEST(JobIdTest, PositiveDecimalOnly) {
  EXPECT_EQ(accepted(jobId(), "42"), "42");
  EXPECT_NE(refused(jobId(), "0").find("not a job id"), std::string::npos);
  refused(jobId(), "abc");
}

}  // namespace
}  // namespace corvee::cli
