// The web dashboard (docs/http-api.md, "Dashboard"): static files under src/http/dashboard/,
// embedded in the binary at build time (cmake/embed_assets.cmake) and served by the broker's HTTP
// API at `/` and `/assets/{name}`. The page itself reads the JSON API; nothing here knows jobs.
#pragma once

#include <cstddef>
#include <string_view>

namespace corvee::http {

class Api;

// One embedded file. Immutable, in static storage: safe to read from any thread.
struct DashboardAsset {
  const char* name;          // the file name, as in /assets/{name}
  const char* content_type;  // by the file's extension
  const char* etag;          // a quoted hash of the bytes, for If-None-Match
  const unsigned char* data;
  std::size_t size;

  std::string_view bytes() const { return {reinterpret_cast<const char*>(data), size}; }
};

// The embedded files, sorted by name (generated: dashboard_assets.cc in the build tree).
extern const DashboardAsset kDashboardAssets[];
extern const std::size_t kDashboardAssetCount;

// The embedded file called `name`, or nullptr when there is none.
const DashboardAsset* findDashboardAsset(std::string_view name);

// Adds `GET /` (index.html) and `GET /assets/{name}` to `api`. Both answer with the file's
// Content-Type, its ETag and `Cache-Control: no-cache` (the browser asks again each time and
// gets 304 Not Modified while the ETag matches If-None-Match); an unknown name is 404.
void addDashboardRoutes(Api& api);

}  // namespace corvee::http
