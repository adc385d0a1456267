// File: meta_store.h
//
// The metadata store: actors, cases, items, the event rows that are the
// log's leaves, and the signed checkpoints. `MetaStore` is the interface the
// repository core uses; `OpenSqliteMetaStore` is the embedded default
// (SQLite in WAL mode, synchronous=FULL). A PostgreSQL store implements the
// same interface later (docs/ARCHITECTURE.md). Schema:
// docs/formats/repository.md.
//
// Writes happen inside Begin()/Commit(); Commit returns only once the
// transaction is durable. Rollback() undoes everything since Begin().
//
// Thread-safety: one MetaStore object per thread; several processes may
// open the same store (SQLite locking, busy timeout), but the repository
// serializes writers with its own lock file first.
#ifndef CUSTOS_SRC_REPO_META_STORE_H_
#define CUSTOS_SRC_REPO_META_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "src/crypto/hash.h"

namespace custos::repo {

struct ActorRecord {
  std::string id, name, role;
  std::string public_key;  // raw 32 bytes
  bool revoked = false;
  uint64_t registered_seq = 0;
};

struct CaseRecord {
  std::string id, title, legal_basis;
  std::vector<std::string> iccs;
  uint64_t opened_seq = 0;
};

struct ItemRecord {
  std::string id;
  std::string case_id;
  std::string exhibit;
  std::string parent_id;  // "" for top-level exhibits
  std::string kind;       // file, directory, block_device, symlink, ...
  std::string description;
  std::string source;    // raw bytes: original path or device
  std::string rel_path;  // raw bytes: path inside the parent ("" if none)
  uint64_t size = 0;
  std::string sha256, md5, sha1;  // raw digests (md5/sha1 may be empty)
  std::string media_type, method, tool, tool_version, host;
  uint32_t mode = 0, uid = 0, gid = 0;
  std::string mtime, atime, ctime, btime;  // RFC 3339 ns, "" if unknown
  std::string symlink_target;              // raw bytes
  std::string error;                       // why content was not read
  uint64_t acquired_seq = 0;
  uint64_t head_seq = 0;  // seq of the item's latest event
};

struct EventRecord {
  uint64_t seq = 0;
  std::string type, actor_id, case_id, time;
  std::string leaf;  // canonical event bytes
  crypto::Hash32 leaf_hash{};
  std::vector<std::string> item_ids;  // filled on insert; on read if asked
};

struct CheckpointRecord {
  uint64_t size = 0;
  std::string note;
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;

  // Ends any read snapshot this connection still holds (SQLite keeps one
  // open while a cached statement has not been reset), so that the next
  // read sees everything committed by other processes. Called by the
  // repository right after it takes its write lock.
  virtual void ReleaseSnapshot() = 0;
  virtual absl::Status Begin() = 0;   // BEGIN IMMEDIATE
  virtual absl::Status Commit() = 0;  // durable on return
  virtual void Rollback() = 0;

  virtual absl::StatusOr<std::optional<std::string>> GetSetting(
      const std::string& key) = 0;
  virtual absl::Status PutSetting(const std::string& key,
                                  const std::string& value) = 0;

  virtual absl::Status InsertActor(const ActorRecord& a) = 0;
  virtual absl::Status RevokeActor(const std::string& id) = 0;
  // By id or by exact name.
  virtual absl::StatusOr<std::optional<ActorRecord>> FindActor(
      const std::string& id_or_name) = 0;
  virtual absl::StatusOr<std::vector<ActorRecord>> ListActors() = 0;

