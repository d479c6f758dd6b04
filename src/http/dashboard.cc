#include "http/dashboard.h"

#include "corvee/errors.h"
#include "http/api.h"

namespace corvee::http {

namespace {

// Whether an If-None-Match header (a list of entity tags, or "*") names `etag`. Weak tags
// (W/"...") match too: If-None-Match uses the weak comparison (RFC 9110, 13.1.2).
bool matchesEtag(std::string_view header, std::string_view etag) {
  std::size_t start = 0;
  while (start < header.size()) {
    std::size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    std::string_view tag = header.substr(start, end - start);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    start = end + 1;
  }
  return false;
}

void serveAsset(const CallPtr& call, std::string_view name) {
  const DashboardAsset* asset = findDashboardAsset(name);
  if (asset == nullptr) {
    return call->fail(Status::error(errc::kNotFound, "no such dashboard file: " + std::string(name)));
  }
  Response response;
  response.headers.emplace_back("ETag", asset->etag);
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  // The page loads only its own files and speaks only to this broker.
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
  response.content_type = asset->content_type;
  if (matchesEtag(call->request.if_none_match, asset->etag)) {
    response.status = 304;
  } else {
    response.body.assign(asset->bytes());
  }
  call->respond(std::move(response));
}

}  // namespace

const DashboardAsset* findDashboardAsset(std::string_view name) {
  for (std::size_t i = 0; i < kDashboardAssetCount; ++i) {
    if (name == kDashboardAssets[i].name) return &kDashboardAssets[i];
  }
  return nullptr;
}

void addDashboardRoutes(Api& api) {
  // The page and its files hold no data: they load without a token, and the page asks for one
  // when the API answers 401.
  api.add("GET", "/", [](const CallPtr& call) { serveAsset(call, "index.html"); }, /*open=*/true);
  api.add("GET", "/assets/{name}", [](const CallPtr& call) { serveAsset(call, call->captures.at(0)); },
          /*open=*/true);
}

}  // namespace corvee::http
