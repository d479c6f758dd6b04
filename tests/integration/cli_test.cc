// The `corvee` command line, command by command, against a real broker and `worker --builtin`.
// The contract: stdout carries only results, errors go to stderr, and the exit code says what
// happened: 0 ok, 1 the job failed ("CODE: message" on stderr), 2 usage error, 3 the broker is
// unreachable or refused the request.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "support/process.h"

namespace corvee::testing {
namespace {

using nlohmann::json;

bool isDecimal(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

// One broker and one builtin worker (2 slots) per test.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.start());
    ASSERT_TRUE(worker_.start(broker_.endpoint(), 2, {"--name", "cli-worker"}));
    ASSERT_TRUE(waitForWorkers(broker_.endpoint(), 1));
  }

  // `corvee ARGS... --connect <broker>`.
  CommandResult corvee(std::vector<std::string> args, const std::string& input = {}) {
    args.push_back("--connect");
    args.push_back(broker_.endpoint());
    return runCorvee(args, input);
  }

  // Polls `corvee status ID` until the job is finished; returns the last document.
  json waitFinished(const std::string& id) {
    json doc;
    bool finished = eventually(
        [&] {
          CommandResult status = corvee({"status", id});
          doc = json::parse(status.out, nullptr, false);
          if (!doc.is_object()) return false;
          // A dead job's status exits 1, with its document on stdout all the same.
          if (status.exit_code == 0) return doc.value("state", "") == "succeeded";
          return status.exit_code == 1 && doc.value("state", "") == "dead";
        },
        30s, 50ms);
    EXPECT_TRUE(finished) << "job " << id << " did not finish; last status: " << doc.dump();
    return doc;
  }

