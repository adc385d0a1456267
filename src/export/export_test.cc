// Exports and audit against a real repository built in a temp directory,
// with exact expected classifications, names and hashes.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/bytes.h"
#include "src/export/audit.h"
#include "src/export/case_uco.h"
#include "src/export/dfxml.h"
#include "testing/testing.h"

namespace custos::export_ {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr char kAbcSha256[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kAbcMd5[] = "900150983cd24fb0d6963f7d28e17f72";
constexpr char kEmptySha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void Write(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

CaseExportOptions CaseOpts(const std::string& id) {
  CaseExportOptions o;
  o.case_id = id;
  return o;
}

class ExportTest : public ::testing::Test {
 protected:
  ExportTest() : clock_(absl::FromUnixSeconds(1767225600)), random_(7) {
    env_.clock = &clock_;
    env_.random = &random_;
    env_.place = "lab";
    src_ = tmp_.Join("usb");
    Write(src_ + "/a.txt", "abc");
    Write(src_ + "/c.txt", "hello");
    Write(src_ + "/d.txt", "to be deleted");
    Write(src_ + "/empty.txt", "");
    Write(src_ + "/sub/b.txt", "The quick brown fox jumps over the lazy dog");
    Write(src_ + "/odd\x01name\xff.txt", "odd");
    auto r = repo::Repository::Init(
        tmp_.Join("repo"), {"example.org/test", "Test Authority"}, env_);
    EXPECT_TRUE(r.ok()) << r.status();
    repo_ = std::move(*r);
    EXPECT_TRUE(repo_->AddActor("A. Examiner", "examiner").ok());
    EXPECT_TRUE(repo_->AddActor("C. Custodian", "custodian").ok());
    EXPECT_TRUE(
        repo_->OpenCase({"C-1", "Title <&>", "Art. 1", {"0501"}, 0}, "").ok());
    repo::AcquireRequest req;
    req.case_id = "C-1";
    req.actor = "A. Examiner";
    req.exhibits = {"EXH-1"};
    req.digests = crypto::kSha256 | crypto::kMd5 | crypto::kSha1;
    auto got = repo_->Acquire({src_}, req);
    EXPECT_TRUE(got.ok()) << got.status();
    if (got.ok()) dir_item_ = (*got)[0].item;
  }

  std::map<std::string, std::string> Classes(const AuditReport& rep) {
    std::map<std::string, std::string> out;
    for (const auto& e : rep.entries) out[e.path] = AuditStatusName(e.status);
    for (const auto& m : rep.missing) out[m.rel_path] = "missing";
    return out;
  }

  testing::TempDir tmp_;
  testing::SimulatedClock clock_;
  testing::SeededRandom random_;
  repo::RepoEnv env_;
  std::string src_;
  std::unique_ptr<repo::Repository> repo_;
  repo::ItemRecord dir_item_;
};

TEST_F(ExportTest, AuditOfUnchangedDirectoryMatchesEverything) {
  AuditOptions o;
  o.path = src_;
  auto rep = Audit(*repo_, o);
  ASSERT_TRUE(rep.ok()) << rep.status();
  ASSERT_TRUE(rep->reference.has_value());
  EXPECT_EQ(rep->reference->id, dir_item_.id);
  EXPECT_TRUE(rep->ok());
  EXPECT_EQ(rep->matched, 6u);
  EXPECT_EQ(rep->entries.size(), 6u);
  EXPECT_TRUE(rep->missing.empty());
  // The same directory named with a trailing slash finds the same reference.
  o.path = src_ + "/";
  auto slash = Audit(*repo_, o);
  ASSERT_TRUE(slash.ok()) << slash.status();
  ASSERT_TRUE(slash->reference.has_value());
  EXPECT_EQ(slash->reference->id, dir_item_.id);
  EXPECT_EQ(slash->matched, 6u);
  std::map<std::string, std::string> want = {
      {"a.txt", "matched"},
      {"c.txt", "matched"},
      {"d.txt", "matched"},
      {"empty.txt", "matched"},
      {std::string("odd\x01name\xff.txt"), "matched"},
      {"sub/b.txt", "matched"}};
  EXPECT_EQ(Classes(*rep), want);
  for (const auto& e : rep->entries) {
    if (e.path == "a.txt") {
      EXPECT_EQ(HexEncode(e.sha256), kAbcSha256);
    }
  }
}

TEST_F(ExportTest, AuditClassifiesEveryKindOfDifference) {
  uint64_t events_before = *repo_->meta().EventCount();
  Write(src_ + "/c.txt", "hello, changed");           // changed
  fs::remove(src_ + "/d.txt");                        // missing
  fs::rename(src_ + "/a.txt", src_ + "/sub/a2.txt");  // moved (+ a.txt missing)
  Write(src_ + "/n.txt", "brand new");                // new
  AuditOptions o;
  o.path = src_;
  auto rep = Audit(*repo_, o);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_FALSE(rep->ok());
  std::map<std::string, std::string> want = {
      {"a.txt", "missing"},    {"c.txt", "changed"},
      {"d.txt", "missing"},    {"empty.txt", "matched"},
      {"n.txt", "new"},        {std::string("odd\x01name\xff.txt"), "matched"},
      {"sub/a2.txt", "moved"}, {"sub/b.txt", "matched"}};
  EXPECT_EQ(Classes(*rep), want);
  EXPECT_EQ(rep->matched, 3u);
  EXPECT_EQ(rep->changed, 1u);
  EXPECT_EQ(rep->moved, 1u);
  EXPECT_EQ(rep->fresh, 1u);
  EXPECT_EQ(rep->missing.size(), 2u);
  for (const auto& e : rep->entries) {
    if (e.path == "sub/a2.txt") {
      ASSERT_EQ(e.known_as.size(), 1u);
      EXPECT_EQ(e.known_as[0].path, "a.txt");
      EXPECT_EQ(e.known_as[0].exhibit, "EXH-1");
    }
    if (e.path == "c.txt") {
      EXPECT_EQ(
          HexEncode(e.recorded_sha256),
          "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    }
  }
  // Read-only: no event was recorded.
  EXPECT_EQ(*repo_->meta().EventCount(), events_before);
}

TEST_F(ExportTest, AuditWithoutReferenceComparesByHashOnly) {
  std::string other = tmp_.Join("copy");
  Write(other + "/renamed.bin", "abc");
  Write(other + "/unknown.bin", "not in the repository");
  AuditOptions o;
  o.path = other;
  auto rep = Audit(*repo_, o);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_FALSE(rep->reference.has_value());
  std::map<std::string, std::string> want = {{"renamed.bin", "moved"},
                                             {"unknown.bin", "new"}};
  EXPECT_EQ(Classes(*rep), want);
  // --case restricts what counts as known.
  ASSERT_TRUE(repo_->OpenCase({"C-2", "Other", "Art. 2", {}, 0}, "").ok());
  o.case_id = "C-2";
  rep = Audit(*repo_, o);
  ASSERT_TRUE(rep.ok()) << rep.status();
  want = {{"renamed.bin", "new"}, {"unknown.bin", "new"}};
  EXPECT_EQ(Classes(*rep), want);
}

TEST_F(ExportTest, AuditOfASingleFileAndExplicitItem) {
  std::string img = tmp_.Join("disk.raw");
  Write(img, "abc");
  repo::AcquireRequest req;
  req.case_id = "C-1";
  req.actor = "A. Examiner";
  req.exhibits = {"EXH-2"};
  ASSERT_TRUE(repo_->Acquire({img}, req).ok());
  AuditOptions o;
  o.path = img;
  auto rep = Audit(*repo_, o);
  ASSERT_TRUE(rep.ok()) << rep.status();
  ASSERT_TRUE(rep->reference.has_value());
  EXPECT_EQ(rep->reference->exhibit, "EXH-2");
  EXPECT_EQ(Classes(*rep),
            (std::map<std::string, std::string>{{"", "matched"}}));
  Write(img, "abd");
  rep = Audit(*repo_, o);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(Classes(*rep),
            (std::map<std::string, std::string>{{"", "changed"}}));
  // A copy elsewhere compared explicitly with EXH-1 (a directory).
  std::string copy = tmp_.Join("copy");
  Write(copy + "/sub/b.txt", "The quick brown fox jumps over the lazy dog");
  o.path = copy;
  o.item = "EXH-1";
  rep = Audit(*repo_, o);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->matched, 1u);
  EXPECT_EQ(rep->missing.size(), 5u);
}

TEST_F(ExportTest, AuditErrors) {
  AuditOptions o;
  o.path = tmp_.Join("absent");
  EXPECT_EQ(Audit(*repo_, o).status().code(), absl::StatusCode::kNotFound);
  o.path = src_;
  o.item = "EXH-404";
  EXPECT_EQ(Audit(*repo_, o).status().code(), absl::StatusCode::kNotFound);
  o.item = "";
  o.case_id = "C-404";
  EXPECT_EQ(Audit(*repo_, o).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ExportTest, DfxmlListsEveryManifestEntry) {
  DfxmlOptions o;
  o.item = "EXH-1";
  o.start_time = "2026-01-01T00:00:00Z";
  std::ostringstream xml;
  auto stats = WriteDfxml(*repo_, o, xml);
  ASSERT_TRUE(stats.ok()) << stats.status();
  std::string x = xml.str();
  // 6 files + 1 directory (sub), the root excluded.
  EXPECT_EQ(stats->fileobjects, 7u);
  EXPECT_THAT(x, HasSubstr("<filename>a.txt</filename>"));
  EXPECT_THAT(x, HasSubstr("<filename>sub</filename>"));
  EXPECT_THAT(x, HasSubstr("<name_type>d</name_type>"));
  EXPECT_THAT(x, HasSubstr("<filename>sub/b.txt</filename>"));
  EXPECT_THAT(x, HasSubstr(absl::StrCat("<hashdigest type=\"sha256\">",
                                        kAbcSha256, "</hashdigest>")));
  EXPECT_THAT(x, HasSubstr(absl::StrCat("<hashdigest type=\"md5\">", kAbcMd5,
                                        "</hashdigest>")));
  EXPECT_THAT(x, HasSubstr(absl::StrCat("<hashdigest type=\"sha256\">",
                                        kEmptySha256, "</hashdigest>")));
  EXPECT_THAT(x, HasSubstr("<filesize>3</filesize>"));
  EXPECT_THAT(x, HasSubstr("<dc:identifier>C-1</dc:identifier>"));
  // The odd name: escaped text plus its raw bytes.
  EXPECT_THAT(x,
              HasSubstr(absl::StrCat("<filename custos:raw_b64=\"",
                                     Base64Encode("odd\x01name\xff.txt"),
                                     "\">odd\\x01name\\xff.txt</filename>")));
  EXPECT_THAT(x, Not(HasSubstr("\x01")));
  EXPECT_THAT(x, HasSubstr("custos:item=\""));
  EXPECT_THAT(x, HasSubstr("tree_size=\"5\""));
}

TEST_F(ExportTest, DfxmlErrors) {
  std::ostringstream xml;
  DfxmlOptions o;
  EXPECT_EQ(WriteDfxml(*repo_, o, xml).status().code(),
            absl::StatusCode::kInvalidArgument);
  o.item = "EXH-404";
  EXPECT_EQ(WriteDfxml(*repo_, o, xml).status().code(),
            absl::StatusCode::kNotFound);
  o.item = "";
  o.case_id = "C-404";
  EXPECT_EQ(WriteDfxml(*repo_, o, xml).status().code(),
            absl::StatusCode::kNotFound);
  // A manifest whose blob no longer matches its hash: kDataLoss.
  std::string hex = HexEncode(dir_item_.sha256);
  std::string blob = tmp_.Join("repo") + "/blobs/sha256/" + hex.substr(0, 2) +
                     "/" + hex.substr(2, 2) + "/" + hex;
  if (!fs::exists(blob)) GTEST_SKIP() << "blob layout changed: " << blob;
  fs::permissions(blob, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(blob, std::ios::binary | std::ios::app) << "x";
  o.case_id = "C-1";
  EXPECT_EQ(WriteDfxml(*repo_, o, xml).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(ExportTest, CaseExportChainsProvenance) {
  repo::EventRequest t;
  t.type = "transferred";
  t.items = {"EXH-1"};
  t.actor = "A. Examiner";
  t.to = "C. Custodian";
  repo::EventRequest rcv;
  rcv.type = "received";
  rcv.items = {"EXH-1"};
  rcv.actor = "C. Custodian";
  rcv.from = "A. Examiner";
  ASSERT_TRUE(repo_->AddEvents({t}).ok());
  ASSERT_TRUE(repo_->AddEvents({rcv}).ok());
  CaseExportStats stats;
  auto doc = ExportCase(*repo_, CaseOpts("C-1"), &stats);
  ASSERT_TRUE(doc.ok()) << doc.status();
  // case_opened, acquired, transferred, received.
  EXPECT_EQ(stats.actions, 4u);
  EXPECT_EQ(stats.provenance_records, 3u);
  EXPECT_EQ(stats.observables, 7u);  // the directory and its 6 files
  EXPECT_EQ((*doc)["@context"]["kb"], "https://example.org/test/custos/kb/");
  std::map<std::string, json> by_id;
  std::vector<json> actions;
  for (const auto& n : (*doc)["@graph"]) {
    by_id[n["@id"]] = n;
    if (n["@type"] == "case-investigation:InvestigativeAction")
      actions.push_back(n);
  }
  ASSERT_EQ(actions.size(), 4u);
  // Each custody step consumes the record the previous one produced.
  const json& acq = actions[1];
  const json& tr = actions[2];
  const json& rc = actions[3];
  EXPECT_EQ(acq["uco-core:name"], "acquired");
  EXPECT_EQ(tr["uco-core:name"], "transferred");
  EXPECT_EQ(rc["uco-core:name"], "received");
  EXPECT_FALSE(acq.contains("uco-action:object"));
  std::string pr1 = acq["uco-action:result"][0]["@id"];
  ASSERT_EQ(tr["uco-action:object"].size(), 1u);
  EXPECT_EQ(tr["uco-action:object"][0]["@id"], pr1);
  std::string pr2 = tr["uco-action:result"][0]["@id"];
  EXPECT_NE(pr1, pr2);
  EXPECT_EQ(rc["uco-action:object"][0]["@id"], pr2);
  EXPECT_EQ(by_id[pr2]["case-investigation:exhibitNumber"], "EXH-1");
  // Performer with a role; the log index and leaf hash are referenced.
  std::string performer = rc["uco-action:performer"]["@id"];
  EXPECT_EQ(by_id[performer]["@type"], "uco-identity:Person");
  EXPECT_EQ(by_id[performer]["uco-core:name"], "C. Custodian");
  auto seq4 = repo_->meta().GetEvent(6);
  ASSERT_TRUE(seq4.ok());
  std::set<std::string> refs;
  for (const auto& r : rc["uco-core:externalReference"])
    refs.insert(by_id[r["@id"]]["uco-core:externalIdentifier"]);
  EXPECT_EQ(refs, (std::set<std::string>{
                      "6", HexEncode(crypto::AsView(seq4->leaf_hash))}));
  // Hashes are typed hexBinary with their method.
  std::string file_iri;
  for (const auto& [id, n] : by_id)
    if (n["@type"] == "uco-observable:File" &&
        n["uco-core:hasFacet"][0]["uco-observable:filePath"] == "a.txt")
      file_iri = id;
  ASSERT_FALSE(file_iri.empty());
  json cdf = by_id[file_iri]["uco-core:hasFacet"][1];
  EXPECT_EQ(cdf["@type"], "uco-observable:ContentDataFacet");
  EXPECT_EQ(cdf["uco-observable:hash"][0]["uco-types:hashMethod"], "SHA256");
  EXPECT_EQ(cdf["uco-observable:hash"][0]["uco-types:hashValue"]["@value"],
            kAbcSha256);
  EXPECT_EQ(cdf["uco-observable:hash"][0]["uco-types:hashValue"]["@type"],
            "xsd:hexBinary");
  // Stable identifiers: a second export is identical.
  auto again = ExportCase(*repo_, CaseOpts("C-1"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->dump(), doc->dump());
  EXPECT_EQ(ExportCase(*repo_, CaseOpts("nope")).status().code(),
            absl::StatusCode::kNotFound);
}

// An extraction (docs/formats/extraction.md) as DFXML: volumes, inodes,
// allocation flags, byte runs; the document validates against the schema.
TEST(DfxmlImageTest, ExtractionBecomesVolumesWithByteRuns) {
  repo::ItemRecord img;
  img.id = "11111111-2222-4333-8444-555555555555";
  img.exhibit = "EXH-9";
  img.size = 4194304;
  img.sha256 = std::string(32, '\x01');
  img.md5 = std::string(16, '\x02');
  json details = {
      {"manifest", std::string(64, 'a')},
      {"volumes",
       json::array(
           {{{"label", "p1"},
             {"offset", 1048576},
             {"fs_type", "fat16"},
             {"block_size", 2048},
             {"blocks", 1000},
             {"status", "ok"}},
            {{"label", "p2"},
             {"offset", 3145728},
             {"status", "error"},
             {"error", "no file system recognised at offset 3145728"}}})}};
  auto line = [](json j) { return j.dump() + "\n"; };
  std::string manifest =
      line({{"volume", "p1"},
            {"inode", 3},
            {"path_b64", Base64Encode("DIR")},
            {"kind", "directory"},
            {"alloc", "allocated"},
            {"meta_alloc", true},
            {"size", 2048}}) +
      line({{"volume", "p1"},
            {"inode", 5},
            {"path_b64", Base64Encode("DIR/a.txt")},
            {"kind", "file"},
            {"alloc", "allocated"},
            {"meta_alloc", true},
            {"size", 3},
            {"sha256", kAbcSha256},
            {"md5", kAbcMd5},
            {"mtime", "2026-01-01T00:00:00.000000000Z"},
            {"byte_runs", json::array({{{"file_offset", 0},
                                        {"fs_offset", 34816},
                                        {"img_offset", 1083392},
                                        {"len", 3}}})},
            {"content", "full"},
            {"item", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"}}) +
      line(
          {{"volume", "p1"},
           {"inode", 6},
           {"path_b64", Base64Encode("_ELETED.TXT")},
           {"kind", "file"},
           {"alloc", "deleted"},
           {"meta_alloc", false},
           {"size", 10},
           {"byte_runs",
            json::array({{{"file_offset", 0}, {"len", 10}, {"sparse", true}}})},
           {"content", "none"},
           {"error", "content not recoverable"}}) +
      line({{"volume", "p1"},
            {"inode", 9},
            {"path_b64", Base64Encode("$OrphanFiles/OrphanFile-9")},
            {"kind", "file"},
            {"alloc", "orphan"},
            {"meta_alloc", false},
            {"size", 0}});
  DfxmlStats stats;
  std::ostringstream body;
  ASSERT_TRUE(
      internal::WriteImageObject(img, details, manifest, stats, body).ok());
  EXPECT_EQ(stats.volumes, 2u);
  EXPECT_EQ(stats.fileobjects, 4u);
  std::string x = body.str();
  EXPECT_THAT(x, HasSubstr("<volume offset=\"1048576\" custos:label=\"p1\">"));
  EXPECT_THAT(x, HasSubstr("<ftype_str>fat16</ftype_str>"));
  EXPECT_THAT(x, HasSubstr("<byte_run file_offset=\"0\" fs_offset=\"34816\" "
                           "img_offset=\"1083392\" len=\"3\"/>"));
  EXPECT_THAT(x, HasSubstr("<byte_run file_offset=\"0\" len=\"10\" "
                           "type=\"sparse\"/>"));
  EXPECT_THAT(x, HasSubstr("<inode>5</inode>"));
  EXPECT_THAT(x, HasSubstr("<unalloc>1</unalloc>\n        <alloc_inode>0"
                           "</alloc_inode>\n        <alloc_name>0</alloc_name>"
                           "\n        <orphan>1</orphan>"));
  EXPECT_THAT(x, HasSubstr("<alloc_inode>1</alloc_inode>\n        "
                           "<alloc_name>1</alloc_name>"));
  EXPECT_THAT(x, HasSubstr("<error>no file system recognised at offset "
                           "3145728</error>\n    </volume>"));
  EXPECT_THAT(x, HasSubstr("<byte_run img_offset=\"0\" len=\"4194304\">"));
  // A bad manifest line is data loss, not a silently shorter export.
  std::ostringstream bad;
  EXPECT_EQ(internal::WriteImageObject(img, details, "{not json\n", stats, bad)
                .code(),
            absl::StatusCode::kDataLoss);

  if (std::system("xmllint --version >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "xmllint not installed: schema check skipped";
  testing::TempDir tmp;
  std::string doc = tmp.Join("image.xml");
  std::ofstream(doc) << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<dfxml "
                        "xmlns=\""
                     << kDfxmlNamespace << "\" xmlns:custos=\""
                     << kCustosXmlNamespace << "\" version=\"" << kDfxmlVersion
                     << "\">\n  <metadata/>\n"
                     << x << "</dfxml>\n";
  std::string cmd =
      absl::StrCat("xmllint --noout --nonet --schema ", CUSTOS_SOURCE_DIR,
                   "/tests/data/dfxml/dfxml.xsd ", doc);
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace
}  // namespace custos::export_
