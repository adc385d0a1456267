#include "src/extract/fs_walk.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "src/base/bytes.h"
#include "src/crypto/hash.h"
#include "src/extract/test_images.h"
#include "testing/testing.h"

namespace custos::extract {
namespace {

using testing::BuiltImage;

struct Seen {
  FsEntry entry;
  std::string volume;
  std::string content;
  std::string error;
};

struct Walked {
  absl::StatusOr<WalkResult> result;
  std::map<std::string, Seen> by_path;  // "<label>/<path>"
  std::string image;                    // the whole image, for run checks
  double seconds = 0;                   // wall time of Walk()
};

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

Walked WalkImage(const std::string& path, WalkOptions opts = {}) {
  Walked w;
  w.image = ReadAll(path);
  auto file = PosixFileSystem().NewRandomAccessFile(path);
  EXPECT_TRUE(file.ok()) << file.status();
  auto media = RawFileMedia(std::move(*file), w.image.size());
  auto start = std::chrono::steady_clock::now();
  w.result = Walk(*media, opts,
                  [&](const FsEntry& e, ContentReader& c) -> absl::Status {
                    Seen s;
                    s.entry = e;
                    s.volume = e.volume->label;
                    uint64_t got = 0;
                    if (e.kind == "file") {
                      absl::Status st = c.Read(
                          [&](std::string_view chunk) {
                            s.content.append(chunk);
                            return absl::OkStatus();
                          },
                          &got, &s.error);
                      if (!st.ok()) return st;
                      EXPECT_EQ(got, s.content.size());
                    }
                    std::string key = e.volume->label + "/" + e.path;
                    EXPECT_EQ(w.by_path.count(key), 0u) << "twice: " << key;
                    w.by_path[key] = std::move(s);
                    return absl::OkStatus();
                  });
  w.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return w;
}

// The byte runs, read straight from the image, give the content.
std::string FromRuns(const Walked& w, const FsEntry& e) {
  std::string out;
  for (const ByteRun& r : e.runs) {
    EXPECT_EQ(r.file_offset, out.size());
    if (r.sparse) {
      out.append(r.len, '\0');
    } else {
      EXPECT_FALSE(r.resident);
      EXPECT_LE(r.img_offset + r.len, w.image.size());
      out.append(w.image, r.img_offset, r.len);
    }
  }
  return out;
}

std::string Sha256Hex(const std::string& s) {
  return HexEncode(crypto::AsView(crypto::Sha256(s)));
}

class FsWalkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"mkfs.vfat", "mcopy", "mke2fs", "debugfs"})
      if (!testing::HaveTool(tool))
        GTEST_SKIP() << tool << " is not installed (dosfstools, mtools, "
                     << "e2fsprogs)";
  }
  custos::testing::TempDir tmp_;
};