  BrokerProcess broker_;
  WorkerProcess worker_;
};

TEST_F(CliTest, SubmitWaitPrintsTheResultAndExitsZero) {
  CommandResult run = corvee({"submit", "reverse", "hello", "--wait"});
  EXPECT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(run.out, "olleh") << run.describe();
}

TEST_F(CliTest, SubmitAddWaitPrintsTheSum) {
  CommandResult run = corvee({"submit", "add", "[5,6]", "--wait"});
  EXPECT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(run.out, "11") << run.describe();
}

TEST_F(CliTest, PayloadDashIsReadFromStdin) {
  CommandResult run = corvee({"submit", "reverse", "-", "--wait"}, "from stdin");
  EXPECT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(run.out, "nidts morf") << run.describe();
}

TEST_F(CliTest, StdinPayloadIsPassedByteForByte) {
  // Newlines inside the payload survive, the final one included; the CLI adds none.
  CommandResult run = corvee({"submit", "echo", "-", "--wait"}, "line one\nline two\n");
  EXPECT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(run.out, "line one\nline two\n") << run.describe();
}

// Issue 8, 14a: stdout is exactly the result's bytes. It used to get a newline added when the
// result did not end in one, so a binary result came out one byte longer.
TEST_F(CliTest, SubmitWaitPrintsABinaryResultByteForByte) {
  const std::string payload("\0bin\xff\xfe\r\nary\x80\0", 13);
  CommandResult run = corvee({"submit", "echo", "-", "--wait"}, payload);
  EXPECT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(run.out, payload) << "stdout must be the result's bytes and nothing else: " << run.describe();
}

TEST_F(CliTest, StatusOfAResultThatIsNotUtf8IsStillJson) {
  // Results are opaque bytes; JSON strings are UTF-8, so the bad bytes are shown as U+FFFD.
  CommandResult submit = corvee({"submit", "echo", "-"}, std::string("\xff\xfe ok", 5));
  ASSERT_EQ(submit.exit_code, 0) << submit.describe();
  json done = waitFinished(trimmed(submit.out));
  ASSERT_EQ(done.value("state", ""), "succeeded") << done.dump();
  EXPECT_EQ(done.value("result", ""), "\xef\xbf\xbd\xef\xbf\xbd ok") << done.dump();
}

TEST_F(CliTest, SubmitWithoutWaitPrintsAnIdThatStatusDescribes) {
  CommandResult submit = corvee({"submit", "reverse", "abc"});
  ASSERT_EQ(submit.exit_code, 0) << submit.describe();
  std::string id = trimmed(submit.out);
  ASSERT_TRUE(isDecimal(id)) << "submit without --wait must print only the job id: " << submit.describe();

  CommandResult status = corvee({"status", id});
  ASSERT_EQ(status.exit_code, 0) << status.describe();
  json doc = json::parse(status.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << "status must print a JSON object: " << status.describe();
  ASSERT_TRUE(doc.contains("state")) << status.out;
  EXPECT_TRUE(doc["state"] == "queued" || doc["state"] == "running" || doc["state"] == "succeeded") << status.out;
  EXPECT_EQ(doc.value("id", 0ull), std::stoull(id)) << status.out;
  EXPECT_EQ(doc.value("task", ""), "reverse") << status.out;

  json done = waitFinished(id);
  EXPECT_EQ(done.value("state", ""), "succeeded") << done.dump();
  EXPECT_EQ(done.value("result", ""), "cba") << done.dump();
  EXPECT_EQ(done.value("attempt", 0), 1) << done.dump();
  EXPECT_EQ(done.value("worker", ""), "cli-worker") << done.dump();
  EXPECT_GT(done.value("submitted_ms", 0ull), 0ull) << done.dump();
  EXPECT_GE(done.value("finished_ms", 0ull), done.value("started_ms", 0ull)) << done.dump();
  EXPECT_GE(done.value("started_ms", 0ull), done.value("submitted_ms", 0ull)) << done.dump();
}

TEST_F(CliTest, FailedJobExitsOneWithCodeOnStderr) {
  CommandResult run = corvee({"submit", "fail", "oops", "--wait"});
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  EXPECT_NE(run.err.find("handler_error"), std::string::npos) << run.describe();
  EXPECT_NE(run.err.find("oops"), std::string::npos) << run.describe();
  EXPECT_EQ(run.out, "") << "a failed job prints nothing on stdout: " << run.describe();
}

// `status` exits like `submit --wait`: 1 for a failed job (its document still on stdout), 0 for a
// job that succeeded or has not finished.
TEST_F(CliTest, StatusOfAFailedJobExitsOne) {
  CommandResult submit = corvee({"submit", "fail", "why"});
  ASSERT_EQ(submit.exit_code, 0) << submit.describe();
  std::string id = trimmed(submit.out);
  waitFinished(id);
  CommandResult status = corvee({"status", id});
  EXPECT_EQ(status.exit_code, 1) << status.describe();
  json doc = json::parse(status.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << "the document is printed all the same: " << status.describe();
  EXPECT_EQ(doc.value("state", ""), "dead") << status.out;
  EXPECT_EQ(status.err, "") << "the error is in the document, not repeated on stderr: " << status.describe();

  CommandResult done = corvee({"submit", "echo", "fine"});
  ASSERT_EQ(done.exit_code, 0) << done.describe();
  EXPECT_EQ(waitFinished(trimmed(done.out)).value("state", ""), "succeeded");
  CommandResult succeeded = corvee({"status", trimmed(done.out)});
  EXPECT_EQ(succeeded.exit_code, 0) << succeeded.describe();

  CommandResult waiting = corvee({"submit", "no-worker-serves-this", "x"});  // stays queued
  ASSERT_EQ(waiting.exit_code, 0) << waiting.describe();
  CommandResult queued = corvee({"status", trimmed(waiting.out)});
  EXPECT_EQ(queued.exit_code, 0) << queued.describe();
  EXPECT_NE(queued.out.find("\"queued\""), std::string::npos) << queued.describe();
}

TEST_F(CliTest, FailedJobStatusShowsTheError) {
  CommandResult submit = corvee({"submit", "fail", "why"});
  ASSERT_EQ(submit.exit_code, 0) << submit.describe();
  json done = waitFinished(trimmed(submit.out));
  EXPECT_EQ(done.value("state", ""), "dead") << done.dump();
  ASSERT_TRUE(done.contains("error")) << done.dump();
  EXPECT_EQ(done["error"].value("code", ""), "handler_error") << done.dump();
  EXPECT_NE(done["error"].value("message", "").find("why"), std::string::npos) << done.dump();
}

TEST_F(CliTest, RunTimeoutFailsTheJob) {
  CommandResult run = corvee({"submit", "sleep", "5000", "--run-timeout", "200", "--wait"});
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  EXPECT_EQ(run.err.rfind("run_timeout", 0), 0u) << "stderr must start with the code: " << run.describe();
  // The cancelled attempt gave its slot back: both slots still serve jobs.
  CommandResult a = corvee({"submit", "echo", "a", "--wait"});
  CommandResult b = corvee({"submit", "echo", "b", "--wait"});
  EXPECT_EQ(a.out, "a") << a.describe();
  EXPECT_EQ(b.out, "b") << b.describe();
}

TEST_F(CliTest, AssignTimeoutFailsAJobNoWorkerServes) {
  CommandResult run = corvee({"submit", "nobody-serves-this", "x", "--assign-timeout", "300", "--wait"});
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  // Issue 10: first the warning that no worker serves the task, then the job's error.
  const std::string warning =
      "warning: no connected worker serves task 'nobody-serves-this'; the job waits in the queue until one does\n";
  EXPECT_EQ(run.err.rfind(warning, 0), 0u) << run.describe();
  EXPECT_EQ(run.err.find("assign_timeout", warning.size()), warning.size()) << run.describe();
}

TEST_F(CliTest, GlobalTimeoutFailsARunningJob) {
  CommandResult run = corvee({"submit", "sleep", "5000", "--timeout", "300", "--wait"});
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  EXPECT_EQ(run.err.rfind("timeout:", 0), 0u) << "expected the global `timeout` code: " << run.describe();
}

TEST_F(CliTest, StatsPrintsJsonWithTheWorker) {
  ASSERT_EQ(corvee({"submit", "echo", "counted", "--wait"}).exit_code, 0);
  CommandResult run = corvee({"stats"});
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  json doc = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << run.describe();
  ASSERT_TRUE(doc.contains("workers") && doc["workers"].is_array()) << run.out;
  ASSERT_EQ(doc["workers"].size(), 1u) << run.out;
  const json& worker = doc["workers"][0];
  EXPECT_EQ(worker.value("name", ""), "cli-worker") << run.out;
  EXPECT_EQ(worker.value("slots", 0), 2) << run.out;
  ASSERT_TRUE(worker.contains("tasks")) << run.out;
  for (const char* task : {"echo", "reverse", "add", "sleep", "fail"}) {
    EXPECT_NE(std::find(worker["tasks"].begin(), worker["tasks"].end(), task), worker["tasks"].end())
        << task << " missing: " << run.out;
  }
  ASSERT_TRUE(doc.contains("jobs")) << run.out;
  EXPECT_EQ(doc["jobs"].value("succeeded", 0), 1) << run.out;
  EXPECT_EQ(doc.value("version", 0), 4) << "the broker's protocol version: " << run.out;
}

TEST_F(CliTest, UnknownFlagIsAUsageError) {
  CommandResult run = corvee({"submit", "echo", "x", "--no-such-flag"});
  EXPECT_EQ(run.exit_code, 2) << run.describe();
  EXPECT_NE(run.err.find("--no-such-flag"), std::string::npos) << run.describe();
  EXPECT_EQ(run.out.find("x\n"), std::string::npos) << "nothing may be submitted: " << run.describe();
}

TEST_F(CliTest, MissingSubcommandIsAUsageError) {
  CommandResult run = runCorvee({});
  EXPECT_EQ(run.exit_code, 2) << run.describe();
  EXPECT_FALSE(run.err.empty()) << run.describe();
}

TEST(CliNoBroker, BadEndpointIsRefusedWithAClearMessage) {
  for (const char* command : {"submit", "stats"}) {
    std::vector<std::string> args{command};
    if (std::string(command) == "submit") args.insert(args.end(), {"echo", "x", "--wait"});
    args.insert(args.end(), {"--connect", "foo"});
    CommandResult run = runCorvee(args);
    EXPECT_NE(run.exit_code, 0) << command << ": " << run.describe();
    EXPECT_EQ(run.exit_code, 2) << command << ": a malformed endpoint is a usage error: " << run.describe();
    EXPECT_NE(run.err.find("foo"), std::string::npos) << command << ": " << run.describe();
    EXPECT_NE(run.err.find("tcp://"), std::string::npos) << command << ": the message says the expected form: "
                                                        << run.describe();
  }
}

TEST(CliNoBroker, UnreachableBrokerExitsThreeAndSaysSo) {
  // Port 1 on loopback: nothing listens there. The CLI must give up after --connect-timeout-ms
  // (the runCommand limit bounds the wait; it fails the test if the CLI hangs).
  for (const char* command : {"submit", "status", "stats"}) {
    std::vector<std::string> args{command};
    if (std::string(command) == "submit") args.insert(args.end(), {"echo", "x", "--wait"});
    if (std::string(command) == "status") args.push_back("1");
    args.insert(args.end(), {"--connect", "tcp://127.0.0.1:1", "--connect-timeout-ms", "500"});
    CommandResult run = runCorvee(args, {}, 20s);
    EXPECT_FALSE(run.timed_out) << command;
    EXPECT_EQ(run.exit_code, 3) << command << ": " << run.describe();
    EXPECT_NE(run.err.find("broker"), std::string::npos) << command << ": " << run.describe();
    EXPECT_NE(run.err.find("127.0.0.1:1"), std::string::npos) << command << ": " << run.describe();
  }
}

TEST_F(CliTest, StatusOfAnUnknownJobIsNotFound) {
  CommandResult run = corvee({"status", "999999"});
  EXPECT_NE(run.exit_code, 0) << run.describe();
  EXPECT_NE(run.exit_code, 2) << "a well-formed query is not a usage error: " << run.describe();
  EXPECT_NE(run.err.find("not_found"), std::string::npos) << run.describe();
  EXPECT_EQ(run.out, "") << run.describe();
}

TEST_F(CliTest, NonNumericStatusIdIsAUsageError) {
  CommandResult run = corvee({"status", "abc"});
  EXPECT_EQ(run.exit_code, 2) << run.describe();
}

// Issue 8, 13: every number on the command line is checked, in every subcommand. CLI11 alone
// read "-1" as 2^64-1 in an unsigned flag, "0x10" as hex and "010" as octal, and took values no
// option could hold. Each value below must be refused with exit 2, a message naming the flag and
// the value, before anything starts (the broker and the clients would otherwise run, or try to
// reach port 1 and exit 3).
TEST(CliNoBroker, EveryNumericFlagRefusesBadNumbers) {
  const std::vector<std::string> broker{"broker", "--store", "memory", "--bind", "tcp://127.0.0.1:0"};
  const std::vector<std::string> worker{"worker", "--builtin", "--connect", "tcp://127.0.0.1:1"};
  const std::vector<std::string> submit{"submit", "echo", "x", "--connect", "tcp://127.0.0.1:1"};
  const std::vector<std::string> status{"status", "1", "--connect", "tcp://127.0.0.1:1"};
  const std::vector<std::string> stats{"stats", "--connect", "tcp://127.0.0.1:1"};
  struct Flag {
    std::vector<std::string> command;
    std::string flag;
    std::string below;  // just under the flag's range
  };
  const std::vector<Flag> flags{
      {broker, "--max-payload", "0"},         {broker, "--max-queued", "-1"},
      {broker, "--max-attempts", "0"},        {broker, "--heartbeat-ms", "-5"},
      {broker, "--peer-timeout-ms", "-1"},    {broker, "--result-ttl", "-1"},
      {worker, "--slots", "-4294967295"},     {worker, "--prefetch", "-1"},
      {worker, "--connect-timeout-ms", "-5"}, {submit, "--priority", "-2147483649"},
      {submit, "--timeout", "-1"},            {submit, "--run-timeout", "-1"},
      {submit, "--assign-timeout", "-1"},     {submit, "--connect-timeout-ms", "0"},
      {status, "--connect-timeout-ms", "-5"}, {stats, "--connect-timeout-ms", "-1"},
  };
  for (const Flag& f : flags) {
    for (const std::string& value : {f.below, std::string("18446744073709551616"), std::string("0x10"),
                                     std::string("1.5"), std::string("ten")}) {
      std::vector<std::string> args = f.command;
      args.insert(args.end(), {f.flag, value});
      CommandResult run = runCorvee(args, {}, 20s);
      std::string what = f.command[0] + " " + f.flag + " " + value;
      EXPECT_EQ(run.exit_code, 2) << what << ": " << run.describe();
      EXPECT_NE(run.err.find(f.flag), std::string::npos) << what << ": the message names the flag: " << run.describe();
      EXPECT_NE(run.err.find(value), std::string::npos) << what << ": the message names the value: " << run.describe();
    }
  }
}

// Issue 8, 13: `status -1` asked the broker for job 18446744073709551615.
TEST(CliNoBroker, StatusIdMustBeAPositiveDecimalInteger) {
  for (const char* id : {"-1", "0", "18446744073709551616", "0x1", "1.0", "", " 1"}) {
    CommandResult run =
        runCorvee({"status", id, "--connect", "tcp://127.0.0.1:1", "--connect-timeout-ms", "500"}, {}, 20s);
    EXPECT_EQ(run.exit_code, 2) << "'" << id << "': " << run.describe();
    EXPECT_NE(run.err.find("not a job id"), std::string::npos) << "'" << id << "': " << run.describe();
  }
}

// Issue 8, 12 and 13: a task name is 1 to 255 bytes of UTF-8; anything else is a usage error
// naming the name, not a refusal by the broker (exit 3).
TEST(CliNoBroker, SubmitRefusesBadTaskNames) {
  auto submit = [](const std::string& task) {
    return runCorvee({"submit", task, "x", "--connect", "tcp://127.0.0.1:1", "--connect-timeout-ms", "500"}, {}, 20s);
  };
  for (const std::string& task : {std::string(), std::string(256, 'n'), std::string("bad\xff")}) {
    CommandResult run = submit(task);
    EXPECT_EQ(run.exit_code, 2) << run.describe();
    EXPECT_NE(run.err.find("task name"), std::string::npos) << run.describe();
  }
  CommandResult long_name = submit(std::string(256, 'n'));
  EXPECT_NE(long_name.err.find("256 bytes"), std::string::npos) << long_name.describe();
  EXPECT_NE(long_name.err.find("'nnnn"), std::string::npos) << "the message shows the name: " << long_name.describe();
  CommandResult bad_utf8 = submit("bad\xff");
  EXPECT_NE(bad_utf8.err.find("'bad\\xff'"), std::string::npos) << bad_utf8.describe();
  EXPECT_NE(bad_utf8.err.find("UTF-8"), std::string::npos) << bad_utf8.describe();
}

TEST_F(CliTest, ATaskNameOf255BytesIsAccepted) {
  CommandResult run = corvee({"submit", std::string(255, 't'), "x", "--assign-timeout", "300", "--wait"});
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  // After the warning that no worker serves it (issue 10).
  EXPECT_EQ(run.err.rfind("warning: no connected worker serves task", 0), 0u) << run.describe();
  EXPECT_NE(run.err.find("\nassign_timeout"), std::string::npos) << "the broker took the job: " << run.describe();
}

// Issue 8, 13: a malformed --connect was a usage error for clients but exit 3 for a worker.
TEST(CliNoBroker, WorkerWithAMalformedEndpointIsAUsageError) {
  CommandResult run = runCorvee({"worker", "--builtin", "--connect", "foo", "--connect-timeout-ms", "500"}, {}, 20s);
  EXPECT_EQ(run.exit_code, 2) << run.describe();
  EXPECT_NE(run.err.find("foo"), std::string::npos) << run.describe();
  EXPECT_NE(run.err.find("tcp://"), std::string::npos) << run.describe();
}

// $CORVEE_BROKER stands for --connect and is checked like it, in every command.
TEST(CliNoBroker, MalformedCorveeBrokerIsAUsageError) {
  for (std::vector<std::string> args : {std::vector<std::string>{"worker", "--builtin"},
                                        std::vector<std::string>{"submit", "echo", "x"},
                                        std::vector<std::string>{"status", "1"}, std::vector<std::string>{"stats"}}) {
    args.insert(args.begin(), {"/usr/bin/env", "CORVEE_BROKER=nonsense", corveeBinary()});
    args.insert(args.end(), {"--connect-timeout-ms", "500"});
    CommandResult run = runCommand(args, {}, 20s);
    EXPECT_EQ(run.exit_code, 2) << args[3] << ": " << run.describe();
    EXPECT_NE(run.err.find("CORVEE_BROKER"), std::string::npos) << args[3] << ": " << run.describe();
  }
}

// Every log line goes to stderr: a `submit --wait` that lives through a broker restart (kill -9,
// then the same sqlite store on the same port) prints exactly the result on stdout, while the
// library's "reconnecting" warning goes to stderr, so `r=$(corvee submit ... --wait)` gets the
// result alone.
TEST(CliRestart, SubmitWaitAcrossABrokerRestartPrintsOnlyTheResult) {
  TempDir data;
  BrokerProcess broker(BrokerStore::sqlite(data.path()));
  ASSERT_TRUE(broker.start());
  // No worker yet: the job waits, acknowledged and on disk, while the broker dies.
  ChildProcess submit;
  ASSERT_TRUE(submit.start({corveeBinary(), "submit", "reverse", "hello", "--wait", "--connect", broker.endpoint()}));
  ASSERT_TRUE(eventually([&] { return runCorvee({"status", "1", "--connect", broker.endpoint()}).exit_code == 0; }))
      << "the submission was never acknowledged: " << submit.describe();
  ASSERT_TRUE(broker.killNine());
  ASSERT_TRUE(broker.restart());
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1));
  std::optional<ExitInfo> ended = submit.wait(60s);
  ASSERT_TRUE(ended.has_value()) << "submit --wait did not finish: " << submit.describe();
  EXPECT_TRUE(ended->exitedWith(0)) << ended->toString() << ": " << submit.describe();
  EXPECT_EQ(submit.out(), "olleh") << "stdout must be the result's bytes and nothing else; stderr: " << submit.err();
  EXPECT_NE(submit.err().find("reconnecting"), std::string::npos)
      << "the library's warning belongs on stderr: " << submit.err();
}

// --result-ttl is honoured within seconds, not at the next once-a-minute sweep: a short TTL is
// swept every second. Bounded waits only: how soon within the bound is not asserted.
TEST(CliBroker, AShortResultTtlIsHonouredWithinSeconds) {
  TempDir data;
  for (const BrokerStore& store : {BrokerStore{}, BrokerStore::sqlite(data.path())}) {
    SCOPED_TRACE("store " + store.store);
    BrokerProcess broker(store);
    ASSERT_TRUE(broker.start({"--result-ttl", "1"}));
    WorkerProcess worker;
    ASSERT_TRUE(worker.start(broker.endpoint(), 1));
    CommandResult submit = runCorvee({"submit", "echo", "short-lived", "--connect", broker.endpoint()});
    ASSERT_EQ(submit.exit_code, 0) << submit.describe();
    std::string id = trimmed(submit.out);
    CommandResult status;
    ASSERT_TRUE(eventually(
        [&] {
          status = runCorvee({"status", id, "--connect", broker.endpoint()});
          return status.exit_code == 1 && status.err.find("not_found") != std::string::npos;
        },
        15s, 100ms))
        << "a finished job outlived --result-ttl 1 by far; last status: " << status.describe();
  }
}

// The start line names the store by its absolute path, whatever directory the broker runs in, so
// an operator knows where the jobs are kept.
TEST(CliBroker, TheStartLineNamesTheAbsoluteDataDirectory) {
  TempDir cwd;
  char* real = ::realpath(cwd.path().c_str(), nullptr);
  ASSERT_NE(real, nullptr);
  std::string where(real);
  std::free(real);
  BrokerProcess broker(BrokerStore{"sqlite", "", cwd.path()});  // the default data dir, ./corvee-data
  ASSERT_TRUE(broker.start());
  std::string expected = "(store: sqlite:" + where + "/corvee-data/corvee.db)";
  EXPECT_NE(broker.process().out().find(expected), std::string::npos)
      << "expected " << expected << " in: " << broker.process().out();
  BrokerProcess relative(BrokerStore{"sqlite:./other.db", "", cwd.path()});
  ASSERT_TRUE(relative.start());
  EXPECT_NE(relative.process().out().find("(store: sqlite:" + where + "/other.db)"), std::string::npos)
      << relative.process().out();
}

TEST(CliSmallBroker, PayloadOverTheBrokerLimitIsRefused) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start({"--max-payload", "1000"}));
  std::string big(2000, 'x');
  CommandResult run = runCorvee({"submit", "echo", "-", "--wait", "--connect", broker.endpoint()}, big);
  EXPECT_NE(run.exit_code, 0) << run.describe();
  EXPECT_NE(run.err.find("payload_too_large"), std::string::npos) << run.describe();
  // At the limit exactly is fine (with a worker to run it).
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1));
  ASSERT_TRUE(waitForWorkers(broker.endpoint(), 1));
  std::string fits(1000, 'y');
  CommandResult ok = runCorvee({"submit", "echo", "-", "--wait", "--connect", broker.endpoint()}, fits);
  EXPECT_EQ(ok.exit_code, 0) << ok.describe();
  EXPECT_EQ(ok.out, fits);
}

