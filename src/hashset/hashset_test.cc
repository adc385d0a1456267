#include "src/hashset/hashset.h"

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

}  // namespace
}  // namespace custos::hashset
