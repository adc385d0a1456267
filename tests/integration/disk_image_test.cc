// Disk images through the real `custos` binary, with evidence built at test
// time by Debian tools: E01 sets by `ewfacquire` (ewf-tools), split raw
// images by `split -b`, hashes checked with coreutils (`md5sum`, `sha1sum`,
// `sha256sum`), independently of custos's own hashing. Also the filetype
// properties (libmagic + EXIF) of acquired files and their search, and
// repo::OpenMedia reading an acquired image back. Bad input: a corrupt
// chunk (recorded, flagged, loud), a missing or truncated segment (refused,
// nothing committed altered, `custos verify` passes).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/acquire/ewf_test_util.h"
#include "src/acquire/media_reader.h"
#include "src/filetype/test_jpeg.h"
#include "src/repo/repository.h"
#include "testing/testing.h"
#include "tests/integration/harness.h"

namespace custos::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

// `tool FILE` (md5sum, sha1sum, sha256sum) -> the lowercase hex digest.
std::string ToolHash(const std::string& tool, const std::string& file) {
  RunResult r = Run("/usr/bin/" + tool, {file});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  return r.out.substr(0, r.out.find(' '));
}

// Hash of the concatenation of files (cat | tool).
std::string ToolHashCat(const std::string& tool,
                        const std::vector<std::string>& files) {
  std::string cmd = "cat";
  for (const auto& f : files) cmd += " " + acquire::testing::ShellQuote(f);
  RunResult r = Run("/bin/sh", {"-c", cmd + " | " + tool});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  return r.out.substr(0, r.out.find(' '));
}

class ImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("CUSTOS_PASSPHRASE");
    ::unsetenv("CUSTOS_REPO");
    repo_ = tmp_.Join("repo");
    ASSERT_EQ(
        C({"init", repo_, "--origin", "example.org/nl-om", "--authority", "OM"})
            .exit_code,
        0);
    ASSERT_EQ(
        C({"actor", "add", "Anna de Vries", "--role", "examiner"}).exit_code,
        0);
    ASSERT_EQ(C({"case", "open", "C-1", "--title", "T", "--legal-basis",
                 "art. 94 Sv"})
                  .exit_code,
              0);
    ev_ = tmp_.Join("ev");
    fs::create_directories(ev_);
  }

  RunResult C(std::vector<std::string> args) {
    args.insert(args.begin(), {"--repo", repo_});
    return RunCustos(args);
  }
  json J(std::vector<std::string> args, int want_exit = 0) {
    args.insert(args.begin(), "--json");
    RunResult r = C(args);
    EXPECT_EQ(r.exit_code, want_exit) << Describe(r);
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << Describe(r);
    return j;
  }
  RunResult Acquire(const std::string& path, const std::string& exhibit,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {"--json",        "acquire",   path,
                                  "--case",        "C-1",       "--actor",
                                  "Anna de Vries", "--exhibit", exhibit};
    a.insert(a.end(), extra.begin(), extra.end());
    return C(a);
  }
  std::string State() {
    RunResult log = C({"--json", "log"});
    RunResult cp = C({"checkpoint"});
    EXPECT_EQ(log.exit_code, 0);
    return log.out + "\n--\n" + cp.out;
  }
  void ExpectVerifies() {
    RunResult v = C({"verify"});
    EXPECT_EQ(v.exit_code, 0) << Describe(v);
  }
  // A raw disk of `size` bytes and an E01 set of it in ev_/img.E01...
  void MakeImage(uint64_t size, acquire::testing::E01Options o) {
    raw_ = ev_ + "/disk.raw";
    ASSERT_TRUE(acquire::testing::WriteBytes(
        raw_, acquire::testing::RawDiskBytes(size, 11)));
    ASSERT_TRUE(acquire::testing::MakeE01(raw_, ev_ + "/img", o));
  }
  std::vector<std::string> Segments(const std::string& ext_prefix = "img.E") {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(ev_))
      if (e.path().filename().string().rfind(ext_prefix, 0) == 0)
        out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  TempDir tmp_;
  std::string repo_, ev_, raw_;
};

