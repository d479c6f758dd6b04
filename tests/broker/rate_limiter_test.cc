#include "broker/rate_limiter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "corvee/errors.h"
#include "fakes/fake_clock.h"

namespace corvee::broker {
namespace {

using corvee::testing::FakeClock;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

RateSpec rate(const char* spec) {
  Result<RateSpec> parsed = RateSpec::parse(spec);
  EXPECT_TRUE(parsed.isOk()) << spec << ": " << parsed.status().toString();
  return parsed.isOk() ? *parsed : *RateSpec::parse("1/s");
}

// ---- RateSpec ----

TEST(RateLimitSpec, ParsesRatesPeriodsAndBursts) {
  struct Case {
    const char* spec;
    double per_second;
    std::uint64_t burst;
    const char* canonical;
  };
  for (const Case& c : std::vector<Case>{
           {"10/s", 10, 10, "10/s:10"},
           {"10/s:5", 10, 5, "10/s:5"},
           {"0.5/s", 0.5, 1, "0.5/s:1"},
           {"2.5/s", 2.5, 3, "2.5/s:3"},
           {"150/m", 2.5, 3, "150/m:3"},
           {"1.250/s:3", 1.25, 3, "1.25/s:3"},
           {"30/m", 0.5, 1, "30/m:1"},
           {"7200/h:100", 2, 100, "7200/h:100"},
           {"0.000001/h", 1e-6 / 3600, 1, "0.000001/h:1"},
           {"007/s", 7, 7, "7/s:7"},
           {"1000000000/s:1000000000", 1e9, 1000000000, "1000000000/s:1000000000"},
       }) {
    Result<RateSpec> spec = RateSpec::parse(c.spec);
    ASSERT_TRUE(spec.isOk()) << c.spec << ": " << spec.status().toString();
    EXPECT_DOUBLE_EQ(spec->perSecond(), c.per_second) << c.spec;
    EXPECT_EQ(spec->burst(), c.burst) << c.spec;
    EXPECT_EQ(spec->toString(), c.canonical) << c.spec;
    EXPECT_EQ(*RateSpec::parse(spec->toString()), *spec) << c.spec;
  }
}

TEST(RateLimitSpec, BadSpecsSayWhatIsWrong) {
  struct Case {
    const char* spec;
    const char* message_part;
  };
  for (const Case& c : std::vector<Case>{
           {"", "no period"},
           {"10", "no period"},
           {"/s", "N is not a decimal number"},
           {"ten/s", "N is not a decimal number"},
           {"-1/s", "N is not a decimal number"},
           {"+1/s", "N is not a decimal number"},
           {".5/s", "N is not a decimal number"},
           {"1./s", "N is not a decimal number"},
           {"1e3/s", "N is not a decimal number"},
           {" 1/s", "N is not a decimal number"},
           {"1 /s", "N is not a decimal number"},
           {"0.0000001/s", "N has more than 6 decimals"},
           {"1000000001/s", "N is over 1000000000"},
           {"1000000000.5/s", "N is over 1000000000"},
           {"99999999999999999999999/s", "N is not a decimal number"},
           {"0/s", "N must be positive"},
           {"0.000/s", "N must be positive"},
           {"10/", "the period is not s, m or h"},
           {"10/d", "the period is not s, m or h"},
           {"10/sec", "the period is not s, m or h"},
           {"10/s/s", "the period is not s, m or h"},
           {"10/s:", "BURST is not a whole number"},
           {"10/s:x", "BURST is not a whole number"},
           {"10/s:1:2", "BURST is not a whole number"},
           {"10/s:-1", "BURST is not a whole number"},
           {"10/s:0", "BURST must be at least 1"},
           {"10/s:1000000001", "BURST is over 1000000000"},
       }) {
    Result<RateSpec> spec = RateSpec::parse(c.spec);
    ASSERT_FALSE(spec.isOk()) << c.spec;
    EXPECT_EQ(spec.status().code(), errc::kBadRequest) << c.spec;
    EXPECT_NE(spec.status().message().find(c.message_part), std::string::npos)
        << c.spec << " gave: " << spec.status().message();
    EXPECT_NE(spec.status().message().find("expected N/s, N/m or N/h"), std::string::npos) << c.spec;
  }
}

// ---- TokenBucket ----

TEST(TaskRateSpec, SplitsTheTaskAtTheFirstEquals) {
  auto spec = TaskRateSpec::parse("resize=10/s:20");
  ASSERT_TRUE(spec.isOk()) << spec.status().toString();
  EXPECT_EQ(spec->task, "resize");
  EXPECT_EQ(spec->rate, *RateSpec::parse("10/s:20"));
  for (const char* bad : {"resize", "=10/s", "resize=fast", "resize=0/s"}) {
    auto refused = TaskRateSpec::parse(bad);
    ASSERT_FALSE(refused.isOk()) << bad;
    EXPECT_EQ(refused.status().code(), "bad_request") << bad;
  }
}

TEST(TokenBucket, ABurstThenTheSteadyRate) {
  FakeClock clock;
  TokenBucket bucket(rate("10/s:5"), clock.now());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.tryTake(clock.now())) << i;
  EXPECT_FALSE(bucket.tryTake(clock.now()));
  MonoTime start = clock.now();
  for (int token = 1; token <= 50; ++token) {
    // The broker's timer: wake up exactly when nextTokenAt() says, not a moment earlier.
    std::optional<MonoTime> next = bucket.nextTokenAt(clock.now());
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(*next, start + milliseconds(100 * token));
    clock.advance(milliseconds(99));
    EXPECT_FALSE(bucket.tryTake(clock.now()));
    clock.advance(milliseconds(1));
    EXPECT_EQ(bucket.nextTokenAt(clock.now()), std::nullopt);  // one is there: deal at once
    EXPECT_TRUE(bucket.tryTake(clock.now()));
    EXPECT_FALSE(bucket.tryTake(clock.now()));
  }
}

TEST(TokenBucket, ANewBucketIsFull) {
  FakeClock clock;
  TokenBucket bucket(rate("1/h:3"), clock.now());
  EXPECT_DOUBLE_EQ(bucket.tokens(clock.now()), 3);
  EXPECT_EQ(bucket.nextTokenAt(clock.now()), std::nullopt);
}

TEST(TokenBucket, ALongIdleRefillsOnlyToTheBurst) {
  FakeClock clock;
  TokenBucket bucket(rate("100/s:20"), clock.now());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(bucket.tryTake(clock.now()));
  clock.advance(hours(24 * 365));
  EXPECT_DOUBLE_EQ(bucket.tokens(clock.now()), 20);
  int taken = 0;
  while (bucket.tryTake(clock.now())) ++taken;
  EXPECT_EQ(taken, 20);
  EXPECT_EQ(bucket.nextTokenAt(clock.now()), clock.now() + milliseconds(10));
}

TEST(TokenBucket, FractionalRates) {
  FakeClock clock;
  TokenBucket half(rate("0.5/s"), clock.now());
  TokenBucket per_minute(rate("1.5/m"), clock.now());
  EXPECT_TRUE(half.tryTake(clock.now()));
  EXPECT_TRUE(per_minute.tryTake(clock.now()));
  EXPECT_EQ(half.nextTokenAt(clock.now()), clock.now() + seconds(2));
  EXPECT_EQ(per_minute.nextTokenAt(clock.now()), clock.now() + seconds(40));

  clock.advance(seconds(1));
  EXPECT_DOUBLE_EQ(half.tokens(clock.now()), 0.5);
  EXPECT_FALSE(half.tryTake(clock.now()));
  clock.advance(seconds(1));
  EXPECT_TRUE(half.tryTake(clock.now()));
  clock.advance(seconds(37));
  EXPECT_FALSE(per_minute.tryTake(clock.now()));
  clock.advance(seconds(1));
  EXPECT_TRUE(per_minute.tryTake(clock.now()));
  EXPECT_EQ(per_minute.nextTokenAt(clock.now()), clock.now() + seconds(40));
}

TEST(TokenBucket, NoDriftOverAMillionTokensAtARateThatDoesNotDivideASecond) {
  // 3/s: a token every 333,333,333.3 ns. Rounding each interval would put token k up to k/3 ns
  // late, 0.3 ms after a million; exact counting puts it at ceil(k * 10^9 / 3) ns. (The burst of 2
  // keeps the bucket from filling in between: a full bucket drops what a late look overshoots,
  // as ABurstOfOneKeepsJobsApartButLosesALateWakeUp shows.)
  for (std::uint64_t per_second : {3, 7, 1000}) {
    MonoTime start{seconds(1000)};
    std::string spec = std::to_string(per_second) + "/s:2";
    TokenBucket bucket(rate(spec.c_str()), start);
    ASSERT_TRUE(bucket.tryTake(start));
    ASSERT_TRUE(bucket.tryTake(start));
    MonoTime now = start;
    for (std::uint64_t token = 1; token <= 1'000'000; ++token) {
      std::optional<MonoTime> next = bucket.nextTokenAt(now);
      ASSERT_TRUE(next.has_value());
      std::uint64_t exact_ns = (token * 1'000'000'000 + per_second - 1) / per_second;
      ASSERT_EQ(*next, start + nanoseconds(exact_ns)) << spec << ", token " << token;
      now = *next;
      ASSERT_TRUE(bucket.tryTake(now)) << spec << ", token " << token;
      ASSERT_FALSE(bucket.tryTake(now)) << spec << ", token " << token;
    }
  }
}

TEST(TokenBucket, NoDriftWhenPolledOnACoarseTick) {
  // A broker that looks only every 7 ms still deals exactly N a second on average: with room in
  // the bucket, what one tick overshoots the next one gets back.
  FakeClock clock;
  TokenBucket bucket(rate("3/s"), clock.now());
  int taken = 0;
  for (int tick = 0; tick <= 600'000 / 7; ++tick) {  // ten minutes
    while (bucket.tryTake(clock.now())) ++taken;
    clock.advance(milliseconds(7));
  }
  // The full bucket (a second's worth) at the start, then 3 a second for the 599.998 s to the last tick.
  EXPECT_EQ(bucket.spec().burst(), 3u);
  EXPECT_EQ(taken, 3 + 1799);
}

TEST(TokenBucket, ABurstOfOneKeepsJobsApartButLosesALateWakeUp) {
  // The reason a burst of 1 is not the default: the bucket is full when the token comes, so the
  // time until a late look is not banked and the next token is a whole interval later.
  FakeClock clock;
  TokenBucket bucket(rate("10/s:1"), clock.now());
  ASSERT_TRUE(bucket.tryTake(clock.now()));
  clock.advance(milliseconds(150));  // 50 ms late
  ASSERT_TRUE(bucket.tryTake(clock.now()));
  EXPECT_EQ(bucket.nextTokenAt(clock.now()), clock.now() + milliseconds(100));
}

TEST(TokenBucket, TokensShowTheFractionForStats) {
  FakeClock clock;
  TokenBucket bucket(rate("4/s:2"), clock.now());
  EXPECT_TRUE(bucket.tryTake(clock.now()));
  EXPECT_TRUE(bucket.tryTake(clock.now()));
  EXPECT_DOUBLE_EQ(bucket.tokens(clock.now()), 0);
  clock.advance(milliseconds(125));
  EXPECT_DOUBLE_EQ(bucket.tokens(clock.now()), 0.5);
  clock.advance(milliseconds(250));
  EXPECT_DOUBLE_EQ(bucket.tokens(clock.now()), 1.5);
  EXPECT_DOUBLE_EQ(bucket.spec().perSecond(), 4);
  EXPECT_EQ(bucket.spec().burst(), 2u);
}

TEST(TokenBucket, AnEarlierTimeAddsNothing) {
  FakeClock clock;
  TokenBucket bucket(rate("1/s"), clock.now() + seconds(5));
  EXPECT_TRUE(bucket.tryTake(clock.now() + seconds(5)));
  EXPECT_FALSE(bucket.tryTake(clock.now()));
  EXPECT_EQ(bucket.nextTokenAt(clock.now()), clock.now() + seconds(6));
}

TEST(TokenBucket, ChangingTheRateKeepsTheBankedTokensUpToTheNewBurst) {
  FakeClock clock;
  TokenBucket bucket(rate("1/s:10"), clock.now());
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(bucket.tryTake(clock.now()));
  clock.advance(milliseconds(500));
  EXPECT_DOUBLE_EQ(bucket.tokens(clock.now()), 3.5);

  bucket.setSpec(rate("60/m:10"), clock.now());  // the same rate in other units
  EXPECT_DOUBLE_EQ(bucket.tokens(clock.now()), 3.5);
  bucket.setSpec(rate("2/h:2"), clock.now());  // a smaller burst caps what is banked
  EXPECT_DOUBLE_EQ(bucket.tokens(clock.now()), 2);
  EXPECT_TRUE(bucket.tryTake(clock.now()));
  EXPECT_TRUE(bucket.tryTake(clock.now()));
  EXPECT_EQ(bucket.nextTokenAt(clock.now()), clock.now() + std::chrono::minutes(30));

  bucket.setSpec(rate("10/s"), clock.now());  // faster: the next token comes sooner
  EXPECT_EQ(bucket.nextTokenAt(clock.now()), clock.now() + milliseconds(100));
  EXPECT_EQ(bucket.spec(), rate("10/s:10"));
}

TEST(TokenBucket, TheSlowestRateStillHasANextToken) {
  MonoTime start{seconds(1000)};
  TokenBucket bucket(rate("0.000001/h"), start);
  ASSERT_TRUE(bucket.tryTake(start));
  EXPECT_EQ(bucket.nextTokenAt(start), start + hours(1'000'000));
}

}  // namespace
}  // namespace corvee::broker
