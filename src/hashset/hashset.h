// File: hashset.h
//
// Known-file hash sets (docs/formats/hashset.md): a persistent store of
// named sets of MD5 / SHA-1 / SHA-256 digests, each set known-good (to set
// aside) or known-bad (to alert on, with categories). A set is a list of
// immutable sorted runs of fixed-size records, memory-mapped, with a small
// directory (top bits -> index) so that a lookup costs about one random
// access. Updates add delta runs and tombstone runs (LSM style); Compact()
// merges them. A new run becomes visible only by the atomic rename of the
// MANIFEST after its files are fsync'd.
//
// Imports stream: entries go into bounded per-algorithm buffers, which are
// sorted and spilled to disk when full and merged at the end.
//
// Thread-safety: a Store's const lookups may run on many threads at once.
// Mutations (imports, Remove, Compact) take DIR/lock (flock) and are for
// one thread. Other processes may read while one writes.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(auto store, Store::Open(repo_dir + "/hashsets"));
//   ImportOptions o;  o.name = "nsrl";  o.meaning = Meaning::kKnownGood;
//   CUSTOS_ASSIGN_OR_RETURN(auto imp, store->BeginImport(o));
//   CUSTOS_RETURN_IF_ERROR(imp->Add(Algorithm::kSha256, digest, ""));
//   CUSTOS_ASSIGN_OR_RETURN(SetInfo info, imp->Prepare());
//   CUSTOS_RETURN_IF_ERROR(imp->Publish());
//   std::vector<Match> m;  store->Lookup(Algorithm::kSha256, digest, &m);
#ifndef CUSTOS_SRC_HASHSET_HASHSET_H_
#define CUSTOS_SRC_HASHSET_HASHSET_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace custos::hashset {

enum class Algorithm : uint8_t { kMd5 = 1, kSha1 = 2, kSha256 = 3 };
inline constexpr std::array<Algorithm, 3> kAlgorithms = {
    Algorithm::kMd5, Algorithm::kSha1, Algorithm::kSha256};
inline constexpr size_t DigestLength(Algorithm a) {
  return a == Algorithm::kMd5 ? 16 : a == Algorithm::kSha1 ? 20 : 32;
}
inline constexpr int AlgoIndex(Algorithm a) { return static_cast<int>(a) - 1; }
std::string_view AlgorithmName(Algorithm a);  // "md5", "sha1", "sha256"
std::optional<Algorithm> ParseAlgorithm(std::string_view name);
// By raw digest length (16, 20, 32).
std::optional<Algorithm> AlgorithmForLength(size_t raw_length);

enum class Meaning { kKnownGood, kKnownBad };
std::string_view MeaningName(Meaning m);  // "known-good", "known-bad"
std::optional<Meaning> ParseMeaning(std::string_view name);

// Receives parsed entries. `digest` is raw bytes of DigestLength(algo);
// `tag` is "" (the set's category) or "CATEGORY" or "CATEGORY;FLAG,FLAG".
class EntrySink {
 public:
  virtual ~EntrySink() = default;
  virtual absl::Status Add(Algorithm algo, std::string_view digest,
                           std::string_view tag) = 0;
};

struct RunInfo {
  uint64_t id = 0;
  Algorithm algo = Algorithm::kSha256;
  bool tombstone = false;
  uint64_t count = 0;
  uint64_t bytes = 0;
  std::string file;  // relative to the store directory
  std::vector<std::string> tags;
};

struct SetInfo {
  std::string name;
  Meaning meaning = Meaning::kKnownGood;
  std::string category;  // set-level category ("" = none)
  std::string source, version, format;
  std::string imported, updated;     // RFC 3339
  std::array<uint64_t, 3> counts{};  // live entries per AlgoIndex
  std::vector<RunInfo> runs;         // oldest first
};

// One hit of a digest in a set.
struct Match {
  std::string set;
  Meaning meaning = Meaning::kKnownGood;  // effective (VICS 0 -> known-good)
  std::string category;                   // entry's category, else the set's
  std::string flags;                      // VICS flags, comma separated
  Algorithm algo = Algorithm::kSha256;
  std::string digest;  // raw
};

// The effective meaning of an entry: a known-bad set's entry of VICS
// category "0" (non-pertinent) is known-good.
Meaning EffectiveMeaning(Meaning set_meaning, std::string_view category);
// Splits a tag into category and flags.
void SplitTag(std::string_view tag, std::string* category, std::string* flags);

struct ImportOptions {
  std::string name;
  Meaning meaning = Meaning::kKnownGood;
  std::string category, source, version, format;
  std::string now;     // RFC 3339 time recorded as imported/updated
  bool delta = false;  // add to an existing set (else the set must be new)
  size_t memory_budget = size_t{512} << 20;  // bytes of entry buffers
  // Sort and spill full buffers on a second thread while Add() goes on, and
  // write the runs of the three algorithms in parallel. The files written
  // are the same either way.
  bool parallel = true;
};

// Statistics of a prepared import.
struct ImportResult {
  SetInfo set;               // the set as it will be after Publish()
  uint64_t added = 0;        // digests that were not live before
  uint64_t removed = 0;      // live digests removed by tombstones
  uint64_t add_entries = 0;  // entries given to Add (with duplicates)
  uint64_t remove_entries = 0;
};

