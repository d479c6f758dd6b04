// isValidUtf8 and checkTaskName: the one rule for names that the CLI, the libraries and the
// broker share (1 to 255 bytes of UTF-8).
#include "protocol/names.h"

#include <gtest/gtest.h>

#include <string>

namespace corvee::protocol {
namespace {

using namespace std::string_literals;

TEST(IsValidUtf8, AcceptsWellFormedText) {
  for (const std::string& text : {""s, "echo"s, "caf\xc3\xa9"s, "\xe2\x82\xac"s, "\xf0\x9f\x98\x80"s,
                                  "\xef\xbf\xbf"s, "\xf4\x8f\xbf\xbf"s, "nul\0inside"s, "\x7f"s}) {
    EXPECT_TRUE(isValidUtf8(text)) << quoteName(text);
  }
}

TEST(IsValidUtf8, RefusesMalformedText) {
  for (const std::string& text : {
           "\xff"s,              // never a UTF-8 byte
           "\x80"s,              // a continuation byte with no lead
           "caf\xc3"s,           // truncated at the end
           "\xc3("s,             // lead byte followed by a non-continuation
           "\xe2\x82"s,          // 3-byte sequence cut short
           "\xc0\xaf"s,          // overlong '/'
           "\xc1\xbf"s,          // overlong, C1 lead
           "\xe0\x80\xaf"s,      // overlong 3-byte
           "\xf0\x80\x80\xaf"s,  // overlong 4-byte
           "\xed\xa0\x80"s,      // U+D800, a surrogate
           "\xed\xbf\xbf"s,      // U+DFFF, a surrogate
           "\xf4\x90\x80\x80"s,  // U+110000, beyond Unicode
           "\xf5\x80\x80\x80"s,  // F5 lead
           "\xf0\x9f\x98"s,      // 4-byte sequence cut short
       }) {
    EXPECT_FALSE(isValidUtf8(text)) << quoteName(text);
  }
}

TEST(CheckTaskName, AcceptsOneTo255BytesOfUtf8) {
  EXPECT_TRUE(checkTaskName("a").isOk());
  EXPECT_TRUE(checkTaskName(std::string(255, 'x')).isOk());
  // 85 three-byte characters: 255 bytes, 85 characters.
  std::string euros;
  for (int i = 0; i < 85; ++i) euros += "\xe2\x82\xac";
  EXPECT_TRUE(checkTaskName(euros).isOk());
}

TEST(CheckTaskName, RefusesAnEmptyName) {
  Status s = checkTaskName("");
  EXPECT_EQ(s.code(), "bad_request");
  EXPECT_NE(s.message().find("empty"), std::string::npos) << s.message();
}

TEST(CheckTaskName, RefusesANameOver255BytesAndSaysHowLong) {
  Status s = checkTaskName(std::string(256, 'x'));
  EXPECT_EQ(s.code(), "bad_request");
  EXPECT_NE(s.message().find("256 bytes"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'xxxx"), std::string::npos) << "the message names the name: " << s.message();
  // 255 bytes of characters plus one more 2-byte character: the limit is in bytes.
  std::string euros;
  for (int i = 0; i < 85; ++i) euros += "\xe2\x82\xac";
  EXPECT_FALSE(checkTaskName(euros + "\xc3\xa9").isOk());
}

TEST(CheckTaskName, RefusesInvalidUtf8AndShowsTheBadByte) {
  Status s = checkTaskName("bad\xffname");
  EXPECT_EQ(s.code(), "bad_request");
  EXPECT_NE(s.message().find("UTF-8"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'bad\\xffname'"), std::string::npos) << s.message();
}

TEST(CheckName, NamesWhatItChecks) {
  Status s = checkName("worker name", "");
  EXPECT_EQ(s.message().rfind("worker name", 0), 0u) << s.message();
}

TEST(QuoteName, EscapesControlBytesAndCutsLongNamesOnCharacterBoundaries) {
  EXPECT_EQ(quoteName("tab\there"), "'tab\\x09here'");
  EXPECT_EQ(quoteName("caf\xc3\xa9"), "'caf\xc3\xa9'");
  // 63 ASCII bytes then a 2-byte character that straddles byte 64: kept whole, then the cut.
  std::string name = std::string(63, 'a') + "\xc3\xa9" + std::string(10, 'b');
  EXPECT_EQ(quoteName(name), "'" + std::string(63, 'a') + "\xc3\xa9" + "'...");
  EXPECT_EQ(quoteName(std::string(64, 'a')), "'" + std::string(64, 'a') + "'");
}

}  // namespace
}  // namespace corvee::protocol
