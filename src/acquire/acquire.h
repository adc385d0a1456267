// File: acquire.h
//
// Acquisition of evidence sources: regular files, directories (recursive),
// block devices and raw images read as one stream. Content is hashed and
// stored in the blob store in one read pass, in constant memory whatever
// the size. Original path bytes are kept exactly (non-UTF-8 names, newlines
// in names). Timestamps, permissions and ownership are recorded; symlinks are
// recorded, not followed unless asked; special files (FIFOs, sockets,
// character devices) are recorded, not read. Unreadable entries are reported
// with the error, never silently skipped.
//
// Thread-safety: one Acquire call per object at a time.
//
// Example:
//   AcquireOptions opts;
//   opts.digests = crypto::kSha256 | crypto::kMd5;
//   CUSTOS_RETURN_IF_ERROR(Acquire("/media/usb", *blobs, opts,
//       [&](const SourceEntry& e) { entries.push_back(e); return
//       absl::OkStatus(); }));
#ifndef CUSTOS_SRC_ACQUIRE_ACQUIRE_H_
#define CUSTOS_SRC_ACQUIRE_ACQUIRE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "src/crypto/hash.h"
#include "src/store/blob_store.h"

namespace custos::acquire {

enum class EntryKind {
  kFile,
  kDirectory,
  kSymlink,
  kBlockDevice,
  kCharDevice,
  kFifo,
  kSocket,
  kOther,
};
// "file", "directory", "symlink", "block_device", "char_device", "fifo",
// "socket", "other": the names of docs/formats/event.md (manifests).
const char* EntryKindName(EntryKind k);

struct SourceEntry {
  // Path relative to the source root, raw bytes, '/'-separated; empty for
  // the root itself.
  std::string path;
  EntryKind kind = EntryKind::kOther;
  uint64_t size = 0;        // bytes read for files/devices; st_size else
  crypto::Digests digests;  // set for files and block devices read
  bool stored = false;      // content is in the blob store
  uint32_t mode = 0;        // st_mode
  uint32_t uid = 0, gid = 0;
  int64_t mtime_ns = 0, atime_ns = 0, ctime_ns = 0;
  int64_t btime_ns = -1;  // birth time where the kernel reports it
  uint64_t inode = 0, device = 0, nlink = 0;
  std::string symlink_target;  // raw bytes
  std::string error;           // non-empty: why this entry could not be read
  // What the content is (src/filetype), for files and devices read with
  // AcquireOptions::identify: MIME type from libmagic over the first 64 KiB,
  // and properties ("file.description", "exif.Make", ...).
  std::string media_type;
  std::vector<std::pair<std::string, std::string>> properties;
};

struct Progress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;  // 0 if unknown
  uint64_t entries_done = 0;
};

struct AcquireOptions {
  unsigned digests = crypto::kSha256;
  bool follow_symlinks = false;
  // Identify the content of files read (libmagic + EXIF, src/filetype).
  bool identify = true;
  // Called from the acquiring thread, at most every few MiB.
  std::function<void(const Progress&)> progress;
};

// Walks `source` (a file, directory, or block device) in a deterministic
// order (depth-first, names sorted bytewise) and calls `sink` once per entry,
// the root first. A missing source is kNotFound; an unreadable root is
// kPermissionDenied; errors on entries below the root are recorded in
// SourceEntry::error and the walk continues. Errors from the blob store
// (disk full) and from `sink` abort the walk and are returned.
absl::Status Acquire(
    const std::string& source, store::BlobStore& blobs,
    const AcquireOptions& options,
    const std::function<absl::Status(const SourceEntry&)>& sink);

}  // namespace custos::acquire

#endif  // CUSTOS_SRC_ACQUIRE_ACQUIRE_H_
