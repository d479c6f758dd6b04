#include <boost/asio/post.hpp>
#include "net/log.h"
#include "net/tls_context.h"

#include <algorithm>
#include <unordered_set>

#include "client/submit_fields.h"
#include "client/client_impl.h"
#include "corvee/errors.h"
#include "platform/clock.h"
#include "platform/hostname.h"
#include "client/job_info.h"
#include "protocol/names.h"

namespace corvee {

namespace detail {

namespace asio = boost::asio;
using protocol::Frame;
using protocol::MsgType;

namespace {

void runCallbacks(const std::vector<std::function<void(const JobOutcome&)>>& callbacks, const JobOutcome& outcome) {
  for (const auto& callback : callbacks) callback(outcome);
}

JobOutcome failedOutcome(const Status& why) {
  JobOutcome outcome;
  outcome.state = JobState::kDead;
  outcome.error_code = why.code();
  outcome.error_message = why.message();
  return outcome;
}

void refuseJob(const std::shared_ptr<JobShared>& job, const Status& why) {
  runCallbacks(job->refuse(why), failedOutcome(why));
}

}  // namespace

// io_(1): one thread runs the loop, so posts made from it skip the scheduler's lock and wake-up.
ClientImpl::ClientImpl(ClientOptions options) : options_(std::move(options)), io_(1), work_(io_.get_executor()) {
  if (options_.name.empty()) options_.name = defaultPeerName();
  if (options_.max_in_flight == 0) options_.max_in_flight = 1;
}

ClientImpl::~ClientImpl() { shutdown(); }

Status ClientImpl::start(const protocol::Endpoint& endpoint) {
  net::LinkOptions link_options;
  link_options.endpoint = endpoint;
  link_options.name = options_.name;
  link_options.role = protocol::Role::kClient;
  link_options.token = options_.token;
  link_options.reconnect_min = options_.reconnect_min;
  link_options.reconnect_max = options_.reconnect_max;
  if (!options_.tls_ca_file.empty() || !options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    auto tls = net::makeClientContext(options_.tls_ca_file, options_.tls_cert_file, options_.tls_key_file);
    if (!tls) return tls.status();
    link_options.tls = std::move(*tls);
  }
  std::weak_ptr<ClientImpl> weak = weak_from_this();
  net::LinkCallbacks callbacks;
  callbacks.on_ready = [this](const protocol::WelcomeMsg& welcome) { onReady(welcome); };
  callbacks.on_frame = [this](const Frame& frame) { onFrame(frame); };
  callbacks.on_lost = [this](const Status& why) { onLost(why); };
  link_ = std::make_shared<net::BrokerLink>(io_, link_options, std::move(callbacks));
  asio::post(io_, [link = link_] { link->start(); });
  std::unique_lock lock(mutex_);
  unreachable_since_ = systemClock().now();
  thread_ = std::thread([this] { io_.run(); });
  Status reachable = waitReachable(lock, [&] { return ready_; });
  if (!reachable) {
    lock.unlock();
    shutdown();
    return reachable;
  }
  return Status::ok();
}

void ClientImpl::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    changed_.notify_all();
  }
  if (link_) asio::post(io_, [link = link_] { link->stop(); });
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  // Everything still waiting learns it will not be answered.
  Status closed = Status::error(errc::kUnavailable, "the client was closed before the job finished");
  std::map<std::uint32_t, Pending> pending;
  std::unordered_map<JobId, std::vector<std::shared_ptr<JobShared>>> waiting;
  {
    std::lock_guard lock(mutex_);
    pending.swap(pending_);
    waiting.swap(waiting_);
  }
  for (auto& [rid, p] : pending) {
    if (p.job) refuseJob(p.job, closed);
    if (p.reply) p.reply(nullptr, closed);
  }
  for (auto& [id, jobs] : waiting) {
    for (auto& job : jobs) refuseJob(job, closed);
  }
}

