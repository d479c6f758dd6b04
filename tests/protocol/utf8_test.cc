#include "protocol/utf8.h"

#include <gtest/gtest.h>

#include "protocol/messages.h"

namespace corvee::protocol {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  for (std::string_view text : {std::string_view(""), std::string_view("echo"), std::string_view("h\xc3\xa9llo"),
                                std::string_view("\xe2\x82\xac"), std::string_view("\xf0\x9f\x98\x80"),
                                std::string_view("\xef\xbf\xbd"), std::string_view("\xf4\x8f\xbf\xbf"),
                                std::string_view("a\0b", 3)}) {
    EXPECT_TRUE(isValidUtf8(text)) << text;
  }
}

TEST(Utf8Test, RefusesWhatJsonWritersRefuse) {
  for (std::string_view text : {
           std::string_view("\xff"),              // never in UTF-8
           std::string_view("\x80"),              // a stray continuation byte
           std::string_view("\xc3"),              // a character cut short
           std::string_view("\xc3("),             // a lead byte without its continuation
           std::string_view("\xc0\xaf"),          // overlong '/'
           std::string_view("\xe0\x80\xaf"),      // overlong, three bytes
           std::string_view("\xed\xa0\x80"),      // a UTF-16 surrogate
           std::string_view("\xf4\x90\x80\x80"),  // above U+10FFFF
           std::string_view("\xf5\x80\x80\x80"),
       }) {
    EXPECT_FALSE(isValidUtf8(text)) << "byte " << static_cast<int>(static_cast<unsigned char>(text[0]));
  }
}

TEST(Utf8Test, TruncationNeverSplitsACharacter) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "\xc3\xa9";
  std::string_view cut = truncateUtf8(text, 255);
  EXPECT_EQ(cut.size(), 254u);
  EXPECT_TRUE(isValidUtf8(cut));
  EXPECT_EQ(truncateUtf8("\xf0\x9f\x98\x80", 3), "");
  EXPECT_EQ(truncateUtf8("abc", 3), "abc");
  EXPECT_EQ(truncateUtf8("abcd", 3), "abc");
}

TEST(Utf8Test, ContinuationBytesAtSaysWhereTheNextCharacterStarts) {
  std::string text = "\u20ac!";  // E2 82 AC 21
  EXPECT_EQ(continuationBytesAt(text, 0), 0u);
  EXPECT_EQ(continuationBytesAt(text, 1), 2u);
  EXPECT_EQ(continuationBytesAt(text, 2), 1u);
  EXPECT_EQ(continuationBytesAt(text, 3), 0u);
  EXPECT_EQ(continuationBytesAt(text, 4), 0u);  // at the end
}

TEST(Utf8Test, ReplacementMakesAnyBytesValid) {
  EXPECT_EQ(toValidUtf8("ok"), "ok");
  EXPECT_EQ(toValidUtf8("a\xff" "b"), "a\xef\xbf\xbd" "b");
  EXPECT_EQ(toValidUtf8("\xc3"), "\xef\xbf\xbd");
  EXPECT_TRUE(isValidUtf8(toValidUtf8("\xed\xa0\x80\xc0\xaf\xf8")));
  EXPECT_EQ(toValidUtf8("h\xc3\xa9"), "h\xc3\xa9");
}

// "Every str MUST be well-formed UTF-8 ... answered with ERROR bad_request": the decoder refuses.
TEST(Utf8Test, DecoderRefusesAStrThatIsNotUtf8ButNotBytesFields) {
  std::string wire;
  encode(wire, 1, SubmitMsg{"bad\xff", {"\xff\xfe payload bytes are opaque"}, 0, 0, 0, 0});
  auto refused = decode<SubmitMsg>(std::string_view(wire).substr(9));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.status().code(), "bad_request");
  EXPECT_NE(refused.status().message().find("UTF-8"), std::string::npos);
  wire.clear();
  encode(wire, 1, SubmitMsg{"good", {"\xff\xfe payload bytes are opaque"}, 0, 0, 0, 0});
  EXPECT_TRUE(decode<SubmitMsg>(std::string_view(wire).substr(9)));
  wire.clear();
  encode(wire, 1, RegisterMsg{1, {"ok", "n\xc0\xaf"}, 0});
  EXPECT_FALSE(decode<RegisterMsg>(std::string_view(wire).substr(9)));
}

}  // namespace
}  // namespace corvee::protocol
