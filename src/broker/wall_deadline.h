// monoTimeAt: the monotonic time point at which the wall clock reads a given time, for jobs
// scheduled at a wall time (SUBMIT run_at_ms, retries) and recovered after a restart.
//
// The wall time comes from a peer and may be anything up to 2^64-1 ms. A steady_clock time point
// holds only about 292 years of nanoseconds, and time limits are added to it afterwards, so a time
// further than kFarFuture from now is taken as kFarFuture away (and one further in the past as that
// far back): the job waits as long as anyone can tell, and no arithmetic overflows.
#pragma once

#include <chrono>
#include <cstdint>

#include "platform/clock.h"

namespace corvee::broker {

// 100 years: far beyond any job's lifetime, and far enough inside the range of a time point that
// adding a u32 millisecond time limit to it still fits.
inline constexpr std::chrono::milliseconds kFarFuture{100LL * 366 * 24 * 3600 * 1000};

// REQUIRES: nothing; any `at_ms` is valid.
MonoTime monoTimeAt(MonoTime now, std::uint64_t wall_now_ms, std::uint64_t at_ms);

}  // namespace corvee::broker
