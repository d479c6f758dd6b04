// Status and Result<T>: how every fallible Corvee function reports failure.
//
// A Status is either OK (free to create and copy) or an error with a code and a message. The codes
// are the protocol's error codes (docs/protocol.md, section 5), so an error that crosses the wire
// keeps its meaning. Thread-compatible: distinct objects may be used from distinct threads.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace corvee {

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status ok() { return Status(); }
  static Status error(std::string code, std::string message) {
    return Status(std::move(code), std::move(message));
  }

  bool isOk() const { return code_.empty(); }
  explicit operator bool() const { return isOk(); }
  // Empty when OK; otherwise a protocol error code such as "timeout" or "bad_request".
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }
  // "code: message", or "ok".
  std::string toString() const;

 private:
  Status(std::string code, std::string message) : code_(std::move(code)), message_(std::move(message)) {}
  std::string code_;
  std::string message_;
};

// Holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                       // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {                // NOLINT: implicit by design
    if (status_.isOk()) status_ = Status::error("internal", "Result built from an OK status");
  }

  bool isOk() const { return value_.has_value(); }
  explicit operator bool() const { return isOk(); }
  const Status& status() const { return status_; }
  // REQUIRES: isOk().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace corvee
