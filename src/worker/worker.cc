// Worker: one network thread speaks to the broker; `slots` threads run handlers. ASSIGN frames go
// to a job queue the slot threads take from, oldest first (the broker's prefetch model relies on
// that order); results come back to the network thread, which sends them only if the attempt still
// belongs to the current session (after a reconnection the broker has already given the job to
// someone else, so a late result would be refused anyway).
//
// Hand-offs between threads cost more than the jobs themselves when jobs are short, so both
// directions move batches: the ASSIGNs of one read wake at most as many slot threads as are idle,
// and one wake-up of the network thread carries every result finished meanwhile. A result finished
// while nothing else is waiting (one job at a time: latency matters, batching has nothing to gain)
// is written by its slot thread directly, saving the wake-up on the way back.
#include "corvee/worker.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include "net/log.h"

#include <condition_variable>
#include <deque>
#include <thread>
#include <unordered_map>

#include "corvee/errors.h"
#include "net/broker_link.h"
#include "net/tls_context.h"
#include "platform/clock.h"
#include "platform/hostname.h"
#include "protocol/utf8.h"

namespace corvee {

namespace detail {

namespace asio = boost::asio;
using protocol::Frame;
using protocol::MsgType;

class WorkerImpl {
 public:
  explicit WorkerImpl(WorkerOptions options) : options_(std::move(options)), io_(1), work_(io_.get_executor()) {
    if (options_.name.empty()) options_.name = defaultPeerName();
    if (options_.slots == 0) options_.slots = 1;
  }

  void handle(std::string task, Handler handler) { handlers_[std::move(task)] = std::move(handler); }

  Status run();
  void stop() {
    asio::post(io_, [this] { beginDrain(); });
  }

 private:
  struct Running {
    std::uint32_t attempt;
    std::uint64_t generation;  // the link session it arrived on
    std::shared_ptr<JobContext> context;
    // The broker sent CANCEL: it holds the slot until this attempt is reported, whatever its
    // outcome, so the result is sent (and discarded there) instead of dropped here.
    bool cancelled_by_broker = false;
  };
  struct Done {
    JobId id;
    std::uint32_t attempt;
    Result<std::string> result;
    bool sent = false;  // the slot thread wrote it to the broker itself
  };
  struct Queued {
    std::shared_ptr<JobContext> context;
    std::uint64_t generation;  // the link session it arrived on
  };

  void onReady();
  void onFrame(const Frame& frame);
  void onLost(const Status& why);
  // Encodes one result (the caller flushes). Network thread.
  void onDone(Done done);
  // COMPLETE, or FAIL when the handler failed or its result is over the broker's limit. Any thread.
  static void encodeResult(const Done& done, std::uint32_t max_payload, std::string& out);
  // Takes every result the slot threads finished and sends them in one write. Network thread.
  void drainFinished();
  // Moves finished_ out. REQUIRES: mutex_ held.
  void takeFinishedLocked(std::vector<Done>& out);
  // Sends or books a batch of results, then checks whether a drain is over. Network thread.
  void handleFinished(std::vector<Done> batch);
  // Moves the jobs that arrived in this read to the slot threads' queue. Network thread.
  void handOffArrived();
  void beginDrain();
  void maybeFinishDrain();
  void closeWhenFlushed(int checks_left);
  void slotLoop();
  Result<std::string> runHandler(JobContext& context);
  void sendRegister();
  std::uint16_t version_ = protocol::kVersion;  // the version the broker's WELCOME chose

  WorkerOptions options_;
  std::unordered_map<std::string, Handler> handlers_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::shared_ptr<net::BrokerLink> link_;
  asio::steady_timer close_timer_{io_};

  // Network thread only.
  std::unordered_map<JobId, Running> running_;
  std::vector<Queued> arrived_;  // ASSIGNed in this read, not yet handed off
  bool draining_ = false;
  bool ever_ready_ = false;
  bool told_unreachable_ = false;
  Status last_error_;  // why the last session failed or was lost
  bool closing_ = false;  // the drain is over and the last results are being flushed
  Status exit_status_;

