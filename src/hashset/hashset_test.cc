#include "src/hashset/hashset.h"

#include <sqlite3.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "src/base/bytes.h"
#include "src/base/file_system.h"
#include "src/hashset/exporters.h"
#include "src/hashset/parsers.h"
#include "testing/testing.h"

namespace custos::hashset {
namespace {

std::string Digest(uint64_t seed, size_t len) {
  std::mt19937_64 rng(seed);
  std::string d(len, '\0');
  for (auto& c : d) c = static_cast<char>(rng());
  return d;
}

ImportOptions Opts(const std::string& name, Meaning m = Meaning::kKnownGood) {
  ImportOptions o;
  o.name = name;
  o.meaning = m;
  o.now = "2026-11-23T06:00:00.000000Z";
  o.format = "plain";
  return o;
}

std::vector<Match> Find(const Store& s, Algorithm a, const std::string& d) {
  std::vector<Match> m;
  s.Lookup(a, d, &m);
  return m;
}

std::set<std::string> Entries(const Store& s, const std::string& name,
                              Algorithm a) {
  std::set<std::string> out;
  EXPECT_TRUE(
      s.ForEachEntry(name, a, [&](std::string_view d, std::string_view tag) {
         out.insert(absl::StrCat(HexEncode(d), "/", std::string(tag)));
         return absl::OkStatus();
       }).ok());
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Open(tmp_.Join("hashsets"));
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void Import(const std::string& name, const std::vector<std::string>& add,
              const std::vector<std::string>& remove = {}, bool delta = false,
              Meaning m = Meaning::kKnownGood) {
    ImportOptions o = Opts(name, m);
    o.delta = delta;
    auto imp = store_->BeginImport(o);
    ASSERT_TRUE(imp.ok()) << imp.status();
    for (const auto& d : add)
      ASSERT_TRUE((*imp)->Add(*AlgorithmForLength(d.size()), d, "").ok());
    for (const auto& d : remove)
      ASSERT_TRUE((*imp)->Remove(*AlgorithmForLength(d.size()), d).ok());
    auto r = (*imp)->Prepare();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE((*imp)->Publish().ok());
  }
  testing::TempDir tmp_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, ImportLookupAndReopen) {
  std::string a = Digest(1, 32), b = Digest(2, 32), md5 = Digest(3, 16),
              sha1 = Digest(4, 20), miss = Digest(5, 32);
  Import("nsrl", {a, b, md5, sha1, a});
  const SetInfo* s = store_->FindSet("nsrl");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->counts[AlgoIndex(Algorithm::kSha256)], 2u);
  EXPECT_EQ(s->counts[AlgoIndex(Algorithm::kMd5)], 1u);
  EXPECT_EQ(s->counts[AlgoIndex(Algorithm::kSha1)], 1u);
  auto m = Find(*store_, Algorithm::kSha256, a);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].set, "nsrl");
  EXPECT_EQ(m[0].meaning, Meaning::kKnownGood);
  EXPECT_EQ(Find(*store_, Algorithm::kSha256, miss).size(), 0u);
  // The same bytes under another algorithm do not match.
  EXPECT_EQ(Find(*store_, Algorithm::kMd5, a.substr(0, 16)).size(), 0u);
  EXPECT_EQ(Find(*store_, Algorithm::kSha1, sha1).size(), 1u);
  // A digest differing only in the last byte is a miss (full comparison).
  std::string near = a;
  near.back() ^= 1;
  EXPECT_EQ(Find(*store_, Algorithm::kSha256, near).size(), 0u);

  auto again = Store::Open(tmp_.Join("hashsets"), false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Find(**again, Algorithm::kSha256, b).size(), 1u);
  uint8_t hit[3];
  std::string batch = a + miss + b;
  EXPECT_EQ((*again)->ContainsBatch(
                Algorithm::kSha256,
                reinterpret_cast<const uint8_t*>(batch.data()), 3, hit),
            2u);
  EXPECT_EQ(hit[0], 1);
  EXPECT_EQ(hit[1], 0);
  EXPECT_EQ(hit[2], 1);
}

