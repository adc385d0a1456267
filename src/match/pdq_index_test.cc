#include "src/match/pdq_index.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/status_macros.h"
#include "src/match/pdq_scan.h"
#include "testing/testing.h"

namespace custos::match {
namespace {

using ::testing::ElementsAre;

Code RandomCode(std::mt19937_64& rng) {
  Code c;
  for (int k = 0; k < 32; k += 8) {
    uint64_t w = rng();
    std::memcpy(&c[k], &w, 8);
  }
  return c;
}

// `c` with exactly `d` distinct bits flipped.
Code Flip(Code c, int d, std::mt19937_64& rng) {
  std::vector<int> bits(256);
  for (int k = 0; k < 256; ++k) bits[k] = k;
  std::shuffle(bits.begin(), bits.end(), rng);
  for (int k = 0; k < d; ++k) c[bits[k] / 8] ^= uint8_t(1u << (bits[k] % 8));
  return c;
}

// The reference: a plain double loop with the byte-wise distance.
using Triple = std::tuple<uint32_t, uint64_t, int>;  // query, entry, distance
std::set<Triple> Naive(const std::vector<Code>& db,
                       const std::vector<Code>& queries, int radius) {
  std::set<Triple> out;
  for (uint32_t q = 0; q < queries.size(); ++q) {
    for (uint64_t i = 0; i < db.size(); ++i) {
      int d = Distance(queries[q], db[i]);
      if (d <= radius) out.insert({q, i, d});
    }
  }
  return out;
}

std::set<Triple> RunScan(const std::vector<Code>& db,
                         const std::vector<Code>& queries, int radius,
                         int threads, const internal::Plan& plan) {
  // Split the codes into uneven runs, as extents would.
  std::vector<internal::Run> runs;
  const uint8_t* base = db[0].data();
  uint64_t pos = 0, len = 1;
  while (pos < db.size()) {
    uint64_t n = std::min<uint64_t>(len, db.size() - pos);
    runs.push_back({base + 32 * pos, pos, n});
    pos += n;
    len = len * 3 + 5;
  }
  std::vector<internal::RawMatch> raw;
  internal::Scan(runs, queries, radius, threads, plan, &raw);
  std::set<Triple> out;
  for (const auto& m : raw) {
    bool fresh = out.insert({m.query, m.entry, m.distance}).second;
    EXPECT_TRUE(fresh) << "pair reported twice: query " << m.query << " entry "
                       << m.entry;
  }
  return out;
}

std::set<Triple> ToTriples(const std::vector<PdqIndex::Match>& ms) {
  std::set<Triple> out;
  for (const auto& m : ms) out.insert({m.query, m.id, m.distance});
  return out;
}

// Entries clustered around a few centres (near-duplicates), queries at
// exactly r, r + 1 and 0 from entries, and random ones.
struct Clustered {
  std::vector<Code> db, queries;
};
Clustered MakeClustered(int radius, std::mt19937_64& rng) {
  Clustered c;
  std::vector<Code> centres;
  for (int k = 0; k < 6; ++k) centres.push_back(RandomCode(rng));
  for (int i = 0; i < 1500; ++i) {
    c.db.push_back(Flip(centres[i % 6], static_cast<int>(rng() % 9), rng));
  }
  for (int i = 0; i < 500; ++i) c.db.push_back(RandomCode(rng));
  for (int k = 0; k < 12; ++k) {
    const Code& e = c.db[rng() % c.db.size()];
    c.queries.push_back(Flip(e, radius, rng));
    c.queries.push_back(Flip(e, std::min(radius + 1, 256), rng));
    c.queries.push_back(e);
  }
  for (int k = 0; k < 6; ++k) c.queries.push_back(RandomCode(rng));
  return c;
}

// A join plan for any radius up to 87: 21 chunks of 12 bits and one of 4,
// budgets handed out round-robin until they reach radius + 1.
internal::Plan ForcedJoin(int radius) {
  std::vector<internal::ChunkSpec> chunks;
  for (int k = 0; k < 21; ++k) chunks.push_back({12 * k, 12, -1});
  chunks.push_back({252, 4, -1});
  int units = 0;
  for (int round = 0; round < 4 && units < radius + 1; ++round) {
    for (auto& c : chunks) {
      if (units < radius + 1) {
        ++c.err;
        ++units;
      }
    }
  }
  return internal::JoinPlan(chunks, radius, 13);
}

class ScanTest : public ::testing::Test {
 protected:
  void TearDown() override { internal::ForceKernel(internal::Kernel::kAvx512); }
};

// Every plan the planner can pick (at this size and at the size of the
// benchmark), and forced brute force, on every kernel, for every radius
// 0..64 (plus 80, 128, 200, 256), on clustered data: exactly the naive set.
TEST_F(ScanTest, EveryRadiusEveryPlanEveryKernelMatchesNaive) {
  std::mt19937_64 rng(42);
  std::vector<int> radii;
  for (int r = 0; r <= 64; ++r) radii.push_back(r);
  for (int r : {80, 128, 200, 256}) radii.push_back(r);
  int join_plans = 0;
  for (int r : radii) {
    Clustered c = MakeClustered(r, rng);
    const std::set<Triple> want = Naive(c.db, c.queries, r);
    // Negative control: queries planted at exactly r do match.
    ASSERT_GE(want.size(), 12u) << r;
    std::vector<internal::Plan> plans = {
        ForcedJoin(r), internal::ChoosePlan(c.db.size(), c.queries.size(), r),
        internal::ChoosePlan(10'000'000, 10'000, r),
        internal::ChoosePlan(1'000'000, 8, r),
        internal::ChoosePlan(c.db.size(), c.queries.size(), r, false)};
    for (const internal::Plan& plan : plans) {
      if (!plan.brute) ++join_plans;
      for (auto k : {internal::Kernel::kAvx512, internal::Kernel::kPopcnt,
                     internal::Kernel::kPortable}) {
        internal::ForceKernel(k);
        if (k == internal::Kernel::kPortable && r % 8 != 0) continue;
        if (k == internal::Kernel::kPopcnt && r % 4 != 0) continue;
        EXPECT_EQ(RunScan(c.db, c.queries, r, 1 + r % 3, plan), want)
            << "radius " << r << " plan " << plan.ToString() << " kernel "
            << static_cast<int>(k);
      }
    }
  }
  EXPECT_GE(join_plans, 65 + 40);  // the join path was really exercised
}

TEST_F(ScanTest, RandomDataWithPlantedNeighbours) {
  std::mt19937_64 rng(7);
  std::vector<Code> db, queries;
  for (int i = 0; i < 20000; ++i) db.push_back(RandomCode(rng));
  for (int q = 0; q < 400; ++q) {
    queries.push_back(q % 2 == 0 ? Flip(db[rng() % db.size()],
                                        static_cast<int>(rng() % 40), rng)
                                 : RandomCode(rng));
  }
  const std::set<Triple> all = Naive(db, queries, 32);
  for (int r : {0, 15, 31, 32}) {
    std::set<Triple> want;
    for (const Triple& t : all) {
      if (std::get<2>(t) <= r) want.insert(t);
    }
    EXPECT_GT(want.size(), 0u);
    for (const internal::Plan& plan :
         {internal::ChoosePlan(10'000'000, 10'000, r),
          internal::ChoosePlan(db.size(), queries.size(), r, false)}) {
      EXPECT_EQ(RunScan(db, queries, r, 2, plan), want) << plan.ToString();
    }
  }
  // Through the public API (ids = entry numbers), with the planner's choice.
  testing::TempDir dir;
  auto index = PdqIndex::Create(dir.Join("i"));
  ASSERT_TRUE(index.ok());
  std::vector<uint64_t> ids(db.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = i;
  ASSERT_TRUE((*index)->Add(db, ids).ok());
  auto hits = (*index)->Search(queries, 31, 2);
  ASSERT_TRUE(hits.ok());
  std::set<Triple> want31;
  for (const Triple& t : all) {
    if (std::get<2>(t) <= 31) want31.insert(t);
  }
  EXPECT_EQ(ToTriples(*hits), want31);
}

// Hand-made chunkings: uneven widths, unused chunks, chunks straddling
// 64-bit words and ending at bit 256, small batches (several passes).
TEST_F(ScanTest, CustomChunkings) {
  std::mt19937_64 rng(9);
  Clustered c = MakeClustered(16, rng);
  const std::set<Triple> want = Naive(c.db, c.queries, 16);
  std::vector<internal::ChunkSpec> a = {{0, 7, 0},    {7, 20, 3},   {60, 9, 3},
                                        {100, 32, 3}, {224, 32, 3}, {69, 5, 3}};
  // {69, 5} starts inside an earlier chunk: rejected (brute force).
  EXPECT_TRUE(internal::JoinPlan(a, 16, 16).brute);
  a.pop_back();
  internal::Plan p = internal::JoinPlan(a, 16, 7);  // 17 budget units
  ASSERT_FALSE(p.brute);
  EXPECT_EQ(RunScan(c.db, c.queries, 16, 3, p), want);
  // Budget one unit short of the pigeonhole bound: refused.
  EXPECT_TRUE(internal::JoinPlan(a, 17, 7).brute);
  // Unused chunks (err -1), exact and one-error chunks.
  std::vector<internal::ChunkSpec> b;
  for (int k = 0; k < 16; ++k) b.push_back({16 * k, 16, k < 9 ? 1 : -1});
  b[0].err = 0;
  internal::Plan p2 = internal::JoinPlan(b, 16, 1000);  // 1 + 8 x 2 units
  ASSERT_FALSE(p2.brute);
  EXPECT_EQ(RunScan(c.db, c.queries, 16, 1, p2), want);
  // Odd widths (uneven halves), budgets 2 and 3.
  std::vector<internal::ChunkSpec> d;
  for (int k = 0; k < 8; ++k) d.push_back({29 * k, 29, k % 2 ? 2 : 1});
  internal::Plan p3 = internal::JoinPlan(d, 16, 5);  // 4 x 2 + 4 x 3 = 20
  ASSERT_FALSE(p3.brute);
  EXPECT_EQ(RunScan(c.db, c.queries, 16, 2, p3), want);
}

TEST_F(ScanTest, PlannerPicksJoinForLargeBatchesAndBruteForTinyOnes) {
  internal::Plan big = internal::ChoosePlan(10'000'000, 10'000, 31);
  EXPECT_FALSE(big.brute) << big.ToString();
  internal::Plan tiny = internal::ChoosePlan(1000, 1, 31);
  EXPECT_TRUE(tiny.brute) << tiny.ToString();
  internal::Plan huge_radius = internal::ChoosePlan(10'000'000, 10'000, 120);
  EXPECT_TRUE(huge_radius.brute) << huge_radius.ToString();
}

class PdqIndexTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::string path_ = dir_.Join("index.pdqi");
  std::mt19937_64 rng_{1234};
};

TEST_F(PdqIndexTest, CreateAddSearchReopen) {
  IndexOptions opt;
  opt.entries_per_extent = 64;  // many extents
  auto index = PdqIndex::Create(path_, opt);
  ASSERT_TRUE(index.ok()) << index.status();
  std::vector<Code> codes;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 1000; ++i) {
    codes.push_back(RandomCode(rng_));
    ids.push_back(5000 + i);
  }
  // Two commits, the second not extent-aligned.
  ASSERT_TRUE((*index)
                  ->Add(std::span(codes).first(333), std::span(ids).first(333))
                  .ok());
  ASSERT_TRUE(
      (*index)
          ->Add(std::span(codes).subspan(333), std::span(ids).subspan(333))
          .ok());
  EXPECT_EQ((*index)->size(), 1000u);
  EXPECT_EQ((*index)->live(), 1000u);
  std::vector<Code> queries = {Flip(codes[10], 31, rng_),
                               Flip(codes[999], 32, rng_), codes[500],
                               Flip(codes[700], 3, rng_)};
  auto hits = (*index)->Search(queries, 31, 2);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_THAT(*hits, ElementsAre(PdqIndex::Match{0, 5010, 31},
                                 PdqIndex::Match{2, 5500, 0},
                                 PdqIndex::Match{3, 5700, 3}));
  EXPECT_TRUE((*index)->Verify().ok());
  index->reset();
  auto ro = PdqIndex::Open(path_, false);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ((*ro)->size(), 1000u);
  auto again = (*ro)->Search(queries, 31, 1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *hits);
  EXPECT_TRUE((*ro)->Verify().ok());
  EXPECT_EQ(
      (*ro)->Add(std::span(codes).first(1), std::span(ids).first(1)).code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST_F(PdqIndexTest, SortedByQueryDistanceIdAndDuplicatesKept) {
  auto index = PdqIndex::Create(path_);
  ASSERT_TRUE(index.ok());
  Code c = RandomCode(rng_);
  std::vector<Code> codes = {Flip(c, 5, rng_), c, Flip(c, 5, rng_), c,
                             RandomCode(rng_)};
  std::vector<uint64_t> ids = {9, 8, 7, 8, 6};
  ASSERT_TRUE((*index)->Add(codes, ids).ok());
  std::vector<Code> q = {RandomCode(rng_), c};
  auto hits = (*index)->Search(q, 10, 1);
  ASSERT_TRUE(hits.ok());
  EXPECT_THAT(*hits,
              ElementsAre(PdqIndex::Match{1, 8, 0}, PdqIndex::Match{1, 8, 0},
                          PdqIndex::Match{1, 7, 5}, PdqIndex::Match{1, 9, 5}));
}

TEST_F(PdqIndexTest, RemoveHidesAndReAddRevives) {
  IndexOptions opt;
  opt.entries_per_extent = 8;
  opt.tombstones_per_extent = 2;
  auto index = PdqIndex::Create(path_, opt);
  ASSERT_TRUE(index.ok());
  std::vector<Code> codes;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 50; ++i) {
    codes.push_back(RandomCode(rng_));
    ids.push_back(i % 25);  // every id twice
  }
  ASSERT_TRUE((*index)->Add(codes, ids).ok());
  std::vector<uint64_t> gone = {3, 4, 99, 3, 10, 11, 12};
  ASSERT_TRUE((*index)->Remove(gone).ok());
  EXPECT_EQ((*index)->size(), 50u);
  EXPECT_EQ((*index)->live(), 50u - 10);  // 5 ids x 2 entries; 99 unknown
  auto hits = (*index)->Search(codes, 0, 1);
  ASSERT_TRUE(hits.ok());
  std::set<uint64_t> seen;
  for (const auto& m : *hits) seen.insert(m.id);
  for (uint64_t id : {3, 4, 10, 11, 12}) EXPECT_FALSE(seen.count(id)) << id;
  EXPECT_TRUE(seen.count(5));
  EXPECT_EQ(hits->size(), 40u);
  // Removing again is a no-op (no new tombstone, live unchanged).
  ASSERT_TRUE((*index)->Remove(std::vector<uint64_t>{3}).ok());
  EXPECT_EQ((*index)->live(), 40u);
  // Re-adding id 3 with a new code: only the new entry is live.
  Code fresh = RandomCode(rng_);
  ASSERT_TRUE(
      (*index)->Add(std::vector<Code>{fresh}, std::vector<uint64_t>{3}).ok());
  EXPECT_EQ((*index)->live(), 41u);
  std::vector<Code> q = {fresh, codes[3]};
  hits = (*index)->Search(q, 0, 1);
  ASSERT_TRUE(hits.ok());
  EXPECT_THAT(*hits, ElementsAre(PdqIndex::Match{0, 3, 0}));
  EXPECT_TRUE((*index)->Verify().ok());
  index->reset();
  auto ro = PdqIndex::Open(path_, false);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ((*ro)->live(), 41u);
  auto hits2 = (*ro)->Search(q, 0, 1);
  ASSERT_TRUE(hits2.ok());
  EXPECT_EQ(*hits2, *hits);
  EXPECT_TRUE((*ro)->Verify().ok());
}

TEST_F(PdqIndexTest, BadArguments) {
  auto index = PdqIndex::Create(path_);
  ASSERT_TRUE(index.ok());
  std::vector<Code> q = {RandomCode(rng_)};
  EXPECT_EQ((*index)->Search(q, -1, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*index)->Search(q, 257, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*index)->Search(q, 31, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*index)->Add(q, std::vector<uint64_t>{}).code(),
            absl::StatusCode::kInvalidArgument);
  auto empty = (*index)->Search(q, 31, 1);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(PdqIndex::Create(path_).status().code(),
            absl::StatusCode::kAlreadyExists);
  IndexOptions bad;
  bad.entries_per_extent = 12;
  EXPECT_EQ(PdqIndex::Create(dir_.Join("x"), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PdqIndex::Open(dir_.Join("missing"), false).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PdqIndexTest, OneWriterAtATime) {
  auto w = PdqIndex::Create(path_);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(PdqIndex::Open(path_, true).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_TRUE(PdqIndex::Open(path_, false).ok());
  w->reset();
  EXPECT_TRUE(PdqIndex::Open(path_, true).ok());
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Builds an index with two commits and a tombstone; returns its queries'
// expected results after the last commit.
struct Built {
  std::vector<Code> codes;
  std::vector<PdqIndex::Match> last, before_last;
};
Built BuildSmall(const std::string& path, std::mt19937_64& rng) {
  IndexOptions opt;
  opt.entries_per_extent = 16;
  opt.tombstones_per_extent = 4;
  auto index = PdqIndex::Create(path, opt);
  CUSTOS_CHECK(index.ok());
  Built b;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 40; ++i) {
    b.codes.push_back(RandomCode(rng));
    ids.push_back(i);
  }
  CUSTOS_CHECK((*index)
                   ->Add(std::span(b.codes).first(30), std::span(ids).first(30))
                   .ok());
  CUSTOS_CHECK((*index)->Remove(std::vector<uint64_t>{4}).ok());
  b.before_last = *(*index)->Search(b.codes, 0, 1);
  CUSTOS_CHECK(
      (*index)
          ->Add(std::span(b.codes).subspan(30), std::span(ids).subspan(30))
          .ok());
  b.last = *(*index)->Search(b.codes, 0, 1);
  CUSTOS_CHECK(b.last.size() == 39 && b.before_last.size() == 29);
  return b;
}

TEST_F(PdqIndexTest, TornAppendAtTheTailIsIgnoredAndDropped) {
  Built b = BuildSmall(path_, rng_);
  const std::string good = ReadAll(path_);
  // An interrupted append: garbage past the committed end.
  std::string torn = good + std::string(10000, '\x5a');
  WriteAll(path_, torn);
  {
    auto ro = PdqIndex::Open(path_, false);
    ASSERT_TRUE(ro.ok()) << ro.status();
    EXPECT_EQ(*(*ro)->Search(b.codes, 0, 1), b.last);
  }
  {
    auto w = PdqIndex::Open(path_, true);
    ASSERT_TRUE(w.ok()) << w.status();
    EXPECT_EQ(ReadAll(path_), good);  // the tail was truncated
    Code extra = RandomCode(rng_);
    ASSERT_TRUE(
        (*w)->Add(std::vector<Code>{extra}, std::vector<uint64_t>{77}).ok());
    EXPECT_EQ((*w)->size(), 41u);
    EXPECT_TRUE((*w)->Verify().ok());
  }
}

TEST_F(PdqIndexTest, TornSuperblockFallsBackToThePreviousCommit) {
  Built b = BuildSmall(path_, rng_);
  std::string data = ReadAll(path_);
  // Find the newest slot (highest generation) and damage it.
  uint64_t g0, g1;
  std::memcpy(&g0, &data[16], 8);
  std::memcpy(&g1, &data[2048 + 16], 8);
  const size_t newest = g0 > g1 ? 0 : 2048;
  data[newest + 40] ^= 1;
  WriteAll(path_, data);
  auto ro = PdqIndex::Open(path_, false);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ((*ro)->size(), 30u);
  EXPECT_EQ(*(*ro)->Search(b.codes, 0, 1), b.before_last);
  EXPECT_TRUE((*ro)->Verify().ok());
}

TEST_F(PdqIndexTest, DamageGivesClearErrors) {
  Built b = BuildSmall(path_, rng_);
  const std::string good = ReadAll(path_);
  // Truncated below the committed end.
  WriteAll(path_, good.substr(0, good.size() - 4096));
  auto s = PdqIndex::Open(path_, false).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("truncated"));
  // Not an index at all.
  WriteAll(path_, std::string(8192, 'x'));
  EXPECT_EQ(PdqIndex::Open(path_, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  WriteAll(path_, "");
  EXPECT_EQ(PdqIndex::Open(path_, false).status().code(),
            absl::StatusCode::kDataLoss);
  // Both slots damaged.
  std::string d = good;
  d[100] ^= 1;
  d[2048 + 100] ^= 1;
  WriteAll(path_, d);
  EXPECT_EQ(PdqIndex::Open(path_, false).status().code(),
            absl::StatusCode::kDataLoss);
  // A damaged extent header.
  d = good;
  d[4096 + 20] ^= 1;
  WriteAll(path_, d);
  s = PdqIndex::Open(path_, false).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  // A flipped bit in a committed code: opens, Verify reports it.
  d = good;
  d[4096 + 64 + 32 * 5 + 3] ^= 0x10;
  WriteAll(path_, d);
  auto ro = PdqIndex::Open(path_, false);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ((*ro)->Verify().code(), absl::StatusCode::kDataLoss);
}

// Many truncation lengths and flipped bytes (densely in the superblock and
// the first extent header): never a
// crash; either an error or a searchable index.
TEST_F(PdqIndexTest, EveryTruncationAndByteFlipIsHandled) {
  BuildSmall(path_, rng_);
  const std::string good = ReadAll(path_);
  std::vector<Code> q = {RandomCode(rng_)};
  const std::string p = dir_.Join("damaged");
  int opened = 0;
  for (size_t len = 0; len < good.size(); len += 397) {
    WriteAll(p, good.substr(0, len));
    auto ro = PdqIndex::Open(p, false);
    if (ro.ok()) {
      ++opened;
      EXPECT_TRUE((*ro)->Search(q, 31, 1).ok());
    }
  }
  for (size_t off = 0; off < good.size(); off += off < 4096 + 64 ? 5 : 97) {
    std::string d = good;
    d[off] ^= 0xff;
    WriteAll(p, d);
    auto ro = PdqIndex::Open(p, false);
    if (ro.ok()) {
      EXPECT_TRUE((*ro)->Search(q, 31, 1).ok());
      (void)(*ro)->Verify();
    }
  }
  EXPECT_EQ(opened, 0);  // every proper prefix is missing committed bytes
}

// A reader instance (its own descriptor and mapping, as another process would
// have) refreshes while the writer appends: it always sees a committed
// prefix, whole commits only, and exactly the matches of that prefix.
TEST_F(PdqIndexTest, ReadersSeeCommittedPrefixWhileWriterAppends) {
  IndexOptions opt;
  opt.entries_per_extent = 64;
  opt.sync = false;
  auto w = PdqIndex::Create(path_, opt);
  ASSERT_TRUE(w.ok());
  constexpr int kBatch = 37, kBatches = 60;
  std::vector<Code> codes;
  for (int i = 0; i < kBatch * kBatches; ++i) codes.push_back(RandomCode(rng_));
  // Query i matches only entry i (distance 0).
  std::vector<Code> queries(codes.begin(), codes.begin() + 200);
  auto r = PdqIndex::Open(path_, false);
  ASSERT_TRUE(r.ok());
  std::atomic<bool> done{false};
  std::atomic<int> checks{0};
  std::thread reader([&] {
    while (true) {
      bool last = done.load();
      ASSERT_TRUE((*r)->Refresh().ok());
      const uint64_t n = (*r)->size();
      auto hits = (*r)->Search(queries, 10, 2);
      ASSERT_TRUE(hits.ok());
      // The search ran on a state at least as new as n (same instance).
      EXPECT_EQ(n % kBatch, 0u);
      EXPECT_GE(hits->size(), std::min<uint64_t>(n, queries.size()));
      for (const auto& m : *hits) {
        EXPECT_EQ(m.id, m.query);
        EXPECT_EQ(m.distance, 0);
      }
      ++checks;
      if (last) break;
    }
  });
  // Also search the writer's own instance concurrently with its appends.
  std::thread same([&] {
    while (!done.load()) {
      auto hits = (*w)->Search(queries, 10, 1);
      ASSERT_TRUE(hits.ok());
      for (const auto& m : *hits) EXPECT_EQ(m.id, m.query);
    }
  });
  for (int b = 0; b < kBatches; ++b) {
    std::vector<uint64_t> ids;
    for (int k = 0; k < kBatch; ++k) ids.push_back(b * kBatch + k);
    ASSERT_TRUE(
        (*w)->Add(std::span(codes).subspan(b * kBatch, kBatch), ids).ok());
  }
  done = true;
  reader.join();
  same.join();
  EXPECT_GT(checks.load(), 0);
  EXPECT_EQ((*r)->size(), uint64_t{kBatch} * kBatches);
  auto hits = (*r)->Search(queries, 0, 1);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->size(), queries.size());
}

// The same across processes: a forked reader checks prefixes while the
// parent appends.
TEST_F(PdqIndexTest, ReaderInAnotherProcess) {
  IndexOptions opt;
  opt.entries_per_extent = 32;
  auto w = PdqIndex::Create(path_, opt);
  ASSERT_TRUE(w.ok());
  constexpr int kBatch = 16, kBatches = 40;
  std::vector<Code> codes;
  for (int i = 0; i < kBatch * kBatches; ++i) codes.push_back(RandomCode(rng_));
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int rc = 0;
    auto r = PdqIndex::Open(path_, false);
    if (!r.ok()) ::_exit(10);
    for (int spin = 0; spin < 2000000; ++spin) {
      if (!(*r)->Refresh().ok()) ::_exit(11);
      const uint64_t n = (*r)->size();
      if (n % kBatch != 0) ::_exit(12);
      auto hits = (*r)->Search(codes, 0, 1);
      if (!hits.ok() || hits->size() != n) ::_exit(13);
      for (const auto& m : *hits) {
        if (m.id != m.query) rc = 14;
      }
      if (n == uint64_t{kBatch} * kBatches) ::_exit(rc);
    }
    ::_exit(15);
  }
  for (int b = 0; b < kBatches; ++b) {
    std::vector<uint64_t> ids;
    for (int k = 0; k < kBatch; ++k) ids.push_back(b * kBatch + k);
    ASSERT_TRUE(
        (*w)->Add(std::span(codes).subspan(b * kBatch, kBatch), ids).ok());
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(CodeTest, FromWordsAndDistance) {
  std::array<uint16_t, 16> w{};
  w[0] = 0x0102;
  w[15] = 0xff00;
  Code c = CodeFromWords(w);
  EXPECT_EQ(c[0], 0x02);
  EXPECT_EQ(c[1], 0x01);
  EXPECT_EQ(c[31], 0xff);
  EXPECT_EQ(Distance(c, Code{}), 2 + 8);
}

}  // namespace
}  // namespace custos::match