TEST(CliSmallBroker, ResultOverTheBrokerLimitFailsTheJob) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start({"--max-payload", "1000"}));
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1, {"--exec", "big=yes | head -c 5000"}, /*builtin=*/false));
  ASSERT_TRUE(waitForWorkers(broker.endpoint(), 1));
  CommandResult run = runCorvee({"submit", "big", "x", "--wait", "--connect", broker.endpoint()});
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  EXPECT_EQ(run.err.rfind("result_too_large", 0), 0u) << run.describe();
}

TEST_F(CliTest, WorkerWithNothingToServeIsAUsageError) {
  CommandResult run = corvee({"worker", "--connect-timeout-ms", "2000"});
  EXPECT_EQ(run.exit_code, 2) << run.describe();
  EXPECT_NE(run.err.find("--builtin"), std::string::npos) << "the message names the options: " << run.describe();
}

TEST_F(CliTest, WorkerWithAMalformedExecSpecIsAUsageError) {
  CommandResult run = corvee({"worker", "--exec", "no-equals-sign", "--connect-timeout-ms", "2000"});
  EXPECT_EQ(run.exit_code, 2) << run.describe();
  EXPECT_NE(run.err.find("NAME=COMMAND"), std::string::npos) << run.describe();
}

// Issue 8, 12: one --exec name the broker refuses made it refuse the worker's whole registration,
// builtins included, while the worker ran on serving nothing. The worker now refuses to start.
TEST_F(CliTest, WorkerWithABadExecNameRefusesToStart) {
  const std::string long_name(256, 'e');
  for (const std::string& name : {long_name, std::string("bad\xff")}) {
    CommandResult run = corvee({"worker", "--builtin", "--exec", name + "=cat", "--connect-timeout-ms", "2000"});
    EXPECT_EQ(run.exit_code, 2) << run.describe();
    EXPECT_NE(run.err.find("task name"), std::string::npos) << run.describe();
  }
  CommandResult run = corvee({"worker", "--builtin", "--exec", long_name + "=cat", "--connect-timeout-ms", "2000"});
  EXPECT_NE(run.err.find("'eeee"), std::string::npos) << "the message names the bad name: " << run.describe();
  EXPECT_NE(run.err.find("256 bytes"), std::string::npos) << run.describe();
}

