// Tampering with a repository behind custos's back: each test takes a fresh
// copy of one small repository, applies ONE change an attacker (or a failing
// disk) could make, and checks that `custos verify` exits 1 and names the
// problem: which blob, which event, which checkpoint. Every test also checks
// that the tampering changed only what it meant to, and that verify itself
// changed nothing (it is read-only).
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/base/bytes.h"
#include "src/crypto/hash.h"
#include "src/custody/merkle.h"
#include "src/repo/canonical_json.h"
#include "testing/testing.h"
#include "tests/integration/harness.h"

namespace custos::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

// Every file of a repository that is not derived or transient, by relative
// path: the database, blobs, checkpoint copies, keys and FORMAT. (log/tree
// holds derived hashes that `open` may repair; -wal/-shm and lock are
// SQLite's and custos's transient files.)
using Snapshot = std::map<std::string, std::string>;
Snapshot Take(const std::string& dir) {
  Snapshot s;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), dir).string();
    if (rel.rfind("log/tree", 0) == 0 || rel == "lock" ||
        rel == "custos.db-wal" || rel == "custos.db-shm")
      continue;
    s[rel] = ReadFile(e.path().string());
  }
  return s;
}

std::set<std::string> Changed(const Snapshot& a, const Snapshot& b) {
  std::set<std::string> out;
  for (const auto& [k, v] : a)
    if (!b.count(k) || b.at(k) != v) out.insert(k);
  for (const auto& [k, v] : b)
    if (!a.count(k)) out.insert(k);
  return out;
}

// Direct SQLite access to DIR/custos.db, as an attacker would have.
class Db {
 public:
  explicit Db(const std::string& repo) {
    rc_ = sqlite3_open_v2((repo + "/custos.db").c_str(), &db_,
                          SQLITE_OPEN_READWRITE, nullptr);
  }
  ~Db() {
    // Fold the WAL into the main file so that the database file alone holds
    // the tampered state.
    sqlite3_exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr,
                 nullptr);
    sqlite3_close(db_);
  }
  bool ok() const { return rc_ == SQLITE_OK; }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  }
  std::string Leaf(uint64_t seq) {
    return Blob("SELECT leaf FROM events WHERE seq=?", seq);
  }
  std::string LeafHash(uint64_t seq) {
    return Blob("SELECT leaf_hash FROM events WHERE seq=?", seq);
  }
  // Sets events.leaf (and, if given, events.leaf_hash) of row `seq`.
  void SetLeaf(uint64_t seq, const std::string& leaf,
               std::optional<std::string> leaf_hash = std::nullopt) {
    Update("UPDATE events SET leaf=? WHERE seq=?", leaf, seq);
    if (leaf_hash)
      Update("UPDATE events SET leaf_hash=? WHERE seq=?", *leaf_hash, seq);
  }
  std::string CheckpointNote(uint64_t size) {
    return Blob("SELECT note FROM checkpoints WHERE size=?", size,
                /*text=*/true);
  }
  void SetCheckpointNote(uint64_t size, const std::string& note) {
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(db_, "UPDATE checkpoints SET note=? WHERE size=?",
                           -1, &s, nullptr),
        SQLITE_OK);
    sqlite3_bind_text(s, 1, note.data(), static_cast<int>(note.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(size));
    EXPECT_EQ(sqlite3_step(s), SQLITE_DONE) << sqlite3_errmsg(db_);
    EXPECT_EQ(sqlite3_changes(db_), 1);
    sqlite3_finalize(s);
  }
  int64_t Count(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
      n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
  }

 private:
  std::string Blob(const char* sql, uint64_t key, bool text = false) {
    sqlite3_stmt* s = nullptr;
    std::string out;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql, -1, &s, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(key));
    if (sqlite3_step(s) == SQLITE_ROW) {
      const void* p = text ? static_cast<const void*>(sqlite3_column_text(s, 0))
                           : sqlite3_column_blob(s, 0);
      out.assign(static_cast<const char*>(p),
                 static_cast<size_t>(sqlite3_column_bytes(s, 0)));
    } else {
      ADD_FAILURE() << "no row for " << sql << " " << key;
    }
    sqlite3_finalize(s);
    return out;
  }
  void Update(const char* sql, const std::string& value, uint64_t key) {
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql, -1, &s, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    sqlite3_bind_blob(s, 1, value.data(), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(key));
    EXPECT_EQ(sqlite3_step(s), SQLITE_DONE) << sqlite3_errmsg(db_);
    EXPECT_EQ(sqlite3_changes(db_), 1) << sql;
    sqlite3_finalize(s);
  }

  sqlite3* db_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