TEST_F(StoreTest, ExistingSetNeedsDeltaAndDeltaNeedsSet) {
  Import("s", {Digest(1, 32)});
  auto dup = store_->BeginImport(Opts("s"));
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  ImportOptions o = Opts("absent");
  o.delta = true;
  EXPECT_EQ(store_->BeginImport(o).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->BeginImport(Opts("bad name")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, DeltaTombstonesAndCompaction) {
  std::string a = Digest(1, 32), b = Digest(2, 32), c = Digest(3, 32),
              d = Digest(4, 32), e = Digest(5, 32);
  Import("nsrl", {a, b, c});
  // Remove b and e (e was never there), add d and re-add c.
  Import("nsrl", {d, c}, {b, e}, /*delta=*/true);
  const SetInfo* s = store_->FindSet("nsrl");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->runs.size(), 3u);  // add, tombstone, add
  EXPECT_EQ(s->counts[AlgoIndex(Algorithm::kSha256)], 3u);  // a c d
  EXPECT_EQ(Find(*store_, Algorithm::kSha256, b).size(), 0u);
  EXPECT_EQ(Find(*store_, Algorithm::kSha256, d).size(), 1u);
  EXPECT_EQ(Find(*store_, Algorithm::kSha256, a).size(), 1u);
  // Removed and added in the same delta: present.
  Import("nsrl", {b}, {b}, true);
  EXPECT_EQ(Find(*store_, Algorithm::kSha256, b).size(), 1u);
  EXPECT_EQ(store_->FindSet("nsrl")->counts[AlgoIndex(Algorithm::kSha256)], 4u);
  Import("nsrl", {}, {a}, true);
  auto before = Entries(*store_, "nsrl", Algorithm::kSha256);
  EXPECT_EQ(before.size(), 3u);  // b c d
  auto done = store_->Compact("", "2026-11-23T07:00:00.000000Z");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, std::vector<std::string>{"nsrl"});
  s = store_->FindSet("nsrl");
  ASSERT_EQ(s->runs.size(), 1u);
  EXPECT_FALSE(s->runs[0].tombstone);
  EXPECT_EQ(s->runs[0].count, 3u);
  EXPECT_EQ(Entries(*store_, "nsrl", Algorithm::kSha256), before);
  EXPECT_EQ(Find(*store_, Algorithm::kSha256, a).size(), 0u);
  // Only the compacted run is left on disk.
  auto files = PosixFileSystem().ListDir(tmp_.Join("hashsets/runs"));
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->size(), 1u);
  // Nothing more to compact.
  done = store_->Compact("", "t");
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->empty());
}

