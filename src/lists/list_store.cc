#include "src/lists/list_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "src/base/absl_compat.h"
#include "src/base/sqlite_stmt.h"
#include "src/base/status_macros.h"

namespace custos::lists {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS lists(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, meaning TEXT NOT NULL,
  source TEXT NOT NULL, description TEXT NOT NULL, created TEXT NOT NULL,
  removed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS entries(
  id INTEGER PRIMARY KEY, list_id INTEGER NOT NULL, kind TEXT NOT NULL,
  hash BLOB NOT NULL, quality INTEGER NOT NULL, category TEXT NOT NULL,
  source TEXT NOT NULL, confidence INTEGER NOT NULL, added TEXT NOT NULL,
  import_seq INTEGER NOT NULL, removed_seq INTEGER NOT NULL DEFAULT -1);
CREATE INDEX IF NOT EXISTS entries_hash ON entries(kind, hash);
CREATE INDEX IF NOT EXISTS entries_list ON entries(list_id, import_seq);
)sql";

constexpr char kEntryCols[] =
    "e.id, e.list_id, l.name, l.meaning, e.kind, e.hash, e.quality, "
    "e.category, e.source, e.confidence, e.added, e.import_seq, "
    "e.removed_seq, l.removed";

StoredEntry ReadEntry(const SqliteStmt& s) {
  StoredEntry e;
  e.id = s.Int(0);
  e.list_id = s.Int(1);
  e.list_name = s.Blob(2);
  e.list_meaning = s.Blob(3);
  e.entry.kind = ParseHashKind(s.Blob(4)).value_or(HashKind::kPdq);
  e.entry.hash = s.Blob(5);
  e.entry.quality = static_cast<int>(s.Int(6));
  e.entry.category = s.Blob(7);
  e.entry.source = s.Blob(8);
  e.entry.confidence = static_cast<int>(s.Int(9));
  e.entry.added = s.Blob(10);
  e.import_seq = s.Int(11);
  e.removed_seq = s.Int(12);
  e.list_removed = s.Int(13) != 0;
  return e;
}

absl::StatusOr<std::vector<StoredEntry>> Collect(SqliteStmt& s) {
  std::vector<StoredEntry> out;
  while (true) {
    CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadEntry(s));
  }
  return out;
}

match::Code ToCode(const std::string& raw) {
  match::Code c{};
  for (size_t i = 0; i < c.size() && i < raw.size(); ++i)
    c[i] = static_cast<uint8_t>(raw[i]);
  return c;
}

// Rolls back unless Commit() was called.
class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) {}
  ~Txn() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  absl::Status Begin() {
    SqliteStmt s(db_, "BEGIN IMMEDIATE");
    CUSTOS_RETURN_IF_ERROR(s.status());
    CUSTOS_RETURN_IF_ERROR(s.Run());
    open_ = true;
    return absl::OkStatus();
  }
  absl::Status Commit() {
    SqliteStmt s(db_, "COMMIT");
    CUSTOS_RETURN_IF_ERROR(s.status());
    CUSTOS_RETURN_IF_ERROR(s.Run());
    open_ = false;
    return absl::OkStatus();
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace

bool IsKnownMeaning(std::string_view m) {
  return m == kMeaningInternational || m == kMeaningNational ||
         m == kMeaningKnownGood || m == kMeaningWatch;
}

ListStore::ListStore(sqlite3* db, std::unique_ptr<match::PdqIndex> index)
    : db_(db), index_(std::move(index)) {}

ListStore::~ListStore() { sqlite3_close_v2(db_); }

absl::Status ListStore::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return absl::OkStatus();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  if ((rc & 0xff) == SQLITE_FULL)
    return absl::ResourceExhaustedError("disk full: " + msg);
  return absl::InternalError(absl::StrCat("list database: ", msg));
}

absl::StatusOr<std::unique_ptr<ListStore>> ListStore::Open(
    const std::string& repo_dir, bool writable) {
  std::string dir = repo_dir + "/lists";
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (!writable)
      return absl::NotFoundError(
          "no hash lists in this repository (import one with `custos list "
          "import`)");
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", dir, ": ", strerror(errno)));
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      (dir + "/lists.sqlite").c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open ", dir, "/lists.sqlite: ", msg));
  }
  sqlite3_busy_timeout(db, 60000);
  std::string idx_path = dir + "/pdq.idx";
  absl::StatusOr<std::unique_ptr<match::PdqIndex>> index =
      ::stat(idx_path.c_str(), &st) == 0
          ? match::PdqIndex::Open(idx_path, writable)
          : (writable ? match::PdqIndex::Create(idx_path)
                      : absl::StatusOr<std::unique_ptr<match::PdqIndex>>(
                            absl::DataLossError(absl::StrCat(
                                idx_path,
                                " is missing: the PDQ index of the "
                                "hash lists is gone"))));
  if (!index.ok()) {
    sqlite3_close_v2(db);
    return index.status();
  }
  std::unique_ptr<ListStore> store(new ListStore(db, std::move(*index)));
  CUSTOS_RETURN_IF_ERROR(
      store->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  CUSTOS_RETURN_IF_ERROR(store->Exec(kSchema));
  return store;
}

