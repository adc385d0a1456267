#include "src/lists/list_format.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/bytes.h"

namespace custos::lists {
namespace {

constexpr char kPdqA[] =
    "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
constexpr char kPdqB[] =
    "e4cc89d91c623842f8d1f1d9a398e78c9f199a3bf87925f2b7e11e0bf061b064";

absl::StatusOr<std::vector<ListEntry>> Parse(const std::string& text,
                                             ParseOptions o,
                                             ParseStats* stats = nullptr) {
  std::istringstream in(text);
  std::vector<ListEntry> out;
  auto st = ParseList(in, o, [&](const ListEntry& e) {
    out.push_back(e);
    return absl::OkStatus();
  });
  if (!st.ok()) return st.status();
  if (stats) *stats = *st;
  return out;
}

TEST(ListFormatTest, ThreatExchangeDatasetCsv) {
  ParseStats stats;
  auto got = Parse(absl::StrCat("signal_type,signal_str,collab,category,tags\n",
                                "pdq,", kPdqA, ",NCMEC,A1,tagged victim\n",
                                "url,https://example.org/x,NCMEC,A1,\n",
                                "video_md5,900150983CD24FB0D6963F7D28E17F72,"
                                "\"Collab, Inc\",B2,\n"),
                   {ListFormat::kTeDataset, std::nullopt}, &stats);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].kind, HashKind::kPdq);
  EXPECT_EQ(HexEncode((*got)[0].hash), kPdqA);
  EXPECT_EQ((*got)[0].category, "A1:tagged,victim");
  EXPECT_EQ((*got)[0].source, "NCMEC");
  EXPECT_EQ((*got)[1].kind, HashKind::kMd5);
  EXPECT_EQ(HexEncode((*got)[1].hash), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ((*got)[1].source, "Collab, Inc");
  EXPECT_EQ(stats.skipped, 1u);
  EXPECT_EQ(stats.entries, 2u);
}

TEST(ListFormatTest, ThreatExchangeStateFile) {
  auto got = Parse(absl::StrCat(kPdqA, ",12345,2024-01-02,csam a1\n", kPdqB,
                                ",678,2024-02-03,\n"),
                   {ListFormat::kTeState, std::nullopt});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].source, "12345");
  EXPECT_EQ((*got)[0].added, "2024-01-02");
  EXPECT_EQ((*got)[0].category, "csam,a1");
  EXPECT_EQ(HexEncode((*got)[1].hash), kPdqB);
}

TEST(ListFormatTest, PlainListsNeedAKindForAmbiguousLengths) {
  std::string text = absl::StrCat("# comment\n\n", kPdqA, ",87\n",
                                  "a9993e364706816aba3e25717850c26c9cd0d89d\n");
  auto bad = Parse(text, {ListFormat::kPlain, std::nullopt});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("line 3"));
  auto got = Parse(text, {ListFormat::kPlain, HashKind::kPdq});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].quality, 87);
  EXPECT_EQ((*got)[1].kind, HashKind::kSha1);
}

TEST(ListFormatTest, CustosCsvRoundTrips) {
  std::vector<ListEntry> in(3);
  in[0] = {HashKind::kPdq, *HexDecode(kPdqA), 93, "A1", "NCMEC", 90,
           "2024-01-02"};
  in[1] = {HashKind::kSha256,
           std::string(32, '\x11'),
           -1,
           "cat, with \"quotes\"",
           "",
           -1,
           ""};
  // Blanks at a field's edge survive (found by image_list_fuzz).
  in[2] = {HashKind::kSha1, std::string(20, '\xee'), -1, " x", "src", 5,
           "2064-01-1 "};
  std::string text = CustosCsvHeader();
  for (const auto& e : in) text += CustosCsvLine(e);
  auto got = Parse(text, {ListFormat::kCustos, std::nullopt});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*got)[i].kind, in[i].kind);
    EXPECT_EQ((*got)[i].hash, in[i].hash);
    EXPECT_EQ((*got)[i].quality, in[i].quality);
    EXPECT_EQ((*got)[i].category, in[i].category);
    EXPECT_EQ((*got)[i].source, in[i].source);
    EXPECT_EQ((*got)[i].confidence, in[i].confidence);
    EXPECT_EQ((*got)[i].added, in[i].added);
  }
}

TEST(ListFormatTest, MalformedLinesNameTheLine) {
  struct Case {
    ListFormat f;
    std::string text;
    std::string want;
  } cases[] = {
      {ListFormat::kTeState, "zz,1,2,3\n", "line 1"},
      {ListFormat::kTeState, absl::StrCat(kPdqA, ",1,2\n"), "expected 4"},
      {ListFormat::kTeDataset, "a,b\n", "header"},
      {ListFormat::kTeDataset,
       absl::StrCat("signal_type,signal_str,collab,category,tags\npdq,", kPdqA,
                    ",\"x,1,2\n"),
       "line 2: unterminated"},
      {ListFormat::kCustos, "kind,hash\n", "header"},
      {ListFormat::kCustos,
       absl::StrCat(CustosCsvHeader(), "md5,", kPdqA, ",,,,,\n"),
       "is not a md5 hash"},
      {ListFormat::kCustos,
       absl::StrCat(CustosCsvHeader(), "pdq,", kPdqA, ",101,,,,\n"), "quality"},
      {ListFormat::kPlain, "123\n", "not a 32, 40 or 64"},
      {ListFormat::kPlain, std::string("ab\0cd\n", 6), "NUL"},
      {ListFormat::kCustos, "", "empty list"},
  };
  for (const auto& c : cases) {
    auto got = Parse(c.text, {c.f, HashKind::kSha256});
    EXPECT_FALSE(got.ok()) << c.text;
    EXPECT_THAT(got.status().message(), ::testing::HasSubstr(c.want)) << c.text;
  }
}

TEST(ListFormatTest, SplitCsvLine) {
  auto f = SplitCsvLine("a,\"b,c\",\"d\"\"e\",");
  ASSERT_TRUE(f.ok());
  EXPECT_THAT(*f, ::testing::ElementsAre("a", "b,c", "d\"e", ""));
  EXPECT_FALSE(SplitCsvLine("\"a\"b").ok());
  EXPECT_FALSE(SplitCsvLine("a\"b").ok());
}

}  // namespace
}  // namespace custos::lists
