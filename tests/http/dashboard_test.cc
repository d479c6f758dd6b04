// The dashboard's routes (src/http/dashboard.cc) over the embedded files, without sockets: `/`,
// `/assets/{name}`, ETag and If-None-Match, unknown names. The page itself is tested in a browser
// (tests/dashboard/).
#include "http/dashboard.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "http/api.h"

namespace corvee::http {
namespace {

std::optional<std::string> header(const Response& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

class DashboardTest : public ::testing::Test {
 protected:
  DashboardTest() : api_([] { return Status::ok(); }) {}  // the Api has the dashboard's routes

  // Answers `method target` (with If-None-Match `tags`, if given) and returns the response.
  Response get(const std::string& target, const std::string& tags = "", const std::string& method = "GET") {
    auto call = std::make_shared<Call>();
    call->request.method = method;
    call->request.if_none_match = tags;
    EXPECT_TRUE(parseTarget(target, call->request).isOk());
    std::optional<Response> answer;
    call->respond = [&answer](Response response) { answer = std::move(response); };
    api_.handle(call);
    EXPECT_TRUE(answer.has_value()) << target << " was not answered";
    return answer.value_or(Response{});
  }

  Api api_;
};

TEST_F(DashboardTest, EveryFileOfTheDirectoryIsEmbeddedWithItsType) {
  const DashboardAsset* index = findDashboardAsset("index.html");
  const DashboardAsset* script = findDashboardAsset("app.js");
  const DashboardAsset* style = findDashboardAsset("style.css");
  ASSERT_NE(index, nullptr);
  ASSERT_NE(script, nullptr);
  ASSERT_NE(style, nullptr);
  EXPECT_EQ(std::string(index->content_type), "text/html; charset=utf-8");
  EXPECT_EQ(std::string(script->content_type), "text/javascript; charset=utf-8");
  EXPECT_EQ(std::string(style->content_type), "text/css; charset=utf-8");
  EXPECT_NE(index->bytes().find("<!doctype html>"), std::string_view::npos);
  EXPECT_NE(index->bytes().find("/assets/app.js"), std::string_view::npos);
  EXPECT_EQ(findDashboardAsset("nothing.js"), nullptr);
  EXPECT_EQ(findDashboardAsset(""), nullptr);
}

TEST_F(DashboardTest, RootIsTheIndexWithAnEtagAndNoCache) {
  Response response = get("/");
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(response.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(response.body, std::string(findDashboardAsset("index.html")->bytes()));
  EXPECT_EQ(header(response, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(response, "ETag"), std::string(findDashboardAsset("index.html")->etag));
  ASSERT_TRUE(header(response, "Content-Security-Policy").has_value());
  EXPECT_NE(header(response, "Content-Security-Policy")->find("default-src 'self'"), std::string::npos);
}

TEST_F(DashboardTest, AssetsAreServedByName) {
  Response response = get("/assets/app.js");
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(response.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(response.body, std::string(findDashboardAsset("app.js")->bytes()));
}

TEST_F(DashboardTest, EtagsDifferBetweenFilesAndAreQuoted) {
  std::string index = header(get("/"), "ETag").value_or("");
  std::string script = header(get("/assets/app.js"), "ETag").value_or("");
  EXPECT_NE(index, script);
  ASSERT_GE(index.size(), 3u);
  EXPECT_EQ(index.front(), '"');
  EXPECT_EQ(index.back(), '"');
}

TEST_F(DashboardTest, AMatchingIfNoneMatchIs304WithoutABody) {
  std::string etag = header(get("/assets/style.css"), "ETag").value_or("");
  Response response = get("/assets/style.css", etag);
  EXPECT_EQ(response.status, 304u);
  EXPECT_TRUE(response.body.empty());
  EXPECT_EQ(header(response, "ETag"), etag);
  // In a list, weak, or "*": all match (If-None-Match compares weakly).
  EXPECT_EQ(get("/assets/style.css", "\"0000\", " + etag).status, 304u);
  EXPECT_EQ(get("/assets/style.css", "W/" + etag).status, 304u);
  EXPECT_EQ(get("/assets/style.css", "*").status, 304u);
}

TEST_F(DashboardTest, AnotherEtagGetsTheFile) {
  Response response = get("/assets/style.css", "\"0123456789abcdef\"");
  EXPECT_EQ(response.status, 200u);
  EXPECT_FALSE(response.body.empty());
}

TEST_F(DashboardTest, AnUnknownAssetIs404) {
  Response response = get("/assets/missing.js");
  EXPECT_EQ(response.status, 404u);
  EXPECT_NE(response.body.find("not_found"), std::string::npos);
  EXPECT_EQ(get("/assets/").status, 404u);   // no name at all: no route
  EXPECT_EQ(get("/assets/..%2Fapi.cc").status, 404u);  // names are looked up, never opened
}

TEST_F(DashboardTest, OtherMethodsAre405) {
  Response response = get("/", "", "POST");
  EXPECT_EQ(response.status, 405u);
  EXPECT_EQ(header(response, "Allow"), "GET");
}

}  // namespace
}  // namespace corvee::http
