#include "src/repo/repository.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/bytes.h"
#include "src/custody/merkle.h"
#include "src/repo/known_files.h"
#include "testing/testing.h"

namespace custos::repo {
namespace {

using ::testing::HasSubstr;

EventRequest Req(const std::string& type, const std::string& item,
                 const std::string& actor) {
  EventRequest r;
  r.type = type;
  r.items = {item};
  r.actor = actor;
  return r;
}

class RepositoryTest : public ::testing::Test {
 protected:
  RepositoryTest() : clock_(absl::FromUnixSeconds(1767225600)), random_(42) {
    env_.clock = &clock_;
    env_.random = &random_;
    env_.place = "lab";
    dir_ = tmp_.Join("repo");
  }
  std::unique_ptr<Repository> Init() {
    auto r =
        Repository::Init(dir_, {"example.org/test", "Test Authority"}, env_);
    EXPECT_TRUE(r.ok()) << r.status();
    return std::move(*r);
  }
  std::unique_ptr<Repository> Reopen() {
    auto r = Repository::Open(dir_, env_);
    EXPECT_TRUE(r.ok()) << r.status();
    return std::move(*r);
  }
  // A repository with one examiner, one case and one acquired file.
  std::unique_ptr<Repository> Seeded(ItemRecord* item) {
    auto r = Init();
    EXPECT_TRUE(r->AddActor("A. Examiner", "examiner").ok());
    EXPECT_TRUE(r->OpenCase({"C-1", "Title", "Art. 1", {"0501"}, 0}, "").ok());
    std::string src = tmp_.Join("evidence.bin");
    std::ofstream(src) << "abc";
    AcquireRequest req;
    req.case_id = "C-1";
    req.actor = "A. Examiner";
    req.exhibits = {"EXH-1"};
    req.digests = crypto::kSha256 | crypto::kMd5 | crypto::kSha1;
    auto got = r->Acquire({src}, req);
    EXPECT_TRUE(got.ok()) << got.status();
    if (got.ok() && item) *item = (*got)[0].item;
    return r;
  }
  void ExpectVerifies(Repository& r) {
    auto rep = r.Verify(nullptr);
    ASSERT_TRUE(rep.ok()) << rep.status();
    for (const auto& p : rep->problems)
      ADD_FAILURE() << p.where << ": " << p.what;
  }
  std::vector<Event> AllEvents(Repository& r) {
    std::vector<Event> out;
    EXPECT_TRUE(r.meta()
                    .ForEachEvent(0, 1u << 30,
                                  [&](const EventRecord& rec) {
                                    auto e = DecodeEvent(rec.leaf);
                                    EXPECT_TRUE(e.ok());
                                    out.push_back(*e);
                                    return absl::OkStatus();
                                  })
                    .ok());
    return out;
  }

  testing::TempDir tmp_;
  testing::SimulatedClock clock_;
  testing::SeededRandom random_;
  RepoEnv env_;
  std::string dir_;
};

TEST_F(RepositoryTest, InitRecordsCreationSignedByTheAuthority) {
  auto r = Init();
  auto events = AllEvents(*r);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "repository_created");
  EXPECT_EQ(events[0].actor.id, kAuthorityActorId);
  EXPECT_EQ(events[0].time, clock_.Now());
  EXPECT_EQ(events[0].place, "lab");
  auto cp = r->LatestCheckpoint();
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->size, 1u);
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/keys/log.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ExpectVerifies(*r);
}

