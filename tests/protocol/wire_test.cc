// WireWriter/WireReader: the field encodings of docs/protocol.md, section 2, byte for byte.
#include "protocol/wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace corvee::protocol {
namespace {

// Builds a byte string from small integers, so expected encodings read like the doc's hex dumps.
std::string bytesOf(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(WireWriterTest, FixedWidthIntegersAreLittleEndian) {
  std::string out;
  WireWriter w(out);
  w.u8(0xab);
  w.u16(0x1234);
  w.u32(0x89abcdef);
  w.u64(0x0102030405060708ULL);
  EXPECT_EQ(out, bytesOf({0xab, 0x34, 0x12, 0xef, 0xcd, 0xab, 0x89, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}));
}

TEST(WireWriterTest, I32IsTwosComplement) {
  std::string out;
  WireWriter w(out);
  w.i32(-2);
  w.i32(std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(out, bytesOf({0xfe, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x80}));
}

TEST(WireWriterTest, StrHasU16CountAndBytesHasU32Count) {
  std::string out;
  WireWriter w(out);
  w.str("echo");
  w.bytes("hi");
  w.str("");
  w.bytes("");
  EXPECT_EQ(out, bytesOf({0x04, 0x00, 'e', 'c', 'h', 'o', 0x02, 0x00, 0x00, 0x00, 'h', 'i', 0x00, 0x00, 0x00, 0x00,
                          0x00, 0x00}));
}

TEST(WireWriterTest, StrListHasU16ElementCount) {
  std::string out;
  WireWriter w(out);
  w.strList({"a", "bc"});
  EXPECT_EQ(out, bytesOf({0x02, 0x00, 0x01, 0x00, 'a', 0x02, 0x00, 'b', 'c'}));
}

TEST(WireWriterTest, AppendsToExistingBuffer) {
  // Many frames share one output buffer, so the writer must never overwrite what is there.
  std::string out = "xyz";
  WireWriter w(out);
  w.u8(1);
  EXPECT_EQ(out, std::string("xyz\x01", 4));
  EXPECT_EQ(&w.buffer(), &out);
}

TEST(WireReaderTest, ReadsBackEveryFieldType) {
  std::string buf;
  WireWriter w(buf);
  w.u8(200);
  w.u16(65535);
  w.u32(0xdeadbeef);
  w.u64(std::numeric_limits<std::uint64_t>::max() - 1);
  w.i32(-123456);
  w.str("task");
  w.bytes(std::string("\0\x01\xff", 3));
  w.strList({"x", "", "yz"});

  WireReader r(buf);
  EXPECT_EQ(r.u8(), 200);
  EXPECT_EQ(r.u16(), 65535);
  EXPECT_EQ(r.u32(), 0xdeadbeefu);
  EXPECT_EQ(r.u64(), std::numeric_limits<std::uint64_t>::max() - 1);
  EXPECT_EQ(r.i32(), -123456);
  EXPECT_EQ(r.str(), "task");
  EXPECT_EQ(r.bytes(), std::string_view("\0\x01\xff", 3));
  EXPECT_EQ(r.strList(), (std::vector<std::string>{"x", "", "yz"}));
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.exhausted());
}

TEST(WireReaderTest, HighBitBytesDoNotSignExtend) {
  // char is signed on x86; every byte must be taken as unsigned before shifting.
  std::string buf = bytesOf({0xff, 0x80, 0x80, 0x80, 0x80});
  WireReader r(buf);
  EXPECT_EQ(r.u8(), 0xff);
  EXPECT_EQ(r.u32(), 0x80808080u);
}

TEST(WireReaderTest, ReadPastEndFailsAndReturnsZero) {
  std::string buf = bytesOf({0x01, 0x02, 0x03});
  WireReader r(buf);
  EXPECT_EQ(r.u32(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.exhausted());
}

TEST(WireReaderTest, FailureIsSticky) {
  // After one failed read, later reads must not pick up bytes from the wrong offset.
  std::string buf = bytesOf({0x07, 0x00, 0x00});
  WireReader r(buf);
  EXPECT_EQ(r.u32(), 0u);
  EXPECT_EQ(r.u8(), 0);
  EXPECT_FALSE(r.ok());
}

TEST(WireReaderTest, StrCountRunningPastEndFails) {
  std::string buf = bytesOf({0x05, 0x00, 'a', 'b'});
  WireReader r(buf);
  EXPECT_EQ(r.str(), "");
  EXPECT_FALSE(r.ok());
}

TEST(WireReaderTest, BytesCountRunningPastEndFails) {
  // A huge count must be caught by the bounds check, not wrap around.
  std::string buf = bytesOf({0xff, 0xff, 0xff, 0xff, 'a'});
  WireReader r(buf);
  EXPECT_EQ(r.bytes(), "");
  EXPECT_FALSE(r.ok());
}

TEST(WireReaderTest, StrListCountRunningPastEndFails) {
  std::string buf = bytesOf({0x03, 0x00, 0x01, 0x00, 'a'});
  WireReader r(buf);
  r.strList();
  EXPECT_FALSE(r.ok());
}

TEST(WireReaderTest, ExhaustedOnlyWhenEveryByteWasRead) {
  std::string buf = bytesOf({0x01, 0x02});
  WireReader r(buf);
  r.u8();
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.exhausted());
  r.u8();
  EXPECT_TRUE(r.exhausted());
}

TEST(WireReaderTest, EmptyInputIsExhausted) {
  WireReader r("");
  EXPECT_TRUE(r.exhausted());
}

}  // namespace
}  // namespace corvee::protocol
