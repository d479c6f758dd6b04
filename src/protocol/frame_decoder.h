// FrameDecoder: turns a byte stream into frames (docs/protocol.md, section 2).
//
// The socket reads straight into the decoder's buffer (prepare/commit), then next() yields every
// complete frame in it without copying: a Frame's body is a view into the buffer, valid until the
// next prepare(). A frame longer than the limit is reported once and its bytes are skipped as they
// arrive, never buffered, so an oversized payload costs no memory and the stream stays in sync.
// Not thread-safe; one per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace corvee::protocol {

struct Frame {
  std::uint8_t type = 0;
  std::uint32_t request_id = 0;
  std::string_view body;
};

enum class DecodeEvent {
  kFrame,      // `frame` holds the next frame
  kNeedMore,   // no complete frame buffered; read more
  kOversized,  // `frame.type` and `frame.request_id` hold the oversized frame's header; its body is skipped
  kMalformed,  // `length` < 5: frame boundaries are lost and the connection must close
};

class FrameDecoder {
 public:
  // max_length: the largest `length` field accepted (type + request_id + body).
  explicit FrameDecoder(std::uint32_t max_length) : max_length_(max_length) {}

  // A writable area of at least `min_size` bytes at the end of the buffered data.
  // Invalidates the bodies of frames returned earlier.
  char* prepare(std::size_t min_size);
  std::size_t writable() const { return buffer_.size() - end_; }
  // Marks `n` bytes of the prepared area as received.
  void commit(std::size_t n);
  DecodeEvent next(Frame& frame);
  // Bytes buffered and not yet returned as frames.
  std::size_t buffered() const { return end_ - begin_; }

 private:
  std::uint32_t max_length_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last received byte
  std::uint64_t skip_ = 0;  // bytes of an oversized frame still to discard
};

}  // namespace corvee::protocol
