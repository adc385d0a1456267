// File: tree_store.h
//
// On-disk store of complete-subtree hashes for the custody log, one
// append-only file per level: level L holds, at offset 32*i, the hash of
// leaves [i*2^L, (i+1)*2^L). See docs/formats/tree-store.md.
//
// The files are a *derived* index: the metadata store (SQLite) is the
// source of truth for leaves. `Open` truncates any level beyond what a given
// committed size implies, and `Extend` appends what is missing, so a crash
// between the metadata commit and the tree write is repaired on next open.
// Memory does not grow with the log: reads are pread(2) of 32 bytes.
//
// Thread-safety: concurrent reads are safe; writes must be serialized by the
// caller (the repository's write lock) and not overlap reads of the new range.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(auto store, TreeStore::Open(fs, dir));
//   CUSTOS_RETURN_IF_ERROR(store->Repair(committed_size, leaf_hash_fn));
//   CUSTOS_ASSIGN_OR_RETURN(auto proof, InclusionProof(*store, 5, size));
#ifndef CUSTOS_SRC_CUSTODY_TREE_STORE_H_
#define CUSTOS_SRC_CUSTODY_TREE_STORE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "src/base/file_system.h"
#include "src/custody/merkle.h"

namespace custos::custody {

class TreeStore final : public NodeSource {
 public:
  // Opens (creating if needed) the level files in `dir`.
  static absl::StatusOr<std::unique_ptr<TreeStore>> Open(FileSystem& fs,
                                                         std::string dir);
  ~TreeStore() override;

  // Number of leaves whose hashes are stored (size of level 0).
  uint64_t size() const { return size_; }

  absl::StatusOr<Hash32> Node(unsigned level, uint64_t index) const override;

  // Brings the store to exactly `committed_size` leaves: truncates any
  // excess (uncommitted) hashes on every level, then appends the missing
  // leaves, fetched in order with `leaf_hashes(begin, end)`.
  absl::Status Repair(uint64_t committed_size,
                      const std::function<absl::StatusOr<std::vector<Hash32>>(
                          uint64_t begin, uint64_t end)>& leaf_hashes);

  // Appends leaf hashes (and the interior nodes they complete). Buffered;
  // call Flush() to write them out. Sync() additionally fsyncs.
  absl::Status Append(absl::Span<const Hash32> leaves);
  absl::Status Flush();
  absl::Status Sync();

  // The current root (of size() leaves).
  absl::StatusOr<Hash32> Root() const;

 private:
  TreeStore(FileSystem& fs, std::string dir);
  struct Level;
  FileSystem& fs_;
  std::string dir_;
  uint64_t size_ = 0;
  std::vector<std::unique_ptr<Level>> levels_;
  CompactRange range_;
};

}  // namespace custos::custody

#endif  // CUSTOS_SRC_CUSTODY_TREE_STORE_H_
