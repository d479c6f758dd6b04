#include "worker/utf8.h"

#include <gtest/gtest.h>

namespace corvee {
namespace {

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain ascii"));
  EXPECT_TRUE(isValidUtf8("h\u00e9llo \u20ac \U0001F600"));
  EXPECT_TRUE(isValidUtf8("\U0010FFFF"));
  EXPECT_TRUE(isValidUtf8(std::string("a\0b", 3)));  // NUL is a character
}

TEST(Utf8, RefusesMalformedText) {
  for (const std::string& bad : {
           std::string("\xff"),              // never in UTF-8
           std::string("\xa9"),              // a continuation byte alone
           std::string("\xc3"),              // a sequence cut short
           std::string("\xe2\x82"),          // the same, 3 bytes
           std::string("\xc0\x80"),          // overlong NUL
           std::string("\xe0\x80\xaf"),      // overlong '/'
           std::string("\xed\xa0\x80"),      // a surrogate, U+D800
           std::string("\xf4\x90\x80\x80"),  // above U+10FFFF
           std::string("\xc3\x28"),          // a lead byte followed by ASCII
       }) {
    EXPECT_FALSE(isValidUtf8(bad)) << testing::PrintToString(bad);
  }
}

TEST(Utf8, ReversesByCodePoints) {
  EXPECT_EQ(reverseCodePoints(""), "");
  EXPECT_EQ(reverseCodePoints("h\u00e9llo"), "oll\u00e9h");
  EXPECT_EQ(reverseCodePoints("\U0001F600\u20ac"), "\u20ac\U0001F600");
}

TEST(Utf8, ContinuationBytesAtSaysWhereTheNextCharacterStarts) {
  std::string text = "\u20ac!";  // E2 82 AC 21
  EXPECT_EQ(continuationBytesAt(text, 0), 0u);
  EXPECT_EQ(continuationBytesAt(text, 1), 2u);
  EXPECT_EQ(continuationBytesAt(text, 2), 1u);
  EXPECT_EQ(continuationBytesAt(text, 3), 0u);
  EXPECT_EQ(continuationBytesAt(text, 4), 0u);  // at the end
}

}  // namespace
}  // namespace corvee
