// `custos extract` end to end through the real binary, on evidence built at
// test time with Debian tools (mkfs.vfat + mtools, mke2fs -d + debugfs; an
// MBR written by hand; no loop mounts): a partitioned disk with a FAT16 and
// an ext4 partition, holding a deleted file, a non-ASCII name, a non-UTF-8
// name, a zero-byte file and nested directories. Hashes are checked against
// values computed here from the source bytes (and one sha256sum literal),
// byte runs against the image itself, and `custos verify` must pass after
// every run. Bad input: an image with no file system (clear error, nothing
// committed) and a disk with one wiped partition (committed, PARTIAL, exit 8).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/base/bytes.h"
#include "src/crypto/hash.h"
#include "src/extract/test_images.h"
#include "src/repo/canonical_json.h"
#include "testing/testing.h"
#include "tests/integration/harness.h"

namespace custos::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
namespace ti = custos::extract::testing;

constexpr char kCase[] = "CASE-2026-0077";
constexpr char kActor[] = "Anna de Vries";
// sha256sum of "hello, evidence\n" (FAT hello.txt), computed outside custos.
constexpr char kHelloSha256[] =
    "90b6fe9977fd1f068572beb279b9440572104f327c0b3568e5edbf17f8630c2e";

std::string Sha256Hex(const std::string& s) {
  return HexEncode(crypto::AsView(crypto::Sha256(s)));
}
std::string DigestHex(const std::string& s, unsigned which) {
  crypto::MultiHasher h(which | crypto::kSha256);
  h.Update(s);
  crypto::Digests d = h.Finish();
  return HexEncode(which == crypto::kMd5 ? d.md5 : d.sha1);
}

class ExtractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"mkfs.vfat", "mcopy", "mke2fs", "debugfs"})
      if (!ti::HaveTool(tool)) GTEST_SKIP() << tool << " is not installed";
    RunResult r = RunCustos({"init", repo_, "--origin", "example.org/test",
                             "--authority", "Test Authority"});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    CJ({"actor", "add", kActor, "--role", "examiner"});
    CJ({"case", "open", kCase, "--title", "Extraction", "--legal-basis",
        "art. 94 Sv"});
  }
  RunResult C(std::vector<std::string> args) {
    args.insert(args.begin(), {"--repo", repo_});
    return RunCustos(args);
  }
  json CJ(std::vector<std::string> args, int want_exit = 0) {
    args.insert(args.begin(), "--json");
    RunResult r = C(args);
    EXPECT_EQ(r.exit_code, want_exit) << Describe(r);
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << Describe(r);
    return j;
  }
  // Acquires `path` as `exhibit`; returns the item JSON.
  json Acquire(const std::string& path, const std::string& exhibit) {
    json j = CJ({"acquire", path, "--case", kCase, "--actor", kActor,
                 "--exhibit", exhibit});
    EXPECT_EQ(j["items"].size(), 1u);
    return j["items"][0];
  }
  uint64_t EventCount() {
    json cp = CJ({"checkpoint"});
    return cp["size"].get<uint64_t>();
  }
  void ExpectVerifies() {
    RunResult v = C({"verify"});
    EXPECT_EQ(v.exit_code, 0) << Describe(v);
  }
  // Derived items by their provenance path, from `custos items --all`.
  std::map<std::string, json> ItemsByPath(const std::string& parent) {
    std::map<std::string, json> m;
    for (const auto& it : CJ({"items", "--all"}))
      if (it.value("parent", "") == parent) m[it.value("path", "")] = it;
    return m;
  }
  std::string Blob(const std::string& hex) {
    return ReadFile(repo_ + "/blobs/sha256/" + hex.substr(0, 2) + "/" +
                    hex.substr(2, 2) + "/" + hex);
  }

  TempDir tmp_;
  std::string repo_ = tmp_.Join("repo");
};