TEST_F(FsWalkTest, FatImageFilesDeletedNamesTimesAndRuns) {
  auto built = testing::BuildFatImage(tmp_.path());
  ASSERT_TRUE(built.ok()) << built.status();
  Walked w = WalkImage(built->path);
  ASSERT_TRUE(w.result.ok()) << w.result.status();
  EXPECT_EQ(w.result->volume_system, "none");
  ASSERT_EQ(w.result->volumes.size(), 1u);
  EXPECT_EQ(w.result->volumes[0].label, "fs");
  EXPECT_EQ(w.result->volumes[0].fs_type, "fat16");
  EXPECT_EQ(w.result->volumes[0].offset, 0u);
  EXPECT_FALSE(w.result->partial);

  // Independently known: sha256sum of the bytes given to mcopy.
  const Seen& hello = w.by_path.at("fs/hello.txt");
  EXPECT_EQ(Sha256Hex(hello.content),
            "90b6fe9977fd1f068572beb279b9440572104f327c0b3568e5edbf17f8630c2e");
  EXPECT_EQ(hello.entry.alloc, Alloc::kAllocated);
  EXPECT_TRUE(hello.entry.meta_alloc);
  EXPECT_EQ(hello.entry.size, 16u);
  ASSERT_TRUE(hello.entry.mtime_ns.has_value());
  EXPECT_EQ(*hello.entry.mtime_ns, int64_t{1614834368} * 1000000000);
  // FAT keeps only the access date.
  ASSERT_TRUE(hello.entry.atime_ns.has_value());
  EXPECT_EQ(*hello.entry.atime_ns, int64_t{1614816000} * 1000000000);
  EXPECT_FALSE(hello.entry.ctime_ns.has_value());

  for (const auto& f : built->files) {
    std::string key = "fs/" + f.path;
    if (f.deleted) continue;
    ASSERT_TRUE(w.by_path.count(key)) << key;
    const Seen& s = w.by_path.at(key);
    EXPECT_EQ(s.entry.kind, "file") << key;
    EXPECT_EQ(s.error, "") << key;
    EXPECT_EQ(s.content, f.content) << key;
    EXPECT_EQ(s.entry.size, f.content.size()) << key;
    EXPECT_EQ(FromRuns(w, s.entry), f.content) << key;
    EXPECT_EQ(*s.entry.mtime_ns, f.mtime_s * 1000000000) << key;
  }
  // The report spans several clusters: its runs were merged and still add
  // up to the size.
  const Seen& report = w.by_path.at("fs/docs/report.txt");
  uint64_t sum = 0;
  for (const auto& r : report.entry.runs) sum += r.len;
  EXPECT_EQ(sum, report.entry.size);
  EXPECT_EQ(w.by_path.at("fs/empty.bin").entry.runs.size(), 0u);
  // Non-ASCII long file name, byte for byte.
  EXPECT_TRUE(w.by_path.count("fs/caf\xc3\xa9 \xe2\x82\xac.txt"));
  // Directories, nested.
  EXPECT_EQ(w.by_path.at("fs/docs").entry.kind, "directory");
  EXPECT_EQ(w.by_path.at("fs/docs/deep").entry.kind, "directory");
  // The deleted file: libtsk shows the short name with '_' for the erased
  // first byte; its clusters were not reused, so the content is recovered.
  ASSERT_TRUE(w.by_path.count("fs/_one.txt"));
  const Seen& gone = w.by_path.at("fs/_one.txt");
  EXPECT_EQ(gone.entry.alloc, Alloc::kDeleted);
  EXPECT_FALSE(gone.entry.meta_alloc);
  EXPECT_EQ(gone.error, "");
  EXPECT_EQ(gone.content, built->files.back().content);
  // libtsk's virtual files are not reported.
  for (const auto& [k, s] : w.by_path) {
    EXPECT_EQ(k.find("$MBR"), std::string::npos);
    EXPECT_EQ(k.find("$FAT"), std::string::npos);
  }
  // Nothing else appeared.
  std::string all;
  for (const auto& [k, s] : w.by_path) all += EscapeBytes(k) + "\n";
  // libtsk (and fiwalk) report the FAT volume label entry as a zero-byte
  // regular file.
  ASSERT_TRUE(w.by_path.count("fs/EVIDENCE    (Volume Label Entry)")) << all;
  EXPECT_EQ(w.by_path.at("fs/EVIDENCE    (Volume Label Entry)").entry.size, 0u);
  EXPECT_EQ(w.by_path.size(), built->files.size() + built->dirs.size() + 1)
      << all;
}

TEST_F(FsWalkTest, WithoutDeletedOnlyAllocatedNames) {
  auto built = testing::BuildFatImage(tmp_.path());
  ASSERT_TRUE(built.ok()) << built.status();
  WalkOptions opts;
  opts.include_deleted = false;
  Walked w = WalkImage(built->path, opts);
  ASSERT_TRUE(w.result.ok()) << w.result.status();
  EXPECT_FALSE(w.by_path.count("fs/_one.txt"));
  for (const auto& [k, s] : w.by_path)
    EXPECT_EQ(s.entry.alloc, Alloc::kAllocated) << k;
  EXPECT_TRUE(w.by_path.count("fs/hello.txt"));
}

