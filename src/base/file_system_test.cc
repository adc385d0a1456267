#include "src/base/file_system.h"

#include <sys/stat.h>

#include <cerrno>

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

}  // namespace
}  // namespace custos
