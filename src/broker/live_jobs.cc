#include "broker/live_jobs.h"

#include <cstring>
#include <new>
#include <type_traits>

namespace corvee::broker {

// Jobs are freed without running a destructor on their payload bytes.
static_assert(std::is_trivially_destructible_v<LiveJob> && std::is_trivially_destructible_v<JobRetry> &&
              std::is_trivially_destructible_v<JobFair>);
static_assert(sizeof(LiveJob) % alignof(LiveJob) == 0);
static_assert(alignof(JobRetry) <= alignof(LiveJob) && sizeof(JobRetry) % alignof(LiveJob) == 0);
// A JobFair follows the LiveJob or its JobRetry, both of sizes that keep it aligned.
static_assert(alignof(JobFair) <= alignof(JobRetry));
// With a 100-byte payload, 80 + 100 bytes and malloc's header fill a 192-byte chunk; one more field
// moves every such job to the next size class (W3 in docs/benchmarks.md).
static_assert(sizeof(LiveJob) <= 80);

namespace {
void release(LiveJob* job) {
  job->~LiveJob();
  ::operator delete(job);
}
}  // namespace

LiveJobs::~LiveJobs() {
  for (LiveJob* job : jobs_) release(job);
}

LiveJob& LiveJobs::add(JobId id, const std::string_view* payload, const JobRetry* retry, const JobFair* fair) {
  std::size_t extra = payload != nullptr ? payload->size() : 0;
  std::size_t retry_size = retry != nullptr ? sizeof(JobRetry) : 0;
  std::size_t fair_size = fair != nullptr ? sizeof(JobFair) : 0;
  auto* job = new (::operator new(sizeof(LiveJob) + retry_size + fair_size + extra)) LiveJob();
  job->id = id;
  if (retry != nullptr) {
    new (job + 1) JobRetry(*retry);
    job->has_retry = true;
  }
  if (fair != nullptr) {
    new (reinterpret_cast<char*>(job + 1) + retry_size) JobFair(*fair);
    job->has_fair = true;
  }
  if (payload != nullptr) {
    if (extra > 0) std::memcpy(reinterpret_cast<char*>(job + 1) + retry_size + fair_size, payload->data(), extra);
    job->payload_size = static_cast<std::uint32_t>(extra);
    job->payload_in_memory = true;
  }
  auto [it, inserted] = jobs_.insert(job);
  if (!inserted) {  // callers never add a live id twice; if one did, the first job stands
    release(job);
    return **it;
  }
  return *job;
}

LiveJob* LiveJobs::find(JobId id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : *it;
}

void LiveJobs::erase(LiveJob& job) {
  jobs_.erase(&job);
  release(&job);
}

}  // namespace corvee::broker
