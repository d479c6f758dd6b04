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
  void add(std::string method, std::string_view pattern, Handler handler);
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
  };
  static bool matches(const Route& route, const std::vector<std::string>& segments);

  std::vector<Route> routes_;
};

}  // namespace corvee::http
