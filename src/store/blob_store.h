// File: blob_store.h
//
// The content-addressed evidence store. Every blob is named by the SHA-256
// of its bytes and is never rewritten. `BlobStore` is the interface the
// repository uses; `PosixBlobStore` is the embedded default (one directory,
// fan-out sha256/ab/cd/<hex>), and an S3-compatible store can implement the
// same interface later (docs/ARCHITECTURE.md). Layout and write protocol:
// docs/formats/blob-store.md.
//
// Write protocol: data goes to tmp/<random>, is fsync'd, renamed to its
// digest path, and the directory is fsync'd. If the digest already exists the
// temporary file is removed (deduplication). Leftover tmp/ files from a crash
// are removed by CleanupTemporaryFiles() (called when the repository opens).
//
// Thread-safety: a BlobStore may be used from several threads; a BlobWriter
// is single-threaded.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(auto w, store.NewWriter(crypto::kSha256));
//   CUSTOS_RETURN_IF_ERROR(w->Append(chunk));   // repeatedly
//   CUSTOS_ASSIGN_OR_RETURN(BlobInfo info, w->Commit());
#ifndef CUSTOS_SRC_STORE_BLOB_STORE_H_
#define CUSTOS_SRC_STORE_BLOB_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "src/base/file_system.h"
#include "src/base/random.h"
#include "src/crypto/hash.h"

namespace custos::store {

struct BlobInfo {
  crypto::Digests digests;  // sha256 always set (raw bytes)
  bool already_present = false;
};

class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  virtual absl::Status Append(std::string_view data) = 0;
  // Durably stores the blob (or finds it already present). After Commit the
  // writer is spent. Errors (e.g. kResourceExhausted for a full disk) leave
  // no blob and no temporary file behind.
  virtual absl::StatusOr<BlobInfo> Commit() = 0;
  // Discards what was written. Also done by the destructor if not committed.
  virtual void Abort() = 0;

  // Zero-copy bulk append, equivalent to Append: NextBuffer() returns a
  // buffer owned by the writer; the caller fills a prefix of it and passes
  // that length to AppendBuffer(). The span stays valid until the next call
  // on this writer. Lets a reader read(2) straight into the write pipeline.
  virtual absl::StatusOr<std::span<char>> NextBuffer();
  virtual absl::Status AppendBuffer(size_t n);

  // Group commit, for many small blobs: like Commit, but the blob may become
  // visible (Contains/Open) and durable only when BlobStore::FlushDeferred()
  // next returns OK (or earlier). A crash before that leaves only a
  // temporary file. The default commits at once.
  virtual absl::StatusOr<BlobInfo> CommitDeferred() { return Commit(); }

 private:
  std::string default_buffer_;  // for the default NextBuffer
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // `digests` selects extra digests (crypto::DigestSet); SHA-256 is always
  // computed.
  virtual absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter(
      unsigned digests = crypto::kSha256) = 0;
  // Convenience: stores a small in-memory blob.
  absl::StatusOr<BlobInfo> Put(std::string_view data);
  // In the methods below `sha256` is the raw 32-byte digest (64 lowercase
  // hex digits are accepted too); anything else is kInvalidArgument.
  // kNotFound if absent.
  virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> Open(
      std::string_view sha256) = 0;
  virtual bool Contains(std::string_view sha256) = 0;
  // Re-hashes the blob; kDataLoss with expected and found digests if it does
  // not match its name, kNotFound if missing. On success returns its size.
  virtual absl::StatusOr<uint64_t> Verify(std::string_view sha256) = 0;
  // Reads the whole blob after verifying its hash (kDataLoss on mismatch).
  // For small blobs (manifests).
  virtual absl::StatusOr<std::string> ReadVerified(std::string_view sha256) = 0;
  virtual absl::Status CleanupTemporaryFiles() = 0;
  // Makes every blob committed with CommitDeferred() so far visible and
  // durable (one filesystem barrier for all). On error some of them may be
  // missing; none is partially written.
  virtual absl::Status FlushDeferred() { return absl::OkStatus(); }
  // Calls `fn` with every stored digest (raw bytes), in sorted order.
  virtual absl::Status ForEach(
      const std::function<absl::Status(std::string_view sha256)>& fn) = 0;
};

// `root` is the store directory (created if missing).
absl::StatusOr<std::unique_ptr<BlobStore>> OpenPosixBlobStore(FileSystem& fs,
                                                              Random& random,
                                                              std::string root);

}  // namespace custos::store

#endif  // CUSTOS_SRC_STORE_BLOB_STORE_H_
