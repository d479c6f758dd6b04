// docs/openapi.json and docs/http-api.md describe exactly the routes the broker serves.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "http/api.h"

namespace corvee::http {
namespace {

std::string readDoc(const std::string& name) {
  std::ifstream in(std::string(CORVEE_DOCS_DIR) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

TEST(HttpDocsTest, OpenApiDescribesEveryRouteAndNoOther) {
  nlohmann::json doc = nlohmann::json::parse(readDoc("openapi.json"), nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << "docs/openapi.json is not JSON";
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  std::set<std::pair<std::string, std::string>> served;
  for (const auto& [method, pattern] : Api([] { return Status::ok(); }).routes()) served.emplace(lower(method), pattern);
  std::set<std::pair<std::string, std::string>> described;
  for (const auto& [path, operations] : doc["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      described.emplace(method, path);
      EXPECT_TRUE(operation.contains("responses")) << method << " " << path;
      EXPECT_TRUE(operation.contains("operationId")) << method << " " << path;
    }
  }
  for (const auto& route : served) {
    EXPECT_TRUE(described.count(route)) << route.first << " " << route.second << " is not in docs/openapi.json";
  }
  for (const auto& route : described) {
    EXPECT_TRUE(served.count(route)) << route.first << " " << route.second << " is in docs/openapi.json but not served";
  }
  // Every $ref names a schema that exists.
  std::string text = doc.dump();
  for (std::size_t at = text.find("#/components/schemas/"); at != std::string::npos;
       at = text.find("#/components/schemas/", at + 1)) {
    std::size_t start = at + std::string("#/components/schemas/").size();
    std::string name = text.substr(start, text.find('"', start) - start);
    EXPECT_TRUE(doc["components"]["schemas"].contains(name)) << "$ref to a missing schema " << name;
  }
}

TEST(HttpDocsTest, HttpApiMdNamesEveryRoute) {
  std::string md = readDoc("http-api.md");
  ASSERT_FALSE(md.empty());
  for (const auto& [method, pattern] : Api([] { return Status::ok(); }).routes()) {
    bool found = false;
    for (char after : std::string("`[?,")) found = found || md.find(method + " " + pattern + after) != std::string::npos;
    EXPECT_TRUE(found) << "docs/http-api.md does not name " << method << " " << pattern;
  }
}

}  // namespace
}  // namespace corvee::http
