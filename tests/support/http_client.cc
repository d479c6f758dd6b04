#include "support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>

namespace corvee::testing {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

std::string HttpReply::describe() const {
  if (status == 0) return "no response: " + error;
  return "HTTP " + std::to_string(status) + ": " + body;
}

bool HttpClient::ensureConnected(std::string& error) {
  if (socket_.is_open()) return true;
  boost::system::error_code ec;
  socket_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  if (ec) {
    error = "cannot connect to 127.0.0.1:" + std::to_string(port_) + ": " + ec.message();
    boost::system::error_code ignored;
    socket_.close(ignored);
    return false;
  }
  buffer_.clear();
  ++connects_;
  return true;
}

HttpReply HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                              std::chrono::milliseconds limit) {
  std::string bytes = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!authorization_.empty()) bytes += "Authorization: " + authorization_ + "\r\n";
  bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return send(bytes, limit);
}

HttpReply HttpClient::raw(const std::string& bytes, std::chrono::milliseconds limit) {
  boost::system::error_code ignored;
  socket_.close(ignored);
  return send(bytes, limit);
}

HttpReply HttpClient::send(const std::string& bytes, std::chrono::milliseconds limit) {
  HttpReply reply;
  if (!ensureConnected(reply.error)) return reply;
  boost::system::error_code ec;
  asio::write(socket_, asio::buffer(bytes), ec);
  if (ec) {
    reply.error = "write failed: " + ec.message();
    socket_.close(ec);
    return reply;
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(1ULL << 31);
  bool done = false;
  boost::system::error_code read_error;
  bhttp::async_read(socket_, buffer_, parser, [&](const boost::system::error_code& error, std::size_t) {
    read_error = error;
    done = true;
  });
  io_.restart();
  io_.run_for(limit);
  if (!done) {
    socket_.close(ec);  // aborts the read
    io_.restart();
    io_.run();
    reply.error = "no response within " + std::to_string(limit.count()) + " ms";
    return reply;
  }
  if (read_error) {
    reply.error = "read failed: " + read_error.message();
    socket_.close(ec);
    return reply;
  }
  auto& response = parser.get();
  reply.status = response.result_int();
  reply.body = response.body();
  for (const auto& field : response) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  if (!response.keep_alive()) socket_.close(ec);
  return reply;
}

}  // namespace corvee::testing
