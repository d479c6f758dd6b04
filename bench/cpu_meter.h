// CpuMeter: where the machine's CPU time went during a measured interval, from /proc. Splits it
// into this process (client and workers), the broker process, and everything else, so a figure
// taken while something else was busy on the machine can be recognised as such. Resolution is the
// kernel's clock tick (10 ms), so intervals should last a second or more.
#pragma once

#include <sys/types.h>

#include <chrono>

namespace corvee::bench {

struct CpuUse {
  double wall_s = 0;
  double self_s = 0;    // CPU seconds used by this process
  double broker_s = 0;  // CPU seconds used by the broker process (0 when not ours to watch)
  double other_s = 0;   // CPU seconds used by everything else on the machine
  int cpus = 1;
  // Share of the whole machine (all CPUs) left idle.
  double idleShare() const;
};

class CpuMeter {
 public:
  // broker: the broker's pid, or 0 when it is not a process we can watch.
  explicit CpuMeter(pid_t broker);
  // Starts an interval.
  void start();
  // The interval since start().
  CpuUse stop() const;

 private:
  struct Sample {
    std::chrono::steady_clock::time_point when;
    double busy_s = 0;  // all CPUs
    double self_s = 0;
    double broker_s = 0;
  };
  Sample take() const;

  pid_t broker_;
  Sample begin_;
};

}  // namespace corvee::bench
