// FrameDecoder: finding frame boundaries in a byte stream that arrives in arbitrary pieces.
#include "protocol/frame_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "protocol/constants.h"
#include "protocol/messages.h"
#include "protocol/wire.h"

namespace corvee::protocol {
namespace {

constexpr std::uint32_t kLimit = 1024;

// What a frame was, copied out of the decoder (whose views die at the next prepare()).
struct Got {
  std::uint8_t type;
  std::uint32_t request_id;
  std::string body;
  bool operator==(const Got&) const = default;
};

// A frame with an arbitrary body, built by hand so the test does not depend on the encoder.
std::string rawFrame(std::uint8_t type, std::uint32_t request_id, std::string_view body) {
  std::string out;
  WireWriter w(out);
  w.u32(static_cast<std::uint32_t>(kMinLength + body.size()));
  w.u8(type);
  w.u32(request_id);
  out.append(body);
  return out;
}

// A header claiming `length`, with no body.
std::string headerWithLength(std::uint32_t length, std::uint8_t type, std::uint32_t request_id) {
  std::string out;
  WireWriter w(out);
  w.u32(length);
  w.u8(type);
  w.u32(request_id);
  return out;
}

void feed(FrameDecoder& decoder, std::string_view bytes) {
  char* dst = decoder.prepare(bytes.size());
  ASSERT_GE(decoder.writable(), bytes.size());
  std::memcpy(dst, bytes.data(), bytes.size());
  decoder.commit(bytes.size());
}

// Every complete frame now buffered; fails the test on any event other than kFrame/kNeedMore.
std::vector<Got> drain(FrameDecoder& decoder) {
  std::vector<Got> out;
  Frame frame;
  for (;;) {
    DecodeEvent event = decoder.next(frame);
    if (event == DecodeEvent::kNeedMore) break;
    EXPECT_EQ(event, DecodeEvent::kFrame);
    if (event != DecodeEvent::kFrame) break;
    out.push_back({frame.type, frame.request_id, std::string(frame.body)});
  }
  return out;
}

TEST(FrameDecoderTest, EmptyDecoderNeedsMore) {
  FrameDecoder decoder(kLimit);
  Frame frame;
  EXPECT_EQ(decoder.next(frame), DecodeEvent::kNeedMore);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameDecoderTest, DecodesOneWholeFrame) {
  FrameDecoder decoder(kLimit);
  feed(decoder, rawFrame(0x10, 77, "body"));
  Frame frame;
  ASSERT_EQ(decoder.next(frame), DecodeEvent::kFrame);
  EXPECT_EQ(frame.type, 0x10);
  EXPECT_EQ(frame.request_id, 77u);
  EXPECT_EQ(frame.body, "body");
  EXPECT_EQ(decoder.next(frame), DecodeEvent::kNeedMore);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameDecoderTest, LengthFiveIsAnEmptyBody) {
  FrameDecoder decoder(kLimit);
  feed(decoder, rawFrame(0x03, 9, ""));
  EXPECT_EQ(drain(decoder), (std::vector<Got>{{0x03, 9, ""}}));
}

TEST(FrameDecoderTest, ByteByByteYieldsTheFrameOnlyAtItsLastByte) {
  FrameDecoder decoder(kLimit);
  std::string bytes;
  SubmitMsg submit;
  submit.task = "echo";
  submit.payload.data = "some payload";
  submit.priority = -3;
  encode(bytes, 12345, submit);

  Frame frame;
  for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
    feed(decoder, bytes.substr(i, 1));
    ASSERT_EQ(decoder.next(frame), DecodeEvent::kNeedMore) << "after byte " << i;
    EXPECT_EQ(decoder.buffered(), i + 1);
  }
  feed(decoder, bytes.substr(bytes.size() - 1));
  ASSERT_EQ(decoder.next(frame), DecodeEvent::kFrame);
  EXPECT_EQ(frame.type, static_cast<std::uint8_t>(MsgType::kSubmit));
  EXPECT_EQ(frame.request_id, 12345u);
  auto decoded = decode<SubmitMsg>(frame.body);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->task, "echo");
  EXPECT_EQ(decoded->payload.data, "some payload");
  EXPECT_EQ(decoded->priority, -3);
  EXPECT_EQ(decoder.next(frame), DecodeEvent::kNeedMore);
  EXPECT_EQ(decoder.buffered(), 0u);
}

std::vector<Got> manyFrames() {
  std::vector<Got> frames;
  for (std::uint32_t i = 0; i < 200; ++i) {
    // Bodies of every small size, including empty ones and ones longer than a header.
    frames.push_back({static_cast<std::uint8_t>(i % 0x26), i * 7919u, std::string(i % 23, static_cast<char>('a' + i % 26))});
  }
  return frames;
}

