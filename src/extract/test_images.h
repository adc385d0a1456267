// File: test_images.h
//
// Test-only: builds disk-image evidence at test time with Debian tools, no
// loop mounts and no root — a FAT image (mkfs.vfat -C, then mtools mmd /
// mcopy / mdel), an ext4 image (mke2fs -d DIR, then debugfs -w rm), and a
// partitioned image (an MBR written here by hand around copies of both).
// Each builder returns what it put in, so tests assert against values known
// independently of libtsk: the source bytes, names and times.
//
// Thread-safety: each call works in its own directory; tools run as child
// processes with TZ=UTC and a UTF-8 locale.
//
// Example:
//   TempDir t;
//   CUSTOS_ASSIGN_OR_RETURN(BuiltImage fat, BuildFatImage(t.path()));
//   ... extract fat.path, compare with fat.files ...
#ifndef CUSTOS_SRC_EXTRACT_TEST_IMAGES_H_
#define CUSTOS_SRC_EXTRACT_TEST_IMAGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace custos::extract::testing {

struct SourceFile {
  std::string path;      // inside the file system, no leading '/'
  std::string content;   // the bytes written
  int64_t mtime_s = 0;   // the modification time given to the tool
  bool deleted = false;  // removed after creation (mdel / debugfs rm)
};

struct BuiltImage {
  std::string path;  // the image file
  uint64_t size = 0;
  std::vector<SourceFile> files;  // regular files, including deleted
  std::vector<std::string> dirs;  // directories created
};

// Runs argv[0] (found on PATH) with TZ=UTC, LC_ALL=C.UTF-8 and MTOOLS_
// settings; kInternal with the tool's stderr on failure or nonzero exit.
absl::Status RunTool(const std::vector<std::string>& argv);

// True if `tool` is on PATH.
bool HaveTool(const std::string& tool);

// FAT16 image of `size_kib` KiB (>= 16384: mkfs.vfat's FAT16 minimum) under
// `dir` named `name`, holding:
//   hello.txt ("hello, evidence\n"), empty.bin (0 bytes),
//   docs/deep/nested.txt, docs/report.txt (3 clusters+ of text),
//   "café €.txt" (UTF-8 long file name), and gone.txt deleted with mdel
//   (its content stays in the free clusters, recoverable; libtsk shows the
//   deleted short name with its first byte as '_': "_one.txt").
absl::StatusOr<BuiltImage> BuildFatImage(const std::string& dir,
                                         const std::string& name = "fat.img",
                                         int size_kib = 16384);

// ext4 image built with mke2fs -t ext4 -d from a source tree holding
// hello.txt, empty.bin, dir/sub/nested.bin (64 KiB), and a name with a
// non-UTF-8 byte ("raw\xff.bin"); hello.txt's mtime gets nanoseconds
// (2020-09-13T12:26:40.123456789Z, set with debugfs sif mtime_extra since
// mke2fs -d keeps whole seconds); then debugfs -w -R "rm /doomed.txt".
absl::StatusOr<BuiltImage> BuildExt4Image(const std::string& dir,
                                          const std::string& name = "ext4.img",
                                          int size_mib = 16);

// ext4 image (mke2fs -d) for file-type identification, holding photo.jpg
// (a JPEG from filetype/test_jpeg.h whose EXIF says Make "Canon", Model
// "Canon EOS 5D Mark IV", DateTimeOriginal "2024:05:01 10:20:30", GPS
// 52 22' 12" N 4 53' 24" E), notes.txt (plain ASCII text), noise.bin (4 KiB
// of pseudo-random bytes) and empty.txt (0 bytes).
absl::StatusOr<BuiltImage> BuildTypedImage(
    const std::string& dir, const std::string& name = "typed.img");

// An MBR-partitioned image: p1 = a 16 MiB FAT16 image (type 0x06) at 1 MiB,
// p2 = an ext4 image (type 0x83) after it. `files` of the result carry
// "p1/" or "p2/" prefixes.
absl::StatusOr<BuiltImage> BuildPartitionedImage(const std::string& dir);

// Writes `image` with an MBR whose entries are (type, start LBA, sectors).
struct MbrEntry {
  uint8_t type = 0;
  uint32_t start_lba = 0, sectors = 0;
};
absl::Status WriteMbr(const std::string& image,
                      const std::vector<MbrEntry>& entries);

}  // namespace custos::extract::testing

#endif  // CUSTOS_SRC_EXTRACT_TEST_IMAGES_H_