TEST_F(ImageTest, MultiSegmentE01IsOneVerifiedItem) {
  acquire::testing::E01Options o;
  o.segment_size = 1 << 20;
  o.extra_digest = "sha1";
  MakeImage(6 << 20, o);
  std::vector<std::string> segs = Segments();
  ASSERT_GE(segs.size(), 4u);
  RunResult r = Acquire(ev_ + "/img.E01", "EXH-E01");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "");
  json j = json::parse(r.out)["items"][0];
  EXPECT_EQ(j["kind"], "ewf_image");
  EXPECT_EQ(j["image_format"], "ewf");
  EXPECT_EQ(j["verification"], "verified");
  EXPECT_TRUE(j["warnings"].empty());
  const json& p = j["properties"];
  EXPECT_EQ(p["ewf.media_md5"], ToolHash("md5sum", raw_));
  EXPECT_EQ(p["ewf.media_sha1"], ToolHash("sha1sum", raw_));
  EXPECT_EQ(p["ewf.media_sha256"], ToolHash("sha256sum", raw_));
  EXPECT_EQ(p["ewf.stored_md5"], ToolHash("md5sum", raw_));
  EXPECT_EQ(p["ewf.stored_sha1"], ToolHash("sha1sum", raw_));
  EXPECT_EQ(p["ewf.case_number"], "CASE-2026-0042");
  EXPECT_EQ(p["ewf.evidence_number"], "EV-7");
  EXPECT_EQ(p["ewf.examiner"], "A. de Vries");
  EXPECT_EQ(p["ewf.description"], "USB stick of suspect");
  EXPECT_EQ(p["ewf.notes"], "seized at the scene");
  EXPECT_EQ(p["ewf.acquisition_os"], "Linux");
  EXPECT_EQ(p["ewf.acquisition_software_version"], "20140813");
  EXPECT_EQ(p["ewf.media_size"], std::to_string(6 << 20));
  EXPECT_EQ(p["ewf.bytes_per_sector"], "512");
  EXPECT_EQ(p["ewf.segment_count"], std::to_string(segs.size()));
  EXPECT_EQ(p["ewf.verification"], "verified");
  EXPECT_EQ(p["ewf.format"], "encase6");

  // Every segment file is a child item holding its exact bytes.
  json show = J({"show", "EXH-E01"});
  EXPECT_EQ(show["children"], segs.size());
  EXPECT_EQ(show["properties"]["ewf.case_number"], "CASE-2026-0042");
  json all = J({"items", "--all"});
  std::map<std::string, std::string> seg_sha;
  for (const auto& it : all)
    if (it.value("kind", "") == "ewf_segment")
      seg_sha[it.value("path", "")] = it.value("sha256", "");
  ASSERT_EQ(seg_sha.size(), segs.size());
  for (const auto& s : segs)
    EXPECT_EQ(seg_sha[fs::path(s).filename().string()],
              ToolHash("sha256sum", s))
        << s;

  // The signed event carries the verification and the metadata.
  json ev = J({"show", "#" + std::to_string(j["event"].get<int>())});
  std::string evs = ev.dump();
  EXPECT_THAT(evs, HasSubstr("\"verification\":\"verified\""));
  EXPECT_THAT(evs, HasSubstr("CASE-2026-0042"));
  EXPECT_THAT(evs, HasSubstr(ToolHash("sha256sum", raw_)));

  // Searchable.
  json found = J({"items", "--property", "ewf.case_number=CASE-2026-%"});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["exhibit"], "EXH-E01");
  EXPECT_TRUE(J({"items", "--property", "ewf.case_number=OTHER"}).empty());
  ExpectVerifies();

  // Read back from the vault through OpenMedia: the exact raw disk.
  auto repo = repo::Repository::Open(repo_, repo::RepoEnv{});
  ASSERT_TRUE(repo.ok()) << repo.status();
  auto item = (*repo)->meta().FindItem("EXH-E01");
  ASSERT_TRUE(item.ok() && *item);
  auto media = repo::OpenMedia(**repo, **item);
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_STREQ((*media)->format(), "ewf");
  EXPECT_EQ((*media)->size(), uint64_t{6} << 20);
  EXPECT_EQ((*media)->sector_size(), 512u);
  std::string want = ReadFile(raw_);
  std::string got(want.size(), '\0');
  auto n = (*media)->Read(0, got.data(), got.size());
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, want.size());
  EXPECT_TRUE(got == want);
  std::string tail(1000, '\0');
  n = (*media)->Read(want.size() - 10, tail.data(), tail.size());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 10u);
  media->reset();
  // The reader's symlink directory is gone.
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))
    (void)e;  // (directories of other runs may exist; nothing to assert)
}