TEST_F(FsWalkTest, Ext4NanosecondTimesRawNamesAndDeletedInode) {
  auto built = testing::BuildExt4Image(tmp_.path());
  ASSERT_TRUE(built.ok()) << built.status();
  Walked w = WalkImage(built->path);
  ASSERT_TRUE(w.result.ok()) << w.result.status();
  ASSERT_EQ(w.result->volumes.size(), 1u);
  EXPECT_EQ(w.result->volumes[0].fs_type, "ext4");
  EXPECT_EQ(w.result->volumes[0].block_size, 1024u);
  const Seen& hello = w.by_path.at("fs/hello.txt");
  EXPECT_EQ(Sha256Hex(hello.content),
            "bfd0392dabf26ee8ed6a6f48702eec9eaae73128d7e4ee61511cd69579013147");
  EXPECT_EQ(*hello.entry.mtime_ns, int64_t{1600000000123456789});
  EXPECT_EQ(hello.entry.mode & 0170000, 0100000u);  // S_IFREG
  for (const auto& f : built->files) {
    if (f.deleted) continue;
    std::string key = "fs/" + f.path;
    ASSERT_TRUE(w.by_path.count(key)) << EscapeBytes(key);
    const Seen& s = w.by_path.at(key);
    EXPECT_EQ(s.content, f.content) << key;
    EXPECT_EQ(FromRuns(w, s.entry), f.content) << key;
    EXPECT_EQ(s.entry.alloc, Alloc::kAllocated);
  }
  // The non-UTF-8 name arrives as its raw bytes.
  EXPECT_TRUE(w.by_path.count("fs/raw\xff.bin"));
  // debugfs rm: the name is deleted, the inode freed. Whatever libtsk can
  // read must be the original bytes; otherwise the entry says why.
  ASSERT_TRUE(w.by_path.count("fs/doomed.txt"));
  const Seen& doomed = w.by_path.at("fs/doomed.txt");
  EXPECT_EQ(doomed.entry.alloc, Alloc::kDeleted);
  EXPECT_FALSE(doomed.entry.meta_alloc);
  if (doomed.error.empty() && doomed.entry.content_error.empty())
    EXPECT_EQ(doomed.content, built->files.back().content);
  else
    EXPECT_EQ(doomed.content, "");
  EXPECT_EQ(w.by_path.at("fs/dir/sub").entry.kind, "directory");
}