Status ClientImpl::unreachableLocked() const {
  if (closed_) return Status::error(errc::kUnavailable, "the client is closed");
  if (ready_) return Status::ok();
  // The broker answered, and said no: waiting out the connect timeout would not change its mind.
  if (net::refusesAccess(last_error_)) {
    return Status::error(last_error_.code(),
                         "the broker at " + options_.endpoint + " refused this client: " + last_error_.message());
  }
  // The same holds for a TLS exchange that failed on the certificates (or on TLS on one side only).
  if (net::failsTls(last_error_)) {
    return Status::error(errc::kTlsError, "cannot talk to the broker at " + options_.endpoint + ": " + last_error_.message());
  }
  if (systemClock().now() - unreachable_since_ < options_.connect_timeout) return Status::ok();
  if (last_error_.code() == errc::kTooManyConnections) {
    // The broker is up but full: say so, with its code, rather than that it could not be reached.
    return Status::error(errc::kTooManyConnections,
                         "the broker at " + options_.endpoint + " refused the connection: too many connections (" +
                             last_error_.message() + "; still refused after " +
                             std::to_string(options_.connect_timeout.count()) + " ms)");
  }
  std::string why = last_error_.isOk() ? std::string("no answer") : last_error_.toString();
  return Status::error(errc::kUnavailable, "cannot reach the broker at " + options_.endpoint + " within " +
                                               std::to_string(options_.connect_timeout.count()) + " ms (" + why + ")");
}

Status ClientImpl::unreachable() {
  std::lock_guard lock(mutex_);
  return unreachableLocked();
}

Status ClientImpl::waitReachable(std::unique_lock<std::mutex>& lock, const std::function<bool()>& done) {
  while (!done()) {
    if (Status down = unreachableLocked(); !down) return down;
    changed_.wait_for(lock, std::chrono::milliseconds(20));
  }
  return Status::ok();
}

std::uint32_t ClientImpl::trackLocked(Pending&& pending) {
  std::uint32_t rid = next_request_++;
  if (next_request_ == 0) next_request_ = 1;  // 0 is reserved for pushes
  // The frame was encoded with a placeholder id; patch in the real one (bytes 5..8).
  for (int i = 0; i < 4; ++i) pending.frame[5 + i] = static_cast<char>((rid >> (8 * i)) & 0xff);
  pending_.emplace(rid, std::move(pending));
  return rid;
}

std::uint32_t ClientImpl::enqueueLocked(Pending pending) {
  std::uint32_t rid = trackLocked(std::move(pending));
  const std::string& frame = pending_.at(rid).frame;
  // A lone request (nothing else in flight, the latency case) is written by the calling thread
  // itself, without a hand-off. Pipelined ones are staged instead, so one write carries many.
  if (ready_ && pending_.size() == 1 && staged_.empty() && link_->trySendDirect(frame, session_)) return rid;
  staged_ += frame;
  wakeNetwork();
  return rid;
}

void ClientImpl::wakeNetwork() {
  if (wake_posted_) return;
  wake_posted_ = true;
  asio::post(io_, [this] { sendStaged(); });
}

void ClientImpl::sendStaged() {
  std::string frames;
  {
    std::lock_guard lock(mutex_);
    wake_posted_ = false;
    if (!ready_) return;  // onReady() sends every pending request again
    frames.swap(staged_);
  }
  link_->output() += frames;
  link_->flush();
}

