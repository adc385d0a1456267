// File: case_uco.h
//
// CASE/UCO 1.4.0 JSON-LD export of one case (docs/formats/exports.md
// "CASE/UCO"): the investigation, its items as observables with hashes and
// containment, every custody event of the case as an InvestigativeAction
// (performer, instrument, object, result, time, and the event's log index and
// leaf hash), and ProvenanceRecords chained as custody passes. Identifiers
// are stable: item and actor ids, or version-5 UUIDs of fixed names.
//
// Thread-safety: one call per Repository object at a time.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(nlohmann::json doc,
//                           ExportCase(*repo, {.case_id = "CASE-2026-0042"}));
//   out << doc.dump(2);
#ifndef CUSTOS_SRC_EXPORT_CASE_UCO_H_
#define CUSTOS_SRC_EXPORT_CASE_UCO_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "src/repo/repository.h"

namespace custos::export_ {

struct CaseExportOptions {
  std::string case_id;
  std::string tool_version = "0.1.0";  // custos, the instrument
  // Called while scanning the log with (events done, events total).
  std::function<void(uint64_t, uint64_t)> progress;
};

struct CaseExportStats {
  uint64_t actions = 0, observables = 0, provenance_records = 0;
  uint64_t tree_size = 0;
};

// The `kb:` base IRI for a log origin: https://<origin>/custos/kb/ with
// characters outside [A-Za-z0-9._~/-] percent-encoded.
std::string KbBase(const std::string& origin);

// The JSON-LD document. kNotFound for an unknown case; kDataLoss if an event
// of the log does not decode.
absl::StatusOr<nlohmann::json> ExportCase(repo::Repository& repo,
                                          const CaseExportOptions& options,
                                          CaseExportStats* stats = nullptr);

}  // namespace custos::export_

#endif  // CUSTOS_SRC_EXPORT_CASE_UCO_H_
