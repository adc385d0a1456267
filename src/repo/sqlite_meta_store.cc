// The embedded SQLite MetaStore. See meta_store.h and
// docs/formats/repository.md for the schema.
#include <sqlite3.h>

#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "src/base/absl_compat.h"
#include "src/base/sqlite_stmt.h"
#include "src/base/status_macros.h"
#include "src/repo/meta_store.h"

namespace custos::repo {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE actors(
  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
  public_key BLOB NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
  registered_seq INTEGER NOT NULL);
CREATE TABLE cases(
  id TEXT PRIMARY KEY, title TEXT NOT NULL, legal_basis TEXT NOT NULL,
  iccs TEXT NOT NULL, opened_seq INTEGER NOT NULL);
CREATE TABLE items(
  id TEXT PRIMARY KEY, case_id TEXT NOT NULL, exhibit TEXT NOT NULL,
  parent_id TEXT NOT NULL, kind TEXT NOT NULL, description TEXT NOT NULL,
  source BLOB NOT NULL, rel_path BLOB NOT NULL, size INTEGER NOT NULL,
  sha256 BLOB NOT NULL, md5 BLOB NOT NULL, sha1 BLOB NOT NULL,
  media_type TEXT NOT NULL, method TEXT NOT NULL, tool TEXT NOT NULL,
  tool_version TEXT NOT NULL, host TEXT NOT NULL, mode INTEGER NOT NULL,
  uid INTEGER NOT NULL, gid INTEGER NOT NULL, mtime TEXT NOT NULL,
  atime TEXT NOT NULL, ctime TEXT NOT NULL, btime TEXT NOT NULL,
  symlink_target BLOB NOT NULL, error TEXT NOT NULL,
  acquired_seq INTEGER NOT NULL, head_seq INTEGER NOT NULL);
CREATE INDEX items_exhibit ON items(exhibit);
CREATE INDEX items_parent ON items(parent_id);
CREATE INDEX items_case ON items(case_id);
CREATE INDEX items_sha256 ON items(sha256);
CREATE TABLE events(
  seq INTEGER PRIMARY KEY, type TEXT NOT NULL, actor_id TEXT NOT NULL,
  case_id TEXT NOT NULL, time TEXT NOT NULL, leaf BLOB NOT NULL,
  leaf_hash BLOB NOT NULL);
CREATE TABLE event_items(
  item_id TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY(item_id, seq)) WITHOUT ROWID;
CREATE TABLE checkpoints(size INTEGER PRIMARY KEY, note TEXT NOT NULL);
)sql";