class Store;

// An import in progress: Add() entries (and Remove() digests, for a delta),
// then Prepare() writes and fsyncs the run files and Publish() makes them
// visible. Destroying it without Publish() leaves nothing visible (the temp
// files are deleted). Holds the store's write lock until destroyed.
class Import final : public EntrySink {
 public:
  ~Import() override;
  absl::Status Add(Algorithm algo, std::string_view digest,
                   std::string_view tag) override;
  // A removal (tombstone) for a delta.
  absl::Status Remove(Algorithm algo, std::string_view digest);
  // A sink whose Add() calls Remove() (for parsing a removal list).
  EntrySink& removals();
  // Sets the version recorded with the set (before Prepare()).
  void SetVersion(const std::string& version);
  absl::StatusOr<ImportResult> Prepare();
  absl::Status Publish();

 private:
  friend class Store;
  struct Impl;
  explicit Import(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Store {
 public:
  // Opens (with `create`, creating) the store in `dir`. kNotFound if absent
  // and not `create`; kDataLoss if MANIFEST or a run is damaged. Runs are
  // memory-mapped; with `preload` they are copied into anonymous memory
  // backed by transparent huge pages, for many random lookups (the same
  // resident size; much faster where 4 KiB page walks are expensive).
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir,
                                                     bool create = true,
                                                     bool preload = false);
  ~Store();

  const std::string& dir() const { return dir_; }
  const std::vector<SetInfo>& sets() const { return sets_; }
  const SetInfo* FindSet(std::string_view name) const;

  // Appends to `out` one Match per set that holds `digest` (raw bytes of
  // DigestLength(algo)).
  void Lookup(Algorithm algo, std::string_view digest,
              std::vector<Match>* out) const;
  // For throughput: `n` digests back to back; hit[i] = 1 if any set holds
  // digest i. Prefetches in groups. Returns the number of hits.
  size_t ContainsBatch(Algorithm algo, const uint8_t* digests, size_t n,
                       uint8_t* hit) const;
  // The path for many digests (known-file matching, `custos hashset
  // lookup`): `n` digests back to back, searched in one batched pass (as
  // ContainsBatch); for each digest that a set holds, appends (i, Match)
  // per set, as Lookup() would, in digest order.
  void LookupBatch(Algorithm algo, const uint8_t* digests, size_t n,
                   std::vector<std::pair<size_t, Match>>* out) const;
  // Bytes of the runs of all sets (what preloading reads).
  uint64_t RunBytes() const;
  // Whether preloading pays for `lookups` random lookups: when they would
  // cost more through 4 KiB page faults than reading the runs whole (about
  // one lookup per 16 KiB of runs).
  bool PreloadPays(uint64_t lookups) const;
  // Copies the runs into memory as Open(..., preload=true) does.
  absl::Status Preload();

  // Starts an import (takes the write lock). kAlreadyExists if the set
  // exists and !delta; kNotFound if delta and it does not.
  absl::StatusOr<std::unique_ptr<Import>> BeginImport(
      const ImportOptions& options);
  // Removes a set (new MANIFEST, then its run files are deleted).
  absl::Status Remove(const std::string& name);
  // Merges the runs of `name` ("" = every set with more than one run per
  // algorithm or any tombstone) into one add run per algorithm. Returns the
  // names of the sets compacted.
  absl::StatusOr<std::vector<std::string>> Compact(const std::string& name,
                                                   const std::string& now);
  // Calls fn for every live entry of set `name` and algorithm, in digest
  // order, with its tag.
  absl::Status ForEachEntry(
      const std::string& name, Algorithm algo,
      const std::function<absl::Status(std::string_view digest,
                                       std::string_view tag)>& fn) const;
  // Re-reads MANIFEST (after another process changed it).
  absl::Status Reload();

  struct MappedRun;  // internal

 private:
  friend class Import;
  explicit Store(std::string dir);
  absl::Status Load();
  absl::Status LockWriter();
  void UnlockWriter();
  absl::Status WriteManifest(const std::vector<SetInfo>& sets,
                             uint64_t next_run);
  void RemoveUnreferenced();
  // Live lookup of one digest in a set's runs (newest wins); returns the
  // tag or nullopt. `runs` are the set's mapped runs of `algo`, newest first.
  static std::optional<std::string_view> FindLive(
      const std::vector<const MappedRun*>& runs, std::string_view digest);

  std::string dir_;
  std::vector<SetInfo> sets_;
  uint64_t next_run_ = 1;
  // Per set (same order as sets_), per algorithm: mapped runs newest first.
  std::vector<std::array<std::vector<const MappedRun*>, 3>> by_set_;
  std::vector<std::unique_ptr<MappedRun>> mapped_;
  bool preload_ = false;
  int lock_fd_ = -1;
};

// Validates a set name: 1-64 bytes of [A-Za-z0-9._-].
absl::Status CheckSetName(std::string_view name);

}  // namespace custos::hashset

#endif  // CUSTOS_SRC_HASHSET_HASHSET_H_
