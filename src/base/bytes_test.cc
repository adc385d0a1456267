#include "src/base/bytes.h"

#include <set>

#include "gtest/gtest.h"

namespace custos {
namespace {

TEST(Hex, RoundTripsAndIsStrict) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(*HexDecode("00ff10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(HexDecode("0").has_value());
  EXPECT_FALSE(HexDecode("FF").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

TEST(Base64, StandardAlphabetWithPadding) {
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(*Base64Decode("+/8="), "\xfb\xff");
  EXPECT_EQ(*Base64Decode(""), "");
}

TEST(Base64, RejectsNonCanonicalAndOtherAlphabets) {
  EXPECT_FALSE(Base64Decode("-_8=").has_value());  // URL-safe
  EXPECT_FALSE(Base64Decode("+/8").has_value());   // missing padding
  EXPECT_FALSE(Base64Decode("+/9=").has_value());  // non-zero trailing bits
  EXPECT_FALSE(Base64Decode("+/8=\n").has_value());
  EXPECT_FALSE(Base64Decode("+/ 8=").has_value());
}

TEST(EscapeBytes, KeepsReadableTextAndEscapesTheRest) {
  EXPECT_EQ(EscapeBytes("plain.txt"), "plain.txt");
  EXPECT_EQ(EscapeBytes("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(EscapeBytes("a\nb"), "a\\nb");
  EXPECT_EQ(EscapeBytes("a\\nb"), "a\\\\nb");
  EXPECT_EQ(EscapeBytes("n\xe4me"), "n\\xe4me");
  EXPECT_EQ(EscapeBytes(std::string("\x00\x7f", 2)), "\\x00\\x7f");
  EXPECT_EQ(EscapeBytes("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

TEST(EscapeBytes, IsInjectiveOnShortStrings) {
  // Every string of up to 2 bytes over an alphabet of tricky bytes maps to a
  // distinct display form.
  const std::string alphabet =
      std::string("\\nx\n\xc3\xa9\xff", 7) + std::string(1, '\0');
  std::set<std::string> inputs, outputs;
  for (char a : alphabet)
    for (char b : alphabet) {
      for (const std::string& s : {std::string(1, a), std::string{a, b}}) {
        if (inputs.insert(s).second) outputs.insert(EscapeBytes(s));
      }
    }
  EXPECT_EQ(inputs.size(), outputs.size());
}

TEST(Utf8, Validates) {
  EXPECT_TRUE(IsValidUtf8("h\xc3\xa9llo \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
}

}  // namespace
}  // namespace custos