// LookupBatch (one batched pass) returns exactly what Lookup() returns per
// digest, in digest order: hits in several sets (tags with categories and
// flags, a VICS "0" entry, a set-level category), tombstoned digests,
// misses, digests re-added after a tombstone, over more than one chunk.
TEST_F(StoreTest, LookupBatchEqualsLookupAcrossSets) {
  std::vector<std::string> d;
  for (uint64_t i = 0; i < 10000; ++i) d.push_back(Digest(100 + i, 32));
  std::vector<std::string> a, b, b_delta, b_removed, c;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i % 3 == 0) a.push_back(d[i]);
    if (i % 5 == 0) b.push_back(d[i]);
    if (i % 7 == 0) c.push_back(d[i]);
  }
  for (size_t i = 5; i < d.size(); i += 30) b_removed.push_back(d[i]);
  for (size_t i = 5; i < d.size(); i += 60) b_delta.push_back(d[i]);
  for (size_t i = 1; i < d.size(); i += 11) b_delta.push_back(d[i]);
  Import("good", a);
  {
    ImportOptions o = Opts("bad", Meaning::kKnownBad);
    o.category = "setcat";
    auto imp = store_->BeginImport(o);
    ASSERT_TRUE(imp.ok()) << imp.status();
    for (size_t i = 0; i < b.size(); ++i) {
      const char* tags[] = {"", "3", "0", "2;A,B"};
      ASSERT_TRUE((*imp)->Add(Algorithm::kSha256, b[i], tags[i % 4]).ok());
    }
    ASSERT_TRUE((*imp)->Prepare().ok());
    ASSERT_TRUE((*imp)->Publish().ok());
  }
  // A delta: tombstones over every 10th digest, some of them re-added.
  Import("bad", b_delta, b_removed, /*delta=*/true, Meaning::kKnownBad);
  Import("third", c);
  std::string all;
  for (const auto& x : d) all += x;
  for (uint64_t i = 0; i < 500; ++i) all += Digest(900000 + i, 32);  // misses
  const size_t n = all.size() / 32;
  std::vector<std::pair<size_t, Match>> got;
  store_->LookupBatch(Algorithm::kSha256,
                      reinterpret_cast<const uint8_t*>(all.data()), n, &got);
  std::vector<std::pair<size_t, Match>> want;
  for (size_t i = 0; i < n; ++i)
    for (auto& m : Find(*store_, Algorithm::kSha256, all.substr(i * 32, 32)))
      want.emplace_back(i, std::move(m));
  ASSERT_EQ(got.size(), want.size());
  std::set<std::string> sets_seen, categories;
  size_t multi = 0;
  for (size_t j = 0; j < got.size(); ++j) {
    SCOPED_TRACE(j);
    EXPECT_EQ(got[j].first, want[j].first);
    EXPECT_EQ(got[j].second.set, want[j].second.set);
    EXPECT_EQ(got[j].second.meaning, want[j].second.meaning);
    EXPECT_EQ(got[j].second.category, want[j].second.category);
    EXPECT_EQ(got[j].second.flags, want[j].second.flags);
    EXPECT_EQ(got[j].second.algo, want[j].second.algo);
    EXPECT_EQ(got[j].second.digest, want[j].second.digest);
    sets_seen.insert(got[j].second.set);
    categories.insert(got[j].second.category);
    if (j > 0 && got[j].first == got[j - 1].first) ++multi;
  }
  // The data exercise what they should.
  EXPECT_EQ(sets_seen.size(), 3u);
  EXPECT_GT(multi, 100u);
  EXPECT_EQ(categories, (std::set<std::string>{"", "0", "2", "3", "setcat"}));
  // A tombstoned digest (not re-added) is absent from "bad".
  for (const auto& [i, m] : got)
    EXPECT_FALSE(i % 60 == 35 && i % 11 != 1 && m.set == "bad");
  // ContainsBatch agrees.
  std::vector<uint8_t> hit(n);
  size_t hits = store_->ContainsBatch(
      Algorithm::kSha256, reinterpret_cast<const uint8_t*>(all.data()), n,
      hit.data());
  std::set<size_t> with_match;
  for (const auto& [i, m] : got) with_match.insert(i);
  EXPECT_EQ(hits, with_match.size());
  for (size_t i = 0; i < n; ++i)
    EXPECT_EQ(hit[i] != 0, with_match.count(i) == 1);
  // No sets / no digests: nothing.
  got.clear();
  store_->LookupBatch(Algorithm::kSha256,
                      reinterpret_cast<const uint8_t*>(all.data()), 0, &got);
  EXPECT_TRUE(got.empty());
}