  // Shared with slot threads.
  std::mutex mutex_;
  std::condition_variable job_ready_;
  std::deque<Queued> jobs_;
  std::size_t idle_slots_ = 0;  // slot threads waiting on job_ready_
  bool slots_stop_ = false;
  std::vector<Done> finished_;   // results waiting for the network thread
  bool finished_posted_ = false;  // a drainFinished() is queued on the network thread
  std::size_t unsent_ = 0;        // entries of finished_ that still have to be sent
  bool report_every_result_ = false;  // draining: results sent directly wake the network thread too
};

Status WorkerImpl::run() {
  auto endpoint = protocol::parseEndpoint(options_.endpoint);
  if (!endpoint) return endpoint.status();
  net::LinkOptions link_options;
  link_options.endpoint = *endpoint;
  link_options.name = options_.name;
  link_options.role = protocol::Role::kWorker;
  link_options.token = options_.token;
  link_options.reconnect_min = options_.reconnect_min;
  link_options.reconnect_max = options_.reconnect_max;
  if (!options_.tls_ca_file.empty() || !options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    auto tls = net::makeClientContext(options_.tls_ca_file, options_.tls_cert_file, options_.tls_key_file);
    if (!tls) return tls.status();
    link_options.tls = std::move(*tls);
  }
  net::LinkCallbacks callbacks;
  callbacks.on_ready = [this](const protocol::WelcomeMsg& welcome) {
    version_ = welcome.version;
    onReady();
  };
  callbacks.on_frame = [this](const Frame& frame) { onFrame(frame); };
  callbacks.on_lost = [this](const Status& why) { onLost(why); };
  link_ = std::make_shared<net::BrokerLink>(io_, link_options, std::move(callbacks));

  std::optional<asio::signal_set> signals;
  int signals_seen = 0;
  std::function<void()> await_signal;
  if (options_.handle_signals) {
    signals.emplace(io_, SIGINT, SIGTERM);
    await_signal = [&] {
      signals->async_wait([&](const boost::system::error_code& error, int signal) {
        if (error) return;
        if (++signals_seen == 1) {
          net::log().info("signal {}: draining (finishing {} running jobs; signal again to cancel them)", signal,
                       running_.size());
          beginDrain();
        } else {
          net::log().warn("signal {} again: cancelling running jobs", signal);
          for (auto& [id, job] : running_) job.context->cancel();
        }
        await_signal();
      });
    };
    await_signal();
  }

  asio::steady_timer connect_deadline(io_);
  if (options_.connect_timeout.count() > 0) {
    connect_deadline.expires_after(options_.connect_timeout);
    connect_deadline.async_wait([this](const boost::system::error_code& error) {
      if (error || ever_ready_) return;
      // (A TLS failure on the certificates ended the worker at once: see onLost.)
      exit_status_ = Status::error(errc::kUnavailable, "cannot reach the broker at " + options_.endpoint + " within " +
                                                           std::to_string(options_.connect_timeout.count()) + " ms" +
                                                           (last_error_.isOk() ? "" : ": " + last_error_.message()));
      link_->stop();
      work_.reset();
      io_.stop();
    });
  }

  std::vector<std::thread> slots;
  for (std::uint32_t i = 0; i < options_.slots; ++i) slots.emplace_back([this] { slotLoop(); });
  link_->start();
  io_.run();
  {
    std::lock_guard lock(mutex_);
    slots_stop_ = true;
    job_ready_.notify_all();
  }
  // Handlers still running after a forced stop are cancelled so their threads can end.
  for (auto& [id, job] : running_) job.context->cancel();
  for (auto& slot : slots) slot.join();
  return exit_status_;
}

void WorkerImpl::sendRegister() {
  protocol::RegisterMsg reg;
  reg.slots = options_.slots;
  reg.prefetch = options_.prefetch;
  reg.priority_slots = options_.priority_slots;
  for (const auto& [task, handler] : handlers_) reg.tasks.push_back(task);
  if (version_ < 3 && !options_.priority_slots.empty()) {
    net::log().error("the broker speaks protocol version {}, which has no priority slots; registering plain slots",
                     version_);
  }
  protocol::encode(link_->output(), 0, reg, version_);
  if (draining_) protocol::encode(link_->output(), 0, protocol::DrainMsg{});
  link_->flush();
}

void WorkerImpl::onReady() {
  if (!ever_ready_) net::log().info("connected to {} as {} with {} slots", options_.endpoint, options_.name, options_.slots);
  ever_ready_ = true;
  sendRegister();
  maybeFinishDrain();
}

void WorkerImpl::onLost(const Status& why) {
  // Its token does not let it in (or no longer does), or its first TLS exchange failed on the
  // certificates: retrying with the same token or files cannot help. (A worker that was connected
  // before rides out a TLS failure, as the broker's certificate is being replaced, say.)
  bool tls_misconfigured = !ever_ready_ && net::failsTls(why);
  if (net::refusesAccess(why) || tls_misconfigured) {
    exit_status_ = Status::error(why.code(), tls_misconfigured ? "cannot talk to the broker at " + options_.endpoint +
                                                                     ": " + why.message()
                                                               : "the broker at " + options_.endpoint +
                                                                     " refused this worker: " + why.message());
    for (auto& [id, job] : running_) job.context->cancel();
    link_->stop();
    work_.reset();
    io_.stop();
    return;
  }
  // Before the first session a failure is only reported once: the worker keeps trying quietly.
  // A different reason (a TLS failure after refused connects) is reported too.
  if (!ever_ready_ && (!told_unreachable_ || why.code() != last_error_.code())) {
    told_unreachable_ = true;
    net::log().warn("{}; retrying until the broker is up", why.toString());
  }
  last_error_ = why;
  // The broker puts this session's jobs back in the queue when it notices the loss; results of
  // those attempts would be refused, so the attempts are cancelled now.
  for (auto& [id, job] : running_) job.context->cancel();
}

void WorkerImpl::onFrame(const Frame& frame) {
  switch (static_cast<MsgType>(frame.type)) {
    case MsgType::kAssign: {
      auto msg = protocol::decode<protocol::AssignMsg>(frame.body);
      if (!msg) {
        net::log().error("malformed ASSIGN from the broker: {}", msg.status().toString());
        return;
      }
      auto context = std::make_shared<JobContext>(msg->job_id, msg->attempt, std::string(msg->task),
                                                  std::string(msg->payload.data), link_->maxPayload(),
                                                  std::chrono::milliseconds(msg->run_timeout_ms));
      running_[msg->job_id] = Running{msg->attempt, link_->generation(), context};
      // Posted from the network thread, the hand-off runs once the whole read has been decoded.
      if (arrived_.empty()) asio::post(io_, [this] { handOffArrived(); });
      arrived_.push_back(Queued{std::move(context), link_->generation()});
      return;
    }
    case MsgType::kCancel: {
      auto msg = protocol::decode<protocol::CancelMsg>(frame.body);
      if (!msg) return;
      auto it = running_.find(msg->job_id);
      if (it == running_.end() || it->second.attempt != msg->attempt) return;
      net::log().info("job {} attempt {} cancelled by the broker ({})", msg->job_id, msg->attempt, msg->code);
      it->second.cancelled_by_broker = true;
      it->second.context->cancel();
      return;
    }
    case MsgType::kError: {
      auto msg = protocol::decode<protocol::ErrorMsg>(frame.body);
      if (msg) net::log().warn("broker: {}: {}", msg->code, msg->message);
      return;
    }
    default:
      return;  // OK to REGISTER/DRAIN, and pushes this version does not define for workers
  }
}

void WorkerImpl::handOffArrived() {
  std::size_t wake;
  std::vector<Done> finished;  // under the same lock: results the slot threads sent themselves
  {
    std::lock_guard lock(mutex_);
    for (auto& queued : arrived_) jobs_.push_back(std::move(queued));
    wake = std::min(arrived_.size(), idle_slots_);
    takeFinishedLocked(finished);
  }
  arrived_.clear();
  // Notified after unlocking, so a woken slot thread does not block at once on mutex_.
  for (std::size_t i = 0; i < wake; ++i) job_ready_.notify_one();
  if (!finished.empty()) handleFinished(std::move(finished));
}

void WorkerImpl::slotLoop() {
  std::string direct_frame;  // this thread's encoding buffer for results it sends itself
  std::unique_lock lock(mutex_);
  for (;;) {
    while (!slots_stop_ && jobs_.empty()) {
      ++idle_slots_;
      job_ready_.wait(lock);
      --idle_slots_;
    }
    if (jobs_.empty()) return;
    Queued job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    Done done{job.context->id(), job.context->attempt(), runHandler(*job.context)};
    lock.lock();
    if (jobs_.empty() && unsent_ == 0 && !job.context->cancelled()) {
      lock.unlock();
      direct_frame.clear();
      encodeResult(done, link_->maxPayload(), direct_frame);
      done.sent = link_->trySendDirect(direct_frame, job.generation);
      lock.lock();
    }
    job.context.reset();
    bool urgent = !done.sent || report_every_result_;
    if (!done.sent) ++unsent_;
    finished_.push_back(std::move(done));
    // One wake-up of the network thread carries every result finished meanwhile. A result already
    // sent only needs its bookkeeping, which waits for the network thread's next wake-up.
    if (urgent && !finished_posted_) {
      finished_posted_ = true;
      lock.unlock();
      asio::post(io_, [this] { drainFinished(); });
      lock.lock();
    }
  }
}

void WorkerImpl::drainFinished() {
  std::vector<Done> batch;
  {
    std::lock_guard lock(mutex_);
    takeFinishedLocked(batch);
  }
  handleFinished(std::move(batch));
}

void WorkerImpl::takeFinishedLocked(std::vector<Done>& out) {
  out.swap(finished_);
  unsent_ = 0;
  finished_posted_ = false;
}

void WorkerImpl::handleFinished(std::vector<Done> batch) {
  for (Done& done : batch) onDone(std::move(done));
  link_->flush();  // one write for the whole batch
  maybeFinishDrain();
}

Result<std::string> WorkerImpl::runHandler(JobContext& context) {
  if (context.cancelled()) return Status::error(errc::kRunTimeout, "cancelled before it started");
  auto it = handlers_.find(context.task());
  if (it == handlers_.end()) {
    return Status::error(errc::kNoHandler, "this worker has no handler for task '" + context.task() + "'");
  }
  try {
    return it->second(context);
  } catch (const std::exception& e) {
    return Status::error(errc::kHandlerError, std::string("handler threw: ") + e.what());
  } catch (...) {
    return Status::error(errc::kHandlerError, "handler threw a non-standard exception");
  }
}

void WorkerImpl::encodeResult(const Done& done, std::uint32_t max_payload, std::string& out) {
  if (done.result) {
    std::string_view result = *done.result;
    if (max_payload > 0 && result.size() > max_payload) {
      protocol::encode(out, 0,
                       protocol::FailMsg{done.id, done.attempt, errc::kResultTooLarge,
                                         "the result of " + std::to_string(result.size()) +
                                             " bytes exceeds the broker's limit"});
    } else {
      protocol::encode(out, 0, protocol::CompleteMsg{done.id, done.attempt, {result}});
    }
    return;
  }
  // Codes and messages travel as `str`, UTF-8 the broker checks; a command's stderr may be any
  // bytes, so invalid sequences become U+FFFD rather than get the FAIL refused.
  const Status& error = done.result.status();
  std::string message(protocol::truncateUtf8(protocol::toValidUtf8(error.message()), 65535));
  std::string code(protocol::truncateUtf8(protocol::toValidUtf8(error.code()), 255));
  protocol::encode(out, 0, protocol::FailMsg{done.id, done.attempt, code, message});
}

void WorkerImpl::onDone(Done done) {
  auto it = running_.find(done.id);
  if (it == running_.end() || it->second.attempt != done.attempt) return;
  // Attempts this process cancelled itself (a lost session, a forced stop) are the broker's to put
  // back in the queue: their results would be refused. One the broker cancelled is reported.
  bool same_session = it->second.generation == link_->generation() && link_->ready();
  bool current = same_session && (it->second.cancelled_by_broker || !it->second.context->cancelled());
  running_.erase(it);
  if (done.sent) return;  // its slot thread wrote it already
  if (!current) {
    net::log().debug("dropping the result of job {} attempt {}: the broker no longer expects it", done.id, done.attempt);
    return;
  }
  encodeResult(done, link_->maxPayload(), link_->output());
}

void WorkerImpl::beginDrain() {
  if (draining_) return;
  draining_ = true;
  {
    // From now on the drain waits for every result: each one wakes the network thread.
    std::lock_guard lock(mutex_);
    report_every_result_ = true;
  }
  drainFinished();
  if (link_ && link_->ready()) {
    protocol::encode(link_->output(), 0, protocol::DrainMsg{});
    link_->flush();
  }
  maybeFinishDrain();
}

void WorkerImpl::maybeFinishDrain() {
  // Called after every batch of results while draining; the closing poll below starts only once.
  if (!draining_ || !running_.empty() || closing_) return;
  closing_ = true;
  closeWhenFlushed(200);
}

void WorkerImpl::closeWhenFlushed(int checks_left) {
  // Give the last results a moment to leave (at most checks_left x 10 ms): close once the link's
  // buffers are empty, or at once if the broker is gone anyway.
  if (link_->pendingBytes() == 0 || !link_->ready() || checks_left <= 0) {
    link_->stop();
    work_.reset();
    io_.stop();
    return;
  }
  close_timer_.expires_after(std::chrono::milliseconds(10));
  close_timer_.async_wait([this, checks_left](const boost::system::error_code& error) {
    if (!error) closeWhenFlushed(checks_left - 1);
  });
}

}  // namespace detail

Worker::Worker(WorkerOptions options) : impl_(std::make_unique<detail::WorkerImpl>(std::move(options))) {}
Worker::~Worker() = default;
void Worker::handle(std::string task, Handler handler) { impl_->handle(std::move(task), std::move(handler)); }
Status Worker::run() { return impl_->run(); }
void Worker::stop() { impl_->stop(); }

}  // namespace corvee