// Tables added after format 1 was first written; created on open when absent
// (derived indexes: their content is reproducible from the log and blobs).
constexpr char kSchemaAdditions[] = R"sql(
CREATE TABLE IF NOT EXISTS item_properties(
  item_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY(item_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS item_properties_kv ON item_properties(key, value);
CREATE INDEX IF NOT EXISTS items_sha256 ON items(sha256);
)sql";

using Stmt = SqliteStmt;

constexpr char kItemCols[] =
    "id,case_id,exhibit,parent_id,kind,description,source,rel_path,size,"
    "sha256,md5,sha1,media_type,method,tool,tool_version,host,mode,uid,gid,"
    "mtime,atime,ctime,btime,symlink_target,error,acquired_seq,head_seq";

constexpr int kItemColCount = 28;

ItemRecord ReadItem(const Stmt& s) {
  ItemRecord r;
  int c = 0;
  r.id = s.Blob(c++);
  r.case_id = s.Blob(c++);
  r.exhibit = s.Blob(c++);
  r.parent_id = s.Blob(c++);
  r.kind = s.Blob(c++);
  r.description = s.Blob(c++);
  r.source = s.Blob(c++);
  r.rel_path = s.Blob(c++);
  r.size = static_cast<uint64_t>(s.Int(c++));
  r.sha256 = s.Blob(c++);
  r.md5 = s.Blob(c++);
  r.sha1 = s.Blob(c++);
  r.media_type = s.Blob(c++);
  r.method = s.Blob(c++);
  r.tool = s.Blob(c++);
  r.tool_version = s.Blob(c++);
  r.host = s.Blob(c++);
  r.mode = static_cast<uint32_t>(s.Int(c++));
  r.uid = static_cast<uint32_t>(s.Int(c++));
  r.gid = static_cast<uint32_t>(s.Int(c++));
  r.mtime = s.Blob(c++);
  r.atime = s.Blob(c++);
  r.ctime = s.Blob(c++);
  r.btime = s.Blob(c++);
  r.symlink_target = s.Blob(c++);
  r.error = s.Blob(c++);
  r.acquired_seq = static_cast<uint64_t>(s.Int(c++));
  r.head_seq = static_cast<uint64_t>(s.Int(c++));
  assert(c == kItemColCount);
  return r;
}

ActorRecord ReadActor(const Stmt& s) {
  ActorRecord a;
  a.id = s.Blob(0);
  a.name = s.Blob(1);
  a.role = s.Blob(2);
  a.public_key = s.Blob(3);
  a.revoked = s.Int(4) != 0;
  a.registered_seq = static_cast<uint64_t>(s.Int(5));
  return a;
}

CaseRecord ReadCase(const Stmt& s) {
  CaseRecord c;
  c.id = s.Blob(0);
  c.title = s.Blob(1);
  c.legal_basis = s.Blob(2);
  std::string iccs = s.Blob(3);
  if (!iccs.empty()) c.iccs = absl::StrSplit(iccs, ',');
  c.opened_seq = static_cast<uint64_t>(s.Int(4));
  return c;
}

class SqliteMetaStore final : public MetaStore {
 public:
  explicit SqliteMetaStore(sqlite3* db) : db_(db) {}
  ~SqliteMetaStore() override {
    stmts_.clear();
    sqlite3_close_v2(db_);
  }

  absl::Status Exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      int code = rc & 0xff;
      if (code == SQLITE_FULL)
        return absl::ResourceExhaustedError("disk full: " + msg);
      if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        return absl::DataLossError("database is corrupt: " + msg);
      if (code == SQLITE_BUSY)
        return absl::UnavailableError("database busy: " + msg);
      return absl::InternalError("database error: " + msg);
    }
    return absl::OkStatus();
  }

  void ReleaseSnapshot() override {
    for (auto& [sql, stmt] : stmts_) stmt->Reset();
  }
  absl::Status Begin() override {
    ReleaseSnapshot();
    return Exec("BEGIN IMMEDIATE");
  }
  absl::Status Commit() override { return Exec("COMMIT"); }
  void Rollback() override { (void)Exec("ROLLBACK"); }

  absl::StatusOr<std::optional<std::string>> GetSetting(
      const std::string& key) override {
    Stmt& s = Prep("SELECT value FROM meta WHERE key=?");
    s.BindText(1, key);
    CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(s.Blob(0));
  }
  absl::Status PutSetting(const std::string& key,
                          const std::string& value) override {
    Stmt& s = Prep("INSERT OR REPLACE INTO meta(key,value) VALUES(?,?)");
    s.BindText(1, key).BindText(2, value);
    return s.Run();
  }

  absl::Status InsertActor(const ActorRecord& a) override {
    Stmt& s = Prep(
        "INSERT INTO actors(id,name,role,public_key,revoked,registered_seq) "
        "VALUES(?,?,?,?,?,?)");
    s.BindText(1, a.id).BindText(2, a.name).BindText(3, a.role).Bind(
        4, a.public_key);
    s.Bind(5, int64_t{a.revoked})
        .Bind(6, static_cast<int64_t>(a.registered_seq));
    return s.Run();
  }
  absl::Status RevokeActor(const std::string& id) override {
    Stmt& s = Prep("UPDATE actors SET revoked=1 WHERE id=?");
    s.BindText(1, id);
    return s.Run();
  }
  absl::StatusOr<std::optional<ActorRecord>> FindActor(
      const std::string& key) override {
    Stmt& s = Prep(
        "SELECT id,name,role,public_key,revoked,registered_seq FROM actors "
        "WHERE id=?1 OR name=?1");
    s.BindText(1, key);
    return s.FirstRow(ReadActor);
  }
  absl::StatusOr<std::vector<ActorRecord>> ListActors() override {
    Stmt& s = Prep(
        "SELECT id,name,role,public_key,revoked,registered_seq FROM actors "
        "ORDER BY registered_seq");
    return s.AllRows(ReadActor);
  }

  absl::Status InsertCase(const CaseRecord& c) override {
    Stmt& s = Prep(
        "INSERT INTO cases(id,title,legal_basis,iccs,opened_seq) "
        "VALUES(?,?,?,?,?)");
    s.BindText(1, c.id).BindText(2, c.title).BindText(3, c.legal_basis);
    s.BindText(4, absl::StrJoin(c.iccs, ","))
        .Bind(5, static_cast<int64_t>(c.opened_seq));
    return s.Run();
  }
  absl::StatusOr<std::optional<CaseRecord>> FindCase(
      const std::string& id) override {
    Stmt& s = Prep(
        "SELECT id,title,legal_basis,iccs,opened_seq FROM cases WHERE id=?");
    s.BindText(1, id);
    return s.FirstRow(ReadCase);
  }
  absl::StatusOr<std::vector<CaseRecord>> ListCases() override {
    Stmt& s = Prep(
        "SELECT id,title,legal_basis,iccs,opened_seq FROM cases ORDER BY "
        "opened_seq");
    return s.AllRows(ReadCase);
  }

  absl::Status InsertItem(const ItemRecord& r) override {
    Stmt& s = Prep(
        "INSERT INTO "
        "items(id,case_id,exhibit,parent_id,kind,description,source,"
        "rel_path,size,sha256,md5,sha1,media_type,method,tool,tool_version,"
        "host,"
        "mode,uid,gid,mtime,atime,ctime,btime,symlink_target,error,acquired_"
        "seq,"
        "head_seq) "
        "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    int c = 0;
    s.BindText(++c, r.id);
    s.BindText(++c, r.case_id);
    s.BindText(++c, r.exhibit);
    s.BindText(++c, r.parent_id);
    s.BindText(++c, r.kind);
    s.BindText(++c, r.description);
    s.Bind(++c, r.source);
    s.Bind(++c, r.rel_path);
    s.Bind(++c, static_cast<int64_t>(r.size));
    s.Bind(++c, r.sha256);
    s.Bind(++c, r.md5);
    s.Bind(++c, r.sha1);
    s.BindText(++c, r.media_type);
    s.BindText(++c, r.method);
    s.BindText(++c, r.tool);
    s.BindText(++c, r.tool_version);
    s.BindText(++c, r.host);
    s.Bind(++c, int64_t{r.mode});
    s.Bind(++c, int64_t{r.uid});
    s.Bind(++c, int64_t{r.gid});
    s.BindText(++c, r.mtime);
    s.BindText(++c, r.atime);
    s.BindText(++c, r.ctime);
    s.BindText(++c, r.btime);
    s.Bind(++c, r.symlink_target);
    s.BindText(++c, r.error);
    s.Bind(++c, static_cast<int64_t>(r.acquired_seq));
    s.Bind(++c, static_cast<int64_t>(r.head_seq));
    return s.Run();
  }
  absl::Status SetItemHead(const std::string& id, uint64_t seq) override {
    Stmt& s = Prep("UPDATE items SET head_seq=? WHERE id=?");
    s.Bind(1, static_cast<int64_t>(seq)).BindText(2, id);
    return s.Run();
  }
  absl::StatusOr<std::optional<crypto::Hash32>> ItemHead(
      const std::string& id) override {
    Stmt& s = Prep(
        "SELECT e.leaf_hash FROM items i JOIN events e ON e.seq = i.head_seq "
        "WHERE i.id=?");
    s.BindText(1, id);
    CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<crypto::Hash32>();
    crypto::Hash32 h;
    if (!crypto::ToHash32(s.Blob(0), &h))
      return absl::DataLossError(
          absl::StrCat("damaged leaf hash for the head of item ", id));
    return std::optional<crypto::Hash32>(h);
  }
  absl::StatusOr<std::optional<ItemRecord>> FindItem(
      const std::string& key) override {
    {
      Stmt& s = Prep(
          absl::StrCat("SELECT ", kItemCols, " FROM items WHERE id=?").c_str());
      s.BindText(1, key);
      CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (row) return std::optional<ItemRecord>(ReadItem(s));
    }
    std::vector<ItemRecord> found;
    {
      Stmt& s = Prep(
          absl::StrCat("SELECT ", kItemCols,
                       " FROM items WHERE exhibit=? AND parent_id='' LIMIT 2")
              .c_str());
      s.BindText(1, key);
      CUSTOS_RETURN_IF_ERROR(s.AppendRows(ReadItem, found));
    }
    if (found.empty() && key.size() >= 8) {
      Stmt& s = Prep(absl::StrCat("SELECT ", kItemCols,
                                  " FROM items WHERE substr(id,1,?)=? LIMIT 2")
                         .c_str());
      s.Bind(1, static_cast<int64_t>(key.size())).BindText(2, key);
      CUSTOS_RETURN_IF_ERROR(s.AppendRows(ReadItem, found));
    }
    if (found.size() > 1)
      return absl::FailedPreconditionError(
          absl::StrCat("\"", key, "\" is ambiguous"));
    if (found.empty()) return std::optional<ItemRecord>();
    return std::optional<ItemRecord>(std::move(found[0]));
  }
  absl::Status ForEachItem(
      const std::string& case_id, bool children,
      const std::function<absl::Status(const ItemRecord&)>& fn) override {
    std::string sql = absl::StrCat(
        "SELECT ", kItemCols, " FROM items WHERE (?1='' OR case_id=?1)",
        children ? "" : " AND parent_id=''", " ORDER BY acquired_seq, rowid");
    Stmt s(db_, sql.c_str());
    CUSTOS_RETURN_IF_ERROR(s.status());
    s.BindText(1, case_id);
    return s.ForEachRow([&](const Stmt& r) { return fn(ReadItem(r)); });
  }
  absl::StatusOr<std::vector<ItemRecord>> ChildrenOf(
      const std::string& parent) override {
    Stmt& s = Prep(absl::StrCat("SELECT ", kItemCols,
                                " FROM items WHERE parent_id=? ORDER BY rowid")
                       .c_str());
    s.BindText(1, parent);
    return s.AllRows(ReadItem);
  }

  absl::Status ChildrenPage(const std::string& parent_id, size_t limit,
                            int64_t* after, std::vector<ItemRecord>* items,
                            std::vector<bool>* has_children) override {
    static const std::string sql = absl::StrCat(
        "SELECT ", kItemCols,
        ",rowid,EXISTS(SELECT 1 FROM items c WHERE c.parent_id=items.id)"
        " FROM items WHERE parent_id=?1 AND rowid>?2 ORDER BY rowid"
        " LIMIT ?3");
    Stmt& s = Prep(sql.c_str());
    s.BindText(1, parent_id)
        .Bind(2, *after)
        .Bind(3, static_cast<int64_t>(limit));
    items->clear();
    has_children->clear();
    absl::Status st = s.ForEachRow([&](const Stmt& r) {
      items->push_back(ReadItem(r));
      *after = r.Int(kItemColCount);
      has_children->push_back(r.Int(kItemColCount + 1) != 0);
      return absl::OkStatus();
    });
    s.Reset();  // no statement stays open between pages
    return st;
  }

  absl::Status PutItemProperties(
      const std::string& item_id,
      const std::vector<std::pair<std::string, std::string>>& props) override {
    Stmt& s = Prep(
        "INSERT OR REPLACE INTO item_properties(item_id,key,value) "
        "VALUES(?,?,?)");
    for (const auto& [k, v] : props) {
      s.BindText(1, item_id).BindText(2, k).BindText(3, v);
      CUSTOS_RETURN_IF_ERROR(s.Run());
      s.Reset();
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ItemProperties(const std::string& item_id) override {
    Stmt& s = Prep(
        "SELECT key, value FROM item_properties WHERE item_id=? ORDER BY key");
    s.BindText(1, item_id);
    return s.AllRows(
        [](const Stmt& r) { return std::make_pair(r.Blob(0), r.Blob(1)); });
  }
  absl::StatusOr<std::vector<std::string>> FindItemsByProperty(
      const std::string& key, const std::string& like_pattern) override {
    Stmt& s = Prep(
        "SELECT item_id FROM item_properties WHERE key=? AND value LIKE ? "
        "ORDER BY item_id");
    s.BindText(1, key).BindText(2, like_pattern);
    return s.AllRows([](const Stmt& r) { return r.Blob(0); });
  }
  absl::StatusOr<std::vector<ItemRecord>> FindItemsBySha256(
      const std::string& sha256) override {
    Stmt& s = Prep(absl::StrCat("SELECT ", kItemCols,
                                " FROM items WHERE sha256=? ORDER BY rowid")
                       .c_str());
    s.Bind(1, sha256);
    return s.AllRows(ReadItem);
  }

  absl::StatusOr<uint64_t> EventCount() override {
    Stmt& s = Prep("SELECT count(*), coalesce(max(seq)+1, 0) FROM events");
    CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
    (void)row;
    int64_t n = s.Int(0), next = s.Int(1);
    if (n != next)
      return absl::DataLossError(
          absl::StrCat("the events table has gaps: ", n,
                       " rows but highest sequence number ", next - 1));
    return static_cast<uint64_t>(n);
  }
  absl::Status InsertEvent(const EventRecord& e) override {
    Stmt& s = Prep(
        "INSERT INTO events(seq,type,actor_id,case_id,time,leaf,leaf_hash) "
        "VALUES(?,?,?,?,?,?,?)");
    s.Bind(1, static_cast<int64_t>(e.seq))
        .BindText(2, e.type)
        .BindText(3, e.actor_id);
    s.BindText(4, e.case_id).BindText(5, e.time).Bind(6, e.leaf);
    s.Bind(7, crypto::AsView(e.leaf_hash));
    CUSTOS_RETURN_IF_ERROR(s.Run());
    Stmt& t =
        Prep("INSERT OR IGNORE INTO event_items(item_id,seq) VALUES(?,?)");
    for (const auto& id : e.item_ids) {
      t.Reset();
      t.BindText(1, id).Bind(2, static_cast<int64_t>(e.seq));
      CUSTOS_RETURN_IF_ERROR(t.Run());
    }
    return absl::OkStatus();
  }
  absl::Status InsertEventItem(const std::string& item_id,
                               uint64_t seq) override {
    Stmt& t =
        Prep("INSERT OR IGNORE INTO event_items(item_id,seq) VALUES(?,?)");
    t.BindText(1, item_id).Bind(2, static_cast<int64_t>(seq));
    return t.Run();
  }
  absl::StatusOr<EventRecord> GetEvent(uint64_t seq) override {
    Stmt& s = Prep(
        "SELECT seq,type,actor_id,case_id,time,leaf,leaf_hash FROM events "
        "WHERE seq=?");
    s.Bind(1, static_cast<int64_t>(seq));
    CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return absl::NotFoundError(absl::StrCat("no event #", seq));
    return ReadEvent(s);
  }
  absl::Status ForEachEvent(
      uint64_t begin, uint64_t end,
      const std::function<absl::Status(const EventRecord&)>& fn) override {
    Stmt s(db_,
           "SELECT seq,type,actor_id,case_id,time,leaf,leaf_hash FROM events "
           "WHERE seq>=? AND seq<? ORDER BY seq");
    CUSTOS_RETURN_IF_ERROR(s.status());
    s.Bind(1, static_cast<int64_t>(begin)).Bind(2, static_cast<int64_t>(end));
    return s.ForEachRow([&](const Stmt& r) { return fn(ReadEvent(r)); });
  }
  absl::StatusOr<std::vector<uint64_t>> EventsOfItem(
      const std::string& item_id) override {
    Stmt& s = Prep("SELECT seq FROM event_items WHERE item_id=? ORDER BY seq");
    s.BindText(1, item_id);
    return s.AllRows(
        [](const Stmt& r) { return static_cast<uint64_t>(r.Int(0)); });
  }
  absl::StatusOr<std::vector<crypto::Hash32>> LeafHashes(
      uint64_t begin, uint64_t end) override {
    Stmt& s = Prep(
        "SELECT seq, leaf_hash FROM events WHERE seq>=? AND seq<? ORDER BY "
        "seq");
    s.Bind(1, static_cast<int64_t>(begin)).Bind(2, static_cast<int64_t>(end));
    std::vector<crypto::Hash32> out;
    uint64_t expect = begin;
    while (true) {
      CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      crypto::Hash32 h;
      if (static_cast<uint64_t>(s.Int(0)) != expect ||
          !crypto::ToHash32(s.Blob(1), &h))
        return absl::DataLossError(
            absl::StrCat("event #", expect, " is missing or damaged"));
      out.push_back(h);
      ++expect;
    }
    if (expect != end)
      return absl::DataLossError(
          absl::StrCat("event #", expect, " is missing"));
    return out;
  }

  absl::Status InsertCheckpoint(const CheckpointRecord& c) override {
    Stmt& s = Prep("INSERT OR REPLACE INTO checkpoints(size,note) VALUES(?,?)");
    s.Bind(1, static_cast<int64_t>(c.size)).BindText(2, c.note);
    return s.Run();
  }
  absl::StatusOr<std::optional<CheckpointRecord>> GetCheckpoint(
      uint64_t size) override {
    Stmt& s = Prep("SELECT size,note FROM checkpoints WHERE size=?");
    s.Bind(1, static_cast<int64_t>(size));
    CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<CheckpointRecord>();
    return std::optional<CheckpointRecord>(
        CheckpointRecord{static_cast<uint64_t>(s.Int(0)), s.Blob(1)});
  }
  absl::StatusOr<std::optional<CheckpointRecord>> LatestCheckpoint() override {
    Stmt& s =
        Prep("SELECT size,note FROM checkpoints ORDER BY size DESC LIMIT 1");
    CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<CheckpointRecord>();
    return std::optional<CheckpointRecord>(
        CheckpointRecord{static_cast<uint64_t>(s.Int(0)), s.Blob(1)});
  }
  absl::StatusOr<std::vector<CheckpointRecord>> ListCheckpoints() override {
    Stmt& s = Prep("SELECT size,note FROM checkpoints ORDER BY size");
    std::vector<CheckpointRecord> out;
    while (true) {
      CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(
          CheckpointRecord{static_cast<uint64_t>(s.Int(0)), s.Blob(1)});
    }
    return out;
  }

  absl::Status CheckIntegrity() override {
    Stmt s(db_, "PRAGMA integrity_check");
    CUSTOS_RETURN_IF_ERROR(s.status());
    std::vector<std::string> problems;
    while (true) {
      CUSTOS_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      std::string r = s.Blob(0);
      if (r != "ok") problems.push_back(r);
    }
    if (!problems.empty())
      return absl::DataLossError(absl::StrCat(
          "database integrity check failed: ", absl::StrJoin(problems, "; ")));
    return absl::OkStatus();
  }

 private:
  // A cached prepared statement, reset for reuse.
  Stmt& Prep(const char* sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end())
      it = stmts_.emplace(sql, std::make_unique<Stmt>(db_, sql)).first;
    it->second->Reset();
    return *it->second;
  }
  static EventRecord ReadEvent(const Stmt& s) {
    EventRecord e;
    e.seq = static_cast<uint64_t>(s.Int(0));
    e.type = s.Blob(1);
    e.actor_id = s.Blob(2);
    e.case_id = s.Blob(3);
    e.time = s.Blob(4);
    e.leaf = s.Blob(5);
    std::string h = s.Blob(6);
    if (!crypto::ToHash32(h, &e.leaf_hash)) e.leaf_hash.fill(0);
    return e;
  }

  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Stmt>> stmts_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<MetaStore>> OpenSqliteMetaStore(
    const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
              (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open database ", path, ": ", msg));
  }
  sqlite3_busy_timeout(db, 60000);
  auto store = std::make_unique<SqliteMetaStore>(db);
  CUSTOS_RETURN_IF_ERROR(
      store->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA "
                  "foreign_keys=ON; "
                  // Up to 8 MiB of page cache (grown only as used): one
                  // commit that inserts many items (an extraction of 100k
                  // files) spills and re-reads index pages through the WAL
                  // many times over with the default 2 MiB. 8 MiB ran a
                  // 100k-file extraction as fast as 64 MiB did (appended
                  // table pages spill once, as they would be written
                  // anyway) and keeps memory flat in the number of files
                  // (benchmarks.md, file-system extraction).
                  "PRAGMA cache_size=-8192;"));
  if (create) {
    CUSTOS_RETURN_IF_ERROR(store->Exec("BEGIN IMMEDIATE"));
    absl::Status st = store->Exec(kSchema);
    if (!st.ok()) {
      store->Rollback();
      return st;
    }
    CUSTOS_RETURN_IF_ERROR(store->Exec("COMMIT"));
  }
  CUSTOS_RETURN_IF_ERROR(store->Exec(kSchemaAdditions));
  return std::unique_ptr<MetaStore>(std::move(store));
}

}  // namespace custos::repo