std::string concat(const std::vector<Got>& frames) {
  std::string all;
  for (const Got& f : frames) all += rawFrame(f.type, f.request_id, f.body);
  return all;
}

TEST(FrameDecoderTest, ManyFramesInOneBuffer) {
  FrameDecoder decoder(kLimit);
  auto frames = manyFrames();
  feed(decoder, concat(frames));
  // Bodies are views into the buffer: all of them must stay valid until the next prepare().
  std::vector<Frame> views;
  Frame frame;
  while (decoder.next(frame) == DecodeEvent::kFrame) views.push_back(frame);
  ASSERT_EQ(views.size(), frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(views[i].type, frames[i].type);
    EXPECT_EQ(views[i].request_id, frames[i].request_id);
    EXPECT_EQ(views[i].body, frames[i].body);
  }
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameDecoderTest, FramesSplitAtEveryChunkSize) {
  auto frames = manyFrames();
  std::string all = concat(frames);
  for (std::size_t chunk = 1; chunk <= 17; ++chunk) {
    FrameDecoder decoder(kLimit);
    std::vector<Got> got;
    for (std::size_t pos = 0; pos < all.size(); pos += chunk) {
      feed(decoder, std::string_view(all).substr(pos, chunk));
      auto some = drain(decoder);
      got.insert(got.end(), some.begin(), some.end());
    }
    EXPECT_EQ(got, frames) << "chunk size " << chunk;
    EXPECT_EQ(decoder.buffered(), 0u);
  }
}

TEST(FrameDecoderTest, PartialFrameStaysBufferedAcrossPrepare) {
  // The tail of a frame is slid to the front of the buffer by prepare(); it must survive intact.
  FrameDecoder decoder(kLimit);
  std::string a = rawFrame(1, 1, "first");
  std::string b = rawFrame(2, 2, std::string(300, 'x'));
  feed(decoder, a + b.substr(0, 20));
  EXPECT_EQ(drain(decoder), (std::vector<Got>{{1, 1, "first"}}));
  EXPECT_EQ(decoder.buffered(), 20u);
  feed(decoder, b.substr(20));
  EXPECT_EQ(drain(decoder), (std::vector<Got>{{2, 2, std::string(300, 'x')}}));
}

TEST(FrameDecoderTest, LengthBelowFiveIsMalformed) {
  for (std::uint32_t length = 0; length < kMinLength; ++length) {
    FrameDecoder decoder(kLimit);
    std::string bytes;
    WireWriter(bytes).u32(length);
    feed(decoder, bytes);
    Frame frame;
    EXPECT_EQ(decoder.next(frame), DecodeEvent::kMalformed) << "length " << length;
  }
}

TEST(FrameDecoderTest, MalformedIsReportedAsSoonAsTheLengthIsKnown) {
  // Three bytes cannot tell; the fourth makes the length (here 4) known and wrong.
  FrameDecoder decoder(kLimit);
  std::string bytes;
  WireWriter(bytes).u32(4);
  feed(decoder, bytes.substr(0, 3));
  Frame frame;
  EXPECT_EQ(decoder.next(frame), DecodeEvent::kNeedMore);
  feed(decoder, bytes.substr(3));
  EXPECT_EQ(decoder.next(frame), DecodeEvent::kMalformed);
}

TEST(FrameDecoderTest, MalformedAfterGoodFrames) {
  FrameDecoder decoder(kLimit);
  std::string bytes = rawFrame(3, 1, "") + rawFrame(4, 2, "z");
  WireWriter(bytes).u32(2);
  bytes += "garbage";
  feed(decoder, bytes);
  Frame frame;
  ASSERT_EQ(decoder.next(frame), DecodeEvent::kFrame);
  EXPECT_EQ(frame.request_id, 1u);
  ASSERT_EQ(decoder.next(frame), DecodeEvent::kFrame);
  EXPECT_EQ(frame.request_id, 2u);
  EXPECT_EQ(decoder.next(frame), DecodeEvent::kMalformed);
}

TEST(FrameDecoderTest, LengthAtTheLimitIsAccepted) {
  FrameDecoder decoder(kLimit);
  std::string body(kLimit - kMinLength, 'p');
  feed(decoder, rawFrame(0x10, 5, body));
  auto got = drain(decoder);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, body);
}