TEST_F(RepositoryTest, AcquisitionRecordsAllDigestsFromOnePass) {
  ItemRecord item;
  auto r = Seeded(&item);
  EXPECT_EQ(HexEncode(item.sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(item.md5), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(HexEncode(item.sha1), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(item.size, 3u);
  EXPECT_TRUE(r->blobs().Contains(item.sha256));
  ExpectVerifies(*r);
}

TEST_F(RepositoryTest, ItemPropertiesAreIndexedAndSurviveReopen) {
  ItemRecord item;
  auto r = Seeded(&item);
  ASSERT_TRUE(r->meta()
                  .PutItemProperties(item.id, {{"exif.Model", "Pixel 7"},
                                               {"magic.mime", "text/plain"}})
                  .ok());
  r.reset();
  r = Reopen();
  auto props = r->meta().ItemProperties(item.id);
  ASSERT_TRUE(props.ok()) << props.status();
  // Besides these two, acquisition recorded what the file is (libmagic).
  std::map<std::string, std::string> kv(props->begin(), props->end());
  EXPECT_EQ(kv.size(), 3u);
  EXPECT_EQ(kv["exif.Model"], "Pixel 7");
  EXPECT_EQ(kv["magic.mime"], "text/plain");
  EXPECT_EQ(kv["file.description"], "ASCII text, with no line terminators");
  auto found = r->meta().FindItemsByProperty("exif.Model", "Pixel%");
  ASSERT_TRUE(found.ok());
  EXPECT_THAT(*found, ::testing::ElementsAre(item.id));
  found = r->meta().FindItemsByProperty("exif.Model", "Canon%");
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->empty());
  auto by_hash = r->meta().FindItemsBySha256(item.sha256);
  ASSERT_TRUE(by_hash.ok());
  ASSERT_EQ(by_hash->size(), 1u);
  EXPECT_EQ((*by_hash)[0].id, item.id);
  ExpectVerifies(*r);
}

TEST_F(RepositoryTest, EventsChainPerItem) {
  ItemRecord item;
  auto r = Seeded(&item);
  for (const char* type : {"accessed", "analysed"}) {
    clock_.Advance(absl::Minutes(5));
    EventRequest req;
    req.type = type;
    req.actor = "A. Examiner";
    req.items = {"EXH-1"};
    ASSERT_TRUE(r->AddEvents({req}).ok());
  }
  auto events = AllEvents(*r);
  std::vector<std::pair<std::string, std::string>> chain;  // prev, own hash
  for (size_t i = 0; i < events.size(); ++i) {
    for (const auto& it : events[i].items)
      if (it.id == item.id) {
        EventRecord rec = *r->meta().GetEvent(i);
        chain.push_back(
            {it.prev_hex, HexEncode(crypto::AsView(rec.leaf_hash))});
      }
  }
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0].first, "");
  EXPECT_EQ(chain[1].first, chain[0].second);
  EXPECT_EQ(chain[2].first, chain[1].second);
  ExpectVerifies(*r);
}

TEST_F(RepositoryTest, LargeBatchOverFewItemsChainsInOrder) {
  ItemRecord item;
  auto r = Seeded(&item);
  ASSERT_TRUE(r->AddActor("B. Custodian", "custodian").ok());
  std::vector<EventRequest> reqs;
  for (int i = 0; i < 300; ++i) {
    EventRequest e;
    e.type = i % 2 ? "accessed" : "note";
    e.actor = i % 3 ? "A. Examiner" : "B. Custodian";
    if (i % 5) e.items = {"EXH-1"};
    e.note = "n" + std::to_string(i);
    reqs.push_back(e);
  }
  // Only "note" events may have no items; give those a case.
  for (auto& e : reqs)
    if (e.items.empty()) e.type = "note", e.case_id = "C-1";
  auto recs = r->AddEvents(reqs);
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ(recs->size(), 300u);
  auto cp = r->LatestCheckpoint();
  EXPECT_EQ(cp->size, recs->back().seq + 1);
  ExpectVerifies(*r);
}

TEST_F(RepositoryTest, RevokedActorCannotSign) {
  auto r = Seeded(nullptr);
  ASSERT_TRUE(r->RevokeActor("A. Examiner", "left the unit").ok());
  uint64_t before = *r->meta().EventCount();
  EventRequest req = Req("accessed", "EXH-1", "A. Examiner");
  auto got = r->AddEvents({req});
  EXPECT_EQ(got.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("revoked"));
  EXPECT_EQ(*r->meta().EventCount(), before);
  ExpectVerifies(*r);
}

