#include "cpu_meter.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace corvee::bench {

namespace {

double ticksToSeconds(unsigned long long ticks) {
  static const double per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<double>(ticks) / per_second;
}

// utime + stime of a process (all its threads), in seconds; 0 when unreadable.
double processCpu(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After the name: state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return ticksToSeconds(utime + stime);
}

// Non-idle time of all CPUs, in seconds.
double machineBusy() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return ticksToSeconds(user + nice + system + irq + softirq + steal);
}

}  // namespace

double CpuUse::idleShare() const {
  if (wall_s <= 0) return 0;
  double used = self_s + broker_s + other_s;
  return std::max(0.0, 1.0 - used / (wall_s * cpus));
}

CpuMeter::CpuMeter(pid_t broker) : broker_(broker) { begin_ = take(); }

void CpuMeter::start() { begin_ = take(); }

CpuUse CpuMeter::stop() const {
  Sample end = take();
  CpuUse use;
  use.wall_s = std::chrono::duration<double>(end.when - begin_.when).count();
  use.self_s = end.self_s - begin_.self_s;
  use.broker_s = end.broker_s - begin_.broker_s;
  use.other_s = std::max(0.0, (end.busy_s - begin_.busy_s) - use.self_s - use.broker_s);
  use.cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return use;
}

CpuMeter::Sample CpuMeter::take() const {
  Sample s;
  s.when = std::chrono::steady_clock::now();
  s.busy_s = machineBusy();
  s.self_s = processCpu("/proc/self/stat");
  if (broker_ > 0) s.broker_s = processCpu("/proc/" + std::to_string(broker_) + "/stat");
  return s;
}

}  // namespace corvee::bench