// Issue 8, 12: the broker cut a worker name at 255 bytes, perhaps inside a character.
TEST_F(CliTest, WorkerWithABadNameRefusesToStart) {
  for (const std::string& name : {std::string(), std::string(256, 'w'), std::string(254, 'w') + "\xc3\xa9",
                                  std::string("bad\xff")}) {
    CommandResult run = corvee({"worker", "--builtin", "--name", name, "--connect-timeout-ms", "2000"});
    EXPECT_EQ(run.exit_code, 2) << run.describe();
    EXPECT_NE(run.err.find("worker name"), std::string::npos) << run.describe();
  }
}

TEST(CliBroker, BadBrokerNameOrDataDirIsAUsageError) {
  for (std::vector<std::string> extra : {std::vector<std::string>{"--name", ""},
                                         std::vector<std::string>{"--name", std::string(256, 'b')},
                                         std::vector<std::string>{"--data-dir", ""}}) {
    // Memory, so that a broker started by mistake leaves no files behind (the sqlite default for
    // --data-dir, which must fail before opening anything).
    std::vector<std::string> args{"broker", "--bind", "tcp://127.0.0.1:0", "--store",
                                  extra[0] == "--data-dir" ? "sqlite" : "memory"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult run = runCorvee(args, {}, 20s);
    EXPECT_EQ(run.exit_code, 2) << extra[0] << ": " << run.describe();
    EXPECT_NE(run.err.find(extra[0]), std::string::npos) << run.describe();
  }
}

TEST(CliNoBroker, WorkerGivesUpOnAnUnreachableBroker) {
  CommandResult run = runCorvee(
      {"worker", "--builtin", "--connect", "tcp://127.0.0.1:1", "--connect-timeout-ms", "500"}, {}, 20s);
  EXPECT_EQ(run.exit_code, 3) << run.describe();
  EXPECT_NE(run.err.find("broker"), std::string::npos) << run.describe();
}

class CliExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.start());
    ASSERT_TRUE(worker_.start(broker_.endpoint(), 2,
                              {"--exec", "upper=tr a-z A-Z", "--exec", "boom=echo boom >&2; exit 3",
                               "--exec", "silent-fail=exit 4", "--exec",
                               "job-env=env | grep -E '^CORVEE_(JOB_ID|ATTEMPT|TASK|DEADLINE_MS)=' | sort"},
                              /*builtin=*/false));
    ASSERT_TRUE(waitForWorkers(broker_.endpoint(), 1));
  }
  CommandResult submit(const std::string& task, const std::string& payload) {
    return runCorvee({"submit", task, payload, "--wait", "--connect", broker_.endpoint()});
  }
  BrokerProcess broker_;
  WorkerProcess worker_;
};

