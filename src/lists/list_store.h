// File: list_store.h
//
// The image hash lists of one repository (docs/formats/hash-lists.md):
// lists and their entries in DIR/lists/lists.sqlite, PDQ entries also in the
// match index DIR/lists/pdq.idx (src/match). Entries are never deleted; a
// removal marks them and tombstones them in the index. Custody events for
// imports and removals are appended by the caller (src/cli/list_cmd.cc)
// once the store has committed; entries become usable when their import is
// recorded (MarkImportRecorded).
//
// Thread-safety: one ListStore per thread. Writers across processes are
// serialized by SQLite's write lock (BEGIN IMMEDIATE) and the index's own
// writer lock.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(auto store, ListStore::Open(repo_dir, true));
//   CUSTOS_ASSIGN_OR_RETURN(auto hits, store->MatchPdq(queries, 31, 2));
#ifndef CUSTOS_SRC_LISTS_LIST_STORE_H_
#define CUSTOS_SRC_LISTS_LIST_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/lists/list_format.h"
#include "src/match/pdq_index.h"

struct sqlite3;

namespace custos::lists {

inline constexpr char kMeaningInternational[] = "illegal-international";
inline constexpr char kMeaningNational[] = "illegal-national";
inline constexpr char kMeaningKnownGood[] = "known-good";
inline constexpr char kMeaningWatch[] = "watch";
bool IsKnownMeaning(std::string_view m);

struct ListInfo {
  int64_t id = 0;
  std::string name, meaning, source, description, created;
  bool removed = false;
  uint64_t live = 0, removed_entries = 0, pending = 0, pdq = 0, exact = 0;
};

struct StoredEntry {
  int64_t id = 0;
  int64_t list_id = 0;
  std::string list_name, list_meaning;
  ListEntry entry;
  int64_t import_seq = -1;   // -1: import not yet recorded
  int64_t removed_seq = -1;  // -1 live; -2 removed, record pending;
                             // -3 discarded (import never recorded)
  bool list_removed = false;
};

struct PdqHit {
  uint32_t query = 0;
  int distance = 0;
  StoredEntry entry;
};

class ListStore {
 public:
  // Opens DIR/lists. `writable` creates it when absent and takes the
  // index's writer lock (kUnavailable while another process holds it);
  // read-only opening of a repository without lists is kNotFound.
  static absl::StatusOr<std::unique_ptr<ListStore>> Open(
      const std::string& repo_dir, bool writable);
  ~ListStore();

  absl::StatusOr<std::vector<ListInfo>> Lists();
  absl::StatusOr<std::optional<ListInfo>> FindList(const std::string& name);

  struct ImportResult {
    int64_t list_id = 0;
    uint64_t entries = 0, pdq = 0, exact = 0, duplicates = 0;
  };
  // Adds the entries produced by `source` (a parser run) to list `name`
  // (created if absent, with meaning/source/description) in one
  // transaction; they are unrecorded until MarkImportRecorded. Entries
  // already in the list (same kind and hash, live) are counted as
  // duplicates and not added again.
  absl::StatusOr<ImportResult> Import(
      const ListInfo& list, const std::string& now,
      const std::function<absl::Status(
          const std::function<absl::Status(const ListEntry&)>&)>& source);
  // Records `seq` (the list_imported event) on the unrecorded entries of
  // the list.
  absl::Status MarkImportRecorded(int64_t list_id, uint64_t seq);
  // Entries of crashed imports (never recorded) are marked removed and
  // tombstoned; returns how many.
  absl::StatusOr<uint64_t> DiscardUnrecorded();

  // Live entries of a list matching kind+hash (hex or raw), or by id.
  absl::StatusOr<std::vector<StoredEntry>> FindEntries(
      const std::string& list, HashKind kind, const std::string& raw_hash);
  absl::StatusOr<std::optional<StoredEntry>> GetEntry(int64_t id);
  // Marks entries removed (pending record) and tombstones them.
  absl::Status RemoveEntries(const std::vector<int64_t>& ids);
  absl::Status MarkRemovalRecorded(const std::vector<int64_t>& ids,
                                   uint64_t seq);
  // Marks a whole list removed; returns its live entry ids (now pending).
  absl::StatusOr<std::vector<int64_t>> RemoveList(const std::string& name);
  // Entries whose removal is not yet recorded.
  absl::StatusOr<std::vector<StoredEntry>> PendingRemovals();

  // Every live, recorded entry of `list` ("" = all lists), in id order.
  absl::Status ForEachEntry(
      const std::string& list,
      const std::function<absl::Status(const StoredEntry&)>& fn);

  // Matching: live recorded entries of lists not removed.
  absl::StatusOr<std::vector<StoredEntry>> MatchExact(
      HashKind kind, const std::string& raw_hash);
  absl::StatusOr<std::vector<PdqHit>> MatchPdq(
      std::span<const match::Code> queries, int radius, int threads);

 private:
  ListStore(sqlite3* db, std::unique_ptr<match::PdqIndex> index);
  absl::Status Exec(const char* sql);
  sqlite3* db_;
  std::unique_ptr<match::PdqIndex> index_;
};

}  // namespace custos::lists

#endif  // CUSTOS_SRC_LISTS_LIST_STORE_H_