std::string RawLeafHash(const std::string& leaf) {
  return crypto::ToString(custody::LeafHash(leaf));
}

// The base repository, built once: events
//   #0 repository_created  #1-2 actors  #3 case_opened
//   #4 acquired EXH-001 (directory: a.txt, sub/b.txt)  #5 acquired EXH-002
//   (file) #6 transferred EXH-002  #7 received EXH-002  #8 accessed EXH-001
// with one checkpoint after each event (sizes 1..9).
struct Base {
  TempDir tmp;
  std::string repo;
  std::string file_blob;      // sha256 hex of EXH-002's content
  std::string dir_file_blob;  // sha256 hex of a.txt in EXH-001
  std::string manifest_blob;  // sha256 hex of EXH-001's manifest
  std::string error;          // why building failed, "" if it did not
  Snapshot snapshot;
};
constexpr uint64_t kEvents = 9;

Base* BuildBase() {
  auto* b = new Base;
  b->repo = b->tmp.Join("repo");
  auto run = [&](std::vector<std::string> args) -> json {
    if (!b->error.empty()) return json();
    args.insert(args.begin(), {"--repo", b->repo, "--json"});
    RunResult r = RunCustos(args);
    if (r.exit_code != 0) {
      b->error = "custos " + args[3] + ": " + Describe(r);
      return json();
    }
    json j = json::parse(r.out, nullptr, false);
    if (j.is_discarded()) b->error = "not JSON: " + r.out;
    return j;
  };
  std::string src = b->tmp.Join("src");
  fs::create_directories(src + "/sub");
  std::ofstream(src + "/a.txt") << "alpha evidence";
  std::ofstream(src + "/sub/b.txt") << "bravo evidence";
  std::ofstream(b->tmp.Join("c.bin")) << "charlie evidence";
  run({"init", b->repo, "--origin", "example.org/nl-om", "--authority", "OM"});
  run({"actor", "add", "Anna de Vries", "--role", "examiner"});
  run({"actor", "add", "Bram Jansen", "--role", "custodian"});
  run({"case", "open", "C-1", "--title", "T", "--legal-basis", "art. 94 Sv"});
  json d = run({"acquire", src, "--case", "C-1", "--actor", "Anna de Vries",
                "--exhibit", "EXH-001"});
  json f = run({"acquire", b->tmp.Join("c.bin"), "--case", "C-1", "--actor",
                "Anna de Vries", "--exhibit", "EXH-002"});
  run({"event", "add", "--type", "transferred", "--item", "EXH-002", "--actor",
       "Anna de Vries", "--to", "Bram Jansen"});
  run({"event", "add", "--type", "received", "--item", "EXH-002", "--actor",
       "Bram Jansen", "--from", "Anna de Vries"});
  run({"event", "add", "--type", "accessed", "--item", "EXH-001", "--actor",
       "Bram Jansen", "--note", "looked at it"});
  json all = run({"items", "--all"});
  if (!b->error.empty()) return b;
  b->manifest_blob = d["items"][0]["sha256"];
  b->file_blob = f["items"][0]["sha256"];
  for (const auto& it : all)
    if (it.value("path", "") == "a.txt") b->dir_file_blob = it["sha256"];
  if (b->dir_file_blob.empty()) b->error = "no a.txt item: " + all.dump();
  b->snapshot = Take(b->repo);
  return b;
}

Base& GetBase() {
  static Base* base = BuildBase();
  return *base;
}

std::string BlobPath(const std::string& repo, const std::string& hex) {
  return repo + "/blobs/sha256/" + hex.substr(0, 2) + "/" + hex.substr(2, 2) +
         "/" + hex;
}

