// `custos audit` and `custos export dfxml` through the real binary. The
// DFXML output is checked by the standard's own schema with xmllint
// (tests/data/dfxml/, vendored from dfxml-working-group/dfxml_schema), and a
// deliberately broken document must fail the same check.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/testing.h"
#include "tests/integration/harness.h"

namespace custos::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr char kAbcSha256[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kFoxSha256[] =
    "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592";

std::string Schema() {
  return std::string(CUSTOS_SOURCE_DIR) + "/tests/data/dfxml/dfxml.xsd";
}

class ExportCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.Join("repo");
    src_ = tmp_.Join("usb");
    fs::create_directories(src_ + "/deep/er");
    WriteFile(src_ + "/a.txt", "abc");
    WriteFile(src_ + "/c.txt", "hello");
    WriteFile(src_ + "/d.txt", "to be deleted");
    WriteFile(src_ + "/empty", "");
    WriteFile(src_ + "/deep/er/fox.txt",
              "The quick brown fox jumps over the lazy dog");
    WriteFile(src_ + "/caf\xc3\xa9 & <co>.txt", "non-ascii");
    WriteFile(src_ + "/ctl\x01\xff.bin", "control");
    ASSERT_EQ(::symlink("a.txt", (src_ + "/link").c_str()), 0);
    Ok({"init", repo_, "--origin", "example.org/test", "--authority",
        "Test Authority"});
    Ok({"actor", "add", "A. Examiner", "--role", "examiner"});
    Ok({"case", "open", "C-1", "--title", "T", "--legal-basis", "Art. 1"});
    Ok({"acquire", src_, "--case", "C-1", "--actor", "A. Examiner", "--exhibit",
        "EXH-1", "--md5", "--sha1"});
  }
  RunResult C(std::vector<std::string> args) {
    args.insert(args.begin(), {"--repo", repo_});
    return RunCustos(args);
  }
  RunResult Ok(std::vector<std::string> args) {
    RunResult r = args[0] == "init" ? RunCustos(args) : C(args);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    return r;
  }
  std::map<std::string, std::string> AuditJson(const std::string& path,
                                               int want_exit) {
    RunResult r = C({"audit", path, "--json"});
    EXPECT_EQ(r.exit_code, want_exit) << Describe(r);
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << Describe(r);
    std::map<std::string, std::string> out;
    if (j.is_discarded()) return out;
    for (const auto& e : j["entries"]) out[e["path"]] = e["status"];
    for (const auto& m : j["missing"]) out[m["path"]] = "missing";
    return out;
  }

  TempDir tmp_;
  std::string repo_, src_;
};

TEST_F(ExportCliTest, AuditExitCodesAndClassifications) {
  std::map<std::string, std::string> all_matched = {
      {"a.txt", "matched"},
      {"c.txt", "matched"},
      {"caf\xc3\xa9 & <co>.txt", "matched"},
      {"ctl\\x01\\xff.bin", "matched"},
      {"d.txt", "matched"},
      {"deep/er/fox.txt", "matched"},
      {"empty", "matched"}};
  EXPECT_EQ(AuditJson(src_, 0), all_matched);
  RunResult text = C({"audit", src_});
  EXPECT_EQ(text.exit_code, 0) << Describe(text);
  EXPECT_THAT(text.out, HasSubstr("OK: 7 matched, 0 changed, 0 moved, 0 new"));

  WriteFile(src_ + "/c.txt", "hello, changed");
  fs::remove(src_ + "/d.txt");
  fs::rename(src_ + "/a.txt", src_ + "/deep/a-moved.txt");
  WriteFile(src_ + "/new.txt", "brand new");
  std::map<std::string, std::string> want = {
      {"a.txt", "missing"},
      {"c.txt", "changed"},
      {"caf\xc3\xa9 & <co>.txt", "matched"},
      {"ctl\\x01\\xff.bin", "matched"},
      {"d.txt", "missing"},
      {"deep/a-moved.txt", "moved"},
      {"deep/er/fox.txt", "matched"},
      {"empty", "matched"},
      {"new.txt", "new"}};
  EXPECT_EQ(AuditJson(src_, 1), want);
  text = C({"audit", src_});
  EXPECT_EQ(text.exit_code, 1) << Describe(text);
  EXPECT_THAT(text.out, HasSubstr("moved      deep/a-moved.txt  (recorded as "
                                  "EXH-1:a.txt)"));
  EXPECT_THAT(text.out, HasSubstr("DIFFERENCES: 4 matched, 1 changed, 1 "
                                  "moved, 1 new, 0 unreadable, 2 missing"));

  RunResult missing = C({"audit", tmp_.Join("absent")});
  EXPECT_EQ(missing.exit_code, 3) << Describe(missing);
  // Audit is read-only: the log did not grow.
  RunResult log = C({"log", "--json"});
  json events = json::parse(log.out, nullptr, false);
  ASSERT_TRUE(events.is_array()) << Describe(log);
  EXPECT_EQ(events.size(), 4u);
}