TEST_F(ExtractTest, PartitionedDiskFilesHashesProvenanceAndVerify) {
  auto built = ti::BuildPartitionedImage(tmp_.path());
  ASSERT_TRUE(built.ok()) << built.status();
  json image = Acquire(built->path, "EXH-001");
  uint64_t before = EventCount();

  json x = CJ({"extract", "EXH-001", "--actor", kActor});
  EXPECT_EQ(EventCount(), before + 1);  // ONE event for the whole run
  EXPECT_EQ(x["partial"], false);
  EXPECT_EQ(x["volume_system"], "dos");
  ASSERT_EQ(x["volumes"].size(), 2u);
  EXPECT_EQ(x["volumes"][0]["fs_type"], "fat16");
  EXPECT_EQ(x["volumes"][0]["offset"], 1048576);
  EXPECT_EQ(x["volumes"][1]["fs_type"], "ext4");
  // FAT: 6 files + the volume label entry; ext4: 5 files.
  EXPECT_EQ(x["files"], 12);
  EXPECT_EQ(x["deleted"], 2);
  EXPECT_EQ(x["allocated"].get<uint64_t>() + x["deleted"].get<uint64_t>() +
                x["orphan"].get<uint64_t>(),
            12u);

  auto items = ItemsByPath(image["id"]);
  // Every source file (not deleted) with its exact hashes.
  for (const auto& f : built->files) {
    if (f.deleted) continue;
    std::string shown = EscapeBytes(f.path);
    ASSERT_TRUE(items.count(shown)) << shown;
    const json& it = items[shown];
    EXPECT_EQ(it["size"], f.content.size()) << shown;
    EXPECT_EQ(it["sha256"], Sha256Hex(f.content)) << shown;
    EXPECT_EQ(it["md5"], DigestHex(f.content, crypto::kMd5)) << shown;
    EXPECT_EQ(it["sha1"], DigestHex(f.content, crypto::kSha1)) << shown;
    EXPECT_EQ(it["exhibit"], "EXH-001");
    EXPECT_EQ(it["case"], kCase);
    EXPECT_EQ(it["acquired_event"], x["event"]);
    EXPECT_FALSE(it.contains("description")) << shown;  // not deleted
    // The content is in the vault.
    EXPECT_EQ(Blob(it["sha256"]), f.content) << shown;
  }
  EXPECT_EQ(items["p1/hello.txt"]["sha256"], kHelloSha256);
  EXPECT_EQ(items["p1/hello.txt"]["mtime"], "2021-03-04T05:06:08.000000000Z");
  EXPECT_EQ(items["p2/hello.txt"]["mtime"], "2020-09-13T12:26:40.123456789Z");
  EXPECT_EQ(items["p2/hello.txt"]["mode"], "100644");
  // Non-ASCII (FAT long name) and non-UTF-8 (ext4) names.
  EXPECT_TRUE(items.count("p1/caf\xc3\xa9 \xe2\x82\xac.txt"));
  EXPECT_TRUE(items.count("p2/raw\\xff.bin"));
  // Zero-byte file: the empty blob.
  EXPECT_EQ(items["p1/empty.bin"]["sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // The deleted FAT file, recovered from its free clusters.
  ASSERT_TRUE(items.count("p1/_one.txt"));
  EXPECT_EQ(items["p1/_one.txt"]["description"], "deleted file");
  EXPECT_EQ(items["p1/_one.txt"]["sha256"], Sha256Hex(built->files[5].content));
  // The deleted ext4 file: either recovered exactly or recorded as not
  // recoverable, never faked.
  ASSERT_TRUE(items.count("p2/doomed.txt"));
  const json& doomed = items["p2/doomed.txt"];
  EXPECT_EQ(doomed["description"], "deleted file");
  if (doomed.contains("error"))
    EXPECT_EQ(doomed["sha256"], "");
  else
    EXPECT_EQ(doomed["sha256"], Sha256Hex(built->files.back().content));

  // The signed event and its manifest.
  RunResult shown = C({"show", "#" + std::to_string(x["event"].get<int>())});
  ASSERT_EQ(shown.exit_code, 0) << Describe(shown);
  json ev = json::parse(shown.out)["event"];
  EXPECT_EQ(ev["type"], "extracted");
  ASSERT_EQ(ev["items"].size(), 1u);
  EXPECT_EQ(ev["items"][0]["id"], image["id"]);
  const json& d = ev["details"];
  EXPECT_EQ(d["tool"], "custos");
  EXPECT_FALSE(d["libtsk_version"].get<std::string>().empty());
  EXPECT_EQ(d["partial"], false);
  EXPECT_EQ(d["files"], 12);
  EXPECT_EQ(d["manifest"], x["manifest"]);
  std::string manifest = Blob(d["manifest"]);
  ASSERT_FALSE(manifest.empty());
  std::string disk = ReadFile(built->path);
  int lines = 0, with_item = 0;
  size_t pos = 0;
  while (pos < manifest.size()) {
    size_t nl = manifest.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    // Every line is canonical JSON (docs/formats/event.md).
    auto canon = repo::ParseCanonicalJson(manifest.substr(pos, nl - pos));
    ASSERT_TRUE(canon.ok())
        << canon.status() << ": " << manifest.substr(pos, nl - pos);
    json line = json::parse(manifest.substr(pos, nl - pos));
    pos = nl + 1;
    ++lines;
    if (!line.contains("item")) continue;
    ++with_item;
    auto raw = Base64Decode(line["path_b64"].get<std::string>());
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(line["path"], EscapeBytes(*raw));
    EXPECT_EQ(items.count(
                  EscapeBytes(line["volume"].get<std::string>() + "/" + *raw)),
              1u)
        << line.dump();
    // Byte runs point at the content inside the whole disk image.
    if (line.value("content", "") == "full" && line.contains("byte_runs")) {
      std::string from_runs;
      for (const auto& r : line["byte_runs"])
        from_runs += disk.substr(r["img_offset"], r["len"]);
      EXPECT_EQ(Sha256Hex(from_runs), line["sha256"]) << line.dump();
    }
  }
  EXPECT_EQ(with_item, 12);
  EXPECT_EQ(lines, x["entries"]);
  ExpectVerifies();

  // Re-extraction stores nothing new: every blob is already there.
  json again = CJ({"extract", "EXH-001", "--actor", kActor});
  EXPECT_EQ(again["new_blobs"], 0);
  EXPECT_NE(again["manifest"], x["manifest"]);  // fresh item ids
  ExpectVerifies();
}

// Issue 3 item 3: every file read gets its type by content (libmagic) and
// its EXIF metadata, signed in the manifest line (media_type) and indexed
// for `custos items --type/--property`, in stored and --no-content modes.
TEST_F(ExtractTest, FileTypesAndExifAreRecordedAndSearchable) {
  auto built = ti::BuildTypedImage(tmp_.path());
  ASSERT_TRUE(built.ok()) << built.status();
  json image = Acquire(built->path, "EXH-010");
  const std::map<std::string, std::string> want = {
      {"photo.jpg", "image/jpeg"},
      {"notes.txt", "text/plain"},
      {"noise.bin", "application/octet-stream"},
      {"empty.txt", "application/x-empty"}};
  std::vector<std::string> photos;  // derived item ids of photo.jpg
  for (bool stored : {true, false}) {
    SCOPED_TRACE(stored ? "stored" : "--no-content");
    std::vector<std::string> args = {"extract", "EXH-010", "--actor", kActor};
    if (!stored) args.push_back("--no-content");
    json x = CJ(args);
    EXPECT_EQ(x["files"], 4);
    EXPECT_EQ(x["identified"], 4);
    const uint64_t seq = x["event"].get<uint64_t>();

    // The signed manifest line carries the MIME type.
    json ev = json::parse(C({"show", "#" + std::to_string(seq)}).out)["event"];
    EXPECT_FALSE(ev["details"].value("magic_version", std::string()).empty());
    std::string manifest = Blob(x["manifest"]);
    std::map<std::string, std::string> signed_type;
    size_t pos = 0;
    while (pos < manifest.size()) {
      size_t nl = manifest.find('\n', pos);
      ASSERT_NE(nl, std::string::npos);
      ASSERT_TRUE(
          repo::ParseCanonicalJson(manifest.substr(pos, nl - pos)).ok());
      json line = json::parse(manifest.substr(pos, nl - pos));
      pos = nl + 1;
      if (line["kind"] != "file") {
        EXPECT_FALSE(line.contains("media_type")) << line.dump();
        continue;
      }
      signed_type[line["path"]] = line.value("media_type", "");
    }
    EXPECT_EQ(signed_type, want);

    // The derived items: media_type, EXIF properties, event_items rows.
    std::map<std::string, std::string> item_type;
    for (const auto& it : CJ({"items", "--all"})) {
      if (it.value("parent", "") != image["id"] || it["acquired_event"] != seq)
        continue;
      item_type[it["path"]] = it.value("media_type", "");
      json shown = CJ({"show", it["id"]});
      EXPECT_EQ(shown["events"], json::array({seq})) << it["path"];
      const json& props = shown["properties"];
      if (it["path"] == "photo.jpg") {
        photos.push_back(it["id"]);
        EXPECT_EQ(props.value("exif.Make", ""), "Canon");
        EXPECT_EQ(props.value("exif.Model", ""), "Canon EOS 5D Mark IV");
        EXPECT_EQ(props.value("exif.DateTimeOriginal", ""),
                  "2024:05:01 10:20:30");
        EXPECT_EQ(props.value("exif.gps.latitude", ""), "52.370000");
        EXPECT_EQ(props.value("exif.gps.longitude", ""), "4.890000");
      } else {
        EXPECT_EQ(props, json::object()) << it["path"];
      }
    }
    EXPECT_EQ(item_type, want);
    ExpectVerifies();
  }

  // Search finds the photographs of both runs by property and by type.
  ASSERT_EQ(photos.size(), 2u);
  std::sort(photos.begin(), photos.end());
  auto ids = [](const json& items) {
    std::vector<std::string> v;
    for (const auto& it : items) v.push_back(it["id"]);
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(ids(CJ({"items", "--property", "exif.Make=Canon"})), photos);
  EXPECT_EQ(ids(CJ({"items", "--property", "exif.gps.latitude=52.37%",
                    "--property", "exif.Model=%5D%"})),
            photos);
  EXPECT_EQ(ids(CJ({"items", "--all", "--type", "image/jpeg"})), photos);
  EXPECT_EQ(CJ({"items", "--property", "exif.Make=Nikon"}).size(), 0u);

  // --describe adds libmagic's description; --no-identify records no type.
  json described = CJ(
      {"extract", "EXH-010", "--actor", kActor, "--no-content", "--describe"});
  EXPECT_EQ(described["identified"], 4);
  for (const auto& id :
       ids(CJ({"items", "--property", "file.description=ASCII text%"}))) {
    json shown = CJ({"show", id});
    EXPECT_EQ(shown["path"], "notes.txt");
    EXPECT_EQ(shown["acquired_event"], described["event"]);
  }
  EXPECT_EQ(CJ({"items", "--property", "file.description=ASCII text%"}).size(),
            1u);
  json plain = CJ({"extract", "EXH-010", "--actor", kActor, "--no-content",
                   "--no-identify"});
  EXPECT_EQ(plain["identified"], 0);
  std::string m = Blob(plain["manifest"]);
  EXPECT_EQ(m.find("media_type"), std::string::npos);
  EXPECT_EQ(ids(CJ({"items", "--property", "exif.Make=Canon"})).size(), 3u);
  ExpectVerifies();
}

TEST_F(ExtractTest, PartitionChoiceNoContentAndOnlyAllocated) {
  auto built = ti::BuildPartitionedImage(tmp_.path());
  ASSERT_TRUE(built.ok()) << built.status();
  json image = Acquire(built->path, "EXH-001");
  json x = CJ({"extract", "EXH-001", "--actor", kActor, "--partition", "2",
               "--no-content", "--no-deleted"});
  ASSERT_EQ(x["volumes"].size(), 1u);
  EXPECT_EQ(x["volumes"][0]["label"], "p2");
  EXPECT_EQ(x["deleted"], 0);
  EXPECT_EQ(x["files"], 4);
  EXPECT_EQ(x["new_blobs"], 0);
  auto items = ItemsByPath(image["id"]);
  ASSERT_TRUE(items.count("p2/dir/sub/nested.bin"));
  const auto& nested = built->files[6 + 2];
  ASSERT_EQ(nested.path, "p2/dir/sub/nested.bin");
  EXPECT_EQ(items["p2/dir/sub/nested.bin"]["sha256"],
            Sha256Hex(nested.content));
  // Hashed, not stored: verify knows from the signed manifest.
  EXPECT_EQ(Blob(items["p2/dir/sub/nested.bin"]["sha256"]), "");
  ExpectVerifies();

  RunResult bad =
      C({"extract", "EXH-001", "--actor", kActor, "--partition", "5"});
  EXPECT_EQ(bad.exit_code, 3) << Describe(bad);
  EXPECT_THAT(bad.err, HasSubstr("2 allocated partition"));
}

TEST_F(ExtractTest, UnknownFileSystemIsAClearErrorAndCommitsNothing) {
  std::string noise(2 << 20, '\0');
  uint32_t v = 99;
  for (auto& c : noise) {
    v = v * 1664525u + 1013904223u;
    c = static_cast<char>(v >> 24);
  }
  std::string path = tmp_.Join("noise.dd");
  WriteFile(path, noise);
  Acquire(path, "EXH-009");
  uint64_t before = EventCount();
  RunResult r = C({"extract", "EXH-009", "--actor", kActor});
  EXPECT_EQ(r.exit_code, 7) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("no partition table"));
  EXPECT_THAT(r.err, HasSubstr("tried"));
  EXPECT_THAT(r.err, HasSubstr("ext2/3/4"));
  EXPECT_EQ(EventCount(), before);
  ExpectVerifies();
}

TEST_F(ExtractTest, DamagedPartitionCommitsPartialResultExit8) {
  auto built = ti::BuildPartitionedImage(tmp_.path());
  ASSERT_TRUE(built.ok()) << built.status();
  {
    std::fstream f(built->path,
                   std::ios::binary | std::ios::in | std::ios::out);
    f.seekp((2048 + 32768) * 512);
    std::string zeros(65536, '\0');
    f.write(zeros.data(), zeros.size());
  }
  json image = Acquire(built->path, "EXH-002");
  uint64_t before = EventCount();
  RunResult text = C({"extract", "EXH-002", "--actor", kActor});
  EXPECT_EQ(text.exit_code, 8) << Describe(text);
  EXPECT_THAT(text.out, HasSubstr("PARTIAL"));
  EXPECT_THAT(text.out, HasSubstr("no file system recognised"));
  EXPECT_EQ(EventCount(), before + 1);
  json x = CJ({"extract", "EXH-002", "--actor", kActor}, 8);
  EXPECT_EQ(x["partial"], true);
  EXPECT_EQ(x["volumes"][1]["status"], "error");
  EXPECT_EQ(x["volumes"][0]["status"], "ok");
  RunResult shown = C({"show", "#" + std::to_string(x["event"].get<int>())});
  json d = json::parse(shown.out)["event"]["details"];
  EXPECT_EQ(d["partial"], true);
  EXPECT_THAT(d["errors"][0].get<std::string>(), HasSubstr("p2: "));
  auto items = ItemsByPath(image["id"]);
  EXPECT_TRUE(items.count("p1/hello.txt"));
  EXPECT_FALSE(items.count("p2/hello.txt"));
  ExpectVerifies();
}

TEST_F(ExtractTest, CorruptDirectorySizeIsDamagedPartialExit8) {
  // ext2 with a.txt, big/inner.txt, zz/last.txt; debugfs then makes big's
  // inode claim 2 GiB - 1 bytes on a 4 MiB file system.
  std::string src = tmp_.Join("src");
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((src + "/big").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((src + "/zz").c_str(), 0755), 0);
  WriteFile(src + "/a.txt", "first file\n");
  WriteFile(src + "/big/inner.txt", "inside the damaged directory\n");
  WriteFile(src + "/zz/last.txt", "after the damaged directory\n");
  std::string img = tmp_.Join("corrupt.img");
  ASSERT_TRUE(ti::RunTool({"mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024",
                           "-d", src, img, "4096"})
                  .ok());
  ASSERT_TRUE(
      ti::RunTool({"debugfs", "-w", "-R", "sif /big size 0x7fffffff", img})
          .ok());
  json image = Acquire(img, "EXH-004");
  json x = CJ({"extract", "EXH-004", "--actor", kActor}, 8);
  EXPECT_EQ(x["partial"], true);
  EXPECT_EQ(x["volumes"][0]["status"], "error");
  EXPECT_THAT(x["volumes"][0]["error"].get<std::string>(),
              HasSubstr("1 directory of the ext2 file system not walked"));
  EXPECT_GE(x["unreadable"].get<int>(), 1);
  bool listed = false;
  for (const auto& e : x["errors"])
    if (e.get<std::string>().find("fs/big: directory inode") == 0)
      listed = true;
  EXPECT_TRUE(listed) << x["errors"].dump();
  auto items = ItemsByPath(image["id"]);
  EXPECT_TRUE(items.count("a.txt"));
  EXPECT_TRUE(items.count("zz/last.txt"));
  EXPECT_FALSE(items.count("big/inner.txt"));
  ExpectVerifies();
}

TEST_F(ExtractTest, DirectoryItemIsRefused) {
  std::string dir = tmp_.Join("d");
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  WriteFile(dir + "/a", "a");
  Acquire(dir, "EXH-003");
  RunResult r = C({"extract", "EXH-003", "--actor", kActor});
  EXPECT_EQ(r.exit_code, 6) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("directory"));
  RunResult help = C({"extract", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("Exit codes"));
}

}  // namespace
}  // namespace custos::testing
