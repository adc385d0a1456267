#include "src/custody/merkle.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "src/base/status_macros.h"

namespace custos::custody {
namespace {

// Largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

// Number of proof elements for an inclusion proof of `index` in a tree of
// `size` leaves (index < size): inner + border.
uint64_t InclusionProofLength(uint64_t index, uint64_t size) {
  uint64_t inner = std::bit_width(index ^ (size - 1));
  uint64_t border = std::popcount(index >> inner);
  return inner + border;
}

absl::Status CheckSize(uint64_t size, const char* what) {
  if (size >= kMaxTreeSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", size, " is not below 2^63"));
  }
  return absl::OkStatus();
}

}  // namespace

Hash32 EmptyRoot() { return crypto::Sha256(std::string_view()); }

Hash32 LeafHash(std::string_view leaf_data) {
  static constexpr char kLeafPrefix[1] = {0x00};
  return crypto::Sha256(std::string_view(kLeafPrefix, 1), leaf_data);
}

Hash32 NodeHash(const Hash32& left, const Hash32& right) {
  char buf[65];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), 32);
  std::memcpy(buf + 33, right.data(), 32);
  return crypto::Sha256(std::string_view(buf, sizeof(buf)));
}

absl::StatusOr<Hash32> RangeHash(const NodeSource& nodes, uint64_t begin,
                                 uint64_t end) {
  if (begin > end) {
    return absl::InvalidArgumentError(
        absl::StrCat("range [", begin, ", ", end, ") is reversed"));
  }
  CUSTOS_RETURN_IF_ERROR(CheckSize(end, "range end"));
  if (begin == end) return EmptyRoot();
  // Tile [begin, end) greedily with the largest aligned complete subtree
  // that starts at the cursor and fits: sizes grow from `begin` up to the
  // largest one, then shrink towards `end` (at most 2*63 nodes). Folding
  // them from the right gives MTH(D[begin:end]) whenever the range is
  // aligned (`begin` a multiple of bit_ceil(end - begin): every prefix and
  // every subtree that PATH and PROOF need); for other ranges it is the
  // compact-range hash of that tiling.
  Hash32 tiles[128];
  unsigned num = 0;
  for (uint64_t b = begin; b < end;) {
    unsigned level = std::bit_width(end - b) - 1;
    if (b != 0) level = std::min<unsigned>(level, std::countr_zero(b));
    CUSTOS_ASSIGN_OR_RETURN(tiles[num], nodes.Node(level, b >> level));
    ++num;
    b += uint64_t{1} << level;
  }
  Hash32 h = tiles[num - 1];
  for (unsigned i = num - 1; i-- > 0;) h = NodeHash(tiles[i], h);
  return h;
}

absl::StatusOr<Hash32> RootAt(const NodeSource& nodes, uint64_t size) {
  return RangeHash(nodes, 0, size);
}

namespace {

struct Range {
  uint64_t begin;
  uint64_t end;
};

absl::StatusOr<std::vector<Hash32>> HashRanges(const NodeSource& nodes,
                                               const Range* ranges,
                                               unsigned count) {
  // `ranges` were collected top-down; proofs list them bottom-up.
  std::vector<Hash32> proof;
  proof.reserve(count);
  for (unsigned i = count; i-- > 0;) {
    CUSTOS_ASSIGN_OR_RETURN(Hash32 h,
                            RangeHash(nodes, ranges[i].begin, ranges[i].end));
    proof.push_back(h);
  }
  return proof;
}

}  // namespace

absl::StatusOr<std::vector<Hash32>> InclusionProof(const NodeSource& nodes,
                                                   uint64_t index,
                                                   uint64_t size) {
  CUSTOS_RETURN_IF_ERROR(CheckSize(size, "tree size"));
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf index ", index, " is not in a tree of size ", size));
  }
  // PATH(m, D[a:b]): descend towards the leaf; each step's sibling subtree
  // is aligned, so it costs one read when complete and O(log n) reads for
  // the single incomplete sibling on the right edge.
  Range siblings[64];
  unsigned count = 0;
  uint64_t a = 0;
  uint64_t b = size;
  while (b - a > 1) {
    uint64_t k = SplitPoint(b - a);
    if (index < a + k) {
      siblings[count++] = {a + k, b};
      b = a + k;
    } else {
      siblings[count++] = {a, a + k};
      a += k;
    }
  }
  return HashRanges(nodes, siblings, count);
}

absl::StatusOr<std::vector<Hash32>> ConsistencyProof(const NodeSource& nodes,
                                                     uint64_t old_size,
                                                     uint64_t new_size) {
  CUSTOS_RETURN_IF_ERROR(CheckSize(new_size, "tree size"));
  if (old_size > new_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "old size ", old_size, " is larger than new size ", new_size));
  }
  if (old_size == 0 || old_size == new_size) return std::vector<Hash32>();
  // SUBPROOF(m, D[a:b], b): m is relative to a.
  Range parts[65];
  unsigned count = 0;
  uint64_t a = 0;
  uint64_t b = new_size;
  uint64_t m = old_size;
  bool whole_old_tree = true;
  while (true) {
    if (m == b - a) {
      if (!whole_old_tree) parts[count++] = {a, b};
      break;
    }
    uint64_t k = SplitPoint(b - a);
    if (m <= k) {
      parts[count++] = {a + k, b};
      b = a + k;
    } else {
      parts[count++] = {a, a + k};
      a += k;
      m -= k;
      whole_old_tree = false;
    }
  }
  return HashRanges(nodes, parts, count);
}

absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             const Hash32& leaf_hash,
                             absl::Span<const Hash32> proof,
                             const Hash32& root) {
  CUSTOS_RETURN_IF_ERROR(CheckSize(size, "tree size"));
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf index ", index, " is not in a tree of size ", size));
  }
  uint64_t want = InclusionProofLength(index, size);
  if (proof.size() != want) {
    return absl::DataLossError(
        absl::StrCat("inclusion proof has ", proof.size(),
                     " hashes; a tree of size ", size, " needs ", want));
  }
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash32 r = leaf_hash;
  for (const Hash32& p : proof) {
    if (sn == 0) return absl::DataLossError("inclusion proof is too long");
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::DataLossError("inclusion proof is too short");
  if (r != root) {
    return absl::DataLossError(
        "inclusion proof does not lead to the expected root");
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size,
                               const Hash32& old_root, const Hash32& new_root,
                               absl::Span<const Hash32> proof) {
  CUSTOS_RETURN_IF_ERROR(CheckSize(old_size, "old size"));
  CUSTOS_RETURN_IF_ERROR(CheckSize(new_size, "new size"));
  if (old_size > new_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "old size ", old_size, " is larger than new size ", new_size));
  }
  if (old_size == 0) {
    // c2sp.org/tlog-witness: the empty tree is a prefix of every tree.
    if (!proof.empty()) {
      return absl::DataLossError(
          "consistency proof from the empty tree must be empty");
    }
    if (old_root != EmptyRoot()) {
      return absl::DataLossError(
          "old size is 0 but the old root is not the empty-tree hash");
    }
    if (new_size == 0 && new_root != EmptyRoot()) {
      return absl::DataLossError(
          "new size is 0 but the new root is not the empty-tree hash");
    }
    return absl::OkStatus();
  }
  if (old_size == new_size) {
    if (!proof.empty()) {
      return absl::DataLossError(
          "consistency proof between equal sizes must be empty");
    }
    if (old_root != new_root) {
      return absl::DataLossError(
          absl::StrCat("fork: two different roots for tree size ", old_size));
    }
    return absl::OkStatus();
  }
  if (proof.empty()) {
    return absl::DataLossError("consistency proof is empty");
  }
  // Expected length: the shifted old-tree node's inclusion path in the
  // shifted new tree, plus the old-tree node itself unless it is root1.
  unsigned shift = std::countr_zero(old_size);
  uint64_t fn = (old_size - 1) >> shift;
  uint64_t sn = (new_size - 1) >> shift;
  bool old_is_pow2 = std::has_single_bit(old_size);
  uint64_t want = InclusionProofLength(fn, sn + 1) + (old_is_pow2 ? 0 : 1);
  if (proof.size() != want) {
    return absl::DataLossError(
        absl::StrCat("consistency proof has ", proof.size(), " hashes; sizes ",
                     old_size, " -> ", new_size, " need ", want));
  }
  // RFC 9162 2.1.4.2 from step 2: prefix root1 when old_size is 2^k.
  size_t next = 0;
  Hash32 first = old_is_pow2 ? old_root : proof[next++];
  Hash32 fr = first;
  Hash32 sr = first;
  for (; next < proof.size(); ++next) {
    const Hash32& c = proof[next];
    if (sn == 0) return absl::DataLossError("consistency proof is too long");
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::DataLossError("consistency proof is too short");
  if (fr != old_root) {
    return absl::DataLossError(
        "consistency proof does not lead to the old root");
  }
  if (sr != new_root) {
    return absl::DataLossError(
        "consistency proof does not lead to the new root");
  }
  return absl::OkStatus();
}

absl::StatusOr<CompactRange> CompactRange::FromSource(const NodeSource& nodes,
                                                      uint64_t size) {
  CUSTOS_RETURN_IF_ERROR(CheckSize(size, "tree size"));
  CompactRange range;
  for (unsigned level = 64; level-- > 0;) {
    if (((size >> level) & 1) == 0) continue;
    CUSTOS_ASSIGN_OR_RETURN(Hash32 h, nodes.Node(level, (size >> level) - 1));
    range.hashes_.push_back(h);
  }
  range.size_ = size;
  return range;
}

Hash32 CompactRange::Root() const {
  if (hashes_.empty()) return EmptyRoot();
  Hash32 h = hashes_.back();
  for (size_t i = hashes_.size() - 1; i-- > 0;) h = NodeHash(hashes_[i], h);
  return h;
}

}  // namespace custos::custody
