#include "src/hashset/parsers.h"

#include <sqlite3.h>

#include <fstream>
#include <sstream>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "src/base/bytes.h"
#include "src/hashset/exporters.h"
#include "testing/testing.h"

namespace custos::hashset {
namespace {

// Hashes of the empty string and of "abc", known independently (RFC 1321,
// FIPS 180 test vectors).
constexpr char kMd5Empty[] = "d41d8cd98f00b204e9800998ecf8427e";
constexpr char kSha1Empty[] = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
constexpr char kSha256Empty[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kMd5Abc[] = "900150983cd24fb0d6963f7d28e17f72";
constexpr char kSha1Abc[] = "a9993e364706816aba3e25717850c26c9cd0d89d";
constexpr char kSha256Abc[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

struct Got {
  Algorithm algo;
  std::string hex, tag;
  bool operator==(const Got& o) const {
    return algo == o.algo && hex == o.hex && tag == o.tag;
  }
};
std::ostream& operator<<(std::ostream& os, const Got& g) {
  return os << AlgorithmName(g.algo) << ":" << g.hex << ":" << g.tag;
}

class Collect : public EntrySink {
 public:
  absl::Status Add(Algorithm algo, std::string_view digest,
                   std::string_view tag) override {
    got.push_back({algo, HexEncode(digest), std::string(tag)});
    return absl::OkStatus();
  }
  std::vector<Got> got;
};

template <typename Fn>
absl::Status Parse(Fn fn, std::string_view text, Collect* c,
                   ParseStats* stats) {
  StringSource src(text);
  return fn(src, "in.txt", *c, stats);
}

TEST(PlainParser, ReadsAllThreeLengthsCommentsAndMd5sumStyle) {
  Collect c;
  ParseStats st;
  std::string text =
      absl::StrCat("# lab list\n\n", kMd5Empty, "\n", "  ", kSha1Abc, "\r\n",
                   "B", std::string(kSha256Abc).substr(1), "  *abc.txt\n");
  ASSERT_TRUE(Parse(ParsePlain, text, &c, &st).ok());
  std::vector<Got> want = {{Algorithm::kMd5, kMd5Empty, ""},
                           {Algorithm::kSha1, kSha1Abc, ""},
                           {Algorithm::kSha256, kSha256Abc, ""}};
  EXPECT_EQ(c.got, want);
  EXPECT_EQ(st.records, 3u);
  EXPECT_EQ(st.entries, 3u);
}

TEST(PlainParser, RejectsWrongLengthAndNonHexNamingTheLine) {
  Collect c;
  ParseStats st;
  absl::Status s =
      Parse(ParsePlain, absl::StrCat(kMd5Abc, "\nabc123\n"), &c, &st);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("in.txt:2:"), std::string::npos) << s;
  std::string bad(kMd5Abc);
  bad[5] = 'g';
  s = Parse(ParsePlain, bad, &c, &st);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("in.txt:1:"), std::string::npos) << s;
  EXPECT_NE(s.message().find("not hexadecimal"), std::string::npos) << s;
}

TEST(HashdeepParser, ReadsColumnsCommentsAndCommasInNames) {
  Collect c;
  ParseStats st;
  std::string text = absl::StrCat(
      "%%%% HASHDEEP-1.0\n"
      "%%%% size,md5,sha256,filename\n"
      "## Invoked from: /home/x\n"
      "## $ hashdeep -r dir\n"
      "##\n",
      "0,", kMd5Empty, ",", kSha256Empty, ",/dir/empty, with comma.txt\n", "3,",
      kMd5Abc, ",,/dir/abc.txt\n");
  ASSERT_TRUE(Parse(ParseHashdeep, text, &c, &st).ok());
  std::vector<Got> want = {{Algorithm::kMd5, kMd5Empty, ""},
                           {Algorithm::kSha256, kSha256Empty, ""},
                           {Algorithm::kMd5, kMd5Abc, ""}};
  EXPECT_EQ(c.got, want);
  EXPECT_EQ(st.records, 2u);
}

TEST(HashdeepParser, MalformedInputs) {
  struct Case {
    std::string text;
    std::string where;
  };
  std::vector<Case> cases = {
      {"hello\n", "in.txt:1:"},
      {"%%%% HASHDEEP-1.0\n1,abc,x\n", "in.txt:2:"},
      {"%%%% HASHDEEP-1.0\n%%%% size,crc,filename\n", "in.txt:2:"},
      {"%%%% HASHDEEP-1.0\n%%%% size,md5,filename\nx,00,a\n", "in.txt:3:"},
      {absl::StrCat("%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n1,", kSha1Abc,
                    ",a\n"),
       "in.txt:3:"},
      {"%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n1,a\n", "in.txt:3:"},
  };
  for (const auto& k : cases) {
    Collect c;
    ParseStats st;
    absl::Status s = Parse(ParseHashdeep, k.text, &c, &st);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << k.text;
    EXPECT_NE(s.message().find(k.where), std::string::npos)
        << s << " for " << k.text;
  }
}

TEST(Rds2Parser, ReadsQuotedCsvByHeaderNames) {
  Collect c;
  ParseStats st;
  std::string text = absl::StrCat(
      "\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\","
      "\"OpSystemCode\",\"SpecialCode\"\r\n",
      "\"", absl::AsciiStrToUpper(kSha1Abc), "\",\"",
      absl::AsciiStrToUpper(kMd5Abc),
      "\",\"352441C2\",\"a,\"\"b\"\".txt\",3,1,\"WIN\",\"\"\r\n", "\"",
      kSha1Empty, "\",\"\",\"00000000\",\"e\",0,2,\"358\",\"\"\r\n");
  ASSERT_TRUE(Parse(ParseRds2, text, &c, &st).ok());
  std::vector<Got> want = {{Algorithm::kSha1, kSha1Abc, ""},
                           {Algorithm::kMd5, kMd5Abc, ""},
                           {Algorithm::kSha1, kSha1Empty, ""}};
  EXPECT_EQ(c.got, want);
  EXPECT_EQ(st.records, 2u);
}

TEST(Rds2Parser, MalformedInputs) {
  std::string header =
      "\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\","
      "\"OpSystemCode\",\"SpecialCode\"\n";
  std::vector<std::pair<std::string, std::string>> cases = {
      {"\"A\",\"B\"\n", "in.txt:1:"},
      {header + "\"" + kSha1Abc + "\",\"" + kMd5Abc +
           "\",\"1\",\"unterminated\n",
       "in.txt:2:"},
      {header + "\"" + kSha1Abc + "\",\"" + kMd5Abc + "\"\n", "in.txt:2:"},
      {header + "\"" + kMd5Abc + "\",\"" + kMd5Abc +
           "\",\"1\",\"n\",1,1,\"1\",\"\"\n",
       "in.txt:2:"},
      {"", "in.txt:1:"},
  };
  for (const auto& [text, where] : cases) {
    Collect c;
    ParseStats st;
    absl::Status s = Parse(ParseRds2, text, &c, &st);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.message().find(where), std::string::npos) << s;
  }
}

TEST(VicsParser, ReadsV2MediaWithCategoriesAndFlags) {
  Collect c;
  ParseStats st;
  std::string text = absl::StrCat(
      R"({"@odata.context":"http://github.jparrowsec.cn/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Media",
         "value":[{"MediaID":1,"Category":1,"MD5":")",
      absl::AsciiStrToUpper(kMd5Abc), R"(","SHA1":")", kSha1Abc,
      R"(","IsDistributed":true,"IsPrecategorized":true,"VictimIdentified":false,
         "MediaFiles":[{"FileName":"x.jpg","MD5":"not-used"}]},
        {"MediaID":2,"Category":"0","SHA256":")",
      kSha256Empty, R"("},
        {"MediaID":3,"Category":2}]})");
  ASSERT_TRUE(Parse(ParseVics, text, &c, &st).ok())
      << Parse(ParseVics, text, &c, &st);
  c.got.clear();
  st = ParseStats();
  ASSERT_TRUE(Parse(ParseVics, text, &c, &st).ok());
  std::vector<Got> want = {
      {Algorithm::kMd5, kMd5Abc, "1;IsDistributed,IsPrecategorized"},
      {Algorithm::kSha1, kSha1Abc, "1;IsDistributed,IsPrecategorized"},
      {Algorithm::kSha256, kSha256Empty, "0"}};
  EXPECT_EQ(c.got, want);
  EXPECT_EQ(st.records, 3u);
  EXPECT_EQ(st.skipped, 1u);
}

