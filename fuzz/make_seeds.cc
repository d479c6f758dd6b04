// Writes the fuzz targets' seed corpus (fuzz/corpus/<target>/): valid frames of every message type
// at every protocol version that has it, HTTP requests and targets of every route, submission
// bodies, and short broker sessions. Run by hand after a protocol change:
//   build-fuzz/fuzz/make_fuzz_seeds fuzz/corpus
// Crash inputs the fuzzers found are committed beside these (named crash-*), and are kept.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "message_table.h"

namespace corvee::fuzz {
namespace {

std::string dir;

void write(const std::string& target, const std::string& name, std::string_view bytes) {
  std::string path = dir + "/" + target + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::cerr << "cannot write " << path << " (does the directory exist?)\n";
    std::exit(1);
  }
}

// Gives every field of a message a plausible value that is not its default.
struct Filler {
  std::uint16_t version;
  std::vector<std::string> tasks{"echo", "resize"};
  template <typename T>
  void operator()(Since<T> field) {
    (*this)(field.field);
  }
  template <typename T>
  void operator()(std::vector<T>& items) {
    items.resize(2);
    for (T& item : items) item.fields(*this);
  }
  void operator()(std::uint8_t& v) { v = 1; }
  void operator()(std::uint16_t& v) { v = version; }
  void operator()(std::uint32_t& v) { v = 1500; }
  void operator()(std::uint64_t& v) { v = 1700000000123ULL; }
  void operator()(std::int32_t& v) { v = -3; }
  void operator()(std::string_view& v) { v = "echo"; }
  void operator()(Bytes& v) { v.data = "{\"n\": 1}"; }
  void operator()(std::vector<std::string>& v) { v = tasks; }
};

template <typename Msg>
Msg filled(std::uint16_t version, const std::string& submit_body) {
  Msg msg;
  msg.fields(Filler{version});
  if constexpr (std::is_same_v<Msg, HelloMsg>) {
    msg.magic = kMagic;
    msg.role = 2;
  }
  if constexpr (std::is_same_v<Msg, CronAddMsg>) {
    msg.spec = "*/5 * * * *";
    msg.tz = "Europe/Paris";
    msg.submit.data = submit_body;
  }
  if constexpr (std::is_same_v<Msg, CronEntriesMsg>) {
    for (auto& entry : msg.entries) entry.submit.data = submit_body;
  }
  if constexpr (std::is_same_v<Msg, RegisterMsg>) msg.priority_slots = "0:1,10:2";
  if constexpr (std::is_same_v<Msg, RateMsg>) msg.rate = "10/s:5";
  return msg;
}

std::string le16(std::size_t n) { return {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff)}; }

// One core input record: [op][peer][u16 length][bytes].
std::string record(std::uint8_t op, std::uint8_t peer, std::string_view bytes = {}) {
  return std::string{static_cast<char>(op), static_cast<char>(peer)} + le16(bytes.size()) + std::string(bytes);
}
enum Op : std::uint8_t { kConnect = 0, kReceive = 1, kGone = 2, kTime = 3, kDrained = 4, kRestart = 5 };

template <typename Msg>
std::string frame(std::uint32_t rid, Msg msg) {
  std::string out;
  encode(out, rid, msg);
  return out;
}

void messagesAndFrames() {
  std::string all_frames;
  forEachMessage([&]<typename Msg>(std::type_identity<Msg>) {
    // The type's index in the table.
    std::size_t index = 0;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((std::is_same_v<Msg, std::tuple_element_t<I, AllMessages>> ? (index = I, 0) : 0), ...);
    }(std::make_index_sequence<kMessageCount>{});
    std::string name = msgTypeName(static_cast<std::uint8_t>(Msg::kType));
    for (std::uint16_t version = introducedIn(static_cast<std::uint8_t>(Msg::kType)); version <= kVersion; ++version) {
      std::string submit_body = encodeBody(filled<SubmitMsg>(version, {}), version);
      std::string tag = name + "-v" + std::to_string(version);
      std::string sel(1, static_cast<char>(selector(index, version)));
      write("messages", tag, sel + encodeBody(filled<Msg>(version, submit_body), version));
      write("messages", tag + "-empty", sel + encodeBody(Msg{}, version));
      std::string wire;
      encode(wire, 7, filled<Msg>(version, submit_body), version);
      // No length limit; chunks from seed 0x5a.
      write("frame_decoder", tag, "\xff\x5a" + wire);
      if (version == kVersion) all_frames += wire;
    }
  });
  write("frame_decoder", "all-types", "\xff\x21" + all_frames);
  // A limit of 5 + 16 * 4 bytes: the larger frames are oversized and skipped.
  write("frame_decoder", "all-types-limit-69", std::string("\x04\x03") + all_frames);
  write("frame_decoder", "malformed-length", std::string("\xff\x01") + frame(1, PingMsg{}) + std::string("\x02\0\0\0", 4));
}

