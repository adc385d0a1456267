// File: fs_walk.h
//
// Walks the volume system and file systems of a disk image with The Sleuth
// Kit's libtsk and reports every file-system entry — allocated, deleted and
// orphan — with its metadata, allocation status and byte runs, and lets the
// caller stream each regular file's content. This is the libtsk layer of
// `custos extract`; what is recorded is defined in
// docs/formats/extraction.md, and src/repo/extract.cc turns the entries into
// vault blobs, derived items and one signed event.
//
// The image is read only through acquire::MediaReader (raw, split raw, E01),
// handed to libtsk as an "external" image (tsk_img_open_external), so libtsk
// never opens a file by name.
//
// libtsk's work on untrusted metadata is bounded: a directory claiming more
// bytes than the file system or image holds (or 256 MiB) is not opened (it
// is reported with `content_error`, its volume with `error`, the result
// partial), since libtsk would build a block list for the whole claimed size
// first (docs/formats/extraction.md "Bad input").
//
// Nothing is faked: content is delivered only from the runs libtsk reports;
// a file whose runs do not cover its size, or whose metadata entry was
// reused by another file, is reported with `content_error` and no content.
//
// FAT stores local times without a zone and libtsk converts them with
// mktime(3): Walk() sets TZ=UTC for the process so that recorded times do
// not depend on the examiner's machine (documented in extraction.md).
//
// Thread-safety: Walk() is reentrant for different media (libtsk keeps its
// error state per thread), except for the TZ setting above.
//
// Example:
//   WalkOptions opts;
//   CUSTOS_ASSIGN_OR_RETURN(WalkResult r, Walk(media, opts,
//       [&](const FsEntry& e, ContentReader& content) -> absl::Status {
//         if (e.kind != "file") return absl::OkStatus();
//         std::string error;
//         return content.Read([&](std::string_view chunk) {
//           hasher.Update(chunk); return absl::OkStatus(); }, &error);
//       }));
#ifndef CUSTOS_SRC_EXTRACT_FS_WALK_H_
#define CUSTOS_SRC_EXTRACT_FS_WALK_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "src/acquire/media_reader.h"

namespace custos::extract {

enum class Alloc { kAllocated, kDeleted, kOrphan };
const char* AllocName(Alloc a);  // "allocated", "deleted", "orphan"

// One extent of a file's content (docs/formats/extraction.md "Byte runs").
struct ByteRun {
  uint64_t file_offset = 0;
  uint64_t fs_offset = 0;   // from the start of the file system
  uint64_t img_offset = 0;  // from the start of the media stream
  uint64_t len = 0;
  bool sparse = false;    // a hole: zeros, no location
  bool resident = false;  // stored inside the metadata record
};

// A volume examined: a partition, or the whole image as a bare file system.
struct VolumeInfo {
  std::string label;  // "p<N>" or "fs"
  uint32_t index = 0;
  uint64_t slot = 0;  // libtsk partition address (mmls row)
  uint64_t start_sector = 0, sectors = 0;
  uint64_t offset = 0, length = 0;  // bytes
  std::string description;          // partition type text
  std::string fs_type;              // "ext4", "fat16", ... ("" if none)
  uint32_t block_size = 0;
  uint64_t blocks = 0;
  std::string error;  // why the volume could not be (fully) walked
  uint64_t entries = 0, files = 0;
};

struct FsEntry {
  const VolumeInfo* volume = nullptr;
  uint64_t inode = 0;  // TSK_FS_META.addr (or the name's meta_addr)
  std::string path;    // raw bytes, no leading '/'
  std::string kind;    // "file", "directory", "symlink", ...
  Alloc alloc = Alloc::kAllocated;
  bool meta_alloc = false;
  bool has_meta = false;
  uint64_t size = 0;
  // Nanoseconds since the Unix epoch; nullopt when not recorded.
  std::optional<int64_t> mtime_ns, atime_ns, ctime_ns, btime_ns;
  uint32_t mode = 0, uid = 0, gid = 0, nlink = 0;
  std::vector<ByteRun> runs;  // regular files only
  std::optional<std::string> symlink_target;
  // Set when the content is known not to be recoverable before reading
  // (reused metadata, runs that do not cover the size, no data attribute);
  // on a directory, when its claimed size is beyond what the file system
  // can hold: libtsk is not let open it and its names are not reported.
  std::string content_error;
};

// Streams the content of the entry being reported. Valid only during the
// callback that received it.
class ContentReader {
 public:
  virtual ~ContentReader() = default;
  // Delivers the file's `size` bytes to `sink` in order, in chunks of at
  // most 1 MiB. A read failure is not an error of the call: `*error` says
  // where it stopped (and `*delivered` how much was given) and OK is
  // returned. Errors returned by `sink` stop the read and are returned.
  virtual absl::Status Read(
      const std::function<absl::Status(std::string_view)>& sink,
      uint64_t* delivered, std::string* error) = 0;
};

struct WalkOptions {
  int partition = 0;            // 0 = every volume; N = only p<N>
  bool include_deleted = true;  // unallocated names and orphan files
  // Called now and then with entries and content bytes seen so far.
  std::function<void(uint64_t entries, uint64_t bytes)> progress;
};

struct WalkResult {
  std::string volume_system;  // "dos", "gpt", ..., or "none"
  std::vector<VolumeInfo> volumes;
  bool partial = false;  // some volume could not be opened or fully walked
};

using EntrySink = std::function<absl::Status(const FsEntry&, ContentReader&)>;

// Walks `media`. Volumes are reported in `WalkResult::volumes`; entries go to
// `sink` in walk order. kDataLoss naming what was tried when neither a
// volume system nor a file system is recognised (or no volume can be
// opened); kNotFound when `partition` names no allocated partition. An
// error returned by `sink` stops the walk and is returned.
absl::StatusOr<WalkResult> Walk(acquire::MediaReader& media,
                                const WalkOptions& options,
                                const EntrySink& sink);

// libtsk's version string, e.g. "4.11.1".
std::string LibtskVersion();

// A MediaReader over a random-access file holding a raw media stream (a raw
// image blob, or an image file in tests and tools).
std::unique_ptr<acquire::MediaReader> RawFileMedia(
    std::unique_ptr<RandomAccessFile> file, uint64_t size);

}  // namespace custos::extract

#endif  // CUSTOS_SRC_EXTRACT_FS_WALK_H_
