// Test support: a blocking HTTP/1.1 client for the broker's HTTP API, keeping its connection
// alive between requests (and reconnecting when the broker closed it). Every read has a limit, so
// a broker that does not answer fails the test instead of hanging it. Not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace corvee::testing {

struct HttpReply {
  unsigned status = 0;  // 0: no response (see error)
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string error;                           // why there is no response
  // The body as JSON (discarded when it is not JSON).
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  std::string describe() const;
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port) : port_(port) {}
  // `method` "GET", "POST", ...; `target` "/v1/jobs?wait=100".
  HttpReply request(const std::string& method, const std::string& target, const std::string& body = "",
                    std::chrono::milliseconds limit = std::chrono::seconds(30));
  HttpReply get(const std::string& target, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    return request("GET", target, "", limit);
  }
  HttpReply post(const std::string& target, const std::string& body,
                 std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    return request("POST", target, body, limit);
  }
  // An Authorization header for every request from now on ("Bearer TOKEN"); empty: none.
  void setAuthorization(std::string value) { authorization_ = std::move(value); }
  // Sends `bytes` as they are (a malformed request, say) on a fresh connection and reads one response.
  HttpReply raw(const std::string& bytes, std::chrono::milliseconds limit = std::chrono::seconds(30));
  // True when the connection is still open after the last response.
  bool connected() const { return socket_.is_open(); }
  // Connections opened so far (to check keep-alive).
  int connectsMade() const { return connects_; }

 private:
  bool ensureConnected(std::string& error);
  HttpReply send(const std::string& bytes, std::chrono::milliseconds limit);

  std::uint16_t port_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_{io_};
  boost::beast::flat_buffer buffer_;
  int connects_ = 0;
  std::string authorization_;
};

}  // namespace corvee::testing
