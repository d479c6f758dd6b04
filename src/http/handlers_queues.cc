#include "corvee/errors.h"
#include "http/handlers.h"

namespace corvee::http {

namespace {

// Asks STATS and answers with `pick` applied to its document.
template <typename Pick>
void withStats(const CallPtr& call, Pick pick) {
  askThen<protocol::StatsReplyMsg>(call, protocol::StatsMsg{}, [call, pick](const protocol::StatsReplyMsg& stats) {
    Json doc = Json::parse(stats.json.data, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return call->fail(Status::error(errc::kInternal, "the broker's STATS document is not JSON"));
    call->reply(200, pick(doc));
  });
}

void setPaused(const CallPtr& call, bool paused) {
  protocol::PauseMsg ask;
  const std::string& task = call->captures.at(0);
  ask.task = task;
  ask.paused = paused ? 1 : 0;
  askThen<protocol::OkMsg>(call, ask, [call, paused](const protocol::OkMsg&) {
    call->reply(200, Json{{"task", call->captures.at(0)}, {"paused", paused}});
  });
}

}  // namespace

void getStats(const CallPtr& call) {
  withStats(call, [](Json& doc) { return std::move(doc); });
}

void listQueues(const CallPtr& call) {
  withStats(call, [](Json& doc) { return Json{{"queues", std::move(doc["queues"])}}; });
}

void listWorkers(const CallPtr& call) {
  withStats(call, [](Json& doc) { return Json{{"workers", std::move(doc["workers"])}}; });
}

void getMetrics(const CallPtr& call) {
  askThen<protocol::MetricsTextMsg>(call, protocol::MetricsMsg{}, [call](const protocol::MetricsTextMsg& metrics) {
    Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = std::string(metrics.text.data);
    call->respond(std::move(response));
  });
}

void pauseQueue(const CallPtr& call) { setPaused(call, true); }

void resumeQueue(const CallPtr& call) { setPaused(call, false); }

void purgeQueue(const CallPtr& call) {
  protocol::PurgeMsg ask;
  ask.task = call->captures.at(0);
  askThen<protocol::CountMsg>(call, ask, [call](const protocol::CountMsg& count) {
    call->reply(200, Json{{"task", call->captures.at(0)}, {"purged", count.count}});
  });
}

void setQueueRate(const CallPtr& call) {
  auto doc = parseObject(call->request.body);
  if (!doc) return call->fail(doc.status());
  if (Status known = checkKnownFields(*doc, {"rate"}); !known) return call->fail(known);
  if (doc->find("rate") == doc->end()) {
    return call->fail(Status::error(errc::kBadRequest, "rate is required: \"N/s[:BURST]\" (or /m, /h), or null for none"));
  }
  auto rate = takeString(*doc, "rate");
  if (!rate) return call->fail(rate.status());
  protocol::RateMsg ask;
  ask.task = call->captures.at(0);
  ask.rate = *rate;
  askThen<protocol::OkMsg>(call, ask, [call, rate = *rate](const protocol::OkMsg&) {
    call->reply(200, Json{{"task", call->captures.at(0)}, {"rate", rate.empty() ? Json(nullptr) : Json(rate)}});
  });
}

}  // namespace corvee::http
