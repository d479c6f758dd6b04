#include "store/job_history.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace corvee {
namespace {

HistoryEvent event(std::uint64_t time_ms, EventKind kind, std::uint32_t attempt = 0, std::string worker = {},
                   std::string detail = {}) {
  return {time_ms, kind, attempt, std::move(worker), std::move(detail)};
}

TEST(JobHistoryTest, AnEmptyHistoryHasNoEvents) {
  auto events = history::decode("");
  ASSERT_TRUE(events.isOk());
  EXPECT_TRUE(events->empty());
}

TEST(JobHistoryTest, EventsRoundTripWithEveryField) {
  std::string blob;
  history::append(blob, event(1'700'000'000'000ULL, EventKind::kSubmitted));
  history::append(blob, event(1'700'000'000'123ULL, EventKind::kRunning, 1, "worker-\xc3\xa9"));
  history::append(blob, event(UINT64_MAX, EventKind::kFailed, UINT32_MAX, "w", std::string("a\0b", 3)));
  auto events = history::decode(blob);
  ASSERT_TRUE(events.isOk()) << events.status().toString();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].time_ms, 1'700'000'000'000ULL);
  EXPECT_EQ((*events)[0].kind, EventKind::kSubmitted);
  EXPECT_EQ((*events)[0].attempt, 0u);
  EXPECT_EQ((*events)[1].worker, "worker-\xc3\xa9");
  EXPECT_EQ((*events)[1].attempt, 1u);
  EXPECT_EQ((*events)[2].time_ms, UINT64_MAX);
  EXPECT_EQ((*events)[2].attempt, UINT32_MAX);
  EXPECT_EQ((*events)[2].detail, std::string("a\0b", 3));
}

TEST(JobHistoryTest, AnEventCostsAFewBytesBesidesItsStrings) {
  // The hot path appends three events to every job: they must stay small.
  std::string blob;
  history::append(blob, event(1'700'000'000'000ULL, EventKind::kSubmitted));
  EXPECT_LE(blob.size(), 1u + 10u);
  std::string running = history::encodeEvent(event(1'700'000'000'000ULL, EventKind::kRunning, 1, "w1"));
  EXPECT_LE(running.size(), 12u);
}

TEST(JobHistoryTest, KindsHaveTheirDocumentedNames) {
  EXPECT_EQ(toString(EventKind::kOmitted), "omitted");
  EXPECT_EQ(toString(EventKind::kSubmitted), "submitted");
  EXPECT_EQ(toString(EventKind::kScheduled), "scheduled");
  EXPECT_EQ(toString(EventKind::kQueued), "queued");
  EXPECT_EQ(toString(EventKind::kRequeued), "requeued");
  EXPECT_EQ(toString(EventKind::kRunning), "running");
  EXPECT_EQ(toString(EventKind::kFailed), "failed");
  EXPECT_EQ(toString(EventKind::kRetry), "retry");
  EXPECT_EQ(toString(EventKind::kExpired), "expired");
  EXPECT_EQ(toString(EventKind::kSucceeded), "succeeded");
  EXPECT_EQ(toString(EventKind::kDead), "dead");
  EXPECT_EQ(toString(EventKind::kCancelled), "cancelled");
  EXPECT_EQ(toString(EventKind::kRevived), "revived");
  EXPECT_EQ(toString(static_cast<EventKind>(200)), "unknown");
}

