// Internals of corvee::Client: the state shared between the caller's threads and the client's
// network thread. See include/corvee/client.h for the contract.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
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
  Result<JobInfo> status(JobId id);
  Result<std::string> stats();

  // OK while the broker is reachable or has been unreachable for less than connect_timeout;
  // otherwise `unavailable` saying why.
  Status unreachable();

 private:
  // A request awaiting its reply; kept with its encoded frame so it can be sent again after a
  // reconnection.
  struct Pending {
    std::string frame;
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
  // Sends a request and waits for its reply frame's body (copied), failing with the broker's
  // ERROR, or `unavailable` once the broker has been unreachable for connect_timeout.
  Result<std::string> request(std::string frame, protocol::MsgType expect);
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
  std::uint64_t store_id_ = 0;  // WELCOME.store_id of the first session: what our job ids belong to
  std::uint32_t next_request_ = 1;
  std::map<std::uint32_t, Pending> pending_;  // by request id: resent in order after reconnecting
  std::string staged_;                        // frames not yet handed to the network thread
  bool wake_posted_ = false;
  std::uint64_t session_ = 0;                 // the link generation ready_ refers to
  std::size_t unacked_submits_ = 0;
  std::unordered_map<JobId, std::vector<std::shared_ptr<JobShared>>> waiting_;  // acked, outcome not yet known
};

}  // namespace corvee::detail
