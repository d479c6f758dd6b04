#include "http/api.h"

#include <gtest/gtest.h>

namespace corvee::http {
namespace {

// A call answered into `answered`, with no broker behind it.
CallPtr callFor(const std::string& method, const std::string& target, std::optional<Response>& answered) {
  auto call = std::make_shared<Call>();
  call->request.method = method;
  EXPECT_TRUE(parseTarget(target, call->request));
  call->respond = [&answered](Response response) { answered = std::move(response); };
  return call;
}

TEST(ApiTest, RoutesByMethodAndPathAndCapturesParameters) {
  Api api([] { return Status::ok(); });
  std::vector<std::string> seen;
  api.add("POST", "/x/{a}/y/{b}", [&](const CallPtr& call) {
    seen = call->captures;
    call->reply(200, Json::object());
  }, /*open=*/true);  // no broker behind these calls to check a token with
  std::optional<Response> answered;
  api.handle(callFor("POST", "/x/one/y/t%20wo", answered));
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200u);
  EXPECT_EQ(seen, (std::vector<std::string>{"one", "t wo"}));
}

TEST(ApiTest, UnknownPathsAre404AndOtherMethods405WithAllow) {
  Api api([] { return Status::ok(); });
  std::optional<Response> answered;
  api.handle(callFor("GET", "/v1/nope", answered));
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 404u);
  answered.reset();
  api.handle(callFor("PATCH", "/v1/jobs", answered));
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 405u);
  ASSERT_EQ(answered->headers.size(), 1u);
  EXPECT_EQ(answered->headers[0].first, "Allow");
  EXPECT_EQ(answered->headers[0].second, "POST, GET");
}

TEST(ApiTest, HealthzSaysWhetherTheBrokerTakesWork) {
  Status health = Status::ok();
  Api api([&health] { return health; });
  std::optional<Response> answered;
  api.handle(callFor("GET", "/healthz", answered));
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200u);
  health = Status::error("store_full", "the disk is full");
  answered.reset();
  api.handle(callFor("GET", "/healthz", answered));
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 503u);
  EXPECT_EQ(Json::parse(answered->body)["error"]["code"], "store_full");
}

}  // namespace
}  // namespace corvee::http
