#include "src/export/util.h"

#include "gtest/gtest.h"
#include "src/base/bytes.h"

namespace custos::export_ {
namespace {

// Expected values from Python's uuid.uuid5(uuid.NAMESPACE_URL, name), an
// independent implementation of RFC 4122 section 4.3.
TEST(Uuid5Url, MatchesIndependentImplementation) {
  EXPECT_EQ(Uuid5Url("http://python.org/"),
            "4c565f0d-3f5a-5890-b41b-20cf47701c5e");
  EXPECT_EQ(Uuid5Url("custos:example.org/test:action:12"),
            "08a26fbf-d7df-5fb4-acd3-c4f57434fb49");
}

TEST(XmlText, AcceptsOnlyXmlChars) {
  EXPECT_TRUE(IsXmlText("plain name.txt"));
  EXPECT_TRUE(IsXmlText("caf\xc3\xa9 \xe2\x82\xac\ttab\nline\rcr"));
  EXPECT_FALSE(IsXmlText(std::string("nul\0x", 5)));
  EXPECT_FALSE(IsXmlText("bell\x07"));
  EXPECT_FALSE(IsXmlText("bad\xff utf8"));
  EXPECT_FALSE(IsXmlText("nonchar\xef\xbf\xbe"));
  EXPECT_FALSE(IsXmlText("nonchar\xef\xbf\xbf"));
  EXPECT_TRUE(IsXmlText("\xef\xbf\xbd"));  // U+FFFD is allowed
}

TEST(XmlText, EscapesMarkupAndWhitespace) {
  EXPECT_EQ(XmlEscape("a&b<c>d\"e\tf\ng\rh'"),
            "a&amp;b&lt;c&gt;d&quot;e&#9;f&#10;g&#13;h'");
}

TEST(XmlText, NamesThatAreNotXmlKeepTheirBytes) {
  XmlName ok = XmlNameOf("r\xc3\xa9sum\xc3\xa9 & co.txt");
  EXPECT_EQ(ok.text, "r\xc3\xa9sum\xc3\xa9 &amp; co.txt");
  EXPECT_EQ(ok.raw_b64, "");

  std::string raw("a\x01z\xff", 4);
  XmlName bad = XmlNameOf(raw);
  EXPECT_TRUE(IsXmlText(bad.text));
  EXPECT_EQ(bad.text, "a\\x01z\\xff");
  EXPECT_EQ(Base64Decode(bad.raw_b64), raw);

  XmlName nc = XmlNameOf("x\xef\xbf\xbf");
  EXPECT_TRUE(IsXmlText(nc.text));
  EXPECT_EQ(nc.text, "x\\xef\\xbf\\xbf");
  EXPECT_EQ(Base64Decode(nc.raw_b64), "x\xef\xbf\xbf");
}

TEST(BaseName, LastComponent) {
  EXPECT_EQ(BaseName("a/b/c.txt"), "c.txt");
  EXPECT_EQ(BaseName("c.txt"), "c.txt");
  EXPECT_EQ(BaseName("/media/usb/"), "usb");
  EXPECT_EQ(BaseName("/"), "/");
}

}  // namespace
}  // namespace custos::export_