TEST(JobHistoryTest, PastTheCapTheFirstAndTheLastEventsStayWithAMarkerBetween) {
  std::string blob;
  for (std::uint64_t i = 0; i < history::kMaxEvents; ++i) history::append(blob, event(i, EventKind::kRunning, 1));
  auto full = history::decode(blob);
  ASSERT_TRUE(full.isOk());
  ASSERT_EQ(full->size(), history::kMaxEvents) << "up to the cap nothing is dropped";
  EXPECT_NE((*full)[history::kHead].kind, EventKind::kOmitted);

  history::append(blob, event(1000, EventKind::kFailed, 2));
  auto capped = history::decode(blob);
  ASSERT_TRUE(capped.isOk());
  ASSERT_EQ(capped->size(), history::kMaxEvents);
  for (std::size_t i = 0; i < history::kHead; ++i) EXPECT_EQ((*capped)[i].time_ms, i);
  EXPECT_EQ((*capped)[history::kHead].kind, EventKind::kOmitted);
  EXPECT_EQ((*capped)[history::kHead].detail, "2");
  EXPECT_EQ((*capped)[history::kHead + 1].time_ms, history::kHead + 2);
  EXPECT_EQ(capped->back().time_ms, 1000u);

  for (int i = 0; i < 10'000; ++i) history::append(blob, event(2000 + i, EventKind::kQueued));
  auto later = history::decode(blob);
  ASSERT_TRUE(later.isOk());
  ASSERT_EQ(later->size(), history::kMaxEvents);
  EXPECT_EQ((*later)[history::kHead].detail, "10002");
  EXPECT_EQ(later->back().time_ms, 2000u + 9'999u);
  EXPECT_EQ((*later)[history::kHead + 1].time_ms, 2000u + 10'000u - history::kTail);
}

TEST(JobHistoryTest, DamagedBytesAreRefusedNotRead) {
  std::string blob;
  history::append(blob, event(5, EventKind::kRunning, 1, "worker"));
  EXPECT_FALSE(history::decode(blob.substr(0, blob.size() - 1)).isOk()) << "a torn tail";
  EXPECT_FALSE(history::decode(blob + "x").isOk()) << "bytes past the last event";
  std::string lying = blob;
  lying[0] = 5;
  EXPECT_FALSE(history::decode(lying).isOk()) << "a count beyond the events";
}

TEST(JobHistoryTest, AppendingADamagedEventChangesNothing) {
  std::string blob;
  history::append(blob, event(5, EventKind::kSubmitted));
  std::string before = blob;
  history::appendEncoded(blob, "\x05");
  EXPECT_EQ(blob, before);
}

TEST(JobHistoryTest, StoresDeriveTheRunningAndFinishingEvents) {
  HistoryEvent running = history::runningEvent(3, "w", 77);
  EXPECT_EQ(running.kind, EventKind::kRunning);
  EXPECT_EQ(running.attempt, 3u);
  EXPECT_EQ(running.worker, "w");
  EXPECT_EQ(running.time_ms, 77u);
  JobRecord job;
  job.state = JobState::kDead;
  job.attempt = 2;
  job.finished_ms = 99;
  job.error_code = "timeout";
  HistoryEvent dead = history::finishedEvent(job);
  EXPECT_EQ(dead.kind, EventKind::kDead);
  EXPECT_EQ(dead.detail, "timeout");
  EXPECT_EQ(dead.time_ms, 99u);
  job.state = JobState::kSucceeded;
  EXPECT_EQ(history::finishedEvent(job).kind, EventKind::kSucceeded);
  job.state = JobState::kCancelled;
  EXPECT_EQ(history::finishedEvent(job).kind, EventKind::kCancelled);
}

// The kinds of an encoded history, oldest first.
std::vector<EventKind> kindsOf(const std::string& blob) {
  auto events = history::decode(blob);
  EXPECT_TRUE(events.isOk());
  std::vector<EventKind> kinds;
  if (events.isOk()) {
    for (const HistoryEvent& e : *events) kinds.push_back(e.kind);
  }
  return kinds;
}

TEST(JobHistoryTest, AnOrdinaryJobsHistoryComesFromItsColumnsAlone) {
  JobRecord row;
  row.submitted_ms = 10;
  EXPECT_EQ(kindsOf(history::complete(row)), (std::vector<EventKind>{EventKind::kSubmitted}));
  row.state = JobState::kRunning;
  row.attempt = 1;
  row.worker = "w";
  row.started_ms = 20;
  EXPECT_EQ(kindsOf(history::complete(row)), (std::vector<EventKind>{EventKind::kSubmitted, EventKind::kRunning}));
  row.state = JobState::kSucceeded;
  row.finished_ms = 30;
  auto events = history::decode(history::complete(row));
  ASSERT_TRUE(events.isOk());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].time_ms, 10u);
  EXPECT_EQ((*events)[1].worker, "w");
  EXPECT_EQ((*events)[1].attempt, 1u);
  EXPECT_EQ((*events)[2].kind, EventKind::kSucceeded);
  EXPECT_EQ((*events)[2].time_ms, 30u);
  EXPECT_TRUE(row.history.empty()) << "nothing was stored";
}

TEST(JobHistoryTest, AnEventOfTheRunningAttemptStoresThatAttemptsStartFirst) {
  JobRecord row;
  row.submitted_ms = 10;
  row.attempt = 1;
  row.worker = "w1";
  row.started_ms = 20;
  history::addEvent(row.history, row, history::encodeEvent(event(25, EventKind::kFailed, 1, "w1", "boom")));
  history::addEvent(row.history, row, history::encodeEvent(event(25, EventKind::kRetry, 1, {}, "40")));
  EXPECT_EQ(kindsOf(row.history), (std::vector<EventKind>{EventKind::kRunning, EventKind::kFailed, EventKind::kRetry}));
  // The next attempt overwrites the columns; its own running event is derived again.
  row.attempt = 2;
  row.worker = "w2";
  row.started_ms = 50;
  row.state = JobState::kDead;
  row.finished_ms = 60;
  EXPECT_EQ(kindsOf(history::complete(row)),
            (std::vector<EventKind>{EventKind::kSubmitted, EventKind::kRunning, EventKind::kFailed, EventKind::kRetry,
                                    EventKind::kRunning, EventKind::kDead}));
  // Reviving stores what the columns are about to lose; the stored running event is not doubled.
  history::settleFinished(row.history, row);
  row.state = JobState::kQueued;
  row.finished_ms = 0;
  EXPECT_EQ(kindsOf(history::complete(row)),
            (std::vector<EventKind>{EventKind::kSubmitted, EventKind::kRunning, EventKind::kFailed, EventKind::kRetry,
                                    EventKind::kRunning, EventKind::kDead}));
}

TEST(JobHistoryTest, DerivedEventsTakeTheirPlaceInTimeAndTheCapStillHolds) {
  JobRecord row;
  row.submitted_ms = 1;
  // A cancel recorded after the job finished (its time is later) stays after the final event.
  row.state = JobState::kCancelled;
  row.finished_ms = 5;
  history::append(row.history, event(9, EventKind::kRequeued, 0, {}, "worker_lost"));
  EXPECT_EQ(kindsOf(history::complete(row)),
            (std::vector<EventKind>{EventKind::kSubmitted, EventKind::kCancelled, EventKind::kRequeued}));
  // A full stored history plus the derived events: read back at the cap, the marker counting all.
  row.history.clear();
  for (std::uint32_t i = 0; i < 1000; ++i) history::append(row.history, event(10 + i, EventKind::kFailed, 1));
  row.finished_ms = 5000;
  auto events = history::decode(history::complete(row));
  ASSERT_TRUE(events.isOk());
  ASSERT_EQ(events->size(), history::kMaxEvents);
  EXPECT_EQ((*events)[0].kind, EventKind::kSubmitted);
  EXPECT_EQ((*events)[history::kHead].kind, EventKind::kOmitted);
  EXPECT_EQ((*events)[history::kHead].detail, std::to_string(1 + 1000 + 1 - (history::kMaxEvents - 1)));
  EXPECT_EQ(events->back().kind, EventKind::kCancelled);
}

TEST(JobHistoryTest, TheSubmittedEventIsNeverStored) {
  std::string given;
  history::append(given, event(1, EventKind::kSubmitted));
  EXPECT_TRUE(history::storedPart(given).empty());
  history::append(given, event(1, EventKind::kScheduled, 0, {}, "99"));
  EXPECT_EQ(kindsOf(history::storedPart(given)), (std::vector<EventKind>{EventKind::kScheduled}));
}

}  // namespace
}  // namespace corvee