TEST_F(CliExecTest, ExecHandlerGetsThePayloadOnStdinAndReturnsStdout) {
  CommandResult run = submit("upper", "abc");
  EXPECT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(run.out, "ABC") << run.describe();
}

// The command learns its job from its environment: id, attempt, task, and the run time it has
// (its --run-timeout; 0 without one).
TEST_F(CliExecTest, ExecCommandGetsTheJobInItsEnvironment) {
  CommandResult run = runCorvee({"submit", "job-env", "x", "--run-timeout", "60000", "--wait", "--connect",
                                 broker_.endpoint()});
  ASSERT_EQ(run.exit_code, 0) << run.describe();
  EXPECT_EQ(run.out,
            "CORVEE_ATTEMPT=1\n"
            "CORVEE_DEADLINE_MS=60000\n"
            "CORVEE_JOB_ID=1\n"
            "CORVEE_TASK=job-env\n")
      << run.describe();

  CommandResult unlimited = submit("job-env", "y");
  ASSERT_EQ(unlimited.exit_code, 0) << unlimited.describe();
  EXPECT_NE(unlimited.out.find("CORVEE_DEADLINE_MS=0\n"), std::string::npos) << unlimited.describe();
  EXPECT_NE(unlimited.out.find("CORVEE_JOB_ID=2\n"), std::string::npos) << unlimited.describe();
}