void http() {
  const char* targets[] = {"/healthz", "/v1/jobs?wait=2000", "/v1/jobs?task=echo&state=failed&limit=10&before=99",
                           "/v1/jobs/12", "/v1/jobs/12?wait=500", "/v1/jobs/12/history", "/v1/jobs/12/cancel",
                           "/v1/jobs/12/retry", "/v1/dead?task=re%20size", "/v1/dead/retry", "/v1/dead/purge",
                           "/v1/stats", "/v1/queues", "/v1/workers", "/metrics", "/v1/queues/my%20task/pause",
                           "/v1/queues/a%2Fb/resume", "/v1/queues/echo/purge", "/v1/queues/echo/rate",
                           "/v1/cron", "/v1/cron/nightly", "/v1/cron/nightly/pause", "/v1/cron/nightly/resume",
                           "/", "/app.js", "//v1//jobs/", "/v1?a=%", "/v1/%zz", "/v1?x=1&name=a+b%2Fc&flag&&="};
  int n = 0;
  for (const char* target : targets) write("http_target", "target-" + std::to_string(n++), target);

  std::string submit = R"({"task":"echo","payload":"hello","priority":5,"retries":2})";
  std::string cron = R"({"spec":"0 3 * * *","task":"backup","tz":"UTC"})";
  const std::string requests[] = {
      "GET /v1/jobs/1 HTTP/1.1\r\nHost: localhost\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: \"abc\"\r\nConnection: close\r\n\r\n",
      "POST /v1/jobs?wait=2000 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " +
          std::to_string(submit.size()) + "\r\n\r\n" + submit,
      "POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"tas\r\n" +
          std::string("1a\r\nk\":\"echo\",\"payload\":[1,2]}\r\n0\r\n\r\n"),
      "PUT /v1/cron/nightly HTTP/1.0\r\nContent-Length: " + std::to_string(cron.size()) + "\r\n\r\n" + cron,
      "DELETE /v1/cron/nightly HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
      "POST /v1/queues/echo/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
  };
  n = 0;
  // Byte 0: the payload limit (0xff: the broker's default); byte 1: the read size.
  for (const auto& request : requests) {
    write("http_request", "request-" + std::to_string(n), std::string("\xff\x07") + request);
    write("http_request", "request-small-limit-" + std::to_string(n++), std::string("\x00\x00", 2) + request);
  }

  const char* bodies[] = {
      R"({"task":"echo","payload":"hello"})",
      R"({"task":"resize","payload":"aGVsbG8=","payload_encoding":"base64","priority":-7,"timeout_ms":60000,)"
      R"("run_timeout_ms":30000,"assign_timeout_ms":1000,"retries":3,"backoff_ms":500,"backoff_max_ms":10000,)"
      R"("require_worker":true,"delay_ms":100,"run_at_ms":1700000000000,"unique_key":"k1","unique_for_ms":5000,)"
      R"("fair_key":"tenant-1"})",
      R"({"task":"echo","payload":{"a":[1,2.5,null,true]}})",
      R"({"name":"nightly","spec":"0 3 * * *","tz":"Europe/Paris","task":"backup","payload":"x"})",
      R"({"task":"echo","priority":2147483648})",
      R"({"task":"echo","retries":-1,"payload_encoding":"hex"})",
      R"({"limit":10,"before":99,"older_than_ms":3600000})",
      "",
      "[1,2,3]",
      R"({"task":"\u00e9\ud83d\ude00","payload":"caf\u00e9"})",
  };
  n = 0;
  for (const char* body : bodies) write("json", "body-" + std::to_string(n++), body);
}

