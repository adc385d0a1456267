#include "src/acquire/raw_image.h"

#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "src/acquire/ewf_test_util.h"
#include "src/base/file_system.h"
#include "testing/testing.h"

namespace custos::acquire {
namespace {

using testing::WriteBytes;

TEST(RawImage, SplitNames) {
  EXPECT_TRUE(IsSplitRawName("/ev/disk.001"));
  EXPECT_TRUE(IsSplitRawName("disk.000"));
  EXPECT_TRUE(IsSplitRawName("disk.0001"));
  EXPECT_FALSE(IsSplitRawName("disk.002"));
  EXPECT_FALSE(IsSplitRawName("disk.E01"));
  EXPECT_FALSE(IsSplitRawName("disk.01"));
  EXPECT_FALSE(IsSplitRawName("dir.001/disk"));
  EXPECT_FALSE(IsSplitRawName("disk"));
}

TEST(RawImage, FindsPiecesInOrder) {
  ::custos::testing::TempDir d;
  for (int i = 1; i <= 11; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "disk.%03d", i);
    ASSERT_TRUE(WriteBytes(d.Join(name), std::string(i, 'a')));
  }
  auto segs = FindSplitRawSegments(d.Join("disk.001"));
  ASSERT_TRUE(segs.ok()) << segs.status();
  ASSERT_EQ(segs->size(), 11u);
  EXPECT_EQ((*segs)[9].name, "disk.010");
  EXPECT_EQ((*segs)[9].size, 10u);
  EXPECT_EQ((*segs)[10].name, "disk.011");
}

TEST(RawImage, GapIsAnError) {
  ::custos::testing::TempDir d;
  for (const char* n : {"disk.001", "disk.002", "disk.004"})
    ASSERT_TRUE(WriteBytes(d.Join(n), "xx"));
  auto segs = FindSplitRawSegments(d.Join("disk.001"));
  ASSERT_FALSE(segs.ok());
  EXPECT_EQ(segs.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(segs.status().message().find("disk.003 is missing"),
            std::string::npos)
      << segs.status();
  EXPECT_EQ(FindSplitRawSegments(d.Join("none.001")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(RawImage, ReaderReadsWithinBounds) {
  ::custos::testing::TempDir d;
  ASSERT_TRUE(WriteBytes(d.Join("r"), "0123456789"));
  auto f = PosixFileSystem().NewRandomAccessFile(d.Join("r"));
  ASSERT_TRUE(f.ok());
  auto m = OpenRawMedia(std::move(*f));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->size(), 10u);
  EXPECT_STREQ((*m)->format(), "raw");
  char buf[8];
  auto n = (*m)->Read(6, buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "6789");
  n = (*m)->Read(10, buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

}  // namespace
}  // namespace custos::acquire
