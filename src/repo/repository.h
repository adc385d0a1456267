// File: repository.h
//
// A custos repository: one authority's evidence vault and custody ledger in
// one directory (docs/formats/repository.md). It composes the three stores
// behind their interfaces — MetaStore (SQLite), BlobStore (POSIX, content
// addressed) and the log's TreeStore — and is the only code that appends to
// the custody log. Every mutating call is one batch: it takes the
// repository's write lock, appends signed events, signs one checkpoint, and
// commits durably before returning.
//
// Thread-safety: one Repository object per thread. Several processes may
// work on one repository; writers are serialized by an flock(2) on DIR/lock.
//
// Example:
//   RepoEnv env;  // real filesystem, clock and randomness
//   CUSTOS_ASSIGN_OR_RETURN(auto repo, Repository::Init(dir, {origin,
//   authority}, env)); CUSTOS_ASSIGN_OR_RETURN(auto actor, repo->AddActor("A.
//   de Vries", "examiner")); CUSTOS_ASSIGN_OR_RETURN(auto result,
//   repo->Acquire({"/media/usb"}, request));
#ifndef CUSTOS_SRC_REPO_REPOSITORY_H_
#define CUSTOS_SRC_REPO_REPOSITORY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "src/acquire/acquire.h"
#include "src/base/clock.h"
#include "src/base/file_system.h"
#include "src/base/random.h"
#include "src/crypto/ed25519.h"
#include "src/crypto/note.h"
#include "src/custody/checkpoint.h"
#include "src/custody/tree_store.h"
#include "src/repo/event.h"
#include "src/repo/meta_store.h"
#include "src/store/blob_store.h"

namespace custos::repo {

inline constexpr int kRepositoryFormat = 1;

struct RepoEnv {
  FileSystem* fs = &PosixFileSystem();
  Clock* clock = &RealClock();
  Random* random = &RealRandom();
  // Passphrase for private keys; nullopt = keys are not encrypted.
  std::optional<std::string> passphrase;
  std::string place;  // default place recorded in events ("" = host name)
};

struct InitOptions {
  std::string origin;     // C2SP origin, e.g. "example.org/nl-om"
  std::string authority;  // "Public Prosecution Service NL"
};

struct AcquireRequest {
  std::string case_id;
  std::string actor;                  // id or name
  std::vector<std::string> exhibits;  // one per source, or one prefix
  std::string description, note, place, purpose;
  unsigned digests = crypto::kSha256;
  bool follow_symlinks = false;
  std::function<void(const acquire::Progress&)> progress;
  // How sources are read (docs/formats/images.md): "" or "auto" (an EWF
  // signature makes an E01 set, NAME.001 a split raw image, anything else
  // a file, directory or device), "ewf", "raw" (one raw/dd image file or
  // device as a raw_image item), "split", or "file" (never an image).
  std::string format;
};

// A known-bad hash-set match of an item (Repository::CheckKnownFiles,
// src/repo/known_files.h; docs/formats/hashset.md).
struct KnownBadHit {
  std::string item_id, exhibit;
  std::string path;  // escaped path inside the exhibit ("" for the exhibit)
  std::string set, category, flags;
  std::string algorithm, hash_hex;
  uint64_t event_seq = 0;  // the `analysed` event; 0 if recorded before
};

struct AcquiredSource {
  ItemRecord item;
  uint64_t entries = 0, files = 0, bytes = 0;
  uint64_t new_blobs = 0, deduplicated = 0;
  std::vector<std::string> unreadable;  // escaped path + ": " + error
  uint64_t event_seq = 0;
  // Known-file check after the acquisition was committed.
  std::vector<KnownBadHit> known_bad;
  uint64_t known_good = 0;        // items set aside by known-good sets
  std::string known_files_error;  // "" unless the check itself failed
  // Images only (src/repo/image_acquire.cc): "ewf", "raw", "split_raw".
  std::string image_format;
  // EWF stored-hash verification: "verified", "mismatch", "chunk_errors",
  // "no_stored_hash" (docs/formats/images.md); "" for other sources.
  std::string verification;
  // Things the examiner must be told loudly (hash mismatch, damaged
  // chunks); the acquisition was recorded with them.
  std::vector<std::string> warnings;
};

// Searchable properties for items being created: (item id, key/values).
using ItemPropertyList = std::vector<
    std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>;

struct HashSetImportRequest;  // src/repo/known_files.h
struct HashSetImportResult;
struct KnownFileReport;

struct ExtractRequest;  // src/repo/extract.h
struct ExtractResult;

struct EventRequest {
  std::string type;
  std::vector<std::string> items;  // ids, exhibits or id prefixes
  std::string actor;               // id or name; "" = the authority
  std::string case_id, place, purpose, to, from, note;
  nlohmann::json details = nlohmann::json::object();
  // Searchable properties (MetaStore::PutItemProperties) set on every item
  // of the event in the same transaction, e.g. `tag.NAME` by `custos tag`.
  std::vector<std::pair<std::string, std::string>> item_properties;
};

struct Receipt {
  uint64_t seq = 0;
  std::string text;  // c2sp.org/tlog-proof@v1
  std::string leaf;  // canonical event bytes
  crypto::Hash32 leaf_hash{};
  uint64_t tree_size = 0;
};

struct ConsistencyResult {
  uint64_t old_size = 0, new_size = 0;
  std::string old_checkpoint, new_checkpoint;  // signed notes
  std::vector<crypto::Hash32> proof;
};

struct Problem {
  std::string where;  // "blob <hex>", "event #12", "checkpoint 7", ...
  std::string what;
};

struct VerifyReport {
  std::vector<Problem> problems;
  uint64_t events = 0, items = 0, blobs = 0, blob_bytes = 0, checkpoints = 0;
  double seconds = 0;
  bool ok() const { return problems.empty(); }
};

class Repository {
 public:
  // Creates DIR (must not exist or be empty) with a new log key.
  static absl::StatusOr<std::unique_ptr<Repository>> Init(
      const std::string& dir, const InitOptions& options, RepoEnv env);
  // Opens an existing repository; cleans up temporaries left by a crash and
  // repairs the derived tree files. kFailedPrecondition for a repository of
  // a newer format, kNotFound if DIR is not a repository.
  static absl::StatusOr<std::unique_ptr<Repository>> Open(
      const std::string& dir, RepoEnv env);
  ~Repository();