absl::StatusOr<std::vector<ListInfo>> ListStore::Lists() {
  SqliteStmt s(db_,
               "SELECT l.id, l.name, l.meaning, l.source, l.description, "
               "l.created, l.removed, "
               "sum(e.removed_seq = -1 AND e.import_seq >= 0), "
               "sum(e.removed_seq >= 0), sum(e.removed_seq = -2), "
               "sum(e.kind = 'pdq' AND e.removed_seq = -1 AND "
               "e.import_seq >= 0), "
               "sum(e.kind != 'pdq' AND e.removed_seq = -1 AND "
               "e.import_seq >= 0) "
               "FROM lists l LEFT JOIN entries e ON e.list_id = l.id "
               "GROUP BY l.id ORDER BY l.name");
  CUSTOS_RETURN_IF_ERROR(s.status());
  std::vector<ListInfo> out;
  while (true) {
    CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ListInfo l;
    l.id = s.Int(0);
    l.name = s.Blob(1);
    l.meaning = s.Blob(2);
    l.source = s.Blob(3);
    l.description = s.Blob(4);
    l.created = s.Blob(5);
    l.removed = s.Int(6) != 0;
    l.live = static_cast<uint64_t>(s.Int(7));
    l.removed_entries = static_cast<uint64_t>(s.Int(8));
    l.pending = static_cast<uint64_t>(s.Int(9));
    l.pdq = static_cast<uint64_t>(s.Int(10));
    l.exact = static_cast<uint64_t>(s.Int(11));
    out.push_back(l);
  }
  return out;
}

absl::StatusOr<std::optional<ListInfo>> ListStore::FindList(
    const std::string& name) {
  CUSTOS_ASSIGN_OR_RETURN(auto all, Lists());
  for (auto& l : all)
    if (l.name == name) return std::optional<ListInfo>(l);
  return std::optional<ListInfo>();
}

absl::StatusOr<ListStore::ImportResult> ListStore::Import(
    const ListInfo& list, const std::string& now,
    const std::function<absl::Status(
        const std::function<absl::Status(const ListEntry&)>&)>& source) {
  Txn txn(db_);
  CUSTOS_RETURN_IF_ERROR(txn.Begin());
  ImportResult r;
  {
    SqliteStmt find(db_, "SELECT id, removed FROM lists WHERE name=?");
    CUSTOS_RETURN_IF_ERROR(find.status());
    find.BindText(1, list.name);
    CUSTOS_ASSIGN_OR_RETURN(bool row, find.Step());
    if (row) {
      if (find.Int(1) != 0)
        return absl::FailedPreconditionError(absl::StrCat(
            "list \"", list.name, "\" was removed; import under a new name"));
      r.list_id = find.Int(0);
    } else {
      SqliteStmt ins(db_,
                     "INSERT INTO lists(name,meaning,source,description,"
                     "created) VALUES(?,?,?,?,?)");
      CUSTOS_RETURN_IF_ERROR(ins.status());
      ins.BindText(1, list.name)
          .BindText(2, list.meaning)
          .BindText(3, list.source)
          .BindText(4, list.description)
          .BindText(5, now);
      CUSTOS_RETURN_IF_ERROR(ins.Run());
      r.list_id = sqlite3_last_insert_rowid(db_);
    }
  }
  SqliteStmt dup(db_,
                 "SELECT 1 FROM entries WHERE kind=? AND hash=? AND "
                 "list_id=? AND removed_seq=-1 LIMIT 1");
  SqliteStmt ins(db_,
                 "INSERT INTO entries(list_id,kind,hash,quality,category,"
                 "source,confidence,added,import_seq) "
                 "VALUES(?,?,?,?,?,?,?,?,-1)");
  CUSTOS_RETURN_IF_ERROR(dup.status());
  CUSTOS_RETURN_IF_ERROR(ins.status());
  std::vector<match::Code> codes;
  std::vector<uint64_t> ids;
  CUSTOS_RETURN_IF_ERROR(source([&](const ListEntry& e) -> absl::Status {
    dup.Reset();
    dup.BindText(1, HashKindName(e.kind)).Bind(2, e.hash).Bind(3, r.list_id);
    CUSTOS_ASSIGN_OR_RETURN(bool exists, dup.Step());
    if (exists) {
      ++r.duplicates;
      return absl::OkStatus();
    }
    ins.Reset();
    ins.Bind(1, r.list_id)
        .BindText(2, HashKindName(e.kind))
        .Bind(3, e.hash)
        .Bind(4, int64_t{e.quality})
        .BindText(5, e.category)
        .BindText(6, e.source)
        .Bind(7, int64_t{e.confidence})
        .BindText(8, e.added.empty() ? now : e.added);
    CUSTOS_RETURN_IF_ERROR(ins.Run());
    ++r.entries;
    if (e.kind == HashKind::kPdq) {
      ++r.pdq;
      codes.push_back(ToCode(e.hash));
      ids.push_back(static_cast<uint64_t>(sqlite3_last_insert_rowid(db_)));
    } else {
      ++r.exact;
    }
    return absl::OkStatus();
  }));
  // The index holds the codes durably before the entries commit; ids of a
  // transaction that then fails are never live (GetEntry finds nothing).
  if (!codes.empty()) CUSTOS_RETURN_IF_ERROR(index_->Add(codes, ids));
  CUSTOS_RETURN_IF_ERROR(txn.Commit());
  return r;
}