TEST_F(StoreTest, SpillsAndMergesUnderASmallMemoryBudget) {
  ImportOptions o = Opts("big");
  o.memory_budget = 1 << 16;  // 64 KiB: ~1900 SHA-256 records per buffer
  auto imp = store_->BeginImport(o);
  ASSERT_TRUE(imp.ok());
  std::set<std::string> want;
  for (uint64_t i = 0; i < 20000; ++i) {
    std::string d = Digest(i % 15000, 32);  // 5000 duplicates
    want.insert(d);
    ASSERT_TRUE((*imp)->Add(Algorithm::kSha256, d, "").ok());
  }
  // Spill files exist while the import runs.
  auto tmpfiles = PosixFileSystem().ListDir(tmp_.Join("hashsets/tmp"));
  ASSERT_TRUE(tmpfiles.ok());
  EXPECT_GT(tmpfiles->size(), 5u);
  auto r = (*imp)->Prepare();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->added, 15000u);
  EXPECT_EQ(r->add_entries, 20000u);
  ASSERT_TRUE((*imp)->Publish().ok());
  imp->reset();
  EXPECT_EQ(store_->FindSet("big")->counts[AlgoIndex(Algorithm::kSha256)],
            15000u);
  std::set<std::string> got;
  ASSERT_TRUE(store_
                  ->ForEachEntry("big", Algorithm::kSha256,
                                 [&](std::string_view d, std::string_view) {
                                   got.insert(std::string(d));
                                   return absl::OkStatus();
                                 })
                  .ok());
  EXPECT_EQ(got, want);
  for (const auto& d : want)
    ASSERT_EQ(Find(*store_, Algorithm::kSha256, d).size(), 1u);
  tmpfiles = PosixFileSystem().ListDir(tmp_.Join("hashsets/tmp"));
  EXPECT_TRUE(tmpfiles->empty());
}

TEST_F(StoreTest, UnpublishedImportAndLeftoversAreInvisible) {
  Import("keep", {Digest(1, 32)});
  {
    auto imp = store_->BeginImport(Opts("half"));
    ASSERT_TRUE(imp.ok());
    ASSERT_TRUE((*imp)->Add(Algorithm::kSha256, Digest(2, 32), "").ok());
    ASSERT_TRUE((*imp)->Prepare().ok());
    // Destroyed without Publish(): as if refused after the files were
    // written.
  }
  EXPECT_EQ(store_->FindSet("half"), nullptr);
  // A crash's leftovers: a temp run and a run file no MANIFEST names.
  WriteFileAtomically(PosixFileSystem(), tmp_.Join("hashsets/tmp/9-9.run"),
                      "garbage")
      .IgnoreError();
  WriteFileAtomically(PosixFileSystem(),
                      tmp_.Join("hashsets/runs/000099-sha256.run"), "garbage")
      .IgnoreError();
  auto again = Store::Open(tmp_.Join("hashsets"), false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->sets().size(), 1u);
  EXPECT_EQ(Find(**again, Algorithm::kSha256, Digest(2, 32)).size(), 0u);
  EXPECT_EQ(Find(**again, Algorithm::kSha256, Digest(1, 32)).size(), 1u);
  // The next writer removes them.
  Import("other", {Digest(3, 32)});
  EXPECT_FALSE(
      PosixFileSystem().Exists(tmp_.Join("hashsets/runs/000099-sha256.run")));
  EXPECT_FALSE(PosixFileSystem().Exists(tmp_.Join("hashsets/tmp/9-9.run")));
}

