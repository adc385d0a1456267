// File: merkle.h
//
// RFC 9162 section 2.1 Merkle tree hashing, inclusion and consistency proof
// generation and verification. See ../shared/specs/tlog-formats.md sections
// 1-3. Sizes and indices are uint64_t but must be < 2^63.
//
// Proof generation reads node hashes through a `NodeSource`: the hash of the
// complete, aligned subtree of 2^level leaves starting at leaf
// index * 2^level. Only complete subtrees are asked for; hashes of the
// incomplete right edge are computed from them, so a store needs to keep only
// complete subtrees (see tree_store.h).
//
// Thread-safety: pure functions; a NodeSource's thread-safety is its own.
//
// Example:
//   Hash32 leaf = LeafHash(event_bytes);
//   CUSTOS_ASSIGN_OR_RETURN(auto proof, InclusionProof(store, idx, size));
//   CUSTOS_RETURN_IF_ERROR(VerifyInclusion(idx, size, leaf, proof, root));
#ifndef CUSTOS_SRC_CUSTODY_MERKLE_H_
#define CUSTOS_SRC_CUSTODY_MERKLE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "src/crypto/hash.h"

namespace custos::custody {

using crypto::Hash32;

inline constexpr uint64_t kMaxTreeSize = uint64_t{1} << 63;

Hash32 EmptyRoot();                                        // SHA-256("")
Hash32 LeafHash(std::string_view leaf_data);               // H(0x00 || d)
Hash32 NodeHash(const Hash32& left, const Hash32& right);  // H(0x01||l||r)

class NodeSource {
 public:
  virtual ~NodeSource() = default;
  // Hash of the complete subtree covering leaves
  // [index << level, (index + 1) << level). Errors propagate.
  virtual absl::StatusOr<Hash32> Node(unsigned level, uint64_t index) const = 0;
};

// The root of the first `size` leaves.
absl::StatusOr<Hash32> RootAt(const NodeSource& nodes, uint64_t size);
// Hash of leaves [begin, end) where the range is any subrange; computed from
// complete subtrees (at most 2*log2 reads).
absl::StatusOr<Hash32> RangeHash(const NodeSource& nodes, uint64_t begin,
                                 uint64_t end);

// RFC 6962 PATH(m, D[0:n]). kInvalidArgument if index >= size.
absl::StatusOr<std::vector<Hash32>> InclusionProof(const NodeSource& nodes,
                                                   uint64_t index,
                                                   uint64_t size);
// RFC 6962 PROOF(m, D[0:n]); empty for m == n or m == 0.
// kInvalidArgument if m > n.
absl::StatusOr<std::vector<Hash32>> ConsistencyProof(const NodeSource& nodes,
                                                     uint64_t old_size,
                                                     uint64_t new_size);

// RFC 9162 2.1.3.2. OkStatus if valid; kDataLoss naming the failure
// (wrong length, root mismatch) otherwise; kInvalidArgument for
// index >= size or sizes >= 2^63.
absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             const Hash32& leaf_hash,
                             absl::Span<const Hash32> proof,
                             const Hash32& root);
// RFC 9162 2.1.4.2, with the trivial cases of tlog-formats.md section 3
// (m == n: empty proof and equal roots; m == 0: empty proof and
// root1 == EmptyRoot()). kDataLoss if the proof does not connect the roots.
absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size,
                               const Hash32& old_root, const Hash32& new_root,
                               absl::Span<const Hash32> proof);

// An in-memory compact range of the right edge ("frontier"): lets a writer
// append leaves and know the new root and the new complete-subtree nodes
// without reading the store. Used by the ledger's appender.
class CompactRange {
 public:
  CompactRange() = default;
  // Reconstructs the frontier of a tree of `size` leaves from `nodes`.
  static absl::StatusOr<CompactRange> FromSource(const NodeSource& nodes,
                                                 uint64_t size);
  // Appends one leaf hash. `on_node(level, index, hash)` is called for every
  // complete subtree that the append completes (level 0 = the leaf itself).
  template <typename F>
  void Append(const Hash32& leaf, F&& on_node);
  Hash32 Root() const;
  uint64_t size() const { return size_; }

 private:
  uint64_t size_ = 0;
  std::vector<Hash32> hashes_;  // one per set bit of size_, highest first
};

template <typename F>
void CompactRange::Append(const Hash32& leaf, F&& on_node) {
  Hash32 h = leaf;
  uint64_t index = size_;
  unsigned level = 0;
  on_node(level, index, h);
  while (index & 1) {
    h = NodeHash(hashes_.back(), h);
    hashes_.pop_back();
    index >>= 1;
    ++level;
    on_node(level, index, h);
  }
  hashes_.push_back(h);
  ++size_;
}

}  // namespace custos::custody

#endif  // CUSTOS_SRC_CUSTODY_MERKLE_H_