TEST(FrameDecoderTest, OversizedFrameInOneBufferIsSkippedAndTheNextFrameDecodes) {
  FrameDecoder decoder(kLimit);
  std::string big = rawFrame(0x10, 42, std::string(kLimit - kMinLength + 1, 'B'));  // length = limit + 1
  feed(decoder, big + rawFrame(0x03, 43, ""));
  Frame frame;
  ASSERT_EQ(decoder.next(frame), DecodeEvent::kOversized);
  EXPECT_EQ(frame.type, 0x10);
  EXPECT_EQ(frame.request_id, 42u);
  EXPECT_TRUE(frame.body.empty());
  ASSERT_EQ(decoder.next(frame), DecodeEvent::kFrame);
  EXPECT_EQ(frame.type, 0x03);
  EXPECT_EQ(frame.request_id, 43u);
  EXPECT_EQ(decoder.next(frame), DecodeEvent::kNeedMore);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameDecoderTest, OversizedFrameArrivingInPiecesIsReportedOnceAndNeverBuffered) {
  FrameDecoder decoder(kLimit);
  const std::uint32_t length = 100'000;  // far above the limit
  std::string body(length - kMinLength, 'X');
  std::string stream = headerWithLength(length, 0x10, 99) + body + rawFrame(0x04, 100, "after");

  // The header itself arrives split, then the body in uneven pieces.
  feed(decoder, stream.substr(0, 2));
  Frame frame;
  EXPECT_EQ(decoder.next(frame), DecodeEvent::kNeedMore);
  feed(decoder, stream.substr(2, 7));  // completes the 9-byte header
  ASSERT_EQ(decoder.next(frame), DecodeEvent::kOversized);
  EXPECT_EQ(frame.type, 0x10);
  EXPECT_EQ(frame.request_id, 99u);

  int oversized_reports = 1;
  std::vector<Got> frames;
  std::size_t pos = kHeaderSize;
  std::size_t chunk = 1;
  while (pos < stream.size()) {
    std::size_t n = std::min(chunk, stream.size() - pos);
    feed(decoder, std::string_view(stream).substr(pos, n));
    pos += n;
    chunk = chunk * 3 + 1;
    // While the body is being skipped, nothing of it may stay in memory.
    if (pos <= kHeaderSize + body.size()) {
      EXPECT_EQ(decoder.buffered(), 0u) << "at " << pos;
    }
    for (;;) {
      DecodeEvent event = decoder.next(frame);
      if (event == DecodeEvent::kNeedMore) break;
      if (event == DecodeEvent::kOversized) {
        ++oversized_reports;
        continue;
      }
      ASSERT_EQ(event, DecodeEvent::kFrame);
      frames.push_back({frame.type, frame.request_id, std::string(frame.body)});
    }
  }
  EXPECT_EQ(oversized_reports, 1);
  EXPECT_EQ(frames, (std::vector<Got>{{0x04, 100, "after"}}));
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameDecoderTest, OversizedBodyEndingExactlyAtAChunkBoundary) {
  // The skip must end exactly where the body does, not consume the next frame's first bytes.
  FrameDecoder decoder(16);
  std::string stream = headerWithLength(30, 0x10, 1) + std::string(25, 'y');
  feed(decoder, stream.substr(0, 12));
  Frame frame;
  ASSERT_EQ(decoder.next(frame), DecodeEvent::kOversized);
  feed(decoder, stream.substr(12));
  EXPECT_EQ(decoder.next(frame), DecodeEvent::kNeedMore);
  EXPECT_EQ(decoder.buffered(), 0u);
  feed(decoder, rawFrame(0x06, 2, ""));
  EXPECT_EQ(drain(decoder), (std::vector<Got>{{0x06, 2, ""}}));
}

TEST(FrameDecoderTest, TwoOversizedFramesAreEachReportedOnce) {
  FrameDecoder decoder(16);
  std::string stream = headerWithLength(40, 0x10, 1) + std::string(35, 'a') + headerWithLength(50, 0x20, 2) +
                       std::string(45, 'b') + rawFrame(0x03, 3, "");
  std::vector<std::uint32_t> reported;
  std::vector<Got> frames;
  for (char c : stream) {
    feed(decoder, std::string_view(&c, 1));
    Frame frame;
    for (;;) {
      DecodeEvent event = decoder.next(frame);
      if (event == DecodeEvent::kNeedMore) break;
      if (event == DecodeEvent::kOversized) {
        reported.push_back(frame.request_id);
      } else {
        ASSERT_EQ(event, DecodeEvent::kFrame);
        frames.push_back({frame.type, frame.request_id, std::string(frame.body)});
      }
    }
  }
  EXPECT_EQ(reported, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(frames, (std::vector<Got>{{0x03, 3, ""}}));
}

TEST(FrameDecoderTest, PrepareGivesAtLeastTheRequestedRoom) {
  FrameDecoder decoder(kLimit);
  decoder.prepare(4096);
  EXPECT_GE(decoder.writable(), 4096u);
  decoder.commit(0);
  EXPECT_EQ(decoder.buffered(), 0u);
}

}  // namespace
}  // namespace corvee::protocol