TEST_F(FsWalkTest, PartitionedImageVolumesAndPartitionChoice) {
  auto built = testing::BuildPartitionedImage(tmp_.path());
  ASSERT_TRUE(built.ok()) << built.status();
  Walked w = WalkImage(built->path);
  ASSERT_TRUE(w.result.ok()) << w.result.status();
  EXPECT_EQ(w.result->volume_system, "dos");
  ASSERT_EQ(w.result->volumes.size(), 2u);
  EXPECT_EQ(w.result->volumes[0].label, "p1");
  EXPECT_EQ(w.result->volumes[0].offset, 1048576u);
  EXPECT_EQ(w.result->volumes[0].fs_type, "fat16");
  EXPECT_EQ(w.result->volumes[1].label, "p2");
  EXPECT_EQ(w.result->volumes[1].offset, uint64_t{2048 + 32768} * 512);
  EXPECT_EQ(w.result->volumes[1].fs_type, "ext4");
  EXPECT_FALSE(w.result->partial);
  for (const auto& f : built->files) {
    if (f.deleted) continue;
    ASSERT_TRUE(w.by_path.count(f.path)) << EscapeBytes(f.path);
    const Seen& s = w.by_path.at(f.path);
    EXPECT_EQ(s.content, f.content) << f.path;
    // img_offset is relative to the whole disk, not the partition.
    EXPECT_EQ(FromRuns(w, s.entry), f.content) << f.path;
  }

  WalkOptions only2;
  only2.partition = 2;
  Walked w2 = WalkImage(built->path, only2);
  ASSERT_TRUE(w2.result.ok()) << w2.result.status();
  ASSERT_EQ(w2.result->volumes.size(), 1u);
  EXPECT_EQ(w2.result->volumes[0].label, "p2");
  EXPECT_TRUE(w2.by_path.count("p2/hello.txt"));
  EXPECT_FALSE(w2.by_path.count("p1/hello.txt"));

  WalkOptions only3;
  only3.partition = 3;
  Walked w3 = WalkImage(built->path, only3);
  EXPECT_EQ(w3.result.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FsWalkTest, DamagedPartitionGivesPartialResult) {
  auto built = testing::BuildPartitionedImage(tmp_.path());
  ASSERT_TRUE(built.ok()) << built.status();
  // Wipe p2's first 64 KiB (ext4 superblock and group descriptors).
  {
    std::fstream f(built->path,
                   std::ios::binary | std::ios::in | std::ios::out);
    f.seekp((2048 + 32768) * 512);
    std::string zeros(65536, '\0');
    f.write(zeros.data(), zeros.size());
  }
  Walked w = WalkImage(built->path);
  ASSERT_TRUE(w.result.ok()) << w.result.status();
  EXPECT_TRUE(w.result->partial);
  ASSERT_EQ(w.result->volumes.size(), 2u);
  EXPECT_EQ(w.result->volumes[0].error, "");
  EXPECT_NE(w.result->volumes[1].error.find("no file system recognised"),
            std::string::npos)
      << w.result->volumes[1].error;
  EXPECT_NE(w.result->volumes[1].error.find("ext2/3/4"), std::string::npos);
  EXPECT_TRUE(w.by_path.count("p1/hello.txt"));
  EXPECT_FALSE(w.by_path.count("p2/hello.txt"));
}

TEST_F(FsWalkTest, UnknownFileSystemIsAClearError) {
  std::string path = tmp_.Join("noise.img");
  std::string noise(4 << 20, '\0');
  uint32_t x = 7;
  for (auto& c : noise) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  std::ofstream(path, std::ios::binary).write(noise.data(), noise.size());
  Walked w = WalkImage(path);
  ASSERT_FALSE(w.result.ok());
  EXPECT_EQ(w.result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(w.result.status().message().find("tried"), std::string::npos)
      << w.result.status();
  EXPECT_NE(w.result.status().message().find("NTFS"), std::string::npos);
  EXPECT_NE(w.result.status().message().find("partition"), std::string::npos);
  EXPECT_TRUE(w.by_path.empty());
}

TEST_F(FsWalkTest, TruncatedFatImageReportsUnreadableContent) {
  auto built = testing::BuildFatImage(tmp_.path());
  ASSERT_TRUE(built.ok()) << built.status();
  // Cut the image right after the first file's data: later clusters are
  // gone. Reads beyond the end must be reported, never zero-filled.
  Walked full = WalkImage(built->path);
  ASSERT_TRUE(full.result.ok());
  const auto& runs = full.by_path.at("fs/docs/report.txt").entry.runs;
  ASSERT_FALSE(runs.empty());
  uint64_t cut = runs.front().img_offset + 1024;
  ASSERT_EQ(::truncate(built->path.c_str(), static_cast<off_t>(cut)), 0);
  Walked w = WalkImage(built->path);
  ASSERT_TRUE(w.result.ok()) << w.result.status();
  const Seen& report = w.by_path.at("fs/docs/report.txt");
  EXPECT_NE(report.error, "");
  EXPECT_LT(report.content.size(), report.entry.size);
  EXPECT_EQ(report.content,
            built->files[2].content.substr(0, report.content.size()));
}

// An ext2 image from mke2fs -d with a.txt, big/inner.txt, zz/last.txt, then
// debugfs sets the claimed size of `victim` (a directory path) to 2 GiB - 1.
std::string BuildCorruptDirImage(const std::string& dir,
                                 const std::string& victim) {
  std::string src = dir + "/src-" + std::to_string(victim.size());
  std::string img = dir + "/corrupt-" + std::to_string(victim.size()) + ".img";
  EXPECT_TRUE(
      testing::RunTool({"mkdir", "-p", src + "/big", src + "/zz"}).ok());
  std::ofstream(src + "/a.txt") << "first file\n";
  std::ofstream(src + "/big/inner.txt") << "inside the damaged directory\n";
  std::ofstream(src + "/zz/last.txt") << "after the damaged directory\n";
  absl::Status st = testing::RunTool({"mke2fs", "-q", "-F", "-t", "ext2", "-b",
                                      "1024", "-d", src, img, "4096"});
  EXPECT_TRUE(st.ok()) << st;
  st = testing::RunTool(
      {"debugfs", "-w", "-R", "sif " + victim + " size 0x7fffffff", img});
  EXPECT_TRUE(st.ok()) << st;
  return img;
}

TEST_F(FsWalkTest, CorruptDirectorySizeIsRefusedQuicklyAndTheRestWalked) {
  std::string img = BuildCorruptDirImage(tmp_.path(), "/big");
  Walked w = WalkImage(img);
  EXPECT_LT(w.seconds, 10.0);  // libtsk alone: tens of seconds or more
  ASSERT_TRUE(w.result.ok()) << w.result.status();
  EXPECT_TRUE(w.result->partial);
  ASSERT_EQ(w.result->volumes.size(), 1u);
  const std::string& verr = w.result->volumes[0].error;
  EXPECT_NE(verr.find("1 directory of the ext2 file system not walked"),
            std::string::npos)
      << verr;
  EXPECT_NE(verr.find("claims 2147483647 bytes"), std::string::npos) << verr;
  // The damaged directory is listed, with why; its names are not.
  ASSERT_TRUE(w.by_path.count("fs/big"));
  const Seen& big = w.by_path.at("fs/big");
  EXPECT_EQ(big.entry.kind, "directory");
  EXPECT_NE(big.entry.content_error.find("not opened (damaged metadata)"),
            std::string::npos)
      << big.entry.content_error;
  EXPECT_EQ(w.by_path.count("fs/big/inner.txt"), 0u);
  // Everything else is walked and read as usual.
  ASSERT_TRUE(w.by_path.count("fs/a.txt"));
  EXPECT_EQ(w.by_path.at("fs/a.txt").content, "first file\n");
  ASSERT_TRUE(w.by_path.count("fs/zz/last.txt"));
  EXPECT_EQ(w.by_path.at("fs/zz/last.txt").content,
            "after the damaged directory\n");
  EXPECT_TRUE(w.by_path.at("fs/zz").entry.content_error.empty());
}

TEST_F(FsWalkTest, CorruptRootDirectorySizeStopsTheVolumeQuickly) {
  std::string img = BuildCorruptDirImage(tmp_.path(), "/");
  Walked w = WalkImage(img);
  EXPECT_LT(w.seconds, 10.0);
  ASSERT_TRUE(w.result.ok()) << w.result.status();
  EXPECT_TRUE(w.result->partial);
  ASSERT_EQ(w.result->volumes.size(), 1u);
  EXPECT_EQ(w.result->volumes[0].fs_type, "ext2");
  EXPECT_NE(w.result->volumes[0].error.find("not opened (damaged metadata)"),
            std::string::npos)
      << w.result->volumes[0].error;
}

TEST_F(FsWalkTest, BlockPointerBeyondTheFileSystemIsNotARun) {
  std::string img = BuildCorruptDirImage(tmp_.path(), "/zz");
  // Also point a.txt's first block far past the 4,096-block file system.
  absl::Status st = testing::RunTool(
      {"debugfs", "-w", "-R", "sif /a.txt block[0] 0x7fffff00", img});
  ASSERT_TRUE(st.ok()) << st;
  Walked w = WalkImage(img);
  ASSERT_TRUE(w.result.ok()) << w.result.status();
  ASSERT_TRUE(w.by_path.count("fs/a.txt"));
  const Seen& a = w.by_path.at("fs/a.txt");
  EXPECT_NE(a.entry.content_error.find("beyond the file system's last block"),
            std::string::npos)
      << a.entry.content_error;
  EXPECT_TRUE(a.entry.runs.empty());
  EXPECT_EQ(a.content, "");
  // Other files are unaffected.
  ASSERT_TRUE(w.by_path.count("fs/big/inner.txt"));
  EXPECT_EQ(w.by_path.at("fs/big/inner.txt").content,
            "inside the damaged directory\n");
}

TEST_F(FsWalkTest, FileSizeBeyondAnyFileSystemIsDamagedMetadata) {
  std::string img = BuildCorruptDirImage(tmp_.path(), "/zz");
  // a.txt's inode claims 5,702,683,028,157,890,566 bytes (as a fuzz input
  // did): beyond 2^53-1, which the manifest cannot hold and for which
  // libtsk would build a block list for minutes.
  absl::Status st = testing::RunTool(
      {"debugfs", "-w", "-R", "sif /a.txt size 5702683028157890566", img});
  ASSERT_TRUE(st.ok()) << st;
  Walked w = WalkImage(img);
  EXPECT_LT(w.seconds, 10.0);
  ASSERT_TRUE(w.result.ok()) << w.result.status();
  ASSERT_TRUE(w.by_path.count("fs/a.txt"));
  const Seen& a = w.by_path.at("fs/a.txt");
  EXPECT_EQ(a.entry.size, 0u);
  EXPECT_NE(a.entry.content_error.find("claims 5702683028157890566 bytes, "
                                       "more than any file system holds"),
            std::string::npos)
      << a.entry.content_error;
  EXPECT_TRUE(a.entry.runs.empty());
  EXPECT_EQ(a.content, "");
  // Other files are unaffected.
  ASSERT_TRUE(w.by_path.count("fs/big/inner.txt"));
  EXPECT_EQ(w.by_path.at("fs/big/inner.txt").content,
            "inside the damaged directory\n");
}

TEST_F(FsWalkTest, DeletedFileClaimingMoreThanItsFileSystemIsNotRead) {
  std::string img = BuildCorruptDirImage(tmp_.path(), "/zz");
  // a.txt claims 256 MiB (on a 4 MiB file system), then is deleted: the
  // name stays, the inode is freed with its claimed size.
  for (const char* cmd : {"sif /a.txt size 0x10000000", "rm /a.txt"}) {
    absl::Status st = testing::RunTool({"debugfs", "-w", "-R", cmd, img});
    ASSERT_TRUE(st.ok()) << st;
  }
  Walked w = WalkImage(img);
  ASSERT_TRUE(w.result.ok()) << w.result.status();
  ASSERT_TRUE(w.by_path.count("fs/a.txt"));
  const Seen& a = w.by_path.at("fs/a.txt");
  EXPECT_EQ(a.entry.alloc, Alloc::kDeleted);
  EXPECT_EQ(a.entry.size, uint64_t{0x10000000});
  EXPECT_NE(a.entry.content_error.find(
                "the deleted file's inode 12 claims 268435456 bytes, more "
                "than its file system's 4194304"),
            std::string::npos)
      << a.entry.content_error;
  EXPECT_TRUE(a.entry.runs.empty());
  EXPECT_EQ(a.content, "");
  // An allocated file's own size is not second-guessed: a sparse file may
  // claim more than the file system holds.
  ASSERT_TRUE(w.by_path.count("fs/big/inner.txt"));
  EXPECT_EQ(w.by_path.at("fs/big/inner.txt").content,
            "inside the damaged directory\n");
}

}  // namespace
}  // namespace custos::extract