TEST(VicsParser, ReadsV13CasesHoldingMedia) {
  Collect c;
  ParseStats st;
  std::string text = absl::StrCat(
      R"({"odata.metadata":"http://github.jparrowsec.cn/ICMEC/ProjectVic/DataModels/1.3.xml/$metadata#Cases",
         "value":[{"CaseNumber":"A-1","Media":[{"MediaID":7,"Category":2,"SHA1":")",
      kSha1Empty, R"("}]}]})");
  ASSERT_TRUE(Parse(ParseVics, text, &c, &st).ok());
  std::vector<Got> want = {{Algorithm::kSha1, kSha1Empty, "2"}};
  EXPECT_EQ(c.got, want);
}

TEST(VicsParser, MalformedInputs) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"@odata.context":"x","value":[{"MD5":"abc"}]})",
       "media #1: MD5 \"abc\""},
      {R"({"@odata.context":"x","value":[{"Category":"x"}]})",
       "Category is not a whole number"},
      {R"({"@odata.context":"x","value":[)", "malformed JSON"},
      {R"({"value":[]})", "no \"odata.metadata\""},
      {R"({"@odata.context":"x"})", "no \"value\" array"},
      {R"([1,2])", "top level is not an object"},
      {R"({"@odata.context":"x","value":[{"MD5":5}]})", "MD5 is not a string"},
  };
  for (const auto& [text, what] : cases) {
    Collect c;
    ParseStats st;
    absl::Status s = Parse(ParseVics, text, &c, &st);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.message().find(what), std::string::npos) << s;
    EXPECT_NE(s.message().find("in.txt"), std::string::npos) << s;
  }
}