absl::Status ListStore::MarkImportRecorded(int64_t list_id, uint64_t seq) {
  SqliteStmt s(db_,
               "UPDATE entries SET import_seq=? WHERE list_id=? AND "
               "import_seq=-1");
  CUSTOS_RETURN_IF_ERROR(s.status());
  s.Bind(1, static_cast<int64_t>(seq)).Bind(2, list_id);
  return s.Run();
}

absl::StatusOr<uint64_t> ListStore::DiscardUnrecorded() {
  std::vector<int64_t> ids;
  {
    SqliteStmt s(db_,
                 "SELECT id FROM entries WHERE import_seq=-1 AND "
                 "removed_seq=-1");
    CUSTOS_RETURN_IF_ERROR(s.status());
    while (true) {
      CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      ids.push_back(s.Int(0));
    }
  }
  if (ids.empty()) return uint64_t{0};
  std::vector<uint64_t> uids(ids.begin(), ids.end());
  CUSTOS_RETURN_IF_ERROR(index_->Remove(uids));
  SqliteStmt s(db_,
               "UPDATE entries SET removed_seq=-3 WHERE import_seq=-1 AND "
               "removed_seq=-1");
  CUSTOS_RETURN_IF_ERROR(s.status());
  CUSTOS_RETURN_IF_ERROR(s.Run());
  return static_cast<uint64_t>(ids.size());
}

absl::StatusOr<std::vector<StoredEntry>> ListStore::FindEntries(
    const std::string& list, HashKind kind, const std::string& raw_hash) {
  SqliteStmt s(db_, absl::StrCat("SELECT ", kEntryCols,
                                 " FROM entries e JOIN lists l ON "
                                 "l.id=e.list_id WHERE l.name=? AND e.kind=? "
                                 "AND e.hash=? AND e.removed_seq=-1 ORDER BY "
                                 "e.id")
                        .c_str());
  CUSTOS_RETURN_IF_ERROR(s.status());
  s.BindText(1, list).BindText(2, HashKindName(kind)).Bind(3, raw_hash);
  return Collect(s);
}

absl::StatusOr<std::optional<StoredEntry>> ListStore::GetEntry(int64_t id) {
  SqliteStmt s(db_, absl::StrCat("SELECT ", kEntryCols,
                                 " FROM entries e JOIN lists l ON "
                                 "l.id=e.list_id WHERE e.id=?")
                        .c_str());
  CUSTOS_RETURN_IF_ERROR(s.status());
  s.Bind(1, id);
  CUSTOS_ASSIGN_OR_RETURN(auto v, Collect(s));
  if (v.empty()) return std::optional<StoredEntry>();
  return std::optional<StoredEntry>(v[0]);
}

absl::Status ListStore::RemoveEntries(const std::vector<int64_t>& ids) {
  if (ids.empty()) return absl::OkStatus();
  Txn txn(db_);
  CUSTOS_RETURN_IF_ERROR(txn.Begin());
  SqliteStmt s(db_,
               "UPDATE entries SET removed_seq=-2 WHERE id=? AND "
               "removed_seq=-1");
  CUSTOS_RETURN_IF_ERROR(s.status());
  for (int64_t id : ids) {
    s.Reset();
    s.Bind(1, id);
    CUSTOS_RETURN_IF_ERROR(s.Run());
  }
  std::vector<uint64_t> uids(ids.begin(), ids.end());
  CUSTOS_RETURN_IF_ERROR(index_->Remove(uids));
  return txn.Commit();
}

