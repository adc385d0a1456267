// File: tagged.h
//
// Tags and the known-file lists of tagged items (docs/formats/event.md
// "Tags", docs/formats/exports.md "Tagged items as known-file lists").
// A tag is recorded by `custos tag` as signed `analysed` events; this file
// holds the naming rule, the property index key, and the read-only export
// that rebuilds the set of tagged items from the signed log and writes it as
// hashdeep or VICS JSON with the writers of src/hashset/exporters.h.
//
// Thread-safety: one call per Repository object at a time (the repository's
// own rule).
//
// Example:
//   TaggedExportOptions o;  o.tag = "relevant";
//   o.format = hashset::ExportFormat::kHashdeep;
//   std::ostringstream out;
//   CUSTOS_ASSIGN_OR_RETURN(TaggedExportStats s,
//                           WriteTaggedItems(*repo, o, out));
#ifndef CUSTOS_SRC_EXPORT_TAGGED_H_
#define CUSTOS_SRC_EXPORT_TAGGED_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "src/hashset/exporters.h"
#include "src/repo/repository.h"

namespace custos::export_ {

// `details.action` of the two tag events and the property values.
inline constexpr char kTagAction[] = "tag";
inline constexpr char kUntagAction[] = "untag";
inline constexpr char kTaggedValue[] = "tagged";
inline constexpr char kUntaggedValue[] = "untagged";

// 1..64 characters of [A-Za-z0-9._-], the first a letter or digit.
bool IsValidTagName(std::string_view name);
// The item property that indexes the latest state: "tag.<name>".
std::string TagPropertyKey(std::string_view name);

// The `analysed` event request that tags (or, with remove, untags) one item.
repo::EventRequest TagEventRequest(const std::string& item_id,
                                   const std::string& tag, bool remove);

struct TaggedItem {
  repo::ItemRecord item;
  uint64_t tag_event = 0;  // the event that gave the current state
  std::string name;        // exhibit, or exhibit/rel_path (raw bytes)
};

struct TagScan {
  bool ever_used = false;          // some event tagged or untagged NAME
  std::vector<TaggedItem> tagged;  // state "tag", ordered by name then id
  uint64_t tree_size = 0;          // log size scanned
};

// Rebuilds the items whose latest tag event for `tag` is a tag, from the
// signed events of the log (not from the property index); only items of
// `case_id` if it is not empty. kDataLoss if a candidate event's leaf does
// not match its hash or does not decode.
absl::StatusOr<TagScan> ScanTag(repo::Repository& repo, const std::string& tag,
                                const std::string& case_id);

struct TaggedExportOptions {
  std::string tag;
  std::string case_id;  // "" = every case
  hashset::ExportFormat format = hashset::ExportFormat::kHashdeep;
  std::string category = "0";  // VICS Category (whole number)
  std::string command_line;    // for the hashdeep header
};

struct SkippedItem {
  std::string item_id, exhibit, name, reason;
};

struct TaggedExportStats {
  std::vector<TaggedItem> written;  // in output order
  std::vector<SkippedItem> skipped;
  uint64_t tree_size = 0;
};

// Writes the list to `out`. kInvalidArgument for a bad tag name or category,
// kNotFound if no event ever used the tag, kDataLoss as ScanTag. On error
// `out` may hold a partial list; the caller discards it.
absl::StatusOr<TaggedExportStats> WriteTaggedItems(
    repo::Repository& repo, const TaggedExportOptions& options,
    std::ostream& out);

}  // namespace custos::export_

#endif  // CUSTOS_SRC_EXPORT_TAGGED_H_