// Builds a small RDSv3-shaped database with the sqlite3 C API.
void MakeRds3(const std::string& path, const std::vector<std::string>& rows) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string sql =
      "CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, "
      "md5 VARCHAR NOT NULL, crc32 VARCHAR, file_name VARCHAR NOT NULL, "
      "file_size INTEGER NOT NULL, package_id INTEGER NOT NULL);"
      "CREATE TABLE VERSION (version VARCHAR UNIQUE NOT NULL, build_set "
      "VARCHAR, build_date TIMESTAMP, release_date TIMESTAMP, description "
      "VARCHAR);"
      "INSERT INTO VERSION VALUES ('2024.03.1','modern','2024-03-01',"
      "'2024-03-01','test');";
  for (const auto& r : rows) sql += r;
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
      << (err ? err : "");
  sqlite3_close(db);
}

TEST(Rds3Importer, StreamsFileTableAndReadsVersion) {
  testing::TempDir tmp;
  std::string path = tmp.Join("rds.db");
  MakeRds3(path,
           {absl::StrCat(
                "INSERT INTO FILE VALUES ('", absl::AsciiStrToUpper(kSha256Abc),
                "','", absl::AsciiStrToUpper(kSha1Abc), "','",
                absl::AsciiStrToUpper(kMd5Abc), "',NULL,'abc.txt',3,1);"),
            absl::StrCat("INSERT INTO FILE VALUES ('", kSha256Empty, "','",
                         kSha1Empty, "','',NULL,'e',0,2);")});
  Collect c;
  ParseStats st;
  ASSERT_TRUE(ImportRds3(path, c, &st).ok());
  std::vector<Got> want = {{Algorithm::kSha256, kSha256Abc, ""},
                           {Algorithm::kSha1, kSha1Abc, ""},
                           {Algorithm::kMd5, kMd5Abc, ""},
                           {Algorithm::kSha256, kSha256Empty, ""},
                           {Algorithm::kSha1, kSha1Empty, ""}};
  EXPECT_EQ(c.got, want);
  EXPECT_EQ(st.records, 2u);
  EXPECT_EQ(st.version, "2024.03.1");
  auto f = DetectFormat(path);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, Format::kNsrlRds3);
}

