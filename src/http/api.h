// Api: the HTTP API's routes (docs/http-api.md). It matches a request's method and path to its
// handler; unknown paths are 404, a known path with another method 405 with the methods it has.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "http/call.h"

namespace corvee::http {

class Api {
 public:
  using Handler = std::function<void(const CallPtr&)>;

  // The routes of the broker's API and its dashboard. `healthy` says whether the broker can take
  // work (GET /healthz).
  explicit Api(std::function<Status()> healthy);

  // Adds a route: `pattern` is a path such as "/v1/jobs/{id}/cancel" whose {..} segments are
  // captured in order.
  // Every route but those added with `open` answers only a request whose bearer token the broker
  // accepts (when it requires tokens: broker --auth-tokens), with its token's access.
  void add(std::string method, std::string_view pattern, Handler handler, bool open = false);
  // Answers the call: runs its route's handler, or answers 404/405 itself.
  void handle(const CallPtr& call) const;
  // Every route as (method, pattern), in the order added: what docs/openapi.json must describe.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "" where the pattern captures
    Handler handler;
    bool open;  // served without a token: health checks and the dashboard's own files
  };
  static bool matches(const Route& route, const std::vector<std::string>& segments);

  std::vector<Route> routes_;
};

}  // namespace corvee::http
