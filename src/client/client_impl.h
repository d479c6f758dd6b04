// Internals of corvee::Client: the state shared between the caller's threads and the client's
// network thread. See include/corvee/client.h for the contract.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "corvee/client.h"
#include "net/broker_link.h"
#include "platform/clock.h"

namespace corvee::detail {

// One submitted job's state; shared by its handles and the client. Guarded by its own mutex so a
// handle stays usable after the client is gone.
struct JobShared {
  std::mutex mutex;
  std::condition_variable changed;
  bool acked = false;              // the broker answered SUBMITTED (id is valid)
  bool unserved = false;           // SUBMITTED said no connected worker serves the task
  bool duplicate = false;          // SUBMITTED named an existing job holding the unique key
  std::uint32_t id_waiters = 0;    // threads in JobHandle::id(): only they care about `acked`
  JobId id = 0;
  std::optional<Status> refused;   // the submission was refused, or the client closed
  std::optional<JobOutcome> outcome;
  std::vector<std::function<void(const JobOutcome&)>> callbacks;
  std::weak_ptr<ClientImpl> client;

  // Records the end and returns the callbacks to run (outside the lock).
  std::vector<std::function<void(const JobOutcome&)>> settle(JobOutcome result);
  // Records that no outcome will come (refused, or the client closed); returns the callbacks to
  // run with a failed outcome carrying `why`.
  std::vector<std::function<void(const JobOutcome&)>> refuse(const Status& why);
};

class ClientImpl : public std::enable_shared_from_this<ClientImpl> {
 public:
  explicit ClientImpl(ClientOptions options);
  ~ClientImpl();
  Status start(const protocol::Endpoint& endpoint);
  void shutdown();

  JobHandle submit(std::string_view task, std::string payload, const SubmitOptions& options);
  JobHandle watch(JobId id);
  Result<JobInfo> status(JobId id, bool with_payload);
  Result<std::string> stats();
  Result<std::string> metrics();
  // Control and inspection (control.cc); see include/corvee/client.h.
  Result<std::vector<JobInfo>> jobs(const JobFilter& filter);
  Status cancel(JobId id);
  Result<std::uint64_t> purge(std::string_view task);
  Status pause(std::string_view task, bool paused);
  // Periodic jobs (cron.cc).
  Result<CronEntry> cronAdd(const CronEntry& entry, bool* replaced);
  Result<std::vector<CronEntry>> cronList();
  Result<JobExplanation> explain(JobId id);
  Status cronRemove(std::string_view name);
  Status cronPause(std::string_view name, bool paused);
  Status setRate(std::string_view task, std::string_view rate);
  Result<std::uint64_t> retryDead(JobId id, std::string_view task);
  Result<std::uint64_t> purgeDead(std::string_view task, std::chrono::milliseconds older_than);

  // OK while the broker is reachable or has been unreachable for less than connect_timeout;
  // otherwise `unavailable` saying why.
  Status unreachable();

 private:
  // A request awaiting its reply; kept with its encoded frame so it can be sent again after a
  // reconnection.
  struct Pending {
    std::string frame;
    // The protocol version `frame` is laid out for; 0 when its layout is the same in every version.
    // A frame for another version than the next session's cannot be sent again (onReady).
    std::uint16_t version = 0;
    std::shared_ptr<JobShared> job;  // SUBMIT or SUBSCRIBE
    // STATUS/STATS: called with the reply frame, or with nullptr and the error.
    std::function<void(const protocol::Frame*, const Status&)> reply;
  };

  // Gives a request a fresh id (patched into its frame) and records it as awaiting a reply.
  // REQUIRES: mutex_ held.
  std::uint32_t trackLocked(Pending&& pending);
  // Tracks a request and hands its frame to the network thread. REQUIRES: mutex_ held.
  std::uint32_t enqueueLocked(Pending pending);
  void wakeNetwork();
  // Network thread.
  void sendStaged();
  void onReady(const protocol::WelcomeMsg& welcome);
  void onFrame(const protocol::Frame& frame);
  void onLost(const Status& why);
  // A reply's body (copied) and the protocol version it is laid out for.
  struct Reply {
    std::string body;
    std::uint16_t version = protocol::kVersion;
  };
  // Sends the request `encode` appends to its frame for the session's version, and waits for the
  // reply of type `expect`. Fails with the broker's ERROR; with unsupported_version, unsent, when
  // the broker speaks a version older than `needs` (the first that defines the request); or with
  // `unavailable` once the broker has been unreachable for connect_timeout.
  Result<Reply> request(const std::function<void(std::string&, std::uint16_t)>& encode, protocol::MsgType sent,
                        protocol::MsgType expect, std::uint16_t needs = 1);
  // request() for a message whose reply is a bare OK, or a COUNT.
  template <typename Msg>
  Status requestOk(Msg msg, std::uint16_t needs);
  template <typename Msg>
  Result<std::uint64_t> requestCount(Msg msg, std::uint16_t needs);
  // Waits until `done()` holds, failing `unavailable` once the broker has been unreachable for
  // connect_timeout. REQUIRES: `lock` holds mutex_.
  Status waitReachable(std::unique_lock<std::mutex>& lock, const std::function<bool()>& done);
  Status unreachableLocked() const;  // REQUIRES: mutex_ held

  ClientOptions options_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<net::BrokerLink> link_;
  std::thread thread_;

  std::mutex mutex_;
  std::condition_variable changed_;   // ready_, in-flight count
  bool ready_ = false;
  bool closed_ = false;
  Status last_error_;
  bool warned_unreachable_ = false;  // this outage was logged (once: retries are quiet)
  MonoTime unreachable_since_;  // when the broker last stopped being reachable
  // The protocol version of the current (or last) session, as WELCOME chose it. Written under
  // mutex_ (onReady); read without it by submit() to lay out its frame before taking the lock.
  std::atomic<std::uint16_t> version_{protocol::kVersion};
  std::uint64_t store_id_ = 0;  // WELCOME.store_id of the first session: what our job ids belong to
  std::uint32_t next_request_ = 1;
  std::map<std::uint32_t, Pending> pending_;  // by request id: resent in order after reconnecting
  std::string staged_;                        // frames not yet handed to the network thread
  bool wake_posted_ = false;
  std::uint64_t session_ = 0;                 // the link generation ready_ refers to
  std::size_t unacked_submits_ = 0;
  std::unordered_map<JobId, std::vector<std::shared_ptr<JobShared>>> waiting_;  // acked, outcome not yet known
};

template <typename Msg>
Status ClientImpl::requestOk(Msg msg, std::uint16_t needs) {
  auto encode = [&msg](std::string& frame, std::uint16_t version) { protocol::encode(frame, 0, msg, version); };
  Result<Reply> reply = request(encode, Msg::kType, protocol::MsgType::kOk, needs);
  return reply ? Status::ok() : reply.status();
}

template <typename Msg>
Result<std::uint64_t> ClientImpl::requestCount(Msg msg, std::uint16_t needs) {
  auto encode = [&msg](std::string& frame, std::uint16_t version) { protocol::encode(frame, 0, msg, version); };
  Result<Reply> reply = request(encode, Msg::kType, protocol::MsgType::kCount, needs);
  if (!reply) return reply.status();
  auto count = protocol::decode<protocol::CountMsg>(reply->body, reply->version);
  if (!count) return count.status();
  return count->count;
}

}  // namespace corvee::detail