absl::Status ListStore::MarkRemovalRecorded(const std::vector<int64_t>& ids,
                                            uint64_t seq) {
  Txn txn(db_);
  CUSTOS_RETURN_IF_ERROR(txn.Begin());
  SqliteStmt s(db_,
               "UPDATE entries SET removed_seq=? WHERE id=? AND "
               "removed_seq=-2");
  CUSTOS_RETURN_IF_ERROR(s.status());
  for (int64_t id : ids) {
    s.Reset();
    s.Bind(1, static_cast<int64_t>(seq)).Bind(2, id);
    CUSTOS_RETURN_IF_ERROR(s.Run());
  }
  return txn.Commit();
}

absl::StatusOr<std::vector<int64_t>> ListStore::RemoveList(
    const std::string& name) {
  CUSTOS_ASSIGN_OR_RETURN(auto l, FindList(name));
  if (!l || l->removed)
    return absl::NotFoundError(absl::StrCat("no list \"", name, "\""));
  std::vector<int64_t> ids;
  {
    SqliteStmt s(db_,
                 "SELECT id FROM entries WHERE list_id=? AND removed_seq=-1 "
                 "ORDER BY id");
    CUSTOS_RETURN_IF_ERROR(s.status());
    s.Bind(1, l->id);
    while (true) {
      CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      ids.push_back(s.Int(0));
    }
  }
  CUSTOS_RETURN_IF_ERROR(RemoveEntries(ids));
  SqliteStmt s(db_, "UPDATE lists SET removed=1 WHERE id=?");
  CUSTOS_RETURN_IF_ERROR(s.status());
  s.Bind(1, l->id);
  CUSTOS_RETURN_IF_ERROR(s.Run());
  return ids;
}

absl::StatusOr<std::vector<StoredEntry>> ListStore::PendingRemovals() {
  SqliteStmt s(db_, absl::StrCat("SELECT ", kEntryCols,
                                 " FROM entries e JOIN lists l ON "
                                 "l.id=e.list_id WHERE e.removed_seq=-2 "
                                 "ORDER BY e.id")
                        .c_str());
  CUSTOS_RETURN_IF_ERROR(s.status());
  return Collect(s);
}

absl::Status ListStore::ForEachEntry(
    const std::string& list,
    const std::function<absl::Status(const StoredEntry&)>& fn) {
  SqliteStmt s(db_, absl::StrCat("SELECT ", kEntryCols,
                                 " FROM entries e JOIN lists l ON "
                                 "l.id=e.list_id WHERE (?='' OR l.name=?) "
                                 "AND e.removed_seq=-1 AND e.import_seq>=0 "
                                 "ORDER BY e.id")
                        .c_str());
  CUSTOS_RETURN_IF_ERROR(s.status());
  s.BindText(1, list).BindText(2, list);
  while (true) {
    CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    CUSTOS_RETURN_IF_ERROR(fn(ReadEntry(s)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredEntry>> ListStore::MatchExact(
    HashKind kind, const std::string& raw_hash) {
  SqliteStmt s(db_, absl::StrCat("SELECT ", kEntryCols,
                                 " FROM entries e JOIN lists l ON "
                                 "l.id=e.list_id WHERE e.kind=? AND e.hash=? "
                                 "AND e.removed_seq=-1 AND e.import_seq>=0 "
                                 "AND l.removed=0 ORDER BY e.id")
                        .c_str());
  CUSTOS_RETURN_IF_ERROR(s.status());
  s.BindText(1, HashKindName(kind)).Bind(2, raw_hash);
  return Collect(s);
}

absl::StatusOr<std::vector<PdqHit>> ListStore::MatchPdq(
    std::span<const match::Code> queries, int radius, int threads) {
  CUSTOS_ASSIGN_OR_RETURN(auto matches,
                          index_->Search(queries, radius, threads));
  std::vector<PdqHit> out;
  std::map<int64_t, std::optional<StoredEntry>> cache;
  for (const auto& m : matches) {
    int64_t id = static_cast<int64_t>(m.id);
    auto it = cache.find(id);
    if (it == cache.end()) {
      CUSTOS_ASSIGN_OR_RETURN(auto e, GetEntry(id));
      if (e && (e->removed_seq != -1 || e->import_seq < 0 || e->list_removed))
        e.reset();
      it = cache.emplace(id, std::move(e)).first;
    }
    if (!it->second) continue;
    out.push_back({m.query, static_cast<int>(m.distance), *it->second});
  }
  return out;
}

}  // namespace custos::lists
