#include "platform/child_cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

namespace corvee {
namespace {

// Reads a small kernel file (procfs, cgroupfs) whole; nullopt when it cannot be opened.
std::optional<std::string> readFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t got = ::read(fd, buf, sizeof(buf));
    if (got > 0) {
      text.append(buf, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fd);
  return text;
}

bool writeFile(const std::string& path, const char* text, std::size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text, size) == static_cast<ssize_t>(size);
  ::close(fd);
  return ok;
}

// The directory of this process's own cgroup v2: the cgroup2 mount that holds it, joined with
// the path /proc/self/cgroup gives ("0::/some/path"), relative to the mount's own root (which is
// not "/" when the mount shows only part of the hierarchy, as in some containers).
std::optional<std::string> detectOwnCgroupDir() {
  auto own = readFile("/proc/self/cgroup");
  auto mounts = readFile("/proc/self/mountinfo");
  if (!own || !mounts) return std::nullopt;
  std::string path;
  bool found = false;
  std::istringstream lines(*own);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("0::", 0) == 0) {
      path = line.substr(3);
      found = true;
    }
  }
  // " (deleted)": our cgroup was removed under us; nothing can be made in it.
  if (!found || path.empty() || path[0] != '/' || path.find(" (deleted)") != std::string::npos) return std::nullopt;

  std::istringstream entries(*mounts);
  for (std::string line; std::getline(entries, line);) {
    // "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS"
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, device, root, point;
    head >> id >> parent >> device >> root >> point;
    // Escaped characters (\040 for a space) in a cgroup mount: unusual enough not to decode.
    if (point.empty() || root.find('\\') != std::string::npos || point.find('\\') != std::string::npos) continue;
    std::string relative;
    if (root == "/") {
      relative = path;
    } else if (path == root || path.rfind(root + "/", 0) == 0) {
      relative = path.substr(root.size());
    } else {
      continue;  // this mount does not show our cgroup
    }
    while (!point.empty() && point.back() == '/') point.pop_back();
    while (!relative.empty() && relative.back() == '/') relative.pop_back();
    return point + relative;
  }
  return std::nullopt;
}

// Where this process's cgroups go. Computed once: a worker does not move between cgroups.
const std::optional<std::string>& ownCgroupDir() {
  static const std::optional<std::string> dir = detectOwnCgroupDir();
  return dir;
}

// Removes the empty cgroups that workers which died without cleaning up (kill -9, a crash) left
// in `base`: `corvee-PID-N` where no process PID exists any more. A cgroup still holding that
// worker's commands is left alone (rmdir fails): they may be doing something that matters. A
// PID reused since only makes a stale cgroup wait for a later sweep. (A process of another pid
// namespace sharing our cgroup looks dead from here: at worst its child then misses a cgroup
// just made for it, and it falls back to its process group.)
void sweepStaleCgroups(const std::string& base) {
  DIR* dir = ::opendir(base.c_str());
  if (dir == nullptr) return;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.rfind("corvee-", 0) != 0) continue;
    auto dash = name.find('-', 7);
    if (dash == std::string::npos || dash == 7) continue;
    pid_t owner = 0;
    for (std::size_t i = 7; i < dash; ++i) {
      if (name[i] < '0' || name[i] > '9' || owner > 100000000) { owner = 0; break; }
      owner = owner * 10 + (name[i] - '0');
    }
    if (owner <= 0 || owner == ::getpid()) continue;
    if (::kill(owner, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to probe)
    ::rmdir((base + "/" + name).c_str());
  }
  ::closedir(dir);
}

}  // namespace

ChildCgroup::ChildCgroup(std::string dir) : dir_(std::move(dir)), procs_file_(dir_ + "/cgroup.procs") {}

std::unique_ptr<ChildCgroup> ChildCgroup::create() {
  const auto& base = ownCgroupDir();
  if (!base) return nullptr;
  static std::once_flag swept;
  std::call_once(swept, [&] { sweepStaleCgroups(*base); });
  static std::atomic<std::uint64_t> next{0};
  // A few tries: a directory of that name may be left by an earlier process with the same pid.
  for (int tries = 0; tries < 3; ++tries) {
    std::string dir = *base + "/corvee-" + std::to_string(::getpid()) + "-" + std::to_string(next.fetch_add(1));
    if (::mkdir(dir.c_str(), 0755) == 0) {
      // Without cgroup.kill (before Linux 5.14) killing every member would mean reading pids and
      // signalling them later, which may hit a reused pid: process groups are as good then.
      if (::access((dir + "/cgroup.kill").c_str(), W_OK) != 0) {
        ::rmdir(dir.c_str());
        return nullptr;
      }
      return std::unique_ptr<ChildCgroup>(new ChildCgroup(std::move(dir)));
    }
    if (errno != EEXIST) return nullptr;  // EACCES, EROFS, ENOENT...: no cgroups for us
    ::rmdir(dir.c_str());                 // the stale one goes if it is empty; the next name is tried
  }
  return nullptr;
}

bool ChildCgroup::available() {
  static const bool usable = create() != nullptr;
  return usable;
}

void ChildCgroup::TEST_sweepStale() {
  if (const auto& base = ownCgroupDir()) sweepStaleCgroups(*base);
}

ChildCgroup::~ChildCgroup() {
  if (populated()) {
    killAll();
    // SIGKILLed processes leave the cgroup within microseconds unless stuck in the kernel.
    auto step = std::chrono::milliseconds(1);
    for (auto waited = std::chrono::milliseconds(0); waited < std::chrono::seconds(1) && populated();
         waited += step, step = std::min(step * 2, std::chrono::milliseconds(50))) {
      std::this_thread::sleep_for(step);
    }
  }
  ::rmdir(dir_.c_str());
}

void ChildCgroup::killAll() const { writeFile(dir_ + "/cgroup.kill", "1", 1); }

bool ChildCgroup::populated() const {
  auto events = readFile(dir_ + "/cgroup.events");
  // Unreadable: the cgroup is gone or broken; nothing in it can be waited for.
  return events && events->find("populated 1") != std::string::npos;
}

}  // namespace corvee