TEST_F(StoreTest, DamagedRunIsDataLoss) {
  Import("s", {Digest(1, 32)});
  std::string file = tmp_.Join("hashsets/" + store_->sets()[0].runs[0].file);
  ASSERT_TRUE(PosixFileSystem().Truncate(file, 10).ok());
  auto again = Store::Open(tmp_.Join("hashsets"), false);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(StoreTest, CategoriesFlagsAndVicsZero) {
  std::string a = Digest(1, 20), b = Digest(2, 20), c = Digest(3, 20);
  ImportOptions o = Opts("vic", Meaning::kKnownBad);
  o.category = "9";
  auto imp = store_->BeginImport(o);
  ASSERT_TRUE(imp.ok());
  ASSERT_TRUE((*imp)->Add(Algorithm::kSha1, a, "1;IsDistributed").ok());
  ASSERT_TRUE((*imp)->Add(Algorithm::kSha1, b, "0").ok());
  ASSERT_TRUE((*imp)->Add(Algorithm::kSha1, c, "").ok());
  ASSERT_TRUE((*imp)->Add(Algorithm::kSha1, a, "2").ok());  // first tag wins
  ASSERT_TRUE((*imp)->Prepare().ok());
  ASSERT_TRUE((*imp)->Publish().ok());
  imp->reset();
  auto m = Find(*store_, Algorithm::kSha1, a);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].meaning, Meaning::kKnownBad);
  EXPECT_EQ(m[0].category, "1");
  EXPECT_EQ(m[0].flags, "IsDistributed");
  m = Find(*store_, Algorithm::kSha1, b);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].meaning, Meaning::kKnownGood);  // VICS category 0
  m = Find(*store_, Algorithm::kSha1, c);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].category, "9");  // the set's category

  // VICS round trip: export, import as another set, same entries.
  std::ostringstream out;
  ASSERT_TRUE(ExportSet(*store_, "vic", ExportFormat::kVics, out).ok());
  ImportOptions o2 = Opts("vic2", Meaning::kKnownBad);
  auto imp2 = store_->BeginImport(o2);
  ASSERT_TRUE(imp2.ok());
  const std::string vics_text = out.str();
  StringSource src(vics_text);
  ParseStats st;
  absl::Status vs = ParseVics(src, "export.json", **imp2, &st);
  ASSERT_TRUE(vs.ok()) << vs << out.str();
  ASSERT_TRUE((*imp2)->Prepare().ok());
  ASSERT_TRUE((*imp2)->Publish().ok());
  imp2->reset();
  for (const auto& d : {a, b, c}) {
    auto m1 = Find(*store_, Algorithm::kSha1, d);
    ASSERT_EQ(m1.size(), 2u);
    EXPECT_EQ(m1[0].category, m1[1].category);
    EXPECT_EQ(m1[0].flags, m1[1].flags);
    EXPECT_EQ(m1[0].meaning, m1[1].meaning);
  }
  // hashdeep round trip keeps the digests.
  std::ostringstream hd;
  ASSERT_TRUE(ExportSet(*store_, "vic", ExportFormat::kHashdeep, hd).ok());
  auto imp3 = store_->BeginImport(Opts("vic3"));
  ASSERT_TRUE(imp3.ok());
  const std::string hd_text = hd.str();
  StringSource src3(hd_text);
  ASSERT_TRUE(ParseHashdeep(src3, "export.txt", **imp3, &st).ok()) << hd.str();
  ASSERT_TRUE((*imp3)->Prepare().ok());
  ASSERT_TRUE((*imp3)->Publish().ok());
  imp3->reset();
  auto digests = [&](const std::string& n) {
    std::set<std::string> out;
    for (const auto& e : Entries(*store_, n, Algorithm::kSha1))
      out.insert(e.substr(0, 40));
    return out;
  };
  EXPECT_EQ(digests("vic"), digests("vic3"));
  EXPECT_EQ(digests("vic").size(), 3u);
}

TEST_F(StoreTest, RemoveSet) {
  Import("a", {Digest(1, 32)});
  Import("b", {Digest(1, 32)});
  EXPECT_EQ(Find(*store_, Algorithm::kSha256, Digest(1, 32)).size(), 2u);
  ASSERT_TRUE(store_->Remove("a").ok());
  auto m = Find(*store_, Algorithm::kSha256, Digest(1, 32));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].set, "b");
  EXPECT_EQ(store_->Remove("a").code(), absl::StatusCode::kNotFound);
  auto files = PosixFileSystem().ListDir(tmp_.Join("hashsets/runs"));
  EXPECT_EQ(files->size(), 1u);
}

