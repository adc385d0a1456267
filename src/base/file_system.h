// File: file_system.h
//
// The injected filesystem through which the repository writes everything it
// commits (blobs, tree files, key files). PosixFileSystem is the real one;
// testing/fault_injection_file_system.h wraps any FileSystem to simulate a
// full disk or an I/O error after N bytes, for deterministic fault tests.
//
// Evidence *sources* (the seized media being acquired) are read by
// src/acquire directly with POSIX calls, because acquisition must see
// lstat() details (device numbers, symlinks, special files) that this
// interface deliberately does not model.
//
// Thread-safety: a FileSystem may be used from several threads; a single
// WritableFile/ReadableFile object must not.
//
// Example:
//   FileSystem& fs = PosixFileSystem();
//   CUSTOS_ASSIGN_OR_RETURN(auto f, fs.NewWritableFile(tmp,
//   /*exclusive=*/true)); CUSTOS_RETURN_IF_ERROR(f->Append(data));
//   CUSTOS_RETURN_IF_ERROR(f->Sync());
//   CUSTOS_RETURN_IF_ERROR(f->Close());
//   CUSTOS_RETURN_IF_ERROR(fs.Rename(tmp, final_path));
//   CUSTOS_RETURN_IF_ERROR(fs.SyncDir(dir));
#ifndef CUSTOS_SRC_BASE_FILE_SYSTEM_H_
#define CUSTOS_SRC_BASE_FILE_SYSTEM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace custos {

// A file being written sequentially. Errors are sticky: after a failed call
// every later call fails too.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends `data`. ENOSPC becomes kResourceExhausted ("disk full").
  virtual absl::Status Append(std::string_view data) = 0;
  // fsync(2)/fdatasync(2): returns only when the data is durable.
  virtual absl::Status Sync() = 0;
  // A hint: start writing back what was appended so far, without waiting
  // (sync_file_range(2) SYNC_FILE_RANGE_WRITE), so that a later Sync() of a
  // large file is short. Durability still needs Sync(). Default: nothing.
  virtual absl::Status StartWriteback() { return absl::OkStatus(); }
  // Closes; the object may then only be destroyed.
  virtual absl::Status Close() = 0;
};

// A file read at arbitrary offsets (pread). Safe for concurrent Read calls.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to `n` bytes at `offset` into `buf`; returns the number read,
  // which is less than `n` only at end of file.
  virtual absl::StatusOr<size_t> Read(uint64_t offset, size_t n,
                                      char* buf) const = 0;
  virtual absl::StatusOr<uint64_t> Size() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates `path` for writing. With `exclusive`, fails with kAlreadyExists
  // if it exists (O_EXCL); otherwise truncates. `mode` applies on creation.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, bool exclusive, int mode = 0644) = 0;
  // Opens `path` for appending at its end (created if absent).
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;

  // Reads a whole (small) file.
  virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;

  virtual absl::Status Rename(const std::string& from,
                              const std::string& to) = 0;
  virtual absl::Status Remove(const std::string& path) = 0;
  virtual absl::Status Truncate(const std::string& path, uint64_t size) = 0;
  // Creates one directory level; kAlreadyExists if present.
  virtual absl::Status CreateDir(const std::string& path, int mode = 0755) = 0;
  // fsync(2) on a directory, making renames and creations in it durable.
  virtual absl::Status SyncDir(const std::string& path) = 0;
  // kNotFound if absent.
  virtual absl::StatusOr<uint64_t> FileSize(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // Names (not paths) of the entries in `dir`, without "." and "..".
  virtual absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) = 0;
};

// The process-wide POSIX filesystem.
FileSystem& PosixFileSystem();

// Writes `data` to `path` atomically and durably: temporary file in the same
// directory, fsync, rename, directory fsync.
absl::Status WriteFileAtomically(FileSystem& fs, const std::string& path,
                                 std::string_view data, int mode = 0644);

// Creates `path` and its missing parents.
absl::Status CreateDirs(FileSystem& fs, const std::string& path,
                        int mode = 0755);

// Maps an errno value to a status whose message names `what` (a path) and
// the system error: ENOSPC -> kResourceExhausted, ENOENT -> kNotFound,
// EACCES/EPERM -> kPermissionDenied, EEXIST -> kAlreadyExists, else kInternal.
absl::Status ErrnoToStatus(int err, std::string_view what);

}  // namespace custos

#endif  // CUSTOS_SRC_BASE_FILE_SYSTEM_H_