  const std::string& dir() const { return dir_; }
  const std::string& origin() const { return origin_; }
  const std::string& authority() const { return authority_; }
  const std::string& log_vkey() const { return log_vkey_; }
  MetaStore& meta() { return *meta_; }
  store::BlobStore& blobs() { return *blobs_; }

  absl::StatusOr<ActorRecord> AddActor(const std::string& name,
                                       const std::string& role);
  absl::StatusOr<ActorRecord> RevokeActor(const std::string& actor,
                                          const std::string& reason);
  absl::StatusOr<CaseRecord> OpenCase(const CaseRecord& c,
                                      const std::string& actor);
  absl::StatusOr<std::vector<AcquiredSource>> Acquire(
      const std::vector<std::string>& sources, const AcquireRequest& request);
  // Walks the file systems of a disk-image item and records one signed
  // `extracted` event with a derived item per file (src/repo/extract.h,
  // docs/formats/extraction.md). Defined in extract.cc.
  absl::StatusOr<ExtractResult> Extract(const ExtractRequest& request);
  // Known-file hash sets in DIR/hashsets (src/repo/known_files.h,
  // docs/formats/hashset.md). Defined in known_files.cc. Each change is
  // one signed `note` event; CheckKnownFiles records one signed `analysed`
  // event per known-bad match.
  absl::StatusOr<HashSetImportResult> ImportHashSet(
      const HashSetImportRequest& request);
  absl::StatusOr<uint64_t> RemoveHashSet(const std::string& name,
                                         const std::string& actor);
  absl::StatusOr<std::vector<std::string>> CompactHashSets(
      const std::string& name, const std::string& actor);
  absl::StatusOr<KnownFileReport> CheckKnownFiles(
      const std::vector<std::string>& item_ids, const std::string& actor);
  // Appends the events as one batch with one checkpoint.
  absl::StatusOr<std::vector<EventRecord>> AddEvents(
      const std::vector<EventRequest>& requests);

