// A blocking TCP connection with a read buffer, for text protocols spoken by hand (beanstalkd).
// Reads are buffered so that a pipelined burst of replies costs one recv, not one per line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace peers {

class TcpStream {
 public:
  // Connects with TCP_NODELAY (a request must not wait for Nagle). Throws std::runtime_error.
  TcpStream(const std::string& host, int port);
  ~TcpStream();
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  void write_all(std::string_view data);
  // One line without its "\r\n". Throws if the peer closes.
  std::string read_line();
  // Exactly n bytes (e.g. a job body and its trailing "\r\n").
  std::string read_exact(std::size_t n);
  void skip(std::size_t n);

 private:
  void fill();  // one recv into the buffer; throws on EOF or error

  int fd_ = -1;
  std::string buf_;
  std::size_t pos_ = 0;  // start of unread data in buf_
};

}  // namespace peers