TEST_F(CliExecTest, ExecHandlerThatFailsReportsItsStderr) {
  CommandResult run = submit("boom", "x");
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  EXPECT_EQ(trimmed(run.err), "handler_error: boom") << run.describe();
}

TEST_F(CliExecTest, ExecHandlerThatFailsSilentlyReportsItsExitStatus) {
  CommandResult run = submit("silent-fail", "x");
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  EXPECT_NE(run.err.find("handler_error"), std::string::npos) << run.describe();
  EXPECT_NE(run.err.find("4"), std::string::npos) << run.describe();
}

TEST_F(CliExecTest, ExecWorkerDoesNotServeBuiltins) {
  CommandResult run =
      runCorvee({"submit", "echo", "x", "--wait", "--assign-timeout", "300", "--connect", broker_.endpoint()});
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  EXPECT_NE(run.err.find("assign_timeout"), std::string::npos) << run.describe();
}

// "run_timeout ... the worker is sent CANCEL and its slot is freed": for an exec handler, the
// command is killed, not left running.
TEST(CliExecCancel, RunTimeoutKillsTheExecCommand) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  TempFile pid_file;
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1,
                           {"--exec", "hang=echo $$ > " + pid_file.path() + "; exec sleep 30", "--exec", "quick=cat"},
                           /*builtin=*/false));
  ASSERT_TRUE(waitForWorkers(broker.endpoint(), 1));
  CommandResult run =
      runCorvee({"submit", "hang", "x", "--run-timeout", "500", "--wait", "--connect", broker.endpoint()});
  EXPECT_EQ(run.exit_code, 1) << run.describe();
  EXPECT_EQ(run.err.rfind("run_timeout", 0), 0u) << run.describe();
  std::string text = pid_file.read();
  ASSERT_FALSE(text.empty()) << "the exec command never ran";
  pid_t pid = static_cast<pid_t>(std::stol(text));
  EXPECT_TRUE(eventually([&] { return !processAlive(pid, "sleep"); }, 10s))
      << "the cancelled command (pid " << pid << ") is still running";
  if (processAlive(pid, "sleep")) ::kill(pid, SIGKILL);  // started, indirectly, by this test
  // The only slot serves the next job.
  CommandResult next = runCorvee({"submit", "quick", "next", "--wait", "--connect", broker.endpoint()});
  EXPECT_EQ(next.exit_code, 0) << next.describe();
  EXPECT_EQ(next.out, "next") << next.describe();
}

TEST(CliBroker, PortInUseExitsThree) {
  BrokerProcess first;
  ASSERT_TRUE(first.start());
  CommandResult second = runCorvee({"broker", "--bind", first.endpoint(), "--store", "memory"}, {}, 15s);
  EXPECT_EQ(second.exit_code, 3) << second.describe();
  EXPECT_NE(second.err.find("cannot listen"), std::string::npos) << second.describe();
  EXPECT_TRUE(first.process().running());
}

TEST(CliBroker, MalformedBindIsAUsageError) {
  // As `--connect foo` is for the other commands.
  CommandResult run = runCorvee({"broker", "--bind", "foo", "--store", "memory"}, {}, 15s);
  EXPECT_EQ(run.exit_code, 2) << run.describe();
  EXPECT_NE(run.err.find("foo"), std::string::npos) << run.describe();
}

TEST(CliBroker, UnknownStoreIsAUsageError) {
  CommandResult run = runCorvee({"broker", "--bind", "tcp://127.0.0.1:0", "--store", "nosuch"}, {}, 15s);
  EXPECT_EQ(run.exit_code, 2) << run.describe();
  EXPECT_NE(run.err.find("nosuch"), std::string::npos) << run.describe();
}

TEST(CliBroker, PeerTimeoutNotAboveHeartbeatIsAUsageError) {
  CommandResult run = runCorvee(
      {"broker", "--bind", "tcp://127.0.0.1:0", "--store", "memory", "--heartbeat-ms", "500", "--peer-timeout-ms", "500"},
      {}, 15s);
  EXPECT_EQ(run.exit_code, 2) << run.describe();
}

// Makes a file read-only for this process for the lifetime of the object: chmod 0444 is enough for
// an ordinary user, but root writes through any mode, so as root the file is made immutable
// (chattr +i), which binds root too. ok() is false when neither can be done here.
class ReadOnlyFile {
 public:
  explicit ReadOnlyFile(std::string path) : path_(std::move(path)) {
    if (geteuid() != 0) {
      ok_ = ::chmod(path_.c_str(), 0444) == 0;
      return;
    }
    for (const char* chattr : {"/usr/bin/chattr", "/bin/chattr", "/sbin/chattr", "/usr/sbin/chattr"}) {
      if (::access(chattr, X_OK) != 0) continue;
      chattr_ = chattr;
      ok_ = runCommand({chattr_, "+i", path_}, {}, 20s).exit_code == 0;
      break;
    }
  }
  ~ReadOnlyFile() {
    if (!ok_) return;
    if (chattr_.empty()) {
      ::chmod(path_.c_str(), 0644);
    } else {
      runCommand({chattr_, "-i", path_}, {}, 20s);  // or the TempDir could not be removed
    }
  }
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  bool ok() const { return ok_; }

 private:
  std::string path_;
  std::string chattr_;
  bool ok_ = false;
};

