#include "src/repo/canonical_json.h"

#include "gtest/gtest.h"

namespace custos::repo {
namespace {

using nlohmann::json;

TEST(CanonicalJson, SortsKeysAndUsesNoWhitespace) {
  json j = {
      {"b", 1}, {"a", "x"}, {"c", {{"z", true}, {"y", json::array({2, 1})}}}};
  EXPECT_EQ(*CanonicalJson(j), R"({"a":"x","b":1,"c":{"y":[2,1],"z":true}})");
}

TEST(CanonicalJson, EscapesMinimally) {
  json j = std::string("q\"b\\n\n\t\x01\x7f/\xc3\xa9");
  EXPECT_EQ(*CanonicalJson(j), "\"q\\\"b\\\\n\\n\\t\\u0001\x7f/\xc3\xa9\"");
}

TEST(CanonicalJson, RejectsNonCanonicalValues) {
  EXPECT_FALSE(CanonicalJson(json(1.5)).ok());
  EXPECT_FALSE(CanonicalJson(json(-1)).ok());
  EXPECT_FALSE(CanonicalJson(json(nullptr)).ok());
  EXPECT_FALSE(CanonicalJson(json(uint64_t{1} << 53)).ok());
  EXPECT_TRUE(CanonicalJson(json((uint64_t{1} << 53) - 1)).ok());
  EXPECT_FALSE(CanonicalJson(json(std::string("\xff"))).ok());
}

TEST(CanonicalJson, ParseRequiresExactlyCanonicalText) {
  EXPECT_TRUE(ParseCanonicalJson(R"({"a":1,"b":[true]})").ok());
  for (const char* bad :
       {R"({"b":1,"a":2})", R"({"a": 1})", R"({"a":1,"a":1})", R"({"a":1.0})",
        R"({"a":01})", R"({"a":"\u0041"})", R"({"a":"\/"})", "{\"a\":1}\n",
        R"({"a":null})", "not json", ""}) {
    EXPECT_FALSE(ParseCanonicalJson(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace custos::repo