JobHandle ClientImpl::submit(std::string_view task, std::string payload, const SubmitOptions& options) {
  auto job = std::make_shared<JobShared>();
  job->client = weak_from_this();
  JobHandle handle(job);
  auto refuse = [&](const char* code, std::string message) {
    refuseJob(job, Status::error(code, std::move(message)));
    return handle;
  };
  if (Status named = protocol::checkTaskName(task); !named) return refuse(errc::kBadRequest, named.message());
  if (!options.fair_key.empty()) {
    if (Status named = protocol::checkName("fair key", options.fair_key); !named) {
      return refuse(errc::kBadRequest, named.message());
    }
  }
  if (!options.unique_key.empty()) {
    if (Status named = protocol::checkName("unique key", options.unique_key); !named) {
      return refuse(errc::kBadRequest, named.message());
    }
  } else if (options.unique_for.count() > 0) {
    return refuse(errc::kBadRequest, "unique_for needs a unique_key");
  }
  protocol::SubmitMsg msg = submitMsgOf(task, payload, options);
  Pending pending;
  // Laid out before taking the lock (a payload may be large); checked again under it.
  pending.version = version_.load(std::memory_order_relaxed);
  protocol::encode(pending.frame, 0, msg, pending.version);
  pending.job = job;

  std::unique_lock lock(mutex_);
  if (closed_) {
    lock.unlock();
    return refuse(errc::kUnavailable, "the client is closed");
  }
  std::uint32_t max_payload = link_ && ready_ ? link_->maxPayload() : 0;
  if (max_payload > 0 && payload.size() > max_payload) {
    lock.unlock();
    return refuse(errc::kPayloadTooLarge, "payload of " + std::to_string(payload.size()) +
                                              " bytes exceeds the broker's limit of " + std::to_string(max_payload));
  }
  // Flow control: at most max_in_flight unacknowledged submissions.
  Status room = waitReachable(lock, [&] { return unacked_submits_ < options_.max_in_flight; });
  if (!room) {
    lock.unlock();
    refuseJob(job, room);
    return handle;
  }
  if (version_ < 2 && (options.retries > 0 || options.require_worker)) {
    // Version 1 has no field for them: refused rather than run once, silently without retries.
    lock.unlock();
    return refuse(errc::kUnsupportedVersion,
                  "the broker speaks protocol version 1, which has no retries or require_worker (upgrade the broker)");
  }
  if (version_ < 3 && (msg.delay_ms > 0 || msg.run_at_ms > 0)) {
    lock.unlock();
    return refuse(errc::kUnsupportedVersion, "the broker speaks protocol version " + std::to_string(version_) +
                                                 ", which has no delayed jobs (upgrade the broker)");
  }
  if (version_ < 4 && (!msg.unique_key.empty() || !msg.fair_key.empty())) {
    // Sent without them, the job would not be unique (a second one could run), or would wait
    // behind any flood: refused, as delays are.
    lock.unlock();
    return refuse(errc::kUnsupportedVersion, "the broker speaks protocol version " + std::to_string(version_) +
                                                 ", which has no unique jobs or fairness keys (upgrade the broker)");
  }
  if (pending.version != version_) {
    // A reconnection to a broker of another version came between: lay it out again (rare).
    pending.version = version_;
    pending.frame.clear();
    protocol::encode(pending.frame, 0, msg, pending.version);
  }
  ++unacked_submits_;
  enqueueLocked(std::move(pending));
  return handle;
}

JobHandle ClientImpl::watch(JobId id) {
  auto job = std::make_shared<JobShared>();
  job->client = weak_from_this();
  job->acked = true;
  job->id = id;
  JobHandle handle(job);
  Pending pending;
  protocol::encode(pending.frame, 0, protocol::SubscribeMsg{id});
  pending.job = job;
  std::lock_guard lock(mutex_);
  if (closed_) {
    refuseJob(job, Status::error(errc::kUnavailable, "the client is closed"));
    return handle;
  }
  waiting_[id].push_back(job);
  enqueueLocked(std::move(pending));
  return handle;
}

Result<ClientImpl::Reply> ClientImpl::request(const std::function<void(std::string&, std::uint16_t)>& encode,
                                               MsgType sent, MsgType expect, std::uint16_t needs) {
  struct Waiting {
    bool done = false;
    Status error;
    Reply reply;
  };
  auto waiting = std::make_shared<Waiting>();
  Pending pending;
  pending.reply = [this, waiting, expect](const Frame* frame, const Status& error) {
    std::lock_guard lock(mutex_);
    waiting->done = true;
    if (frame == nullptr) {
      waiting->error = error;
    } else if (frame->type != static_cast<std::uint8_t>(expect)) {
      waiting->error =
          Status::error(errc::kBadRequest, std::string("unexpected reply ") + protocol::msgTypeName(frame->type));
    } else {
      waiting->reply.body.assign(frame->body);
    }
    changed_.notify_all();
  };
  std::unique_lock lock(mutex_);
  if (closed_) return Status::error(errc::kUnavailable, "the client is closed");
  // Laid out under the lock, so the version cannot change between encoding and enqueueing.
  std::uint16_t version = version_;
  if (version < needs) {
    return Status::error(errc::kUnsupportedVersion, std::string("the broker speaks protocol version ") +
                                                        std::to_string(version) + ", and " +
                                                        protocol::msgTypeName(static_cast<std::uint8_t>(sent)) +
                                                        " needs version " + std::to_string(needs) +
                                                        " (upgrade the broker)");
  }
  encode(pending.frame, version);
  pending.version = version;
  waiting->reply.version = version;
  std::uint32_t rid = enqueueLocked(std::move(pending));
  Status reachable = waitReachable(lock, [&] { return waiting->done; });
  if (!reachable) {
    pending_.erase(rid);
    return reachable;
  }
  if (!waiting->error.isOk()) return waiting->error;
  return std::move(waiting->reply);
}