TEST(Rds3Importer, MalformedDatabases) {
  testing::TempDir tmp;
  // A bad hash in row 2.
  std::string path = tmp.Join("bad.db");
  MakeRds3(path, {absl::StrCat("INSERT INTO FILE VALUES ('", kSha256Abc, "','",
                               kSha1Abc, "','", kMd5Abc, "',NULL,'a',3,1);"),
                  absl::StrCat("INSERT INTO FILE VALUES ('zz','", kSha1Abc,
                               "','", kMd5Abc, "',NULL,'a',3,1);")});
  Collect c;
  ParseStats st;
  absl::Status s = ImportRds3(path, c, &st);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("row 2"), std::string::npos) << s;
  // Not a database at all.
  std::string junk = tmp.Join("junk.db");
  std::ofstream(junk) << "SQLite format 3" << std::string(1, '\0')
                      << std::string(200, 'x');
  s = ImportRds3(junk, c, &st);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  // A database without the NSRL tables.
  std::string other = tmp.Join("other.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  s = ImportRds3(other, c, &st);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("not an NSRL RDSv3 database"), std::string::npos);
  EXPECT_EQ(ImportRds3(tmp.Join("absent.db"), c, &st).code(),
            absl::StatusCode::kNotFound);
}

TEST(DetectFormat, SniffsEachFormat) {
  testing::TempDir tmp;
  std::vector<std::pair<std::string, Format>> cases = {
      {"%%%% HASHDEEP-1.0\n", Format::kHashdeep},
      {"  {\"value\":[]}", Format::kVics},
      {"\"SHA-1\",\"MD5\"\n", Format::kRds2},
      {absl::StrCat(kMd5Abc, "\n"), Format::kPlain},
  };
  int i = 0;
  for (const auto& [text, want] : cases) {
    std::string p = tmp.Join(std::to_string(i++));
    std::ofstream(p) << text;
    auto f = DetectFormat(p);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(*f, want) << text;
  }
}

TEST(Exporters, HashdeepAndVicsOutputParseBack) {
  RecordGenerator gen =
      [](const std::function<absl::Status(const ExportRecord&)>& emit) {
        ExportRecord r;
        r.size = 3;
        r.md5 = *HexDecode(kMd5Abc);
        r.sha256 = *HexDecode(kSha256Abc);
        r.name = "dir/a,b.txt";
        r.category = "2";
        r.flags = {"IsDistributed"};
        return emit(r);
      };
  std::ostringstream hd;
  ASSERT_TRUE(WriteHashdeep(gen, {"test"}, hd).ok());
  EXPECT_EQ(hd.str(),
            absl::StrCat("%%%% HASHDEEP-1.0\n"
                         "%%%% size,md5,sha1,sha256,filename\n"
                         "## test\n##\n3,",
                         kMd5Abc, ",,", kSha256Abc, ",dir/a,b.txt\n"));
  Collect c;
  ParseStats st;
  ASSERT_TRUE(Parse(ParseHashdeep, hd.str(), &c, &st).ok());
  EXPECT_EQ(c.got.size(), 2u);
  std::ostringstream vj;
  ASSERT_TRUE(WriteVics(gen, vj).ok());
  Collect v;
  ASSERT_TRUE(Parse(ParseVics, vj.str(), &v, &st).ok()) << vj.str();
  std::vector<Got> want = {{Algorithm::kMd5, kMd5Abc, "2;IsDistributed"},
                           {Algorithm::kSha256, kSha256Abc, "2;IsDistributed"}};
  EXPECT_EQ(v.got, want);
}

}  // namespace
}  // namespace custos::hashset
