// File: known_files.h
//
// The repository side of known-file hash sets (docs/formats/hashset.md):
// importing, updating, removing and compacting the sets in DIR/hashsets —
// each a signed `note` custody event — and checking items against them,
// which records item properties (`hashset.known_good`, `hashset.known_bad`)
// and one signed `analysed` event per known-bad match. The functions are
// Repository members defined in known_files.cc; this header holds their
// request and result types.
//
// Thread-safety: as Repository (one object per thread).
//
// Example:
//   HashSetImportRequest req;
//   req.path = "NSRLFile.txt";  req.name = "nsrl";
//   req.meaning = hashset::Meaning::kKnownGood;
//   CUSTOS_ASSIGN_OR_RETURN(HashSetImportResult r, repo->ImportHashSet(req));
//   CUSTOS_ASSIGN_OR_RETURN(KnownFileReport k,
//                           repo->CheckKnownFiles({item_id}, "A. de Vries"));
#ifndef CUSTOS_SRC_REPO_KNOWN_FILES_H_
#define CUSTOS_SRC_REPO_KNOWN_FILES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/hashset/hashset.h"
#include "src/hashset/parsers.h"
#include "src/repo/repository.h"

namespace custos::repo {

struct HashSetImportRequest {
  std::string path;  // the source file
  hashset::Format format = hashset::Format::kAuto;
  std::string name;
  hashset::Meaning meaning = hashset::Meaning::kKnownGood;
  std::string category, source, version;
  bool delta = false;
  std::string remove_list;  // a file of digests to remove ("" = none)
  hashset::Format remove_format = hashset::Format::kAuto;
  std::string actor;  // id or name; "" = the authority
  size_t memory_budget = size_t{256} << 20;
  // stage is "reading" (done = bytes or rows), "writing", "removals".
  std::function<void(const std::string& stage, uint64_t done, uint64_t total)>
      progress;
};

struct HashSetImportResult {
  hashset::ImportResult result;  // the set as published, added/removed
  hashset::ParseStats stats, remove_stats;
  hashset::Format format = hashset::Format::kAuto;  // as detected
  std::string source_sha256_hex;
  uint64_t source_bytes = 0;
  uint64_t event_seq = 0;
  double seconds = 0;
};

struct KnownFileReport {
  uint64_t checked = 0;  // items looked up
  std::vector<KnownBadHit> known_bad;
  // Items held by known-good sets, in all and per exhibit number (each
  // such item also gets the property hashset.known_good = set names).
  uint64_t known_good = 0;
  std::map<std::string, uint64_t> known_good_by_exhibit;
};

// Opens DIR/hashsets (created if absent).
absl::StatusOr<std::unique_ptr<hashset::Store>> OpenHashSets(
    const std::string& repo_dir);

}  // namespace custos::repo

#endif  // CUSTOS_SRC_REPO_KNOWN_FILES_H_