TEST_F(RepositoryTest, UnknownActorIsRefused) {
  auto r = Seeded(nullptr);
  EventRequest req = Req("accessed", "EXH-1", "Nobody");
  EXPECT_EQ(r->AddEvents({req}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RepositoryTest, SwappedKeyFileIsRefusedByTheLog) {
  auto r = Seeded(nullptr);
  auto b = r->AddActor("B. Other", "custodian");
  ASSERT_TRUE(b.ok());
  auto a = r->meta().FindActor("A. Examiner");
  std::filesystem::copy_file(dir_ + "/keys/actors/" + b->id + ".key",
                             dir_ + "/keys/actors/" + (*a)->id + ".key",
                             std::filesystem::copy_options::overwrite_existing);
  uint64_t before = *r->meta().EventCount();
  EventRequest req = Req("accessed", "EXH-1", "A. Examiner");
  auto got = r->AddEvents({req});
  EXPECT_EQ(got.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(got.status().message()),
              HasSubstr("does not verify"));
  EXPECT_EQ(*r->meta().EventCount(), before);
}

TEST_F(RepositoryTest, DiskFullDuringAcquisitionCommitsNothing) {
  auto r = Seeded(nullptr);
  uint64_t before = *r->meta().EventCount();
  r.reset();
  testing::FaultInjectionFileSystem faulty(PosixFileSystem());
  env_.fs = &faulty;
  auto reopened = Repository::Open(dir_, env_);
  ASSERT_TRUE(reopened.ok());
  std::string big = tmp_.Join("big.bin");
  std::ofstream(big) << std::string(1 << 20, 'z');
  faulty.SetWriteBudget(100000);
  AcquireRequest req;
  req.case_id = "C-1";
  req.actor = "A. Examiner";
  req.exhibits = {"EXH-9"};
  auto got = (*reopened)->Acquire({big}, req);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kResourceExhausted)
      << got.status();
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("disk full"));
  EXPECT_EQ(*(*reopened)->meta().EventCount(), before);
  faulty.SetWriteBudget(INT64_MAX);
  ExpectVerifies(**reopened);
  auto tmp = std::filesystem::directory_iterator(dir_ + "/blobs/tmp");
  EXPECT_EQ(tmp, std::filesystem::directory_iterator());
}

TEST_F(RepositoryTest, EncryptedKeysNeedTheRightPassphrase) {
  env_.passphrase = "correct horse";
  auto r = Init();
  ASSERT_TRUE(r->AddActor("A. Examiner", "examiner").ok());
  r.reset();
  std::ifstream f(dir_ + "/keys/log.key");
  std::string first;
  std::getline(f, first);
  EXPECT_EQ(first, "-----BEGIN ENCRYPTED PRIVATE KEY-----");
  env_.passphrase = "wrong";
  auto w = Reopen();
  EXPECT_EQ(w->AddActor("B", "auditor").status().code(),
            absl::StatusCode::kPermissionDenied);
  env_.passphrase.reset();
  auto n = Reopen();
  auto st = n->AddActor("B", "auditor").status();
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(st.message()), HasSubstr("CUSTOS_PASSPHRASE"));
  EXPECT_EQ(*n->meta().EventCount(), 2u);
}

TEST_F(RepositoryTest, ReceiptsAndConsistencyProofsVerifyOffline) {
  auto r = Seeded(nullptr);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(r->AddEvents({Req("accessed", "EXH-1", "A. Examiner")}).ok());
  auto vk = crypto::ParseVkey(r->log_vkey());
  ASSERT_TRUE(vk.ok());
  custody::CheckpointPolicy policy{"example.org/test", {*vk}, {}, 0};
  uint64_t n = *r->meta().EventCount();
  for (uint64_t seq = 0; seq < n; ++seq) {
    auto rc = r->Prove(seq);
    ASSERT_TRUE(rc.ok()) << rc.status();
    auto parsed = custody::ParseTlogProof(rc->text);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed->extra, rc->leaf);
    EXPECT_TRUE(
        custody::VerifyTlogProof(*parsed, custody::LeafHash(rc->leaf), policy)
            .ok());
    std::string forged = rc->leaf;
    forged[forged.size() / 2] ^= 1;
    EXPECT_FALSE(
        custody::VerifyTlogProof(*parsed, custody::LeafHash(forged), policy)
            .ok());
  }
  auto cps = r->meta().ListCheckpoints();
  ASSERT_TRUE(cps.ok());
  for (const auto& a : *cps)
    for (const auto& b : *cps) {
      if (a.size > b.size) continue;
      auto c = r->ProveConsistency(a.size, b.size);
      ASSERT_TRUE(c.ok()) << c.status();
      auto va = custody::VerifyCheckpointNote(a.note, policy);
      auto vb = custody::VerifyCheckpointNote(b.note, policy);
      ASSERT_TRUE(va.ok() && vb.ok());
      EXPECT_TRUE(custody::VerifyConsistency(a.size, b.size,
                                             va->checkpoint.root,
                                             vb->checkpoint.root, c->proof)
                      .ok());
    }
}

