#include "src/base/file_system.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "gtest/gtest.h"
#include "testing/testing.h"

namespace custos {
namespace {

TEST(FileSystem, WriteFileAtomicallyReplacesContentAndSetsMode) {
  testing::TempDir tmp;
  FileSystem& fs = PosixFileSystem();
  std::string path = tmp.Join("f");
  ASSERT_TRUE(WriteFileAtomically(fs, path, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(fs, path, "two", 0600).ok());
  EXPECT_EQ(*fs.ReadFile(path), "two");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs.Exists(path + ".tmp"));
}

TEST(FileSystem, FailedAtomicWriteLeavesTheOldContent) {
  testing::TempDir tmp;
  testing::FaultInjectionFileSystem faulty(PosixFileSystem());
  std::string path = tmp.Join("f");
  ASSERT_TRUE(WriteFileAtomically(faulty, path, "old").ok());
  faulty.SetWriteBudget(2);
  absl::Status st = WriteFileAtomically(faulty, path, "new content");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*faulty.ReadFile(path), "old");
  EXPECT_FALSE(faulty.Exists(path + ".tmp"));
  faulty.SetWriteBudget(INT64_MAX);
  faulty.FailSyncs(true);
  EXPECT_FALSE(WriteFileAtomically(faulty, path, "new").ok());
  EXPECT_EQ(*faulty.ReadFile(path), "old");
}

TEST(FileSystem, CreateDirsAndListDir) {
  testing::TempDir tmp;
  FileSystem& fs = PosixFileSystem();
  ASSERT_TRUE(CreateDirs(fs, tmp.Join("a/b/c")).ok());
  ASSERT_TRUE(CreateDirs(fs, tmp.Join("a/b/c")).ok());  // idempotent
  auto list = fs.ListDir(tmp.Join("a"));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, std::vector<std::string>{"b"});
  EXPECT_EQ(fs.ListDir(tmp.Join("missing")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(FileSystem, ErrnoMapsToSpecificCodesNamingThePath) {
  EXPECT_EQ(ErrnoToStatus(ENOSPC, "/x").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_NE(ErrnoToStatus(ENOSPC, "/x").message().find("disk full"),
            std::string::npos);
  EXPECT_EQ(ErrnoToStatus(ENOENT, "/x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoToStatus(EACCES, "/x").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatus(EEXIST, "/x").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_NE(ErrnoToStatus(EIO, "/some/path").message().find("/some/path"),
            std::string::npos);
}

TEST(FileSystem, RandomAccessReadsAtOffsets) {
  testing::TempDir tmp;
  FileSystem& fs = PosixFileSystem();
  ASSERT_TRUE(WriteFileAtomically(fs, tmp.Join("f"), "0123456789").ok());
  auto f = fs.NewRandomAccessFile(tmp.Join("f"));
  ASSERT_TRUE(f.ok());
  char buf[8];
  EXPECT_EQ(*(*f)->Read(7, 8, buf), 3u);
  EXPECT_EQ(std::string(buf, 3), "789");
  EXPECT_EQ(*(*f)->Size(), 10u);
}

// Large files go to disk with O_DIRECT past their first 8 MiB (whole 4 KiB
// blocks, through a bounce buffer when the caller's is unaligned); the
// content must be exactly what was appended whatever the pieces' sizes and
// alignment, including the unaligned tail and appends after it.
TEST(FileSystem, LargeAppendsOfAnySizeAndAlignmentReadBackExactly) {
  testing::TempDir tmp;
  FileSystem& fs = PosixFileSystem();
  std::string want;
  uint32_t x = 12345;
  want.resize((size_t{11} << 20) + 777);
  for (char& c : want) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  // 1 MiB pieces from an odd offset, a few odd sizes, then the rest.
  std::string src = "x" + want;  // src.data() + 1 is unaligned
  const char* p = src.data() + 1;
  const size_t sizes[] = {size_t{1} << 20, 4096, (size_t{3} << 20) + 5, 100};
  auto f = fs.NewWritableFile(tmp.Join("big"), /*exclusive=*/true, 0644);
  ASSERT_TRUE(f.ok()) << f.status();
  size_t off = 0, k = 0;
  while (off < want.size()) {
    size_t n =
        std::min(want.size() - off,
                 off < (size_t{8} << 20) ? size_t{1} << 20 : sizes[k++ % 4]);
    ASSERT_TRUE((*f)->Append(std::string_view(p + off, n)).ok());
    off += n;
    if (off > (size_t{9} << 20)) {
      ASSERT_TRUE((*f)->StartWriteback().ok());
    }
  }
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  auto got = fs.ReadFile(tmp.Join("big"));
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), want.size());
  EXPECT_TRUE(*got == want);
}

}  // namespace
}  // namespace custos
