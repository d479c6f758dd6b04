// LiveJob and LiveJobs: the broker's queued and running jobs, by id.
//
// A broker may hold millions of queued jobs, so a job costs one allocation: the LiveJob with its
// payload bytes right behind it (when the broker keeps the payload; otherwise the store has it).
// The index is a flat hash set of pointers, a few bytes per job, instead of a node per entry.
// Together that keeps a queued 100-byte job near 240 bytes of broker memory (docs/benchmarks.md).
#pragma once

#include <absl/container/flat_hash_set.h>

#include <cstdint>
#include <string_view>

#include "broker/outbox.h"
#include "corvee/job.h"

namespace corvee::broker {

struct TaskQueue;

// What a job with retries carries besides its LiveJob: kept right behind it (before the payload) in
// the same allocation, and only for such jobs, so a job without retries pays nothing for it.
struct JobRetry {
  std::uint32_t retries = 0;      // allowed after a failed attempt
  std::uint32_t retried = 0;      // used since submission or the last `dead retry`
  std::uint32_t backoff_ms = 0;
  std::uint32_t backoff_max_ms = 0;
  std::uint64_t run_at_ms = 0;    // while retrying: the wall time of the next attempt
};

// What a job with a fairness key carries: kept behind its LiveJob (after any JobRetry, before the
// payload), and only for such jobs, so a job without a key pays nothing for it.
struct JobFair {
  std::uint32_t key = 0;  // FairKeys::KeyId in its task's FairKeys, which holds a reference for it
};

struct LiveJob {
  JobId id = 0;
  TaskQueue* queue = nullptr;    // the job's task
  PeerId owner = 0;              // the connection that submitted it; stale once that peer is gone
  PeerId worker = 0;             // when running: the worker's connection
  std::uint64_t submitted_ms = 0;
  // Start of the current or last attempt. A scheduled job has not started: then it is the time the
  // job is due (run_at_ms), which saves a field that a million queued jobs would all pay for.
  std::uint64_t started_ms = 0;
  std::int32_t priority = 0;
  std::uint32_t attempt = 0;     // attempts started; the running attempt's fencing token
  std::uint32_t timeout_ms = 0;
  std::uint32_t run_timeout_ms = 0;
  std::uint32_t assign_timeout_ms = 0;
  std::uint32_t payload_size = 0;  // bytes stored behind this struct
  // Matches its queue entry while that entry is live; raised each time the job enters or leaves
  // its queue. Per job, so it does not wrap: that happens twice per attempt at most.
  std::uint32_t ticket = 0;
  JobState state = JobState::kQueued;
  // Bit-fields and a 16-bit count keep the struct at 80 bytes: a million queued jobs pay for
  // every byte here.
  bool payload_in_memory : 1 = false;  // else the store holds the payload
  // Running and holding one of its worker's slots, so its run time limit counts. A job dealt
  // into a worker's prefetch is running but not yet in a slot.
  bool in_slot : 1 = false;
  bool watched : 1 = false;  // other connections SUBSCRIBEd to it (Core keeps who)
  bool has_retry : 1 = false;  // a JobRetry follows this struct
  // An attempt the broker cancelled (run time limit) may still be running on its worker: no new
  // attempt starts until the worker reports it stopped or is gone.
  bool stopping : 1 = false;
  bool retry_due : 1 = false;  // its retry time came while `stopping`: it is queued once that ends
  bool unique : 1 = false;  // holds its unique key in Core's UniqueKeys, which keeps the key
  bool has_fair : 1 = false;  // a JobFair follows this struct (and its JobRetry, if any)
  // Attempts that had started (held a slot) when their worker was lost; checked against
  // max_attempts. An attempt lost while it only waited in a prefetch is not counted.
  std::uint16_t lost = 0;

  // REQUIRES: payload_in_memory.
  std::string_view payload() const { return {trailer() + (has_fair ? sizeof(JobFair) : 0), payload_size}; }
  JobRetry* retry() { return has_retry ? reinterpret_cast<JobRetry*>(this + 1) : nullptr; }
  const JobRetry* retry() const { return has_retry ? reinterpret_cast<const JobRetry*>(this + 1) : nullptr; }
  // The job's fairness key; FairKeys::kNoKey (0) for a job without one.
  std::uint32_t fairKey() const {
    return has_fair ? reinterpret_cast<const JobFair*>(trailer())->key : 0;
  }

 private:
  // What follows the JobRetry, if any.
  const char* trailer() const {
    return reinterpret_cast<const char*>(this + 1) + (has_retry ? sizeof(JobRetry) : 0);
  }
};

static_assert(sizeof(void*) != 8 || sizeof(LiveJob) == 80, "LiveJob grew: see docs/benchmarks.md, memory per job");

class LiveJobs {
 public:
  LiveJobs() = default;
  LiveJobs(const LiveJobs&) = delete;
  LiveJobs& operator=(const LiveJobs&) = delete;
  ~LiveJobs();

  // Adds job `id`, which must not be live. With a payload, its bytes are kept behind the job and
  // payload_in_memory is set; with `retry`, a copy of it is kept too and has_retry is set; with
  // `fair`, likewise and has_fair.
  LiveJob& add(JobId id, const std::string_view* payload, const JobRetry* retry = nullptr,
               const JobFair* fair = nullptr);
  LiveJob* find(JobId id) const;
  // Frees the job; references to it dangle from here on.
  void erase(LiveJob& job);
  std::size_t size() const { return jobs_.size(); }
  // Calls visit(LiveJob&) for every job, in no particular order. `visit` must not add or erase.
  template <typename Visit>
  void forEach(Visit&& visit) const {
    for (LiveJob* job : jobs_) visit(*job);
  }

 private:
  // Hash and equality by id, for pointers and ids alike, so find() needs no LiveJob to compare.
  struct ById {
    using is_transparent = void;
    static JobId idOf(const LiveJob* job) { return job->id; }
    static JobId idOf(JobId id) { return id; }
    template <typename A>
    std::size_t operator()(const A& a) const { return absl::Hash<JobId>{}(idOf(a)); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const { return idOf(a) == idOf(b); }
  };
  absl::flat_hash_set<LiveJob*, ById, ById> jobs_;
};

}  // namespace corvee::broker