Result<JobExplanation> ClientImpl::explain(JobId id) {
  protocol::ExplainMsg msg{id};
  auto encode = [&msg](std::string& frame, std::uint16_t version) { protocol::encode(frame, 0, msg, version); };
  Result<Reply> reply = request(encode, MsgType::kExplain, MsgType::kExplanation, /*needs=*/5);
  if (!reply) return reply.status();
  auto got = protocol::decode<protocol::ExplanationMsg>(reply->body, reply->version);
  if (!got) return got.status();
  JobExplanation explanation;
  explanation.job = toJobInfo(got->job);
  explanation.reason_code = std::string(got->reason_code);
  explanation.reason = std::string(got->reason);
  explanation.events.reserve(got->events.size());
  for (const protocol::EventItem& event : got->events) {
    explanation.events.push_back({event.time_ms, std::string(event.kind), event.attempt, std::string(event.worker),
                                  std::string(event.detail)});
  }
  return explanation;
}

Result<JobInfo> ClientImpl::status(JobId id, bool with_payload) {
  protocol::StatusMsg msg{id, with_payload ? protocol::kStatusWithPayload : std::uint8_t{0}};
  auto encode = [&msg](std::string& frame, std::uint16_t version) { protocol::encode(frame, 0, msg, version); };
  Result<Reply> reply = request(encode, MsgType::kStatus, MsgType::kJobInfo);
  if (!reply) return reply.status();
  auto info = protocol::decode<protocol::JobInfoMsg>(reply->body, reply->version);
  if (!info) return info.status();
  return toJobInfo(*info);
}

Result<std::string> ClientImpl::stats() {
  auto encode = [](std::string& frame, std::uint16_t version) {
    protocol::encode(frame, 0, protocol::StatsMsg{}, version);
  };
  Result<Reply> reply = request(encode, MsgType::kStats, MsgType::kStatsReply);
  if (!reply) return reply.status();
  auto msg = protocol::decode<protocol::StatsReplyMsg>(reply->body, reply->version);
  if (!msg) return msg.status();
  return std::string(msg->json.data);
}

Result<std::string> ClientImpl::metrics() {
  auto encode = [](std::string& frame, std::uint16_t version) {
    protocol::encode(frame, 0, protocol::MetricsMsg{}, version);
  };
  // METRICS arrived in version 5: an older broker cannot answer it.
  Result<Reply> reply = request(encode, MsgType::kMetrics, MsgType::kMetricsText, 5);
  if (!reply) return reply.status();
  auto msg = protocol::decode<protocol::MetricsTextMsg>(reply->body, reply->version);
  if (!msg) return msg.status();
  return std::string(msg->text.data);
}

// ---- network thread ----