// Regression: extraction re-opens an acquired E01 from the vault through
// links named like the segments; with the repository given as a relative
// path those links once pointed nowhere ("unable to open handle").
TEST_F(ImageTest, E01FromARelativeRepositoryIsExtracted) {
  std::string fat = ev_ + "/fat.img";
  ASSERT_EQ(custos::testing::Run("/usr/sbin/mkfs.vfat", {"-C", fat, "4096"})
                .exit_code,
            0);
  acquire::testing::WriteBytes(ev_ + "/a.txt", "hello\n");
  RunResult cp = custos::testing::Run("/usr/bin/mcopy",
                                      {"-i", fat, ev_ + "/a.txt", "::a.txt"});
  ASSERT_EQ(cp.exit_code, 0) << Describe(cp);
  acquire::testing::E01Options o;
  o.compression = "none";
  ASSERT_TRUE(acquire::testing::MakeE01(fat, ev_ + "/fat", o));
  std::string rel = fs::relative(repo_).string();
  ASSERT_NE(rel.front(), '/');
  RunResult r =
      RunCustos({"--repo", rel, "--json", "acquire", ev_ + "/fat.E01", "--case",
                 "C-1", "--actor", "Anna de Vries", "--exhibit", "EXH-E01"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = RunCustos({"--repo", rel, "--json", "extract", "EXH-E01", "--actor",
                 "Anna de Vries"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json items = J({"items", "--all"});
  bool found = false;
  for (const auto& it : items)
    if (it.value("path", "").ends_with("a.txt")) {
      found = true;
      EXPECT_EQ(it["sha256"], ToolHash("sha256sum", ev_ + "/a.txt"));
    }
  EXPECT_TRUE(found) << items.dump(1);
  ExpectVerifies();
}

TEST_F(ImageTest, SingleSegmentUncompressedAndEwfxSha256) {
  acquire::testing::E01Options o;
  o.compression = "none";
  MakeImage(1 << 20, o);
  RunResult r = Acquire(ev_ + "/img.E01", "EXH-1");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json j = json::parse(r.out)["items"][0];
  EXPECT_EQ(j["verification"], "verified");
  EXPECT_EQ(j["properties"]["ewf.segment_count"], "1");
  EXPECT_EQ(j["properties"]["ewf.compression"], "none");
  EXPECT_EQ(j["properties"].count("ewf.stored_sha256"), 0u);

  // ewfx stores SHA-256 too (Debian libewf: only ewfx does).
  acquire::testing::E01Options x;
  x.format = "ewfx";
  x.extra_digest = "sha256";
  ASSERT_TRUE(acquire::testing::MakeE01(raw_, ev_ + "/x", x));
  r = Acquire(ev_ + "/x.e01", "EXH-2");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  j = json::parse(r.out)["items"][0];
  EXPECT_EQ(j["verification"], "verified");
  EXPECT_EQ(j["properties"]["ewf.stored_sha256"], ToolHash("sha256sum", raw_));
  EXPECT_EQ(j["properties"]["ewf.format"], "ewfx");
  ExpectVerifies();
}

TEST_F(ImageTest, DetectedBySignatureNotName) {
  acquire::testing::E01Options o;
  MakeImage(1 << 20, o);
  fs::rename(ev_ + "/img.E01", ev_ + "/evidence.bin");
  RunResult r = Acquire(ev_ + "/evidence.bin", "EXH-1");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(json::parse(r.out)["items"][0]["kind"], "ewf_image");
  // --format file keeps it a plain file.
  r = Acquire(ev_ + "/evidence.bin", "EXH-2", {"--format", "file"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(json::parse(r.out)["items"][0]["kind"], "file");
  // --format ewf on a non-EWF file is a usage error.
  r = C({"acquire", raw_, "--case", "C-1", "--actor", "Anna de Vries",
         "--format", "ewf"});
  EXPECT_EQ(r.exit_code, repo::kExitUsage) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("no EWF (E01) signature"));
}

TEST_F(ImageTest, CorruptChunkIsRecordedFlaggedAndLoud) {
  acquire::testing::E01Options o;
  o.segment_size = 1 << 20;
  o.compression = "none";
  MakeImage(4 << 20, o);
  std::string e2 = ev_ + "/img.E02";
  std::string d = ReadFile(e2);
  d[300000] = static_cast<char>(d[300000] ^ 0x01);
  WriteFile(e2, d);
  RunResult r = Acquire(ev_ + "/img.E01", "EXH-BAD");
  EXPECT_EQ(r.exit_code, repo::kExitVerifyFailed) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("WARNING: EXH-BAD"));
  EXPECT_THAT(r.err, HasSubstr("HASH MISMATCH"));
  EXPECT_THAT(r.err, HasSubstr("DAMAGED CHUNKS"));
  json j = json::parse(r.out)["items"][0];
  EXPECT_EQ(j["verification"], "mismatch");
  EXPECT_EQ(j["warnings"].size(), 2u);
  EXPECT_EQ(j["properties"]["ewf.verification"], "MISMATCH");
  EXPECT_EQ(j["properties"]["ewf.stored_md5"], ToolHash("md5sum", raw_));
  EXPECT_NE(j["properties"]["ewf.media_md5"], ToolHash("md5sum", raw_));
  EXPECT_EQ(j["properties"]["ewf.checksum_errors"], "1");
  // Findable as such.
  json found = J({"items", "--property", "ewf.verification=MISMATCH"});
  ASSERT_EQ(found.size(), 1u);
  // Text mode says it too.
  r = C({"acquire", ev_ + "/img.E01", "--case", "C-1", "--actor",
         "Anna de Vries", "--exhibit", "EXH-BAD2"});
  EXPECT_EQ(r.exit_code, repo::kExitVerifyFailed);
  EXPECT_THAT(r.out, HasSubstr("MISMATCH"));
  ExpectVerifies();
}

// Only the digests the image stores (or --md5/--sha1 asks for) are computed
// besides SHA-256, and the signed event says which were computed and
// which stored ones they verified.
TEST_F(ImageTest, OnlyStoredOrAskedHashesAreComputedAndTheEventSaysWhich) {
  acquire::testing::E01Options o;  // EnCase 6, MD5 stored, no SHA-1
  MakeImage(2 << 20, o);
  RunResult r = Acquire(ev_ + "/img.E01", "EXH-MD5");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json j = json::parse(r.out)["items"][0];
  EXPECT_EQ(j["verification"], "verified");
  const json& p = j["properties"];
  EXPECT_EQ(p["ewf.media_md5"], ToolHash("md5sum", raw_));
  EXPECT_EQ(p["ewf.media_sha256"], ToolHash("sha256sum", raw_));
  EXPECT_EQ(p.count("ewf.media_sha1"), 0u);
  EXPECT_EQ(p["ewf.verified_hashes"], "md5");
  json ev = J({"show", "#" + std::to_string(j["event"].get<int>())});
  std::string evs = ev.dump();
  EXPECT_THAT(evs, HasSubstr("\"media_hashes\":[\"md5\",\"sha256\"]"));
  EXPECT_THAT(evs, HasSubstr("\"verified_hashes\":[\"md5\"]"));
  EXPECT_THAT(evs, HasSubstr("\"mismatched_hashes\":[]"));
  EXPECT_THAT(evs, ::testing::Not(HasSubstr("\"sha1\"")));

  // --sha1 asks for it.
  r = Acquire(ev_ + "/img.E01", "EXH-SHA1", {"--sha1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  j = json::parse(r.out)["items"][0];
  EXPECT_EQ(j["properties"]["ewf.media_sha1"], ToolHash("sha1sum", raw_));
  EXPECT_EQ(j["properties"]["ewf.verified_hashes"], "md5");
  ev = J({"show", "#" + std::to_string(j["event"].get<int>())});
  EXPECT_THAT(ev.dump(), HasSubstr("\"media_hashes\":[\"md5\",\"sha1\","
                                   "\"sha256\"]"));
  ExpectVerifies();
}

// A stored MD5 that differs from the media with no damaged chunk (ewfacquire
// hashes the bytes past the last whole sector, then drops them): recorded,
// flagged, loud, exit 1, the event naming the hash that did not verify.
TEST_F(ImageTest, StoredMd5MismatchIsRecordedFlaggedAndNamed) {
  acquire::testing::E01Options o;
  MakeImage((1 << 20) + 100, o);
  RunResult r = Acquire(ev_ + "/img.E01", "EXH-MM");
  EXPECT_EQ(r.exit_code, repo::kExitVerifyFailed) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("HASH MISMATCH: the MD5 stored"));
  EXPECT_THAT(r.err, HasSubstr("stored MD5 " + ToolHash("md5sum", raw_)));
  json j = json::parse(r.out)["items"][0];
  EXPECT_EQ(j["verification"], "mismatch");
  EXPECT_EQ(j["properties"]["ewf.verification"], "MISMATCH");
  EXPECT_EQ(j["properties"].count("ewf.verified_hashes"), 0u);
  EXPECT_EQ(j["properties"].count("ewf.checksum_errors"), 0u);
  json ev = J({"show", "#" + std::to_string(j["event"].get<int>())});
  EXPECT_THAT(ev.dump(), HasSubstr("\"mismatched_hashes\":[\"md5\"]"));
  ExpectVerifies();
}

TEST_F(ImageTest, MissingMiddleSegmentIsRefusedNothingChanges) {
  acquire::testing::E01Options o;
  o.segment_size = 1 << 20;
  MakeImage(5 << 20, o);
  ASSERT_EQ(Acquire(raw_, "EXH-RAW").exit_code, 0);
  std::string before = State();
  fs::remove(ev_ + "/img.E03");
  RunResult r = Acquire(ev_ + "/img.E01", "EXH-X");
  EXPECT_EQ(r.exit_code, repo::kExitNotFound) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("custos: error: "));
  EXPECT_THAT(r.err, HasSubstr("img.E03) is missing"));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(State(), before);
  ExpectVerifies();
}

TEST_F(ImageTest, TruncatedSegmentIsRefusedNothingChanges) {
  acquire::testing::E01Options o;
  o.segment_size = 1 << 20;
  MakeImage(5 << 20, o);
  std::string before = State();
  ASSERT_EQ(::truncate((ev_ + "/img.E02").c_str(), 600000), 0);
  RunResult r = Acquire(ev_ + "/img.E01", "EXH-X");
  EXPECT_EQ(r.exit_code, repo::kExitDataLoss) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("img.E02"));
  EXPECT_THAT(r.err, HasSubstr("truncated"));
  EXPECT_EQ(State(), before);
  // The last segment cut short: also refused.
  MakeImage(5 << 20, o);
  std::vector<std::string> segs = Segments();
  ASSERT_EQ(::truncate(segs.back().c_str(), 1000), 0);
  r = Acquire(ev_ + "/img.E01", "EXH-Y");
  EXPECT_EQ(r.exit_code, repo::kExitDataLoss) << Describe(r);
  EXPECT_EQ(State(), before);
  ExpectVerifies();
}

TEST_F(ImageTest, SplitRawIsOneMediaStream) {
  raw_ = ev_ + "/disk.raw";
  ASSERT_TRUE(acquire::testing::WriteBytes(
      raw_, acquire::testing::RawDiskBytes(3 * 1000 * 1000 + 123, 5)));
  RunResult sp = testing::Run("/usr/bin/split",
                              {"-b", "1000000", "-d", "-a", "3",
                               "--numeric-suffixes=1", raw_, ev_ + "/disk."});
  ASSERT_EQ(sp.exit_code, 0) << Describe(sp);
  std::vector<std::string> pieces = {ev_ + "/disk.001", ev_ + "/disk.002",
                                     ev_ + "/disk.003", ev_ + "/disk.004"};
  ASSERT_TRUE(fs::exists(pieces[3]));
  RunResult r = Acquire(pieces[0], "EXH-SPLIT", {"--md5", "--sha1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json j = json::parse(r.out)["items"][0];
  EXPECT_EQ(j["kind"], "raw_image");
  EXPECT_EQ(j["image_format"], "split_raw");
  EXPECT_EQ(j["size"], 3 * 1000 * 1000 + 123);
  EXPECT_EQ(j["sha256"], ToolHashCat("sha256sum", pieces));
  EXPECT_EQ(j["sha256"], ToolHash("sha256sum", raw_));
  EXPECT_EQ(j["md5"], ToolHash("md5sum", raw_));
  EXPECT_EQ(j["sha1"], ToolHash("sha1sum", raw_));
  EXPECT_EQ(j["properties"]["image.segments"], "4");
  json ev = J({"show", "#" + std::to_string(j["event"].get<int>())});
  EXPECT_THAT(ev.dump(), HasSubstr("\"name\":\"disk.004\""));
  // A single raw file with --format raw.
  r = Acquire(raw_, "EXH-RAW", {"--format", "raw"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  j = json::parse(r.out)["items"][0];
  EXPECT_EQ(j["kind"], "raw_image");
  EXPECT_EQ(j["sha256"], ToolHash("sha256sum", raw_));
  // OpenMedia over the split item.
  {
    auto repo = repo::Repository::Open(repo_, repo::RepoEnv{});
    ASSERT_TRUE(repo.ok());
    auto item = (*repo)->meta().FindItem("EXH-SPLIT");
    ASSERT_TRUE(item.ok() && *item);
    auto media = repo::OpenMedia(**repo, **item);
    ASSERT_TRUE(media.ok()) << media.status();
    std::string b(100, '\0');
    auto n = (*media)->Read(999950, b.data(), b.size());
    ASSERT_TRUE(n.ok());
    EXPECT_TRUE(b == ReadFile(raw_).substr(999950, 100));
  }
  // A gap: refused, nothing changes.
  std::string before = State();
  fs::remove(pieces[2]);
  r = Acquire(pieces[0], "EXH-GAP");
  EXPECT_EQ(r.exit_code, repo::kExitNotFound) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("disk.003 is missing"));
  EXPECT_EQ(State(), before);
  ExpectVerifies();
}

TEST_F(ImageTest, FileTypeAndExifAreSignedAndSearchable) {
  std::string dir = ev_ + "/photos";
  fs::create_directories(dir);
  filetype::testing::ExifFields f;
  f.make = "Canon";
  f.model = "Canon EOS 5D Mark IV";
  f.date_time_original = "2024:05:01 10:20:30";
  f.lat_deg = 52, f.lat_min = 22, f.lat_sec = 12;
  f.lon_deg = 4, f.lon_min = 53, f.lon_sec = 24;
  WriteFile(dir + "/IMG_0001.JPG", filetype::testing::JpegWithExif(f));
  WriteFile(dir + "/notes.txt", "meeting at noon\n");
  RunResult r = Acquire(dir, "EXH-PH");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json all = J({"items", "--all"});
  std::string jpeg_id;
  for (const auto& it : all) {
    if (it.value("path", "") == "IMG_0001.JPG") {
      EXPECT_EQ(it["media_type"], "image/jpeg");
      jpeg_id = it["id"];
    }
    if (it.value("path", "") == "notes.txt") {
      EXPECT_EQ(it["media_type"], "text/plain");
    }
  }
  ASSERT_FALSE(jpeg_id.empty());
  json show = J({"show", jpeg_id});
  const json& p = show["properties"];
  EXPECT_EQ(p["exif.Make"], "Canon");
  EXPECT_EQ(p["exif.Model"], "Canon EOS 5D Mark IV");
  EXPECT_EQ(p["exif.DateTimeOriginal"], "2024:05:01 10:20:30");
  EXPECT_EQ(p["exif.gps.latitude"], "52.370000");
  EXPECT_EQ(p["exif.gps.longitude"], "4.890000");
  json found = J({"items", "--property", "exif.Make=canon"});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["id"], jpeg_id);
  found = J({"items", "--property", "exif.Make=Canon", "--property",
             "exif.Model=%5D%"});
  EXPECT_EQ(found.size(), 1u);
  EXPECT_TRUE(J({"items", "--property", "exif.Make=Nikon"}).empty());
  found = J({"items", "--all", "--type", "image/%"});
  ASSERT_EQ(found.size(), 1u);
  // The media type is in the signed manifest.
  RunResult text = C({"show", jpeg_id});
  EXPECT_THAT(text.out, HasSubstr("exif.Make"));
  ExpectVerifies();
}

}  // namespace
}  // namespace custos::testing