TEST_F(RepositoryTest, NewerFormatIsRefused) {
  Init().reset();
  std::ofstream(dir_ + "/FORMAT") << "custos-repository 99\n";
  auto r = Repository::Open(dir_, env_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("newer"));
}

TEST_F(RepositoryTest, DerivedFilesAreRepairedOnOpen) {
  auto r = Seeded(nullptr);
  auto cp = *r->LatestCheckpoint();
  r.reset();
  std::filesystem::remove_all(dir_ + "/log/tree");
  std::filesystem::create_directory(dir_ + "/log/tree");
  std::filesystem::remove(dir_ + "/log/checkpoints/" + std::to_string(cp.size));
  auto again = Reopen();
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/log/checkpoints/" +
                                      std::to_string(cp.size)));
  ExpectVerifies(*again);
}

TEST_F(RepositoryTest, TamperedCheckpointFileIsNamedByVerify) {
  auto r = Seeded(nullptr);
  ASSERT_TRUE(r->AddEvents({Req("accessed", "EXH-1", "A. Examiner")}).ok());
  r.reset();
  // Rows are tampered with through raw SQL in tests/integration/tamper_test;
  // here one byte of a stored checkpoint file changes.
  std::string cp_file = dir_ + "/log/checkpoints/5";
  ASSERT_TRUE(std::filesystem::exists(cp_file));
  std::filesystem::permissions(cp_file, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  {
    std::fstream f(cp_file, std::ios::in | std::ios::out);
    // Byte 25 lies in the root hash (base64); the root depends on the
    // temporary paths recorded in the events, so change it to another value
    // whatever it is.
    f.seekg(25);
    char c = static_cast<char>(f.get());
    f.seekp(25);
    f.put(c == 'Q' ? 'R' : 'Q');
  }
  auto again = Reopen();
  auto rep = again->Verify(nullptr);
  ASSERT_TRUE(rep.ok());
  ASSERT_FALSE(rep->ok());
  bool named = false;
  for (const auto& p : rep->problems) named |= p.where == "checkpoint 5";
  EXPECT_TRUE(named);
}

// A directory tree acquired with known-good and known-bad files in nested
// directories: ChildrenPage pages through an item's children (cursor,
// has_children), and CheckKnownFiles, which walks items a page at a time,
// finds every match once even when a root and one of its children are both
// named.
TEST_F(RepositoryTest, KnownFileCheckWalksNestedChildrenPageByPage) {
  auto r = Init();
  ASSERT_TRUE(r->AddActor("A. Examiner", "examiner").ok());
  ASSERT_TRUE(r->OpenCase({"C-1", "Title", "Art. 1", {}, 0}, "").ok());
  std::string src = tmp_.Join("src");
  std::filesystem::create_directories(src + "/a/b");
  std::filesystem::create_directories(src + "/c");
  for (int i = 0; i < 5; ++i)
    std::ofstream(src + "/a/b/good" + std::to_string(i)) << "good " << i;
  std::ofstream(src + "/a/bad") << "contraband";
  std::ofstream(src + "/c/other") << "unknown";
  std::ofstream(src + "/top") << "good 0";  // the same content as a/b/good0
  std::string good_list = tmp_.Join("good.txt"), bad_list = tmp_.Join("bad");
  auto hex = [](std::string_view text) {
    crypto::Hash32 h = crypto::Sha256(text);
    return HexEncode(
        std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
  };
  {
    std::ofstream g(good_list);
    for (int i = 0; i < 5; ++i) g << hex("good " + std::to_string(i)) << "\n";
    std::ofstream(bad_list) << hex("contraband") << "\n";
  }
  AcquireRequest req;
  req.case_id = "C-1";
  req.actor = "A. Examiner";
  req.exhibits = {"EXH-1"};
  auto got = r->Acquire({src}, req);
  ASSERT_TRUE(got.ok()) << got.status();
  const ItemRecord root = (*got)[0].item;

  // Every item under the root, by pages of 2, against ChildrenOf.
  std::map<std::string, bool> paged;  // id -> has children
  std::vector<std::string> todo = {root.id};
  while (!todo.empty()) {
    std::string parent = todo.back();
    todo.pop_back();
    auto whole = r->meta().ChildrenOf(parent);
    ASSERT_TRUE(whole.ok());
    std::vector<std::string> ids;
    int64_t after = 0;
    std::vector<ItemRecord> page;
    std::vector<bool> kids;
    while (true) {
      ASSERT_TRUE(r->meta().ChildrenPage(parent, 2, &after, &page, &kids).ok());
      if (page.empty()) break;
      ASSERT_LE(page.size(), 2u);
      ASSERT_EQ(kids.size(), page.size());
      for (size_t i = 0; i < page.size(); ++i) {
        ids.push_back(page[i].id);
        paged[page[i].id] = kids[i];
        if (kids[i]) todo.push_back(page[i].id);
      }
    }
    std::vector<std::string> want;
    for (const auto& k : *whole) want.push_back(k.id);
    EXPECT_EQ(ids, want);
  }
  // The eight files (directories are entries of the manifest, not items);
  // none has children.
  ASSERT_EQ(paged.size(), 8u);
  for (const auto& [id, has] : paged) EXPECT_FALSE(has);
  // Top-level items are the children of "": the root has children.
  {
    int64_t after = 0;
    std::vector<ItemRecord> page;
    std::vector<bool> kids;
    ASSERT_TRUE(r->meta().ChildrenPage("", 1, &after, &page, &kids).ok());
    ASSERT_EQ(page.size(), 1u);
    EXPECT_EQ(page[0].id, root.id);
    EXPECT_TRUE(kids[0]);
    ASSERT_TRUE(r->meta().ChildrenPage("", 1, &after, &page, &kids).ok());
    EXPECT_TRUE(page.empty());
  }

  HashSetImportRequest good;
  good.path = good_list;
  good.name = "good";
  ASSERT_TRUE(r->ImportHashSet(good).ok());
  HashSetImportRequest bad;
  bad.path = bad_list;
  bad.name = "bad";
  bad.meaning = hashset::Meaning::kKnownBad;
  bad.category = "test";
  ASSERT_TRUE(r->ImportHashSet(bad).ok());

  // The root and a file under it, named both: each item is checked once.
  std::string bad_id;
  for (const auto& [id, has] : paged) {
    auto it = r->meta().FindItem(id);
    ASSERT_TRUE(it.ok() && *it);
    if ((*it)->rel_path == "a/bad") bad_id = id;
  }
  ASSERT_FALSE(bad_id.empty());
  auto rep = r->CheckKnownFiles({bad_id, root.id}, "A. Examiner");
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->checked, 8u);     // the files; directories are not looked up
  EXPECT_EQ(rep->known_good, 6u);  // good0-4 and top
  EXPECT_EQ(rep->known_good_by_exhibit["EXH-1"], 6u);
  ASSERT_EQ(rep->known_bad.size(), 1u);
  EXPECT_EQ(rep->known_bad[0].item_id, bad_id);
  EXPECT_EQ(rep->known_bad[0].path, "a/bad");
  EXPECT_GT(rep->known_bad[0].event_seq, 0u);
  auto marked = r->meta().FindItemsByProperty("hashset.known_good", "good");
  ASSERT_TRUE(marked.ok());
  EXPECT_EQ(marked->size(), 6u);
  marked = r->meta().FindItemsByProperty("hashset.known_bad", "bad:test");
  ASSERT_TRUE(marked.ok());
  EXPECT_THAT(*marked, ::testing::ElementsAre(bad_id));

  // Checked again: the hit was recorded before, so no new event.
  uint64_t events = *r->meta().EventCount();
  rep = r->CheckKnownFiles({root.id}, "A. Examiner");
  ASSERT_TRUE(rep.ok()) << rep.status();
  ASSERT_EQ(rep->known_bad.size(), 1u);
  EXPECT_EQ(rep->known_bad[0].event_seq, 0u);
  EXPECT_EQ(*r->meta().EventCount(), events);
  ExpectVerifies(*r);
}

}  // namespace
}  // namespace custos::repo