// FNV-1a (64 bits) of a file's bytes, for comparing stores written by
// different importer versions.
uint64_t Fnv1a(const std::string& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Imports a fixed input (three algorithms, duplicates, tags, a memory budget
// small enough to spill many times, then a delta with removals) into a new
// store under `dir` and returns "file size fnv1a" of MANIFEST and every run.
std::string GoldenStore(const std::string& dir, bool parallel) {
  auto store = Store::Open(dir);
  EXPECT_TRUE(store.ok());
  const char* tags[] = {"", "1", "2;IsDistributed", "3", ""};
  {
    ImportOptions o = Opts("gold", Meaning::kKnownBad);
    o.category = "5";
    o.memory_budget = 1 << 16;
    o.parallel = parallel;
    auto imp = (*store)->BeginImport(o);
    EXPECT_TRUE(imp.ok());
    for (uint64_t i = 0; i < 30000; ++i) {
      size_t len = i % 3 == 0 ? 16 : i % 3 == 1 ? 20 : 32;
      std::string d = Digest(i % 24000, len);  // duplicates, other tags
      EXPECT_TRUE((*imp)->Add(*AlgorithmForLength(len), d, tags[i % 5]).ok());
    }
    auto r = (*imp)->Prepare();
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE((*imp)->Publish().ok());
  }
  {
    ImportOptions o = Opts("gold", Meaning::kKnownBad);
    o.delta = true;
    o.memory_budget = 1 << 16;
    o.parallel = parallel;
    auto imp = (*store)->BeginImport(o);
    EXPECT_TRUE(imp.ok());
    for (uint64_t i = 20000; i < 32000; ++i)
      EXPECT_TRUE((*imp)->Add(Algorithm::kSha256, Digest(i, 32), "4").ok());
    for (uint64_t i = 0; i < 9000; i += 2) {
      EXPECT_TRUE((*imp)->Remove(Algorithm::kSha256, Digest(i, 32)).ok());
      EXPECT_TRUE((*imp)->Remove(Algorithm::kMd5, Digest(i, 16)).ok());
    }
    auto r = (*imp)->Prepare();
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE((*imp)->Publish().ok());
  }
  std::string out;
  FileSystem& fs = PosixFileSystem();
  auto files = fs.ListDir(dir + "/runs");
  EXPECT_TRUE(files.ok());
  std::vector<std::string> names = {"MANIFEST"};
  for (const auto& f : *files) names.push_back("runs/" + f);
  std::sort(names.begin() + 1, names.end());
  for (const auto& n : names) {
    auto bytes = fs.ReadFile(dir + "/" + n);
    EXPECT_TRUE(bytes.ok());
    absl::StrAppend(&out, n, " ", bytes->size(), " ",
                    absl::Hex(Fnv1a(*bytes), absl::kZeroPad16), "\n");
  }
  return out;
}

// The files the importer wrote before it was pipelined (2026-11-23), for
// the same input: the parallel importer must keep writing exactly these.
constexpr char kGolden[] =
    "MANIFEST 1613 b95f490145fe95bd\n"
    "runs/000001-md5.run 160452 2108ee64bbc86c81\n"
    "runs/000002-sha1.run 192452 76381d620f0a4f03\n"
    "runs/000003-sha256.run 288452 0f98d2f0b60298e5\n"
    "runs/000004-md5-tomb.run 80260 68d4c22216f3719c\n"
    "runs/000005-sha256-tomb.run 152260 7613396e3e59a1ce\n"
    "runs/000006-sha256.run 424452 02a5f5e79f772a91\n";

TEST(ImportFiles, SameBytesAsBeforeParallelOrNot) {
  testing::TempDir tmp;
  std::string parallel = GoldenStore(tmp.Join("p"), true);
  std::string serial = GoldenStore(tmp.Join("s"), false);
  EXPECT_EQ(parallel, serial);
  EXPECT_EQ(parallel, kGolden);
}

// Builds an RDSv3-shaped database of `rows` random rows.
void MakeBigRds3(const std::string& path, int rows) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string sql = absl::StrCat(
      "CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, "
      "md5 VARCHAR NOT NULL, crc32 VARCHAR, file_name VARCHAR NOT NULL, "
      "file_size INTEGER NOT NULL, package_id INTEGER NOT NULL);"
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE "
      "x < ",
      rows,
      ") INSERT INTO FILE SELECT hex(randomblob(32)), hex(randomblob(20)), "
      "hex(randomblob(16)), NULL, 'f' || x, x, 1 FROM c;");
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
      << (err ? err : "");
  sqlite3_close(db);
}

// A damaged RDSv3 database fails the import with kDataLoss naming the file,
// after the spiller has written spill files; nothing becomes visible and no
// file is left behind.
TEST_F(StoreTest, DamagedRds3DatabaseLeavesNothing) {
  std::string good = tmp_.Join("good.db");
  MakeBigRds3(good, 40000);
  auto bytes = PosixFileSystem().ReadFile(good);
  ASSERT_TRUE(bytes.ok());
  ASSERT_GT(bytes->size(), size_t{1} << 20);
  std::string truncated = tmp_.Join("truncated.db");
  ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(), truncated,
                                  bytes->substr(0, bytes->size() / 2))
                  .ok());
  std::string scribbled = tmp_.Join("scribbled.db");
  std::string s = *bytes;
  for (size_t i = s.size() / 2; i < s.size() / 2 + 65536; ++i) s[i] = '\x5a';
  ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(), scribbled, s).ok());
  for (const std::string& path : {truncated, scribbled}) {
    for (bool parallel : {true, false}) {
      SCOPED_TRACE(path + (parallel ? " parallel" : " serial"));
      {
        ImportOptions o = Opts("nsrl");
        o.format = "nsrl-rds3";
        o.memory_budget = 1 << 16;
        o.parallel = parallel;
        auto imp = store_->BeginImport(o);
        ASSERT_TRUE(imp.ok());
        ParseStats st;
        absl::Status r = ImportRds3(path, **imp, &st);
        EXPECT_EQ(r.code(), absl::StatusCode::kDataLoss) << r;
        EXPECT_NE(r.message().find(path), std::string::npos) << r;
        if (path == scribbled) {
          // It failed part way, after spilling.
          EXPECT_GT(st.records, 1000u);
          auto spills = PosixFileSystem().ListDir(tmp_.Join("hashsets/tmp"));
          ASSERT_TRUE(spills.ok());
          EXPECT_FALSE(spills->empty());
        }
        // Destroyed without Prepare(): the caller gives up.
      }
      EXPECT_EQ(store_->FindSet("nsrl"), nullptr);
      auto again = Store::Open(tmp_.Join("hashsets"), false);
      ASSERT_TRUE(again.ok());
      EXPECT_TRUE((*again)->sets().empty());
      EXPECT_TRUE(
          PosixFileSystem().ListDir(tmp_.Join("hashsets/tmp"))->empty());
      EXPECT_TRUE(
          PosixFileSystem().ListDir(tmp_.Join("hashsets/runs"))->empty());
    }
  }
  // The undamaged database imports, the same way parallel or not.
  std::string files[2];
  for (bool parallel : {true, false}) {
    testing::TempDir dir;
    auto store = Store::Open(dir.Join("hs"));
    ASSERT_TRUE(store.ok());
    ImportOptions o = Opts("nsrl");
    o.format = "nsrl-rds3";
    o.memory_budget = 1 << 18;
    o.parallel = parallel;
    auto imp = (*store)->BeginImport(o);
    ASSERT_TRUE(imp.ok());
    ParseStats st;
    ASSERT_TRUE(ImportRds3(good, **imp, &st).ok());
    EXPECT_EQ(st.records, 40000u);
    auto r = (*imp)->Prepare();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE((*imp)->Publish().ok());
    EXPECT_EQ(r->set.counts, (std::array<uint64_t, 3>{40000, 40000, 40000}));
    for (const auto& run : r->set.runs)
      absl::StrAppend(
          &files[parallel], run.file, " ",
          Fnv1a(*PosixFileSystem().ReadFile(dir.Join("hs/" + run.file))), "\n");
  }
  EXPECT_EQ(files[0], files[1]);
  EXPECT_EQ(files[0].size() > 0, true);
}

}  // namespace
}  // namespace custos::hashset