void ClientImpl::onReady(const protocol::WelcomeMsg& welcome) {
  std::string frames;
  std::vector<std::shared_ptr<JobShared>> lost;
  Status gone;
  std::vector<Pending> unsendable;  // laid out for another version than this session's
  Status changed_version;
  {
    std::lock_guard lock(mutex_);
    if (welcome.version != version_) {
      changed_version = Status::error(
          errc::kUnavailable, "the broker now speaks protocol version " + std::to_string(welcome.version) +
                                  " (it spoke " + std::to_string(version_.load()) +
                                  ") and the request was laid out for the old one; send it again");
      version_ = welcome.version;
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.version != 0 && it->second.version != welcome.version) {
          if (it->second.job && !it->second.job->acked) --unacked_submits_;
          unsendable.push_back(std::move(it->second));
          it = pending_.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (store_id_ != 0 && welcome.store_id != store_id_) {
      // The broker came back without our jobs (a memory store restarted): their ids may now name
      // other jobs, so every job we wait for is lost. Unacknowledged submissions are simply sent
      // again below, to the new store.
      gone = Status::error(errc::kNotFound, "the broker restarted without its jobs (a new store); this job is lost");
      for (auto& [id, jobs] : waiting_) lost.insert(lost.end(), jobs.begin(), jobs.end());
      waiting_.clear();
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.job && it->second.job->acked) {
          lost.push_back(it->second.job);
          it = pending_.erase(it);
        } else {
          ++it;
        }
      }
      net::log().warn("broker store changed ({} -> {}): {} waiting jobs are lost", store_id_, welcome.store_id, lost.size());
    }
    store_id_ = welcome.store_id;
    ready_ = true;
    warned_unreachable_ = false;
    session_ = link_->generation();
    staged_.clear();  // everything staged is also in pending_, sent below in request order
    std::unordered_set<const JobShared*> in_pending;
    for (const auto& [rid, pending] : pending_) {
      frames += pending.frame;
      if (pending.job) in_pending.insert(pending.job.get());
    }
    // Results we still wait for may have been pushed to the lost connection: ask again.
    for (const auto& [id, jobs] : waiting_) {
      for (const auto& job : jobs) {
        if (in_pending.count(job.get())) continue;
        // Registered as a request, so an ERROR (not_found: the job is gone) reaches the handle.
        Pending pending;
        protocol::encode(pending.frame, 0, protocol::SubscribeMsg{id});
        pending.job = job;
        std::uint32_t rid = trackLocked(std::move(pending));
        frames += pending_.at(rid).frame;
      }
    }
    changed_.notify_all();
  }
  for (auto& job : lost) refuseJob(job, gone);
  for (auto& pending : unsendable) {
    if (pending.job) refuseJob(pending.job, changed_version);
    if (pending.reply) pending.reply(nullptr, changed_version);
  }
  link_->output() += frames;
  link_->flush();
}

void ClientImpl::onLost(const Status& why) {
  bool warn = false;
  {
    std::lock_guard lock(mutex_);
    if (ready_) unreachable_since_ = systemClock().now();
    // A lost session is logged by the link ("reconnecting"); a broker not reached yet is logged
    // here, once per outage, so an application sees why its client waits. Not a certain refusal:
    // the calls fail at once with it (unreachableLocked), nothing waits.
    warn = !ready_ && !warned_unreachable_ && !net::refusesAccess(why) && !net::failsTls(why);
    warned_unreachable_ = true;
    ready_ = false;
    last_error_ = why;
    changed_.notify_all();
  }
  if (warn) net::log().warn("{}; retrying", why.toString());
}

void ClientImpl::onFrame(const Frame& frame) {
  auto type = static_cast<MsgType>(frame.type);
  if (type == MsgType::kResult) {
    auto msg = protocol::decode<protocol::ResultMsg>(frame.body);
    if (!msg) {
      net::log().warn("ignoring malformed RESULT from the broker: {}", msg.status().toString());
      return;
    }
    std::vector<std::shared_ptr<JobShared>> jobs;
    {
      std::lock_guard lock(mutex_);
      auto it = waiting_.find(msg->job_id);
      if (it == waiting_.end()) return;  // a duplicate after a resubscription
      jobs = std::move(it->second);
      waiting_.erase(it);
    }
    JobOutcome outcome;
    outcome.id = msg->job_id;
    outcome.state = static_cast<JobState>(msg->state);
    outcome.attempt = msg->attempt;
    outcome.result = std::string(msg->result.data);
    outcome.error_code = std::string(msg->error_code);
    outcome.error_message = std::string(msg->error_message);
    for (auto& job : jobs) runCallbacks(job->settle(outcome), outcome);
    return;
  }
  if (frame.request_id == 0) return;  // a push this version does not define for clients
  Pending pending;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(frame.request_id);
    if (it == pending_.end()) return;  // answered before a reconnection already
    pending = std::move(it->second);
    pending_.erase(it);
  }
  Status error;
  if (type == MsgType::kError) {
    auto msg = protocol::decode<protocol::ErrorMsg>(frame.body);
    error = msg ? Status::error(std::string(msg->code), std::string(msg->message))
                : Status::error(errc::kBadRequest, "malformed ERROR from the broker");
  }
  if (pending.reply) {
    pending.reply(error.isOk() ? &frame : nullptr, error);
    return;
  }
  if (!pending.job) return;
  if (type == MsgType::kSubmitted) {
    auto msg = protocol::decode<protocol::SubmittedMsg>(frame.body, pending.version);
    {
      std::lock_guard lock(mutex_);
      --unacked_submits_;
      if (msg) waiting_[msg->job_id].push_back(pending.job);
      changed_.notify_all();
    }
    std::lock_guard lock(pending.job->mutex);
    if (msg) {
      pending.job->acked = true;
      pending.job->id = msg->job_id;
      pending.job->unserved = (msg->flags & protocol::kSubmittedUnserved) != 0;
      pending.job->duplicate = (msg->flags & protocol::kSubmittedDuplicate) != 0;
      // A thread in wait() wants the outcome, not the id: waking it here would be for nothing.
      if (pending.job->id_waiters > 0) pending.job->changed.notify_all();
    } else {
      pending.job->refused = msg.status();
      pending.job->changed.notify_all();
    }
    return;
  }
  if (!error.isOk()) {
    {
      std::lock_guard lock(mutex_);
      bool was_submit = !pending.job->acked;
      if (was_submit) --unacked_submits_;
      if (!was_submit) {
        auto it = waiting_.find(pending.job->id);
        if (it != waiting_.end()) {
          auto& jobs = it->second;
          jobs.erase(std::remove(jobs.begin(), jobs.end(), pending.job), jobs.end());
          if (jobs.empty()) waiting_.erase(it);
        }
      }
      changed_.notify_all();
    }
    refuseJob(pending.job, error);
  }
  // OK to a SUBSCRIBE: the RESULT follows.
}

}  // namespace detail

