// File: exporters.h
//
// Writers of hash lists in the field's exchange formats
// (docs/formats/hashset.md "Exports"): hashdeep known-file lists and
// Project VIC VICS JSON (v2.0 envelope). They stream: one record at a time
// from a generator, so a set of any size is exported in constant memory.
// Importing an export gives back the same digests and categories.
//
// Thread-safety: re-entrant.
//
// Example:
//   CUSTOS_RETURN_IF_ERROR(ExportSet(store, "lab-bad", ExportFormat::kVics,
//   std::cout));
#ifndef CUSTOS_SRC_HASHSET_EXPORTERS_H_
#define CUSTOS_SRC_HASHSET_EXPORTERS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "src/hashset/hashset.h"

namespace custos::hashset {

enum class ExportFormat { kHashdeep, kVics };

// One exported record. Digests are raw ("" = absent).
struct ExportRecord {
  std::optional<uint64_t> size;
  std::string md5, sha1, sha256;
  std::string name;  // file name (hashdeep), "" allowed
  // VICS only: written as "MediaFiles":[{"FileName": last component,
  // "FilePath": file_path}] when not empty (exports of tagged items).
  std::string file_path;
  std::string category;            // VICS Category: decimal digits, "" = 0
  std::vector<std::string> flags;  // VICS boolean flags that are true
};

// Calls `emit` for each record; the generator returns an error to stop.
using RecordGenerator = std::function<absl::Status(
    const std::function<absl::Status(const ExportRecord&)>& emit)>;

// `comment` lines go into the hashdeep header ("## ...").
absl::Status WriteHashdeep(const RecordGenerator& gen,
                           const std::vector<std::string>& comments,
                           std::ostream& out);
// kInvalidArgument if a record's category is not a whole number.
absl::Status WriteVics(const RecordGenerator& gen, std::ostream& out);

// Exports every live entry of set `name`: one record per entry (one
// digest each); category from the entry's tag, else the set's; entries of a
// known-good set get category 0.
absl::Status ExportSet(const Store& store, const std::string& name,
                       ExportFormat format, std::ostream& out);

}  // namespace custos::hashset

#endif  // CUSTOS_SRC_HASHSET_EXPORTERS_H_