  absl::StatusOr<CheckpointRecord> LatestCheckpoint();
  absl::StatusOr<Receipt> Prove(uint64_t seq);
  // new_size 0 = the latest checkpoint. Both sizes must have checkpoints.
  absl::StatusOr<ConsistencyResult> ProveConsistency(uint64_t old_size,
                                                     uint64_t new_size);
  // Re-checks everything (see docs/formats/repository.md "Verification").
  absl::StatusOr<VerifyReport> Verify(
      const std::function<void(const std::string& stage, uint64_t done,
                               uint64_t total)>& progress);

 private:
  Repository(std::string dir, RepoEnv env);
  struct Pending;
  struct Batch;
  // The signed `acquired` event of the new exhibit item `top` that covers
  // `children` (its derived items), signed by `actor` with `key`.
  static Pending AcquiredEvent(const AcquireRequest& req,
                               const ActorRecord& actor, const ItemRecord& top,
                               const std::vector<ItemRecord>& children,
                               const crypto::Ed25519PrivateKey* key,
                               nlohmann::json details);
  absl::Status LoadSigners();
  absl::StatusOr<std::unique_ptr<crypto::Ed25519PrivateKey>> LoadActorKey(
      const ActorRecord& a);
  absl::Status Lock();
  void Unlock();
  // DIR/blob-writers.lock: held shared while an acquisition writes blobs;
  // temporary files are cleaned only by a process that gets it exclusively.
  absl::Status HoldWritersLock();
  bool TryExclusiveWritersLock();
  void ReleaseWritersLock();
  absl::Status RepairDerived();
  // Re-opens the tree files and brings them to the committed size. Caller
  // holds the write lock.
  absl::Status ReloadTreeLocked();
  // ReloadTreeLocked() under the lock, if another process appended.
  absl::Status RefreshTree();
  absl::StatusOr<std::vector<EventRecord>> Commit(Batch& batch);
  absl::StatusOr<ItemRecord> ResolveItem(const std::string& key);
  // Acquires `source` if it is a disk image (E01 set, raw, split raw; by
  // request.format or detection) and adds its `acquired` event to `batch`;
  // false if it is not an image. Defined in image_acquire.cc.
  absl::StatusOr<bool> AcquireImageSource(
      const std::string& source, const std::string& exhibit,
      const AcquireRequest& request, const ActorRecord& actor,
      const crypto::Ed25519PrivateKey* key, Batch& batch, AcquiredSource& res,
      std::vector<ItemRecord>& children, ItemPropertyList& props);
  // CheckKnownFiles for freshly acquired sources; never fails the
  // (already committed) acquisition: errors go to known_files_error.
  void CheckAcquiredKnownFiles(std::vector<AcquiredSource>& results,
                               const std::string& actor_id);
  absl::StatusOr<ActorRecord> ResolveActor(const std::string& key);

  std::string dir_;
  RepoEnv env_;
  std::string origin_, authority_, log_vkey_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<store::BlobStore> blobs_;
  std::unique_ptr<custody::TreeStore> tree_;
  std::unique_ptr<crypto::NoteSigner> log_signer_;
  std::unique_ptr<crypto::Ed25519PrivateKey> log_key_;
  int lock_fd_ = -1;
  int writers_fd_ = -1;
  absl::Status damaged_;  // set when the log cannot be read consistently
};

// Exit codes of the custos command, documented in docs/cli.md.
enum ExitCode : int {
  kExitOk = 0,
  kExitVerifyFailed = 1,  // verification found problems
  kExitUsage = 2,
  kExitNotFound = 3,  // missing path, item, actor, repository
  kExitPermission =
      4,  // permission denied, wrong passphrase, forged/unknown signer
  kExitDiskFull = 5,
  kExitConflict = 6,  // already exists, newer format, precondition
  kExitDataLoss = 7,  // corrupt repository or input
  kExitPartial = 8,   // committed, but incomplete (extract: a volume failed)
  kExitInternal = 70,
};
int ExitCodeFor(const absl::Status& status);

}  // namespace custos::repo

#endif  // CUSTOS_SRC_REPO_REPOSITORY_H_
