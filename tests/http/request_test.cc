#include "http/request.h"

#include <gtest/gtest.h>

namespace corvee::http {
namespace {

TEST(ParseTargetTest, SplitsDecodedSegmentsAndQuery) {
  Request request;
  ASSERT_TRUE(parseTarget("/v1/queues/my%20task/pause?x=1&name=a+b%2Fc&flag", request));
  EXPECT_EQ(request.segments, (std::vector<std::string>{"v1", "queues", "my task", "pause"}));
  EXPECT_EQ(request.param("x"), "1");
  EXPECT_EQ(request.param("name"), "a b/c");
  EXPECT_EQ(request.param("flag"), "");
  EXPECT_FALSE(request.param("missing"));
}

TEST(ParseTargetTest, AnEncodedSlashStaysInItsSegment) {
  Request request;
  ASSERT_TRUE(parseTarget("/v1/cron/a%2Fb", request));
  EXPECT_EQ(request.segments, (std::vector<std::string>{"v1", "cron", "a/b"}));
}

TEST(ParseTargetTest, EmptySegmentsAndTheRootAreNoSegments) {
  Request request;
  ASSERT_TRUE(parseTarget("/", request));
  EXPECT_TRUE(request.segments.empty());
  ASSERT_TRUE(parseTarget("//v1//jobs/", request));
  EXPECT_EQ(request.segments, (std::vector<std::string>{"v1", "jobs"}));
}

TEST(ParseTargetTest, RefusesBrokenEscapesAndNonPaths) {
  Request request;
  EXPECT_EQ(parseTarget("/v1/%zz", request).code(), "bad_request");
  EXPECT_EQ(parseTarget("/v1/%4", request).code(), "bad_request");
  EXPECT_EQ(parseTarget("/v1?a=%", request).code(), "bad_request");
  EXPECT_EQ(parseTarget("http://host/v1", request).code(), "bad_request");
  EXPECT_EQ(parseTarget("", request).code(), "bad_request");
}

}  // namespace
}  // namespace corvee::http
