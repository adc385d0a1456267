// File: dfxml.h
//
// DFXML export (docs/formats/exports.md "DFXML"): writes what the repository
// recorded about an item or a case — files of directory acquisitions, files
// extracted from images with their volumes and byte runs, single files — as
// Digital Forensics XML that validates against the DFXML 2.0.0-beta.0
// schema. Manifests are read back with BlobStore::ReadVerified, so an export
// never carries bytes that no longer match the log.
//
// Thread-safety: one call per Repository object at a time (the repository's
// own rule).
//
// Example:
//   DfxmlOptions o;  o.case_id = "CASE-2026-0042";
//   std::ostringstream xml;
//   CUSTOS_ASSIGN_OR_RETURN(DfxmlStats s, WriteDfxml(*repo, o, xml));
#ifndef CUSTOS_SRC_EXPORT_DFXML_H_
#define CUSTOS_SRC_EXPORT_DFXML_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "src/repo/repository.h"

namespace custos::export_ {

inline constexpr char kDfxmlNamespace[] =
    "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML";
inline constexpr char kCustosXmlNamespace[] = "urn:x-custos:dfxml:1";
inline constexpr char kDfxmlVersion[] = "2.0.0-beta.0";

struct DfxmlOptions {
  std::string item;     // a top-level item (id, prefix or exhibit), or
  std::string case_id;  // every top-level item of this case
  // <creator>: what produced the document.
  std::string program_version = "0.1.0";
  std::string command_line;
  std::string start_time;  // xs:dateTime, "" = omitted
  // Called after each item with (items done, items total).
  std::function<void(uint64_t, uint64_t)> progress;
};

struct DfxmlStats {
  uint64_t items = 0;        // top-level items exported
  uint64_t fileobjects = 0;  // <fileobject> elements written
  uint64_t volumes = 0;      // <volume> elements written
  uint64_t tree_size = 0;    // log size the export reflects
};

// Writes one DFXML document to `out`. kNotFound for an unknown item or case,
// kInvalidArgument if neither or both of item/case_id are given or the item
// is not top-level, kDataLoss if a manifest or event does not decode or its
// blob does not match its hash. On error `out` holds a partial document; the
// caller discards it.
absl::StatusOr<DfxmlStats> WriteDfxml(repo::Repository& repo,
                                      const DfxmlOptions& options,
                                      std::ostream& out);

namespace internal {
// The <diskimageobject> of an image item `it` with the `details` of its
// `extracted` event and that event's manifest text (docs/formats/
// extraction.md); exposed for tests. kDataLoss for an undecodable line.
absl::Status WriteImageObject(const repo::ItemRecord& it,
                              const nlohmann::json& details,
                              std::string_view manifest, DfxmlStats& stats,
                              std::ostream& out);
}  // namespace internal

}  // namespace custos::export_

#endif  // CUSTOS_SRC_EXPORT_DFXML_H_