std::string CheckpointPath(const std::string& repo, uint64_t size) {
  return repo + "/log/checkpoints/" + std::to_string(size);
}

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Base& b = GetBase();
    ASSERT_EQ(b.error, "") << "building the base repository failed";
    repo_ = tmp_.Join("copy");
    fs::copy(b.repo, repo_, fs::copy_options::recursive);
    ASSERT_TRUE(Changed(b.snapshot, Take(repo_)).empty())
        << "the copy differs from the base";
  }

  // Runs `custos verify` (text and --json) on the copy, expects exit 1 and
  // a problem whose "where" contains `where` and whose text contains `what`.
  // Also: the tampering changed exactly `tampered` (relative paths), and
  // verify changed nothing.
  void ExpectVerifyFinds(const std::set<std::string>& tampered,
                         const std::string& where, const std::string& what) {
    Snapshot before = Take(repo_);
    EXPECT_EQ(Changed(GetBase().snapshot, before), tampered)
        << "the tampering changed more";
    RunResult text = RunCustos({"--repo", repo_, "verify"});
    EXPECT_EQ(text.exit_code, 1) << Describe(text);
    EXPECT_THAT(text.out, HasSubstr("PROBLEM  " + where)) << Describe(text);
    EXPECT_THAT(text.out, HasSubstr("FAILED")) << Describe(text);
    RunResult j = RunCustos({"--repo", repo_, "--json", "verify"});
    EXPECT_EQ(j.exit_code, 1) << Describe(j);
    json v = json::parse(j.out, nullptr, false);
    ASSERT_FALSE(v.is_discarded()) << Describe(j);
    EXPECT_EQ(v["ok"], false);
    bool found = false;
    for (const auto& p : v["problems"])
      if (p["where"].get<std::string>().find(where) != std::string::npos &&
          p["problem"].get<std::string>().find(what) != std::string::npos)
        found = true;
    EXPECT_TRUE(found) << "no problem at \"" << where << "\" saying \"" << what
                       << "\" in:\n"
                       << v["problems"].dump(2);
    problems_ = v["problems"];
    Snapshot after = Take(repo_);
    EXPECT_TRUE(Changed(before, after).empty()) << "verify is not read-only";
  }

  // Rewrites event `seq`'s leaf with fn(json) re-encoded canonically.
  std::string Rewritten(uint64_t seq, const std::function<void(json&)>& fn) {
    Db db(repo_);
    json e = json::parse(db.Leaf(seq));
    fn(e);
    auto bytes = repo::CanonicalJson(e);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? *bytes : "";
  }

  TempDir tmp_;
  std::string repo_;
  json problems_;
};

