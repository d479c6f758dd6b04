// corvee_recording_worker: a real worker process for the soak and partition tests whose handlers
// write down every attempt they run, so a test can tell afterwards which worker ran which attempt
// of which job, and when.
//
//   corvee_recording_worker --connect EP --name NAME --slots N --record FILE [--log-level LEVEL]
//
// Task `soak` reads its payload as "MS FAIL_UNTIL MODE TAG":
//   MS          milliseconds the handler runs (in 5 ms steps, checking for cancellation)
//   FAIL_UNTIL  attempts up to this number fail with handler_error; later ones succeed
//   MODE        `poll`: stop early (failing, "cancelled") once the attempt is cancelled;
//               `ignore`: run the full MS whatever happens, as a handler that cannot be stopped;
//               `permanent`: fail at once with permanent_error;
//               `hold`: as `ignore`, but end early once the file FILE.release exists (FILE is
//               --record's), so a test decides when a late result comes
//   TAG         any word; a successful attempt returns "TAG|NAME|ATTEMPT"
// and anything after TAG (padding, to make payloads bigger) is ignored.
//
// Each attempt appends two lines to FILE (opened O_APPEND, each line one write(2), so the lines of
// concurrent slots never interleave, and a line is either whole or absent after a kill -9):
//   S JOB ATTEMPT NAME MONO_NS            when the handler starts
//   E JOB ATTEMPT NAME MONO_NS OUTCOME    when it returns: ok, fail, cancelled or permanent
// MONO_NS is CLOCK_MONOTONIC (std::chrono::steady_clock), one clock for every process on the
// machine, network namespaces included, so a test compares the lines of different workers.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>

#include "corvee/errors.h"
#include "corvee/logging.h"
#include "corvee/worker.h"

namespace {

long long monoNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Recorder {
 public:
  explicit Recorder(int fd) : fd_(fd) {}
  void line(const std::string& text) const {
    // One write per line: O_APPEND makes each one land whole at the end of the file.
    ssize_t written = ::write(fd_, text.data(), text.size());
    (void)written;
  }

 private:
  int fd_;
};

struct Spec {
  long long ms = 0;
  unsigned fail_until = 0;
  std::string mode = "poll";
  std::string tag = "-";
};

bool parseSpec(const std::string& payload, Spec& spec) {
  std::istringstream in(payload);
  return static_cast<bool>(in >> spec.ms >> spec.fail_until >> spec.mode >> spec.tag);
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

corvee::Result<std::string> runSoak(corvee::JobContext& job, const std::string& name, const Recorder& recorder,
                                    const std::string& release_file) {
  const std::string who = std::to_string(job.id()) + " " + std::to_string(job.attempt()) + " " + name + " ";
  recorder.line("S " + who + std::to_string(monoNanos()) + "\n");
  auto end = [&](const char* outcome) { recorder.line("E " + who + std::to_string(monoNanos()) + " " + outcome + "\n"); };
  Spec spec;
  if (!parseSpec(job.payload(), spec)) {
    end("permanent");
    return corvee::permanentError("bad soak payload '" + job.payload() + "'");
  }
  if (spec.mode == "permanent") {
    end("permanent");
    return corvee::permanentError("this job is designed to fail for good");
  }
  const bool poll = spec.mode != "ignore" && spec.mode != "hold";
  const bool hold = spec.mode == "hold";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(spec.ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (hold && exists(release_file)) break;
    if (poll && job.cancelled()) {
      end("cancelled");
      return corvee::Status::error(corvee::errc::kHandlerError, "cancelled");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (job.attempt() <= spec.fail_until) {
    end("fail");
    return corvee::Status::error(corvee::errc::kHandlerError,
                                 "designed to fail until attempt " + std::to_string(spec.fail_until));
  }
  end("ok");
  return spec.tag + "|" + name + "|" + std::to_string(job.attempt());
}

int usage() {
  std::fprintf(stderr,
               "usage: corvee_recording_worker --connect EP --name NAME --slots N --record FILE [--log-level L]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  corvee::WorkerOptions options;
  std::string record;
  std::string level = "info";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--connect") {
      options.endpoint = value;
    } else if (flag == "--name") {
      options.name = value;
    } else if (flag == "--slots") {
      options.slots = static_cast<std::uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
    } else if (flag == "--record") {
      record = value;
    } else if (flag == "--log-level") {
      level = value;
    } else {
      return usage();
    }
  }
  if (argc % 2 == 0 || record.empty() || options.name.empty()) return usage();
  if (level == "debug") corvee::setLogLevel(corvee::LogLevel::kDebug);
  int fd = ::open(record.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "cannot open %s: %s\n", record.c_str(), std::strerror(errno));
    return 1;
  }
  Recorder recorder(fd);
  options.handle_signals = true;
  options.reconnect_min = std::chrono::milliseconds(20);
  options.reconnect_max = std::chrono::milliseconds(300);
  corvee::Worker worker(options);
  const std::string name = options.name;
  const std::string release_file = record + ".release";
  worker.handle("soak", [&](corvee::JobContext& job) { return runSoak(job, name, recorder, release_file); });
  corvee::Status ran = worker.run();
  if (!ran) {
    std::fprintf(stderr, "%s\n", ran.toString().c_str());
    return 1;
  }
  return 0;
}
