#include "src/custody/tree_store.h"

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "src/custody/merkle.h"
#include "testing/testing.h"

namespace custos::custody {
namespace {

Hash32 Leaf(uint64_t i) { return LeafHash("event-" + std::to_string(i)); }

std::vector<Hash32> Leaves(uint64_t begin, uint64_t end) {
  std::vector<Hash32> out;
  for (uint64_t i = begin; i < end; ++i) out.push_back(Leaf(i));
  return out;
}

absl::StatusOr<std::vector<Hash32>> LeafSource(uint64_t begin, uint64_t end) {
  return Leaves(begin, end);
}

// In-memory model of the same tree.
class MemNodes final : public NodeSource {
 public:
  explicit MemNodes(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      range_.Append(Leaf(i), [&](unsigned level, uint64_t, const Hash32& h) {
        if (levels_.size() <= level) levels_.resize(level + 1);
        levels_[level].push_back(h);
      });
    }
  }
  absl::StatusOr<Hash32> Node(unsigned level, uint64_t index) const override {
    if (level >= levels_.size() || index >= levels_[level].size()) {
      return absl::OutOfRangeError("no such node");
    }
    return levels_[level][index];
  }
  Hash32 Root() const { return range_.Root(); }

 private:
  CompactRange range_;
  std::vector<std::vector<Hash32>> levels_;
};

std::string LevelPath(const testing::TempDir& dir, unsigned level) {
  char name[32];
  std::snprintf(name, sizeof(name), "level-%02u.hashes", level);
  return dir.Join(name);
}

// Every level file holds exactly floor(size / 2^L) records.
void ExpectLevelSizes(const testing::TempDir& dir, uint64_t size) {
  for (unsigned l = 0; l < 63; ++l) {
    std::string path = LevelPath(dir, l);
    uint64_t want = (size >> l) * 32;
    if (!PosixFileSystem().Exists(path)) {
      EXPECT_EQ(want, 0u) << path;
      continue;
    }
    EXPECT_EQ(*PosixFileSystem().FileSize(path), want) << path;
  }
}

// The store agrees with the in-memory model: every node, the root, and
// proofs for a sample of indices and sizes.
void ExpectMatchesModel(const TreeStore& store, uint64_t n) {
  ASSERT_EQ(store.size(), n);
  MemNodes model(n);
  ASSERT_EQ(*store.Root(), model.Root());
  ASSERT_EQ(*RootAt(store, n), model.Root());
  for (unsigned level = 0; (n >> level) > 0; ++level) {
    for (uint64_t i = 0; i < (n >> level); i += 1 + (n >> level) / 97) {
      ASSERT_EQ(*store.Node(level, i), *model.Node(level, i))
          << level << "/" << i;
    }
    uint64_t last = (n >> level) - 1;
    ASSERT_EQ(*store.Node(level, last), *model.Node(level, last));
  }
  for (uint64_t size = 1; size <= n; size += 1 + n / 13) {
    for (uint64_t index = 0; index < size; index += 1 + size / 7) {
      auto got = InclusionProof(store, index, size);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, *InclusionProof(model, index, size));
    }
    for (uint64_t m = 0; m <= size; m += 1 + size / 5) {
      auto got = ConsistencyProof(store, m, size);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, *ConsistencyProof(model, m, size));
    }
  }
  auto last = InclusionProof(store, n - 1, n);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(VerifyInclusion(n - 1, n, Leaf(n - 1), *last, model.Root()).ok());
}

