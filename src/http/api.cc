#include "http/api.h"

#include "corvee/errors.h"
#include "http/dashboard.h"
#include "http/handlers.h"

namespace corvee::http {

Api::Api(std::function<Status()> healthy) {
  add("GET", "/healthz", [healthy](const CallPtr& call) {
    Status status = healthy();
    if (!status) return call->fail(status);
    call->reply(200, Json{{"status", "ok"}});
  }, /*open=*/true);
  add("POST", "/v1/jobs", submitJob);
  add("GET", "/v1/jobs", listJobs);
  add("GET", "/v1/jobs/{id}", getJob);
  add("GET", "/v1/jobs/{id}/history", getJobHistory);
  add("POST", "/v1/jobs/{id}/cancel", cancelJob);
  add("POST", "/v1/jobs/{id}/retry", retryJob);
  add("GET", "/v1/dead", listDeadJobs);
  add("POST", "/v1/dead/retry", retryDeadJobs);
  add("POST", "/v1/dead/purge", purgeDeadJobs);
  add("GET", "/v1/stats", getStats);
  add("GET", "/v1/queues", listQueues);
  add("GET", "/v1/workers", listWorkers);
  add("GET", "/metrics", getMetrics);
  add("POST", "/v1/queues/{task}/pause", pauseQueue);
  add("POST", "/v1/queues/{task}/resume", resumeQueue);
  add("POST", "/v1/queues/{task}/purge", purgeQueue);
  add("PUT", "/v1/queues/{task}/rate", setQueueRate);
  add("GET", "/v1/cron", listCron);
  add("PUT", "/v1/cron/{name}", putCron);
  add("DELETE", "/v1/cron/{name}", deleteCron);
  add("POST", "/v1/cron/{name}/pause", pauseCron);
  add("POST", "/v1/cron/{name}/resume", resumeCron);
  addDashboardRoutes(*this);
}

void Api::add(std::string method, std::string_view pattern, Handler handler, bool open) {
  Route route{std::move(method), std::string(pattern), {}, std::move(handler), open};
  std::size_t start = 1;
  while (start < pattern.size()) {
    std::size_t end = pattern.find('/', start);
    if (end == std::string_view::npos) end = pattern.size();
    std::string_view segment = pattern.substr(start, end - start);
    route.segments.emplace_back(segment.front() == '{' ? std::string_view() : segment);
    start = end + 1;
  }
  routes_.push_back(std::move(route));
}

std::vector<std::pair<std::string, std::string>> Api::routes() const {
  std::vector<std::pair<std::string, std::string>> all;
  for (const Route& route : routes_) all.emplace_back(route.method, route.pattern);
  return all;
}

bool Api::matches(const Route& route, const std::vector<std::string>& segments) {
  if (route.segments.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (!route.segments[i].empty() && route.segments[i] != segments[i]) return false;
  }
  return true;
}

void Api::handle(const CallPtr& call) const {
  const std::vector<std::string>& segments = call->request.segments;
  std::string allowed;
  for (const Route& route : routes_) {
    if (!matches(route, segments)) continue;
    if (route.method != call->request.method) {
      allowed += allowed.empty() ? route.method : ", " + route.method;
      continue;
    }
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (route.segments[i].empty()) call->captures.push_back(segments[i]);
    }
    if (!route.open) {
      if (Status authorized = call->link->authorize(call->request.authorization); !authorized) {
        Response response = errorResponse(authorized);
        response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"corvee\"");
        return call->respond(std::move(response));
      }
    }
    route.handler(call);
    return;
  }
  std::string path;
  for (const auto& segment : segments) path += "/" + segment;
  if (path.empty()) path = "/";
  if (!allowed.empty()) {
    Response response = errorResponse(Status::error(errc::kBadRequest, call->request.method + " is not allowed on " + path));
    response.status = 405;
    response.headers.emplace_back("Allow", allowed);
    return call->respond(std::move(response));
  }
  call->fail(Status::error(errc::kNotFound, "no such path: " + path));
}

}  // namespace corvee::http