// Issue 8, 13: a database the broker may not write said "disk I/O error" (SQLite opens such a file
// read-only without a word, and the first lock fails), or even "is another broker using it?".
TEST(CliBroker, ReadOnlyDatabaseIsNamedAsSuch) {
  TempDir dir;
  const std::string path = dir.file("corvee.db");
  {
    BrokerProcess first(BrokerStore{"sqlite:" + path, {}, {}});
    ASSERT_TRUE(first.start());
    ExitInfo stopped = first.process().stop();
    ASSERT_TRUE(stopped.exitedWith(0)) << stopped.toString();
  }
  ReadOnlyFile read_only(path);
  if (!read_only.ok()) GTEST_SKIP() << "cannot make " << path << " read-only here (no chattr, or no support for it)";
  CommandResult run = runCorvee({"broker", "--bind", "tcp://127.0.0.1:0", "--store", "sqlite:" + path}, {}, 20s);
  EXPECT_EQ(run.exit_code, 3) << run.describe();
  EXPECT_NE(run.err.find(path), std::string::npos) << run.describe();
  EXPECT_NE(run.err.find("read-only"), std::string::npos) << run.describe();
  EXPECT_NE(run.err.find("permissions"), std::string::npos) << run.describe();
  EXPECT_EQ(run.err.find("disk I/O error"), std::string::npos) << run.describe();
  EXPECT_EQ(run.err.find("another broker"), std::string::npos) << run.describe();
}

TEST(CliBroker, SigtermStopsTheBrokerCleanly) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start());
  ASSERT_TRUE(broker.process().kill(SIGTERM));
  std::optional<ExitInfo> exit = broker.process().wait(15s);
  ASSERT_TRUE(exit.has_value()) << broker.process().describe();
  EXPECT_TRUE(exit->exitedWith(0)) << exit->toString();
}

}  // namespace
}  // namespace corvee::testing

