#include "protocol/frame_decoder.h"

#include <algorithm>
#include <cstring>

#include "protocol/constants.h"
#include "protocol/wire.h"

namespace corvee::protocol {

char* FrameDecoder::prepare(std::size_t min_size) {
  // Slide unconsumed bytes to the front before growing, so the buffer stays as small as the
  // largest frame plus one read.
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() - end_ < min_size) buffer_.resize(end_ + min_size);
  return buffer_.data() + end_;
}

void FrameDecoder::commit(std::size_t n) {
  end_ += n;
  // Bytes of an oversized frame are dropped as soon as they arrive.
  std::size_t drop = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, end_ - begin_));
  begin_ += drop;
  skip_ -= drop;
}

DecodeEvent FrameDecoder::next(Frame& frame) {
  if (skip_ > 0) return DecodeEvent::kNeedMore;
  std::size_t available = end_ - begin_;
  if (available < kLengthSize) return DecodeEvent::kNeedMore;
  WireReader header(std::string_view(buffer_.data() + begin_, available));
  std::uint32_t length = header.u32();
  if (length < kMinLength) return DecodeEvent::kMalformed;
  if (available < kHeaderSize) return DecodeEvent::kNeedMore;
  frame.type = header.u8();
  frame.request_id = header.u32();
  if (length > max_length_) {
    frame.body = {};
    begin_ += kHeaderSize;
    skip_ = length - kMinLength;
    std::size_t drop = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, end_ - begin_));
    begin_ += drop;
    skip_ -= drop;
    return DecodeEvent::kOversized;
  }
  if (available < kLengthSize + length) return DecodeEvent::kNeedMore;
  frame.body = std::string_view(buffer_.data() + begin_ + kHeaderSize, length - kMinLength);
  begin_ += kLengthSize + length;
  return DecodeEvent::kFrame;
}

}  // namespace corvee::protocol
