// File: pdq_index.h
//
// PdqIndex: a persistent, memory-mapped index of 256-bit PDQ codes with exact
// Hamming radius search (100 % recall). Each entry is a code plus a caller id
// (e.g. the row id of a hash-list entry). Entries are appended and removed
// (tombstones) without a rebuild; opening maps the file and reads only its
// extent headers and tombstones. File format and commit protocol:
// docs/formats/pdq-index.md.
//
// Search is a similarity join: the query batch is indexed (chunk tables) and
// the mapped codes are streamed once; see pdq_scan.h. Dihedral variants and
// quality filtering are the caller's: pass 8 variants as 8 queries.
//
// Thread-safety: Search, size, live and Verify may be called from any number
// of threads, also while one thread calls Add, Remove or Refresh (these
// serialize on an internal mutex; Search sees the state committed when it
// started). One process at a time may open the file for writing (flock);
// readers in other processes see a committed prefix and call Refresh to see
// later commits.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(auto index, match::PdqIndex::Create(path));
//   CUSTOS_RETURN_IF_ERROR(index->Add(codes, ids));
//   CUSTOS_ASSIGN_OR_RETURN(auto hits, index->Search(queries, 31, 2));
//   for (const match::PdqIndex::Match& m : hits) Report(m.query, m.id,
//   m.distance);
#ifndef CUSTOS_SRC_MATCH_PDQ_INDEX_H_
#define CUSTOS_SRC_MATCH_PDQ_INDEX_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace custos::match {

// A PDQ code: the 16 words of phash::PdqHash, each little-endian (word k at
// bytes 2k, 2k+1). See CodeFromWords.
using Code = std::array<uint8_t, 32>;

// The code of a PDQ hash given as its 16 words (phash::PdqHash::words).
Code CodeFromWords(const std::array<uint16_t, 16>& words);

// Hamming distance of two codes, 0..256.
int Distance(const Code& a, const Code& b);

struct IndexOptions {
  // fdatasync before and after each superblock update. Turn off only for
  // scratch indexes (benchmarks, tests that do not simulate crashes).
  bool sync = true;
  // Entries per entry extent (multiple of 8, 8..2^24); fixed at Create.
  uint32_t entries_per_extent = 65536;
  // Tombstone records per tombstone extent (1..2^20); fixed at Create.
  uint32_t tombstones_per_extent = 4092;
};

class PdqIndex {
 public:
  // Creates a new, empty index file at `path`, open for writing.
  // kAlreadyExists if the path exists; kInvalidArgument for bad options.
  static absl::StatusOr<std::unique_ptr<PdqIndex>> Create(
      const std::string& path, const IndexOptions& options = {});

  // Opens an existing index. `writable`: take the writer lock (kUnavailable
  // if another process holds it) and drop any uncommitted tail. A file that
  // is not an index is kInvalidArgument; a damaged or truncated one
  // kDataLoss; an unknown version kFailedPrecondition. Never crashes on a
  // bad file. Only options.sync is used when opening.
  static absl::StatusOr<std::unique_ptr<PdqIndex>> Open(
      const std::string& path, bool writable, const IndexOptions& options = {});

  ~PdqIndex();
  PdqIndex(const PdqIndex&) = delete;
  PdqIndex& operator=(const PdqIndex&) = delete;

  // Appends codes[k] with ids[k]; durable on return (one commit). The spans
  // must have the same length. kFailedPrecondition if opened read-only. On
  // error nothing is committed and the index stays usable.
  absl::Status Add(std::span<const Code> codes, std::span<const uint64_t> ids);

  // Hides every entry added so far with one of `ids` from searches (one
  // tombstone per id that has live entries; ids with none are ignored).
  // Durable on return. Entries added later with the same id are live again.
  // Costs one pass over the ids of all entries.
  absl::Status Remove(std::span<const uint64_t> ids);

  struct Match {
    uint32_t query;     // index into the queries passed to Search
    uint64_t id;        // the entry's id
    uint16_t distance;  // Hamming distance, <= radius
    friend bool operator==(const Match&, const Match&) = default;
  };

  // Every live entry within Hamming distance <= radius of each query, one
  // row per entry, sorted by (query, distance, id, entry order). Exact.
  // radius 0..256, threads >= 1 (else kInvalidArgument). kResourceExhausted
  // if the result would exceed 2^28 rows.
  absl::StatusOr<std::vector<Match>> Search(std::span<const Code> queries,
                                            int radius, int threads) const;

  // Re-reads the committed state (for readers; a writer's own instance is
  // always current). kDataLoss if the file became damaged.
  absl::Status Refresh();

  // Recomputes the digests of all committed entries and tombstones
  // (reads the whole file). kDataLoss on mismatch.
  absl::Status Verify() const;

  uint64_t size() const;  // committed entries, removed ones included
  uint64_t live() const;  // entries not hidden by a tombstone
  const std::string& path() const;

  struct State;  // defined in pdq_index.cc
  class Impl;

 private:
  explicit PdqIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::match

#endif  // CUSTOS_SRC_MATCH_PDQ_INDEX_H_