namespace corvee::testing {
namespace {

// `corvee` alone is a usage error that shows the subcommands; `corvee help` shows them and exits 0.
TEST(CliHelp, BareCorveeListsTheSubcommandsOnStderrAndHelpOnStdout) {
  CommandResult bare = runCorvee({});
  EXPECT_EQ(bare.exit_code, 2) << bare.describe();
  EXPECT_TRUE(bare.out.empty()) << bare.describe();
  CommandResult help = runCorvee({"help"});
  EXPECT_EQ(help.exit_code, 0) << help.describe();
  for (const char* sub : {"broker", "worker", "submit", "status", "stats", "version"}) {
    EXPECT_NE(bare.err.find(std::string("  ") + sub), std::string::npos) << sub << "\n" << bare.err;
    EXPECT_NE(help.out.find(std::string("  ") + sub), std::string::npos) << sub << "\n" << help.out;
  }
  CommandResult version = runCorvee({"version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("corvee ", 0), 0u) << version.out;
}

}  // namespace
}  // namespace corvee::testing

namespace corvee::testing {
namespace {

// `env NAME=VALUE... corvee broker ARGS...`, started and waited for until its listening line.
::testing::AssertionResult startBrokerWith(ChildProcess& broker, const std::vector<std::string>& env,
                                           const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/env"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(corveeBinary());
  argv.push_back("broker");
  argv.insert(argv.end(), args.begin(), args.end());
  ::testing::AssertionResult started = broker.start(argv);
  if (!started) return started;
  if (!eventually([&] { return broker.out().find("listening on") != std::string::npos || !broker.running(); }, 20s) ||
      broker.out().find("listening on") == std::string::npos) {
    return ::testing::AssertionFailure() << "no listening line: " << broker.describe();
  }
  return ::testing::AssertionSuccess();
}

void writeFile(const std::string& path, const std::string& text) {
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr) << path;
  std::fputs(text.c_str(), file);
  std::fclose(file);
}

// Every broker and worker option has an environment variable, CORVEE_ and its name.
TEST(CliSettings, EnvironmentSetsTheBrokersDataDirectory) {
  TempDir dir;
  ChildProcess broker;
  ASSERT_TRUE(startBrokerWith(broker, {"CORVEE_DATA_DIR=" + dir.file("from-env"), "CORVEE_BIND=tcp://127.0.0.1:0"},
                              {"--store", "sqlite"}));
  EXPECT_NE(broker.out().find("from-env/corvee.db)"), std::string::npos) << broker.out();
}

TEST(CliSettings, ConfigFileSetsTheBrokersDataDirectory) {
  TempDir dir;
  writeFile(dir.file("corvee.toml"), "# the broker\nbind = \"tcp://127.0.0.1:0\"\ndata-dir = \"" +
                                          dir.file("from-file") + "\"\nsync = normal\n[worker]\nslots = 3\n");
  ChildProcess broker;
  ASSERT_TRUE(startBrokerWith(broker, {}, {"--store", "sqlite", "--config", dir.file("corvee.toml")}));
  EXPECT_NE(broker.out().find("from-file/corvee.db)"), std::string::npos) << broker.out();
}

// Precedence: a flag beats the environment, which beats the config file, which beats the default.
TEST(CliSettings, FlagBeatsEnvironmentBeatsConfigFile) {
  TempDir dir;
  writeFile(dir.file("corvee.toml"), "data-dir = \"" + dir.file("file") + "\"\nname = from-file\n");
  const std::vector<std::string> args{"--bind", "tcp://127.0.0.1:0", "--store", "sqlite", "--config",
                                      dir.file("corvee.toml")};
  {
    ChildProcess broker;
    ASSERT_TRUE(startBrokerWith(broker, {"CORVEE_DATA_DIR=" + dir.file("env")}, args));
    EXPECT_NE(broker.out().find(dir.file("env") + "/corvee.db)"), std::string::npos) << broker.out();
  }
  {
    std::vector<std::string> with_flag = args;
    with_flag.insert(with_flag.end(), {"--data-dir", dir.file("flag")});
    ChildProcess broker;
    ASSERT_TRUE(startBrokerWith(broker, {"CORVEE_DATA_DIR=" + dir.file("env")}, with_flag));
    EXPECT_NE(broker.out().find(dir.file("flag") + "/corvee.db)"), std::string::npos) << broker.out();
  }
  {
    ChildProcess broker;
    ASSERT_TRUE(startBrokerWith(broker, {}, args));
    EXPECT_NE(broker.out().find(dir.file("file") + "/corvee.db)"), std::string::npos) << broker.out();
  }
}

TEST(CliSettings, BadValuesFromTheEnvironmentOrTheFileAreUsageErrors) {
  CommandResult env = runCommand({"/usr/bin/env", "CORVEE_MAX_QUEUED=-1", corveeBinary(), "broker", "--store", "memory"});
  EXPECT_EQ(env.exit_code, 2) << env.describe();
  EXPECT_NE(env.err.find("--max-queued"), std::string::npos) << env.describe();
  EXPECT_NE(env.err.find("-1"), std::string::npos) << env.describe();
  EXPECT_NE(env.err.find("$CORVEE_MAX_QUEUED"), std::string::npos) << env.describe();
  CommandResult worker = runCommand({"/usr/bin/env", "CORVEE_SLOTS=0", corveeBinary(), "worker", "--builtin"});
  EXPECT_EQ(worker.exit_code, 2) << worker.describe();
  EXPECT_NE(worker.err.find("--slots"), std::string::npos) << worker.describe();
  EXPECT_NE(worker.err.find("$CORVEE_SLOTS"), std::string::npos) << worker.describe();
  // The same bad value on the command line is the flag's, not the variable's.
  CommandResult flag = runCommand({"/usr/bin/env", "CORVEE_SLOTS=0", corveeBinary(), "worker", "--builtin", "--slots=0"});
  EXPECT_EQ(flag.exit_code, 2) << flag.describe();
  EXPECT_EQ(flag.err.find("CORVEE_SLOTS"), std::string::npos) << flag.describe();

  TempDir dir;
  writeFile(dir.file("bad.toml"), "heartbeat-ms = 0x10\n");
  CommandResult bad = runCorvee({"broker", "--store", "memory", "--config", dir.file("bad.toml")});
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  EXPECT_NE(bad.err.find("heartbeat-ms"), std::string::npos) << bad.describe();
  EXPECT_NE(bad.err.find("0x10"), std::string::npos) << bad.describe();
  writeFile(dir.file("typo.toml"), "data_dir = x\n");
  CommandResult typo = runCorvee({"broker", "--store", "memory", "--config", dir.file("typo.toml")});
  EXPECT_EQ(typo.exit_code, 2) << typo.describe();
  EXPECT_NE(typo.err.find("data_dir"), std::string::npos) << typo.describe();
  CommandResult missing = runCorvee({"broker", "--config", dir.file("none.toml")});
  EXPECT_EQ(missing.exit_code, 2) << missing.describe();
}

// No authentication exists yet: a broker reachable from other hosts says so once, at start.
TEST(CliBroker, WarnsWhenListeningBeyondLoopback) {
  BrokerProcess open;
  ASSERT_TRUE(open.start({}, "tcp://0.0.0.0:0"));
  std::string err = open.process().err();
  EXPECT_NE(err.find("not a loopback address"), std::string::npos) << err;
  EXPECT_EQ(err.find("not a loopback address"), err.rfind("not a loopback address")) << err;
  for (const char* bind : {"tcp://127.0.0.1:0", "tcp://localhost:0"}) {
    BrokerProcess local;
    ASSERT_TRUE(local.start({}, bind));
    EXPECT_EQ(local.process().err().find("loopback"), std::string::npos) << bind << ": " << local.process().err();
  }
}

// --log-format json: every stderr line is one JSON object with time, level and message, the
// message escaped (a worker name with quotes, a backslash and a tab), the libraries' lines too.
TEST(CliLogging, JsonLogFormatWritesOneObjectALine) {
  BrokerProcess broker;
  ASSERT_TRUE(broker.start({"--log-format", "json"}));
  const std::string name = "a \"quoted\" \\ name\twith a tab";
  WorkerProcess worker;
  ASSERT_TRUE(worker.start(broker.endpoint(), 1, {"--log-format", "json", "--name", name}));
  ASSERT_TRUE(waitForWorkers(broker.endpoint(), 1));
  ASSERT_TRUE(eventually([&] { return worker.process().err().find("connected") != std::string::npos; }))
      << worker.process().describe();
  worker.process().stop();
  broker.process().stop();
  bool named = false;
  for (const std::string& err : {broker.process().err(), worker.process().err()}) {
    ASSERT_FALSE(err.empty());
    std::size_t start = 0;
    while (start < err.size()) {
      std::size_t end = err.find('\n', start);
      ASSERT_NE(end, std::string::npos) << "unterminated line in: " << err;
      json line = json::parse(err.substr(start, end - start), nullptr, false);
      ASSERT_TRUE(line.is_object()) << err.substr(start, end - start);
      EXPECT_TRUE(line["time"].is_string() && line["level"].is_string() && line["message"].is_string()) << line.dump();
      if (line.value("message", "").find(name) != std::string::npos) named = true;
      start = end + 1;
    }
  }
  EXPECT_TRUE(named) << "no line named the worker: " << worker.process().err();
}

TEST(CliCompletion, BashScriptLoadsAndListsTheOptions) {
  CommandResult script = runCorvee({"completion", "bash"});
  ASSERT_EQ(script.exit_code, 0) << script.describe();
  EXPECT_NE(script.out.find("--data-dir"), std::string::npos) << script.out;
  EXPECT_NE(script.out.find("--slots"), std::string::npos) << script.out;
  TempDir dir;
  writeFile(dir.file("completion.bash"), script.out);
  CommandResult loaded = runCommand({"/bin/bash", "-c", "source " + dir.file("completion.bash") + " && complete -p corvee"});
  EXPECT_EQ(loaded.exit_code, 0) << loaded.describe();
  EXPECT_NE(loaded.out.find("_corvee"), std::string::npos) << loaded.describe();
  // Completing `corvee broker --data` offers --data-dir.
  CommandResult completed = runCommand(
      {"/bin/bash", "-c",
       "source " + dir.file("completion.bash") +
           " && COMP_WORDS=(corvee broker --data) COMP_CWORD=2 && _corvee && echo \"${COMPREPLY[*]}\""});
  EXPECT_EQ(trimmed(completed.out), "--data-dir") << completed.describe();
  CommandResult unknown = runCorvee({"completion", "fish"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.describe();
}

}  // namespace
}  // namespace corvee::testing
