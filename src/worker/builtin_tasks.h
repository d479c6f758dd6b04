// The demo tasks served by `corvee worker --builtin`: echo, reverse, add, sleep, fail.
#pragma once

#include "corvee/worker.h"

namespace corvee {

// Registers every builtin task on `worker`.
void registerBuiltinTasks(Worker& worker);

// The handlers themselves, for tests.
Result<std::string> builtinEcho(JobContext& job);     // returns the payload
Result<std::string> builtinReverse(JobContext& job);  // reverses UTF-8 text by code points, other bytes bytewise
Result<std::string> builtinAdd(JobContext& job);      // payload: JSON array of numbers; result: their sum
Result<std::string> builtinSleep(JobContext& job);    // payload: milliseconds; stops early if cancelled
Result<std::string> builtinFail(JobContext& job);     // always fails with handler_error

}  // namespace corvee
