#include "src/lists/list_store.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/bytes.h"
#include "testing/testing.h"

namespace custos::lists {
namespace {

std::string RandomCode(std::mt19937_64& rng) {
  std::string s(32, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// `code` with its first `bits` bits flipped.
std::string Flip(std::string code, int bits) {
  for (int b = 0; b < bits; ++b) code[b / 8] ^= static_cast<char>(1 << (b % 8));
  return code;
}

match::Code AsCode(const std::string& raw) {
  match::Code c{};
  std::copy(raw.begin(), raw.end(), c.begin());
  return c;
}

class ListStoreTest : public ::testing::Test {
 protected:
  absl::StatusOr<ListStore::ImportResult> Import(
      ListStore& s, const std::string& name, std::vector<ListEntry> entries) {
    ListInfo info;
    info.name = name;
    info.meaning = kMeaningInternational;
    info.source = "test";
    return s.Import(
        info, "2026-11-23T00:00:00.000000Z",
        [&](const std::function<absl::Status(const ListEntry&)>& add)
            -> absl::Status {
          for (const auto& e : entries)
            if (auto st = add(e); !st.ok()) return st;
          return absl::OkStatus();
        });
  }
  testing::TempDir tmp_;
};

TEST_F(ListStoreTest, EntriesAreUsedOnlyOnceTheirImportIsRecorded) {
  std::mt19937_64 rng(7);
  std::string a = RandomCode(rng), b = RandomCode(rng);
  auto s = ListStore::Open(tmp_.path(), true);
  ASSERT_TRUE(s.ok()) << s.status();
  auto r =
      Import(**s, "baseline",
             {{HashKind::kPdq, a, 90, "A1", "", -1, ""},
              {HashKind::kPdq, b, 80, "A2", "", -1, ""},
              {HashKind::kSha256, std::string(32, 'x'), -1, "B", "", -1, ""},
              {HashKind::kPdq, a, 90, "A1", "", -1, ""}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entries, 3u);
  EXPECT_EQ(r->duplicates, 1u);
  std::vector<match::Code> q = {AsCode(Flip(a, 31)), AsCode(Flip(b, 32))};
  auto hits = (*s)->MatchPdq(q, 31, 1);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_TRUE(hits->empty()) << "unrecorded entries must not match";
  ASSERT_TRUE((*s)->MarkImportRecorded(r->list_id, 5).ok());
  hits = (*s)->MatchPdq(q, 31, 1);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);  // b is 32 bits away: outside radius 31
  EXPECT_EQ((*hits)[0].query, 0u);
  EXPECT_EQ((*hits)[0].distance, 31);
  EXPECT_EQ((*hits)[0].entry.entry.category, "A1");
  EXPECT_EQ((*hits)[0].entry.import_seq, 5);
  auto exact = (*s)->MatchExact(HashKind::kSha256, std::string(32, 'x'));
  ASSERT_TRUE(exact.ok());
  ASSERT_EQ(exact->size(), 1u);
  EXPECT_EQ((*exact)[0].list_name, "baseline");
}

TEST_F(ListStoreTest, RemovedEntriesStopMatchingAndSurviveReopen) {
  std::mt19937_64 rng(8);
  std::string a = RandomCode(rng);
  {
    auto s = ListStore::Open(tmp_.path(), true);
    ASSERT_TRUE(s.ok()) << s.status();
    auto r = Import(**s, "national", {{HashKind::kPdq, a, 90, "", "", -1, ""}});
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE((*s)->MarkImportRecorded(r->list_id, 3).ok());
    auto found = (*s)->FindEntries("national", HashKind::kPdq, a);
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->size(), 1u);
    ASSERT_TRUE((*s)->RemoveEntries({(*found)[0].id}).ok());
    auto pending = (*s)->PendingRemovals();
    ASSERT_TRUE(pending.ok());
    ASSERT_EQ(pending->size(), 1u);
    ASSERT_TRUE((*s)->MarkRemovalRecorded({(*found)[0].id}, 9).ok());
  }
  auto s = ListStore::Open(tmp_.path(), false);
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<match::Code> q = {AsCode(a)};
  auto hits = (*s)->MatchPdq(q, 31, 1);
  ASSERT_TRUE(hits.ok());
  EXPECT_TRUE(hits->empty());
  auto lists = (*s)->Lists();
  ASSERT_TRUE(lists.ok());
  ASSERT_EQ(lists->size(), 1u);
  EXPECT_EQ((*lists)[0].live, 0u);
  EXPECT_EQ((*lists)[0].removed_entries, 1u);
  EXPECT_EQ((*lists)[0].pending, 0u);
}

TEST_F(ListStoreTest, UnrecordedImportsAreDiscarded) {
  std::mt19937_64 rng(9);
  std::string a = RandomCode(rng);
  auto s = ListStore::Open(tmp_.path(), true);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(Import(**s, "x", {{HashKind::kPdq, a, 90, "", "", -1, ""}}).ok());
  auto n = (*s)->DiscardUnrecorded();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  auto lists = (*s)->Lists();
  ASSERT_TRUE(lists.ok());
  EXPECT_EQ((*lists)[0].live, 0u);
}

TEST_F(ListStoreTest, ReadOnlyOpenOfARepositoryWithoutLists) {
  auto s = ListStore::Open(tmp_.path(), false);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace custos::lists
