// The HTTP API's handlers, one per route (docs/http-api.md). Each translates its request into the
// wire messages a client would send and the Core's replies into JSON.
#pragma once

#include "http/call.h"

namespace corvee::http {

// The longest ?wait= a request may ask for: ten minutes.
inline constexpr std::uint64_t kMaxWaitMs = 600'000;

// Jobs (handlers_jobs.cc).
void submitJob(const CallPtr& call);      // POST /v1/jobs[?wait=MS]
void getJob(const CallPtr& call);         // GET /v1/jobs/{id}[?wait=MS][&payload=1]
void listJobs(const CallPtr& call);       // GET /v1/jobs?task=&state=&limit=&before=
void listDeadJobs(const CallPtr& call);   // GET /v1/dead?task=&limit=&before=
void getJobHistory(const CallPtr& call);  // GET /v1/jobs/{id}/history
void cancelJob(const CallPtr& call);      // POST /v1/jobs/{id}/cancel
void retryJob(const CallPtr& call);       // POST /v1/jobs/{id}/retry
void retryDeadJobs(const CallPtr& call);  // POST /v1/dead/retry
void purgeDeadJobs(const CallPtr& call);  // POST /v1/dead/purge

// Queues, workers and the broker (handlers_queues.cc).
void getStats(const CallPtr& call);       // GET /v1/stats
void listQueues(const CallPtr& call);     // GET /v1/queues
void listWorkers(const CallPtr& call);    // GET /v1/workers
void pauseQueue(const CallPtr& call);     // POST /v1/queues/{task}/pause
void resumeQueue(const CallPtr& call);    // POST /v1/queues/{task}/resume
void purgeQueue(const CallPtr& call);     // POST /v1/queues/{task}/purge
void setQueueRate(const CallPtr& call);   // PUT /v1/queues/{task}/rate
void getMetrics(const CallPtr& call);     // GET /metrics (Prometheus text format)

// Periodic jobs (handlers_cron.cc).
void listCron(const CallPtr& call);       // GET /v1/cron
void putCron(const CallPtr& call);        // PUT /v1/cron/{name}
void deleteCron(const CallPtr& call);     // DELETE /v1/cron/{name}
void pauseCron(const CallPtr& call);      // POST /v1/cron/{name}/pause
void resumeCron(const CallPtr& call);     // POST /v1/cron/{name}/resume

}  // namespace corvee::http
