// File: audit.h
//
// Audit mode (docs/formats/exports.md "Audit"): compares the regular files
// under a directory (or one file, e.g. a raw image) with the hashes the
// repository recorded, like hashdeep's audit mode. Each file found is
// matched, changed, moved, new or unreadable; recorded paths not found are
// missing. Read-only: nothing is written to the repository.
//
// Thread-safety: one call per Repository object at a time.
//
// Example:
//   AuditOptions o;  o.path = "/media/usb";
//   CUSTOS_ASSIGN_OR_RETURN(AuditReport rep, Audit(*repo, o));
//   if (!rep.ok()) ...  // differences: exit 1
#ifndef CUSTOS_SRC_EXPORT_AUDIT_H_
#define CUSTOS_SRC_EXPORT_AUDIT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/repo/repository.h"

namespace custos::export_ {

enum class AuditStatus { kMatched, kChanged, kMoved, kNew, kUnreadable };
const char* AuditStatusName(AuditStatus s);  // "matched", ...

struct KnownAs {
  std::string item_id, exhibit;
  std::string path;  // raw: rel_path, or source of a top-level item
};

struct AuditEntry {
  std::string path;  // raw bytes relative to the audited root ("" = root)
  AuditStatus status = AuditStatus::kNew;
  uint64_t size = 0;
  std::string sha256;             // raw; empty when unreadable
  std::string recorded_sha256;    // raw; for changed
  std::string item_id;            // the recorded item at this path, if any
  std::vector<KnownAs> known_as;  // for moved (at most 10)
  std::string error;
};

struct AuditReport {
  std::string root;  // as given
  std::optional<repo::ItemRecord> reference;
  std::vector<AuditEntry> entries;        // walk order
  std::vector<repo::ItemRecord> missing;  // recorded, not found
  uint64_t matched = 0, changed = 0, moved = 0, fresh = 0, unreadable = 0;
  uint64_t bytes = 0;
  bool ok() const {
    return changed == 0 && moved == 0 && fresh == 0 && unreadable == 0 &&
           missing.empty();
  }
};

struct AuditOptions {
  std::string path;     // directory or regular file
  std::string item;     // reference item (id, prefix, exhibit); "" = by path
  std::string case_id;  // restricts reference and hash lookups; "" = all
  // Called with (bytes hashed, bytes total) during hashing.
  std::function<void(uint64_t, uint64_t)> progress;
};

// kNotFound if the path, the item or the case does not exist;
// kInvalidArgument if the path is neither a directory nor a regular file,
// or the reference item is inside another item.
absl::StatusOr<AuditReport> Audit(repo::Repository& repo,
                                  const AuditOptions& options);

}  // namespace custos::export_

#endif  // CUSTOS_SRC_EXPORT_AUDIT_H_