TEST(TreeStoreTest, EmptyStore) {
  testing::TempDir dir;
  auto store = TreeStore::Open(PosixFileSystem(), dir.Join("tree"));
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->size(), 0u);
  EXPECT_EQ(*(*store)->Root(), EmptyRoot());
  EXPECT_EQ((*store)->Node(0, 0).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(TreeStoreTest, ReadsBeforeFlushServeFromBuffer) {
  testing::TempDir dir;
  auto store = *TreeStore::Open(PosixFileSystem(), dir.path());
  std::vector<Hash32> leaves = Leaves(0, 300);
  ASSERT_TRUE(store->Append(absl::MakeSpan(leaves).subspan(0, 7)).ok());
  ExpectMatchesModel(*store, 7);
  ASSERT_TRUE(store->Append(absl::MakeSpan(leaves).subspan(7)).ok());
  ExpectMatchesModel(*store, 300);
  ExpectLevelSizes(dir, 0);  // nothing written yet
  ASSERT_TRUE(store->Flush().ok());
  ExpectLevelSizes(dir, 300);
  ExpectMatchesModel(*store, 300);
  EXPECT_EQ(store->Node(0, 300).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->Node(9, 0).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(TreeStoreTest, AppendReopenAppend) {
  // Larger than the in-memory cache of small levels, so level 0 and 1 are
  // read with pread.
  testing::TempDir dir;
  const uint64_t n1 = 5003, n2 = 9001;
  {
    auto store = *TreeStore::Open(PosixFileSystem(), dir.path());
    for (uint64_t b = 0; b < n1; b += 611) {
      std::vector<Hash32> chunk = Leaves(b, std::min(n1, b + 611));
      ASSERT_TRUE(store->Append(chunk).ok());
      if (b % 1222 == 0) {
        ASSERT_TRUE(store->Flush().ok());
      }
    }
    ExpectMatchesModel(*store, n1);
    ASSERT_TRUE(store->Sync().ok());
  }
  ExpectLevelSizes(dir, n1);
  auto store = *TreeStore::Open(PosixFileSystem(), dir.path());
  ExpectMatchesModel(*store, n1);
  std::vector<Hash32> more = Leaves(n1, n2);
  ASSERT_TRUE(store->Append(more).ok());
  ExpectMatchesModel(*store, n2);
  ASSERT_TRUE(store->Flush().ok());
  ExpectLevelSizes(dir, n2);
  auto again = *TreeStore::Open(PosixFileSystem(), dir.path());
  ExpectMatchesModel(*again, n2);
}

TEST(TreeStoreTest, RepairDropsUncommittedRecords) {
  testing::TempDir dir;
  {
    auto store = *TreeStore::Open(PosixFileSystem(), dir.path());
    ASSERT_TRUE(store->Append(Leaves(0, 3000)).ok());
    ASSERT_TRUE(store->Sync().ok());
  }
  // Only 2500 leaves were committed to the metadata store.
  auto store = *TreeStore::Open(PosixFileSystem(), dir.path());
  ASSERT_EQ(store->size(), 3000u);
  ASSERT_TRUE(store->Repair(2500, LeafSource).ok());
  ExpectLevelSizes(dir, 2500);
  ExpectMatchesModel(*store, 2500);
  // Appends continue at the right offsets.
  ASSERT_TRUE(store->Append(Leaves(2500, 2601)).ok());
  ASSERT_TRUE(store->Flush().ok());
  ExpectLevelSizes(dir, 2601);
  ExpectMatchesModel(*store, 2601);
  // Repair also drops buffered, unflushed records.
  ASSERT_TRUE(store->Append(Leaves(2601, 2700)).ok());
  ASSERT_TRUE(store->Repair(2650, LeafSource).ok());
  ExpectLevelSizes(dir, 2650);
  ExpectMatchesModel(*store, 2650);
}

TEST(TreeStoreTest, RepairRebuildsAfterTruncationAndTornRecords) {
  testing::TempDir dir;
  const uint64_t n = 4099;
  {
    auto store = *TreeStore::Open(PosixFileSystem(), dir.path());
    ASSERT_TRUE(store->Append(Leaves(0, n)).ok());
    ASSERT_TRUE(store->Sync().ok());
  }
  // A crash mid-flush: level 0 lost its tail, level 3 lost more, level 1
  // ends in a torn partial record.
  ASSERT_TRUE(PosixFileSystem().Truncate(LevelPath(dir, 0), 4000 * 32).ok());
  ASSERT_TRUE(PosixFileSystem().Truncate(LevelPath(dir, 3), 300 * 32).ok());
  {
    auto f = *PosixFileSystem().NewAppendableFile(LevelPath(dir, 1));
    ASSERT_TRUE(f->Append("partial").ok());
    ASSERT_TRUE(f->Close().ok());
  }
  auto store = *TreeStore::Open(PosixFileSystem(), dir.path());
  // The largest size every level supports: level 3 has 300 records.
  EXPECT_EQ(store->size(), 300u * 8 + 7);
  ExpectLevelSizes(dir, store->size());
  ExpectMatchesModel(*store, store->size());
  uint64_t calls = 0;
  ASSERT_TRUE(store
                  ->Repair(n,
                           [&](uint64_t b, uint64_t e) {
                             ++calls;
                             return LeafSource(b, e);
                           })
                  .ok());
  EXPECT_EQ(calls, 1u);
  ExpectLevelSizes(dir, n);
  ExpectMatchesModel(*store, n);
}

TEST(TreeStoreTest, RepairFetchesInChunks) {
  testing::TempDir dir;
  auto store = *TreeStore::Open(PosixFileSystem(), dir.path());
  const uint64_t n = 150000;
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  ASSERT_TRUE(store
                  ->Repair(n,
                           [&](uint64_t b, uint64_t e) {
                             calls.push_back({b, e});
                             return LeafSource(b, e);
                           })
                  .ok());
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0], std::make_pair(uint64_t{0}, uint64_t{65536}));
  EXPECT_EQ(calls[2].second, n);
  ExpectLevelSizes(dir, n);
  MemNodes model(n);
  EXPECT_EQ(*store->Root(), model.Root());
  EXPECT_EQ(*InclusionProof(*store, 123456, n),
            *InclusionProof(model, 123456, n));
  EXPECT_EQ(*ConsistencyProof(*store, 70001, n),
            *ConsistencyProof(model, 70001, n));
}

TEST(TreeStoreTest, RepairRejectsBadLeafSource) {
  testing::TempDir dir;
  auto store = *TreeStore::Open(PosixFileSystem(), dir.path());
  absl::Status s = store->Repair(10, [](uint64_t b, uint64_t) {
    return LeafSource(b, b + 3);  // wrong count
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  s = store->Repair(
      10, [](uint64_t, uint64_t) -> absl::StatusOr<std::vector<Hash32>> {
        return absl::UnavailableError("metadata store busy");
      });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->size(), 0u);
}

TEST(TreeStoreTest, DiskFullDuringFlushIsRetriedAndRepaired) {
  testing::TempDir dir;
  testing::FaultInjectionFileSystem faulty(PosixFileSystem());
  const uint64_t n = 1000;
  {
    auto store = *TreeStore::Open(faulty, dir.path());
    ASSERT_TRUE(store->Append(Leaves(0, 500)).ok());
    ASSERT_TRUE(store->Flush().ok());
    // Room for 100 more records only: the flush of 500 leaves fails.
    faulty.SetWriteBudget(100 * 32 + 5);
    ASSERT_TRUE(store->Append(Leaves(500, n)).ok());
    absl::Status s = store->Flush();
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    // Reads still see the whole tree; files were rolled back to whole
    // records.
    ExpectMatchesModel(*store, n);
    for (unsigned l = 0; l < 10; ++l) {
      std::string path = LevelPath(dir, l);
      if (PosixFileSystem().Exists(path)) {
        EXPECT_EQ(*PosixFileSystem().FileSize(path) % 32, 0u);
      }
    }
    // Space comes back: the retry completes the files.
    faulty.SetWriteBudget(INT64_MAX);
    ASSERT_TRUE(store->Flush().ok());
    ExpectLevelSizes(dir, n);
    ExpectMatchesModel(*store, n);
  }
  {
    auto store = *TreeStore::Open(PosixFileSystem(), dir.path());
    ExpectMatchesModel(*store, n);
  }
  // A failure that is never retried: reopen and Repair() restore the store.
  {
    auto store = *TreeStore::Open(faulty, dir.path());
    faulty.SetWriteBudget(7 * 32);
    ASSERT_TRUE(store->Append(Leaves(n, n + 50)).ok());
    EXPECT_FALSE(store->Flush().ok());
    faulty.SetWriteBudget(0);  // the destructor's flush fails too
  }
  faulty.SetWriteBudget(INT64_MAX);
  auto store = *TreeStore::Open(PosixFileSystem(), dir.path());
  ASSERT_TRUE(store->Repair(n + 50, LeafSource).ok());
  ExpectLevelSizes(dir, n + 50);
  ExpectMatchesModel(*store, n + 50);
}

TEST(TreeStoreTest, SyncFailureIsReported) {
  testing::TempDir dir;
  testing::FaultInjectionFileSystem faulty(PosixFileSystem());
  auto store = *TreeStore::Open(faulty, dir.path());
  ASSERT_TRUE(store->Append(Leaves(0, 10)).ok());
  faulty.FailSyncs(true);
  EXPECT_FALSE(store->Sync().ok());
  faulty.FailSyncs(false);
  EXPECT_TRUE(store->Sync().ok());
  ExpectMatchesModel(*store, 10);
}

}  // namespace
}  // namespace custos::custody