void core() {
  auto hello = [](std::uint8_t role, std::uint16_t version) {
    HelloMsg msg;
    msg.role = role;
    msg.version = version;
    msg.name = role == 2 ? "worker-a" : "client-a";
    return frame(1, msg);
  };
  SubmitMsg submit;
  submit.task = "echo";
  submit.payload.data = "hello";
  submit.retries = 2;
  SubmitMsg big = submit;
  std::string payload(3000, 'p');
  big.payload.data = payload;
  big.fair_key = "tenant";
  big.unique_key = "k";
  std::string worker = hello(2, kVersion) + frame(2, RegisterMsg{2, {"echo", "resize"}, 1});
  std::string client = hello(1, kVersion);
  // Peer 0 a worker, peer 1 a client: submit, run, complete; status, list, stats, explain.
  std::string session = std::string("\x00", 1) + record(kReceive, 0, worker) + record(kReceive, 1, client) +
                        record(kReceive, 1, frame(2, submit) + frame(3, SubscribeMsg{1})) +
                        record(kReceive, 0, frame(3, CompleteMsg{1, 1, {"olleh"}})) +
                        record(kReceive, 1, frame(4, StatusMsg{1, kStatusWithPayload}) + frame(5, ListJobsMsg{}) +
                                                frame(6, StatsMsg{}) + frame(7, ExplainMsg{1}) + frame(8, MetricsMsg{}));
  write("core", "submit-complete", session);
  // Failures and retries, a time limit, a lost worker, a restart.
  SubmitMsg timed = submit;
  timed.run_timeout_ms = 1000;
  std::string retries = std::string("\x01", 1) + record(kReceive, 0, worker) + record(kReceive, 1, client) +
                        record(kReceive, 1, frame(2, submit) + frame(3, timed) + frame(4, big)) +
                        record(kReceive, 0, frame(4, FailMsg{1, 1, "handler_error", "it broke"})) +
                        record(kTime, 0, std::string(30, 'x')) + record(kGone, 0) + record(kReceive, 2, worker) +
                        record(kRestart, 0) + record(kReceive, 0, worker) +
                        record(kReceive, 1, client + frame(5, CancelJobMsg{2}) + frame(6, DeadRetryMsg{0, "echo"}));
  write("core", "fail-retry-restart", retries);
  // Control: pause, rate, purge, cron; an old-version client; a drain.
  CronAddMsg cron{"nightly", "*/5 * * * *", "UTC", {}};
  std::string cron_submit = encodeBody(submit);
  cron.submit.data = cron_submit;
  std::string control = std::string("\x02", 1) + record(kReceive, 1, client) +
                        record(kReceive, 1, frame(2, PauseMsg{"echo", 1}) + frame(3, RateMsg{"echo", "5/s:2"}) +
                                                frame(4, submit) + frame(5, CronAddMsg(cron)) + frame(6, CronListMsg{})) +
                        record(kReceive, 0, worker) + record(kTime, 0, std::string(100, 't')) +
                        record(kReceive, 1, frame(7, PauseMsg{"echo", 0}) + frame(8, PurgeMsg{"echo"}) +
                                                frame(9, DeadPurgeMsg{"", 0}) + frame(10, CronPauseMsg{"nightly", 1}) +
                                                frame(11, CronRemoveMsg{"nightly"})) +
                        record(kReceive, 2, hello(1, 1) + frame(2, submit)) +
                        record(kReceive, 0, frame(9, DrainMsg{}) + frame(10, PingMsg{})) + record(kDrained, 0);
  write("core", "control-cron-v1", control);
  // A frame split across reads, an oversized frame, garbage.
  std::string split = frame(2, submit);
  std::string hostile = std::string("\x00", 1) + record(kReceive, 1, client) +
                        record(kReceive, 1, split.substr(0, 7)) + record(kReceive, 1, split.substr(7)) +
                        record(kReceive, 1, std::string("\xff\xff\x01\x00\x10\x01\x00\x00\x00", 9)) +
                        record(kReceive, 2, std::string("\x03\x00\x00\x00\x01", 5)) +
                        record(kReceive, 3, frame(1, SubmitMsg(submit)));
  write("core", "hostile", hostile);
}

}  // namespace
}  // namespace corvee::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_fuzz_seeds CORPUS_DIR\n";
    return 2;
  }
  corvee::fuzz::dir = argv[1];
  corvee::fuzz::messagesAndFrames();
  corvee::fuzz::http();
  corvee::fuzz::core();
  return 0;
}