// ---- public face ----

Result<std::unique_ptr<Client>> Client::connect(ClientOptions options) {
  auto endpoint = protocol::parseEndpoint(options.endpoint);
  if (!endpoint) return endpoint.status();
  auto impl = std::make_shared<detail::ClientImpl>(std::move(options));
  Status started = impl->start(*endpoint);
  if (!started) return started;
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::shared_ptr<detail::ClientImpl> impl) : impl_(std::move(impl)) {}
Client::~Client() {
  if (impl_) impl_->shutdown();
}

JobHandle Client::submit(std::string_view task, std::string payload, const SubmitOptions& options) {
  return impl_->submit(task, std::move(payload), options);
}
JobHandle Client::watch(JobId id) { return impl_->watch(id); }
Result<JobOutcome> Client::wait(JobId id, std::chrono::milliseconds limit) { return impl_->watch(id).wait(limit); }
Result<JobInfo> Client::status(JobId id, bool with_payload) { return impl_->status(id, with_payload); }
Result<std::string> Client::stats() { return impl_->stats(); }
Result<std::string> Client::metrics() { return impl_->metrics(); }
Result<JobExplanation> Client::explain(JobId id) { return impl_->explain(id); }
Result<std::vector<JobInfo>> Client::jobs(const JobFilter& filter) { return impl_->jobs(filter); }
Status Client::cancel(JobId id) { return impl_->cancel(id); }
Result<std::uint64_t> Client::purge(std::string_view task) { return impl_->purge(task); }
Status Client::pause(std::string_view task) { return impl_->pause(task, true); }
Status Client::resume(std::string_view task) { return impl_->pause(task, false); }
Result<CronEntry> Client::cronAdd(const CronEntry& entry, bool* replaced) { return impl_->cronAdd(entry, replaced); }
Result<std::vector<CronEntry>> Client::cronList() { return impl_->cronList(); }
Status Client::cronRemove(std::string_view name) { return impl_->cronRemove(name); }
Status Client::cronPause(std::string_view name) { return impl_->cronPause(name, true); }
Status Client::cronResume(std::string_view name) { return impl_->cronPause(name, false); }
Status Client::setRate(std::string_view task, std::string_view rate) { return impl_->setRate(task, rate); }
Result<std::uint64_t> Client::retryDead(JobId id) { return impl_->retryDead(id, {}); }
Result<std::uint64_t> Client::retryAllDead(std::string_view task) { return impl_->retryDead(0, task); }
Result<std::uint64_t> Client::purgeDead(std::string_view task, std::chrono::milliseconds older_than) {
  return impl_->purgeDead(task, older_than);
}

}  // namespace corvee