TEST_F(ExportCliTest, DfxmlValidatesAgainstTheSchema) {
  if (!OnPath("xmllint")) GTEST_SKIP() << "xmllint (libxml2-utils) not found";
  ASSERT_TRUE(fs::exists(Schema())) << Schema();
  std::string out = tmp_.Join("out.xml");
  RunResult r = C({"export", "dfxml", "--case", "C-1", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  std::string xml = ReadFile(out);
  // Every file and directory below the root, with its recorded hashes.
  EXPECT_THAT(xml, HasSubstr("<filename>deep/er/fox.txt</filename>"));
  EXPECT_THAT(xml, HasSubstr(std::string("<hashdigest type=\"sha256\">") +
                             kFoxSha256 + "</hashdigest>"));
  EXPECT_THAT(xml, HasSubstr(std::string("<hashdigest type=\"sha256\">") +
                             kAbcSha256 + "</hashdigest>"));
  EXPECT_THAT(
      xml, HasSubstr("<filename>caf\xc3\xa9 &amp; &lt;co&gt;.txt</filename>"));
  EXPECT_THAT(xml, HasSubstr("custos:raw_b64=\"Y3RsAf8uYmlu\">"
                             "ctl\\x01\\xff.bin</filename>"));
  EXPECT_THAT(xml, HasSubstr("<filename>link</filename>"));
  EXPECT_THAT(xml, HasSubstr("<link_target>a.txt</link_target>"));
  EXPECT_THAT(xml, HasSubstr("<filename>deep</filename>"));

  RunResult v = custos::testing::Run(
      "xmllint", {"--noout", "--nonet", "--schema", Schema(), out});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);

  // Negative controls: a size that is not a number, and elements out of the
  // schema's order, must both fail the same check.
  std::string bad = xml;
  bad.replace(bad.find("<filesize>3</filesize>"), 22,
              "<filesize>three</filesize>");
  WriteFile(tmp_.Join("bad1.xml"), bad);
  v = custos::testing::Run("xmllint", {"--noout", "--nonet", "--schema",
                                       Schema(), tmp_.Join("bad1.xml")});
  EXPECT_NE(v.exit_code, 0) << Describe(v);
  bad = xml;
  size_t creator = bad.find("  <creator");
  bad.insert(bad.find("</dfxml>"),
             bad.substr(creator, bad.find("</creator>") + 11 - creator));
  WriteFile(tmp_.Join("bad2.xml"), bad);
  v = custos::testing::Run("xmllint", {"--noout", "--nonet", "--schema",
                                       Schema(), tmp_.Join("bad2.xml")});
  EXPECT_NE(v.exit_code, 0) << Describe(v);

  // One exhibit to stdout is the same document body.
  RunResult one = C({"export", "dfxml", "EXH-1"});
  ASSERT_EQ(one.exit_code, 0) << Describe(one);
  EXPECT_THAT(one.out, HasSubstr("<filename>deep/er/fox.txt</filename>"));
  EXPECT_EQ(C({"export", "dfxml", "EXH-404"}).exit_code, 3);
  EXPECT_EQ(C({"export", "dfxml", "--case", "nope", "-o", out}).exit_code, 3);
  // The failed export left the earlier file intact.
  EXPECT_EQ(ReadFile(out), xml);
}

// Per-file facts of a DFXML document: filename -> "inode=N runs=a:b:c,..."
// (img_offset:fs_offset:len of each byte_run). Attribute quotes may be ' or ".
std::map<std::string, std::string> FileFacts(const std::string& xml) {
  std::map<std::string, std::string> out;
  static const std::regex kName("<filename[^>]*>([^<]*)</filename>");
  static const std::regex kInode("<inode>([0-9]+)</inode>");
  static const std::regex kRun("<byte_run ([^>]*)/?>");
  static const std::regex kAttr("([a-z_]+)=['\"]([0-9]+)['\"]");
  size_t pos = 0;
  while ((pos = xml.find("<fileobject", pos)) != std::string::npos) {
    size_t end = xml.find("</fileobject>", pos);
    if (end == std::string::npos) break;
    std::string obj = xml.substr(pos, end - pos);
    pos = end;
    // fiwalk nests the parent directory's inode in <parent_object>.
    size_t po = obj.find("<parent_object>");
    if (po != std::string::npos)
      obj.erase(po, obj.find("</parent_object>", po) + 16 - po);
    std::smatch m;
    if (!std::regex_search(obj, m, kName)) continue;
    std::string name = m[1];
    std::string facts;
    if (std::regex_search(obj, m, kInode)) facts = "inode=" + m[1].str();
    facts += " runs=";
    for (auto it = std::sregex_iterator(obj.begin(), obj.end(), kRun);
         it != std::sregex_iterator(); ++it) {
      std::map<std::string, std::string> a;
      std::string attrs = (*it)[1];
      for (auto at = std::sregex_iterator(attrs.begin(), attrs.end(), kAttr);
           at != std::sregex_iterator(); ++at)
        a[(*at)[1]] = (*at)[2];
      facts += a["img_offset"] + ":" + a["fs_offset"] + ":" + a["len"] + ",";
    }
    out[name] = facts;
  }
  return out;
}

// A FAT image built at test time (mkfs.vfat + mtools), acquired and
// extracted: the DFXML export validates, and its inodes and byte runs agree
// with fiwalk's DFXML of the same image (Sleuth Kit's own DFXML writer).
TEST_F(ExportCliTest, DfxmlOfExtractedImageAgreesWithFiwalk) {
  for (const char* tool :
       {"xmllint", "mkfs.vfat", "mcopy", "mmd", "mdel", "fiwalk"})
    if (!OnPath(tool)) GTEST_SKIP() << tool << " not found";
  std::string img = tmp_.Join("fat.img");
  auto sh = [&](std::vector<std::string> args) {
    std::string prog = args[0];
    args.erase(args.begin());
    RunResult r = custos::testing::Run(prog, args);
    EXPECT_EQ(r.exit_code, 0) << prog << ": " << Describe(r);
  };
  WriteFile(tmp_.Join("a.txt"), "abc");
  WriteFile(tmp_.Join("gone.txt"), "deleted content");
  WriteFile(tmp_.Join("fox.txt"), std::string(5000, 'f'));
  sh({"truncate", "-s", "8M", img});
  sh({"mkfs.vfat", "-n", "EXPORTTEST", img});
  sh({"mcopy", "-i", img, tmp_.Join("a.txt"), "::/a.txt"});
  sh({"mmd", "-i", img, "::/DIR"});
  sh({"mcopy", "-i", img, tmp_.Join("fox.txt"), "::/DIR/fox.txt"});
  sh({"mcopy", "-i", img, tmp_.Join("gone.txt"), "::/DIR/gone.txt"});
  sh({"mdel", "-i", img, "::/DIR/gone.txt"});
  Ok({"acquire", img, "--case", "C-1", "--actor", "A. Examiner", "--exhibit",
      "IMG-1"});
  RunResult x = C({"extract", "IMG-1", "--actor", "A. Examiner"});
  if (x.exit_code == 2 && x.err.find("extract") != std::string::npos)
    GTEST_SKIP() << "this custos has no extract command: " << Describe(x);
  ASSERT_EQ(x.exit_code, 0) << Describe(x);
  std::string out = tmp_.Join("img.xml");
  RunResult r = C({"export", "dfxml", "IMG-1", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  RunResult v = custos::testing::Run(
      "xmllint", {"--noout", "--nonet", "--schema", Schema(), out});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
  std::string fw = tmp_.Join("fiwalk.xml");
  RunResult f = custos::testing::Run("fiwalk", {"-X", fw, img});
  ASSERT_EQ(f.exit_code, 0) << Describe(f);
  auto ours = FileFacts(ReadFile(out));
  auto theirs = FileFacts(ReadFile(fw));
  // The deleted file's first letter is gone from FAT: both show "_one.txt".
  for (const char* name : {"a.txt", "DIR/fox.txt", "DIR/_one.txt"}) {
    ASSERT_TRUE(ours.count(name)) << name << " not in our DFXML";
    ASSERT_TRUE(theirs.count(name)) << name << " not in fiwalk's DFXML";
    EXPECT_EQ(ours[name], theirs[name]) << name;
    EXPECT_THAT(ours[name], HasSubstr("runs=")) << name;
    EXPECT_NE(ours[name].find(':'), std::string::npos) << name;
  }
  std::string xml = ReadFile(out);
  EXPECT_THAT(xml, HasSubstr("<ftype_str>fat12</ftype_str>"));
  EXPECT_THAT(xml, HasSubstr("<unalloc>1</unalloc>"));
}

}  // namespace
}  // namespace custos::testing