TEST_F(TamperTest, UntouchedCopyVerifies) {
  Snapshot before = Take(repo_);
  RunResult r = RunCustos({"--repo", repo_, "--json", "verify"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json v = json::parse(r.out);
  EXPECT_EQ(v["ok"], true);
  EXPECT_EQ(v["events"], kEvents);
  EXPECT_EQ(v["checkpoints"], kEvents);
  EXPECT_EQ(v["blobs"], 4);  // manifest, a.txt, b.txt, c.bin
  EXPECT_TRUE(Changed(before, Take(repo_)).empty())
      << "verify is not read-only";
}

TEST_F(TamperTest, FlippedByteInFileBlob) {
  std::string path = BlobPath(repo_, GetBase().file_blob);
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  std::string data = ReadFile(path);
  data[3] ^= 0x01;
  ASSERT_NO_FATAL_FAILURE(WriteFile(path, data));
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::remove);
  ExpectVerifyFinds({fs::relative(path, repo_).string()},
                    "blob " + GetBase().file_blob, "");
}

TEST_F(TamperTest, FlippedByteInBlobOfAFileInsideADirectory) {
  std::string path = BlobPath(repo_, GetBase().dir_file_blob);
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  std::string data = ReadFile(path);
  data.back() ^= 0x20;
  ASSERT_NO_FATAL_FAILURE(WriteFile(path, data));
  ExpectVerifyFinds({fs::relative(path, repo_).string()},
                    "blob " + GetBase().dir_file_blob, "a.txt");
}

TEST_F(TamperTest, FlippedByteInManifestBlob) {
  std::string path = BlobPath(repo_, GetBase().manifest_blob);
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  std::string data = ReadFile(path);
  data[data.find("a.txt")] = 'A';
  ASSERT_NO_FATAL_FAILURE(WriteFile(path, data));
  ExpectVerifyFinds({fs::relative(path, repo_).string()}, "event #4",
                    "manifest " + GetBase().manifest_blob);
}

TEST_F(TamperTest, DeletedBlobFile) {
  std::string path = BlobPath(repo_, GetBase().file_blob);
  ASSERT_TRUE(fs::remove(path));
  ExpectVerifyFinds({fs::relative(path, repo_).string()},
                    "blob " + GetBase().file_blob, "");
}

TEST_F(TamperTest, FlippedByteInEventLeaf) {
  {
    Db db(repo_);
    ASSERT_TRUE(db.ok());
    std::string leaf = db.Leaf(6);
    size_t at = leaf.find("Bram Jansen");
    ASSERT_NE(at, std::string::npos);
    leaf[at] ^= 0x01;  // "Cram Jansen": still valid canonical JSON
    db.SetLeaf(6, leaf);
  }
  ExpectVerifyFinds({"custos.db"}, "event #6",
                    "does not match the event bytes");
}

TEST_F(TamperTest, FlippedByteInEventLeafWithLeafHashUpdated) {
  // A careful attacker also fixes the stored hash; the signature and the
  // signed checkpoints still catch it.
  {
    Db db(repo_);
    std::string leaf = db.Leaf(6);
    leaf[leaf.find("Bram Jansen")] ^= 0x01;
    db.SetLeaf(6, leaf, RawLeafHash(leaf));
  }
  ExpectVerifyFinds({"custos.db"}, "event #6", "does not verify");
  EXPECT_THAT(problems_.dump(),
              HasSubstr("does not match the recomputed tree"));
}

TEST_F(TamperTest, AlteredCheckpointInDatabaseAndFile) {
  std::string note;
  {
    Db db(repo_);
    note = db.CheckpointNote(5);
    ASSERT_EQ(note, ReadFile(CheckpointPath(repo_, 5)));
    // Another size with the same signature: the signature no longer verifies.
    size_t nl = note.find('\n');
    ASSERT_EQ(note.substr(nl + 1, 2), "5\n");
    note[nl + 1] = '4';
    db.SetCheckpointNote(5, note);
  }
  ASSERT_NO_FATAL_FAILURE(WriteFile(CheckpointPath(repo_, 5), note));
  ExpectVerifyFinds({"custos.db", "log/checkpoints/5"}, "checkpoint 5",
                    "signature");
}

TEST_F(TamperTest, CheckpointReplacedByAnotherValidlySignedOne) {
  // Checkpoint 5's place holds the (valid, signed) checkpoint 4.
  std::string note;
  {
    Db db(repo_);
    note = db.CheckpointNote(4);
    db.SetCheckpointNote(5, note);
  }
  ASSERT_NO_FATAL_FAILURE(WriteFile(CheckpointPath(repo_, 5), note));
  ExpectVerifyFinds({"custos.db", "log/checkpoints/5"}, "checkpoint 5",
                    "stored as size 5 but signs size 4");
}

TEST_F(TamperTest, AlteredCheckpointFileOnly) {
  std::string path = CheckpointPath(repo_, 7);
  std::string note = ReadFile(path);
  size_t root =
      note.find('\n', note.find('\n') + 1) + 1;  // third line: the root
  note[root] = note[root] == 'A' ? 'B' : 'A';
  ASSERT_NO_FATAL_FAILURE(WriteFile(path, note));
  ExpectVerifyFinds({"log/checkpoints/7"}, "checkpoint 7",
                    "the file copy and the database copy differ");
}

TEST_F(TamperTest, DeletedLastEventRow) {
  {
    Db db(repo_);
    db.Exec("DELETE FROM events WHERE seq=8");
    EXPECT_EQ(db.Count("SELECT COUNT(*) FROM events"), 8);
  }
  ExpectVerifyFinds({"custos.db"}, "checkpoint 9",
                    "signed for 9 events, but the log has only 8");
}

// A deleted middle row: verify must still run and name the gap, the broken
// chain and the checkpoints whose roots no longer match.
TEST_F(TamperTest, DeletedMiddleEventRow) {
  {
    Db db(repo_);
    db.Exec("DELETE FROM events WHERE seq=6");
  }
  ExpectVerifyFinds({"custos.db"}, "event #6",
                    "missing: the log jumps from #5 to #7");
  // The chain of EXH-002 is broken at its next event.
  EXPECT_THAT(problems_.dump(), HasSubstr("is broken"));
}

// What holds today for the case above: the deletion is never accepted, and
// the message says what is wrong; nothing is changed.
TEST_F(TamperTest, DeletedMiddleEventRowIsNeverAccepted) {
  {
    Db db(repo_);
    db.Exec("DELETE FROM events WHERE seq=6");
  }
  Snapshot before = Take(repo_);
  RunResult r = RunCustos({"--repo", repo_, "verify"});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.out + r.err,
              ::testing::AnyOf(HasSubstr("gaps"), HasSubstr("missing")))
      << Describe(r);
  EXPECT_TRUE(Changed(before, Take(repo_)).empty())
      << "verify is not read-only";
}