  virtual absl::Status InsertCase(const CaseRecord& c) = 0;
  virtual absl::StatusOr<std::optional<CaseRecord>> FindCase(
      const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<CaseRecord>> ListCases() = 0;

  virtual absl::Status InsertItem(const ItemRecord& i) = 0;
  virtual absl::Status SetItemHead(const std::string& id, uint64_t seq) = 0;
  // Leaf hash of the item's latest event; nullopt if there is no such item.
  virtual absl::StatusOr<std::optional<crypto::Hash32>> ItemHead(
      const std::string& item_id) = 0;
  // By id, by unique id prefix (>= 8 chars) or by exhibit number.
  // kFailedPrecondition if ambiguous.
  virtual absl::StatusOr<std::optional<ItemRecord>> FindItem(
      const std::string& key) = 0;
  // Items of a case ("" = all), top-level only unless `children`.
  virtual absl::Status ForEachItem(
      const std::string& case_id, bool children,
      const std::function<absl::Status(const ItemRecord&)>& fn) = 0;
  virtual absl::StatusOr<std::vector<ItemRecord>> ChildrenOf(
      const std::string& parent_id) = 0;
  // One page of the children of `parent_id`, in insertion order: at most
  // `limit` items after the cursor `*after` (0 to start), which is advanced
  // past the page. has_children[i] says whether (*items)[i] has children of
  // its own. An empty page is the end. For walks whose memory must not grow
  // with the number of items (Repository::CheckKnownFiles).
  virtual absl::Status ChildrenPage(const std::string& parent_id, size_t limit,
                                    int64_t* after,
                                    std::vector<ItemRecord>* items,
                                    std::vector<bool>* has_children) = 0;

  // Searchable properties of an item: media type details, EXIF, image
  // header metadata, provenance, allocation status, hash-set matches. The
  // authoritative copy is in the item's signed event or manifest; this is an
  // index for search. Keys are dotted ASCII ("exif.Model", "ewf.case_number").
  virtual absl::Status PutItemProperties(
      const std::string& item_id,
      const std::vector<std::pair<std::string, std::string>>& props) = 0;
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ItemProperties(const std::string& item_id) = 0;
  // Ids of items whose property `key` matches the SQL LIKE pattern.
  virtual absl::StatusOr<std::vector<std::string>> FindItemsByProperty(
      const std::string& key, const std::string& like_pattern) = 0;
  // Items with this raw SHA-256 (32 bytes), oldest first.
  virtual absl::StatusOr<std::vector<ItemRecord>> FindItemsBySha256(
      const std::string& sha256) = 0;

  virtual absl::StatusOr<uint64_t> EventCount() = 0;
  virtual absl::Status InsertEvent(const EventRecord& e) = 0;
  // Records that event `seq` covers `item_id` (one event_items row, as
  // InsertEvent does for EventRecord::item_ids), for callers that stream
  // the ids of many derived items instead of holding them all (extraction).
  virtual absl::Status InsertEventItem(const std::string& item_id,
                                       uint64_t seq) = 0;
  virtual absl::StatusOr<EventRecord> GetEvent(uint64_t seq) = 0;
  // Events [begin, end) in order; `fn` returning an error stops the scan.
  virtual absl::Status ForEachEvent(
      uint64_t begin, uint64_t end,
      const std::function<absl::Status(const EventRecord&)>& fn) = 0;
  virtual absl::StatusOr<std::vector<uint64_t>> EventsOfItem(
      const std::string& item_id) = 0;
  virtual absl::StatusOr<std::vector<crypto::Hash32>> LeafHashes(
      uint64_t begin, uint64_t end) = 0;

  virtual absl::Status InsertCheckpoint(const CheckpointRecord& c) = 0;
  virtual absl::StatusOr<std::optional<CheckpointRecord>> GetCheckpoint(
      uint64_t size) = 0;
  virtual absl::StatusOr<std::optional<CheckpointRecord>>
  LatestCheckpoint() = 0;
  virtual absl::StatusOr<std::vector<CheckpointRecord>> ListCheckpoints() = 0;

  // Runs SQLite's integrity check (or the backend's equivalent).
  virtual absl::Status CheckIntegrity() = 0;
};

// Opens (with `create`, creates) the SQLite database at `path`.
absl::StatusOr<std::unique_ptr<MetaStore>> OpenSqliteMetaStore(
    const std::string& path, bool create);

}  // namespace custos::repo

#endif  // CUSTOS_SRC_REPO_META_STORE_H_