TEST_F(TamperTest, SwappedLeavesOfTwoEvents) {
  {
    Db db(repo_);
    std::string l6 = db.Leaf(6), h6 = db.LeafHash(6);
    std::string l7 = db.Leaf(7), h7 = db.LeafHash(7);
    db.SetLeaf(6, l7, h7);
    db.SetLeaf(7, l6, h6);
  }
  ExpectVerifyFinds({"custos.db"}, "event #6",
                    "event says it is #7 but is stored as #6");
  EXPECT_THAT(problems_.dump(),
              HasSubstr("does not match the recomputed tree"));
}

// Event #7's signature value replaced by event #6's (a real signature by
// someone else, over other bytes), re-encoded canonically.
TEST_F(TamperTest, SwappedSignatureLeafHashStale) {
  std::string sig6 = json::parse(Db(repo_).Leaf(6))["sig"]["value"];
  std::string leaf = Rewritten(7, [&](json& e) { e["sig"]["value"] = sig6; });
  ASSERT_FALSE(leaf.empty());
  {
    Db db(repo_);
    db.SetLeaf(7, leaf);
  }
  ExpectVerifyFinds({"custos.db"}, "event #7",
                    "does not match the event bytes");
  EXPECT_THAT(problems_.dump(),
              HasSubstr("signature of \\\"Bram Jansen\\\" does not verify"));
}

TEST_F(TamperTest, SwappedSignatureLeafHashUpdated) {
  std::string sig6 = json::parse(Db(repo_).Leaf(6))["sig"]["value"];
  std::string leaf = Rewritten(7, [&](json& e) { e["sig"]["value"] = sig6; });
  ASSERT_FALSE(leaf.empty());
  {
    Db db(repo_);
    db.SetLeaf(7, leaf, RawLeafHash(leaf));
  }
  ExpectVerifyFinds({"custos.db"}, "event #7",
                    "signature of \"Bram Jansen\" does not verify");
  EXPECT_THAT(problems_.dump(),
              HasSubstr("does not match the recomputed tree"));
  EXPECT_THAT(problems_.dump(),
              Not(HasSubstr("does not match the event bytes")));
}

TEST_F(TamperTest, TruncatedDatabase) {
  {
    Db db(repo_);  // folds any WAL into the main file on close
  }
  std::string path = repo_ + "/custos.db";
  uint64_t size = fs::file_size(path);
  ASSERT_GT(size, 4096u);
  fs::resize_file(path, size / 2);
  Snapshot before = Take(repo_);
  RunResult r = RunCustos({"--repo", repo_, "verify"});
  // The database cannot be read: verify names that as its problem, exit 1.
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.out + r.err, HasSubstr("database")) << Describe(r);
  EXPECT_THAT(r.out + r.err,
              ::testing::AnyOf(HasSubstr("corrupt"), HasSubstr("malformed")))
      << Describe(r);
  EXPECT_TRUE(Changed(before, Take(repo_)).empty())
      << "verify is not read-only";
}

TEST_F(TamperTest, DeletedTailWithItsCheckpoints) {
  // The last two events and their checkpoints go; the checkpoint files stay.
  {
    Db db(repo_);
    db.Exec("DELETE FROM events WHERE seq >= 7");
    db.Exec("DELETE FROM event_items WHERE seq >= 7");
    db.Exec("DELETE FROM checkpoints WHERE size >= 8");
    db.Exec("UPDATE items SET head_seq = 6 WHERE head_seq >= 7");
  }
  ASSERT_TRUE(fs::exists(CheckpointPath(repo_, 9)));
  ExpectVerifyFinds({"custos.db"}, "checkpoint 9", "history was removed");
  EXPECT_THAT(problems_.dump(), HasSubstr("checkpoint 8"));
}

}  // namespace
}  // namespace custos::testing
