#include "src/export/tagged.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "src/base/status_macros.h"
#include "src/custody/merkle.h"
#include "src/repo/event.h"

namespace custos::export_ {

using nlohmann::json;

bool IsValidTagName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-')
      return false;
  return true;
}

std::string TagPropertyKey(std::string_view name) {
  return absl::StrCat("tag.", std::string(name));
}

repo::EventRequest TagEventRequest(const std::string& item_id,
                                   const std::string& tag, bool remove) {
  repo::EventRequest r;
  r.type = "analysed";
  r.items = {item_id};
  r.details = {{"action", remove ? kUntagAction : kTagAction}, {"tag", tag}};
  r.item_properties = {
      {TagPropertyKey(tag), remove ? kUntaggedValue : kTaggedValue}};
  return r;
}

absl::StatusOr<TagScan> ScanTag(repo::Repository& repo, const std::string& tag,
                                const std::string& case_id) {
  if (!IsValidTagName(tag))
    return absl::InvalidArgumentError(
        absl::StrCat("\"", tag,
                     "\" is not a tag name (1-64 of A-Z a-z 0-9 . _ -, "
                     "starting with a letter or digit)"));
  TagScan scan;
  CUSTOS_ASSIGN_OR_RETURN(auto cp, repo.meta().LatestCheckpoint());
  scan.tree_size = cp ? cp->size : 0;
  // Canonical JSON writes the member exactly like this (no blanks; the name
  // needs no escaping), so a substring test skips the other events cheaply;
  // candidates are decoded and checked.
  const std::string needle = absl::StrCat("\"tag\":\"", tag, "\"");
  std::map<std::string, std::pair<bool, uint64_t>> state;  // id -> tagged, seq
  CUSTOS_RETURN_IF_ERROR(repo.meta().ForEachEvent(
      0, scan.tree_size, [&](const repo::EventRecord& rec) -> absl::Status {
        if (rec.type != "analysed" ||
            rec.leaf.find(needle) == std::string::npos)
          return absl::OkStatus();
        if (custody::LeafHash(rec.leaf) != rec.leaf_hash)
          return absl::DataLossError(
              absl::StrCat("event #", rec.seq,
                           " does not match its leaf hash; run `custos "
                           "verify`"));
        auto ev = repo::DecodeEvent(rec.leaf);
        if (!ev.ok())
          return absl::DataLossError(absl::StrCat(
              "event #", rec.seq, " does not decode: ", ev.status().message()));
        const json& d = ev->details;
        if (!d.is_object()) return absl::OkStatus();
        auto a = d.find("action");
        auto t = d.find("tag");
        if (a == d.end() || t == d.end() || !a->is_string() ||
            !t->is_string() || t->get<std::string>() != tag)
          return absl::OkStatus();
        std::string action = a->get<std::string>();
        if (action != kTagAction && action != kUntagAction)
          return absl::OkStatus();
        scan.ever_used = true;
        for (const auto& it : ev->items)
          state[it.id] = {action == kTagAction, rec.seq};
        return absl::OkStatus();
      }));
  for (const auto& [id, st] : state) {
    if (!st.first) continue;
    CUSTOS_ASSIGN_OR_RETURN(auto item, repo.meta().FindItem(id));
    if (!item)
      return absl::DataLossError(absl::StrCat(
          "item ", id, " of event #", st.second, " is not in the repository"));
    if (!case_id.empty() && item->case_id != case_id) continue;
    TaggedItem t;
    t.tag_event = st.second;
    t.name = item->rel_path.empty()
                 ? item->exhibit
                 : absl::StrCat(item->exhibit, "/", item->rel_path);
    t.item = std::move(*item);
    scan.tagged.push_back(std::move(t));
  }
  std::sort(scan.tagged.begin(), scan.tagged.end(),
            [](const TaggedItem& a, const TaggedItem& b) {
              return a.name != b.name ? a.name < b.name : a.item.id < b.item.id;
            });
  return scan;
}

absl::StatusOr<TaggedExportStats> WriteTaggedItems(
    repo::Repository& repo, const TaggedExportOptions& options,
    std::ostream& out) {
  const std::string& cat = options.category;
  if (cat.empty() || cat.size() > 9 ||
      cat.find_first_not_of("0123456789") != std::string::npos)
    return absl::InvalidArgumentError(absl::StrCat(
        "--category \"", cat, "\" is not a VICS category (a whole number)"));
  if (!options.case_id.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(auto c, repo.meta().FindCase(options.case_id));
    if (!c)
      return absl::NotFoundError(
          absl::StrCat("unknown case \"", options.case_id, "\""));
  }
  CUSTOS_ASSIGN_OR_RETURN(TagScan scan,
                          ScanTag(repo, options.tag, options.case_id));
  if (!scan.ever_used)
    return absl::NotFoundError(
        absl::StrCat("no item was ever tagged \"", options.tag, "\""));
  TaggedExportStats stats;
  stats.tree_size = scan.tree_size;
  for (auto& t : scan.tagged) {
    std::string reason;
    if (t.item.kind == "directory" || t.item.kind == "ewf_image")
      reason = absl::StrCat(t.item.kind,
                            ": its SHA-256 is of custos's manifest, not of "
                            "content");
    else if (!t.item.error.empty())
      reason = absl::StrCat("content not read: ", t.item.error);
    else if (t.item.sha256.size() != 32)
      reason = "no SHA-256 recorded";
    if (!reason.empty()) {
      stats.skipped.push_back(
          {t.item.id, t.item.exhibit, t.name, std::move(reason)});
      continue;
    }
    stats.written.push_back(std::move(t));
  }
  bool vics = options.format == hashset::ExportFormat::kVics;
  hashset::RecordGenerator gen =
      [&](const std::function<absl::Status(const hashset::ExportRecord&)>& emit)
      -> absl::Status {
    for (const auto& t : stats.written) {
      hashset::ExportRecord r;
      r.size = t.item.size;
      r.md5 = t.item.md5;
      r.sha1 = t.item.sha1;
      r.sha256 = t.item.sha256;
      r.name = t.name;
      r.category = cat;
      if (vics) r.file_path = t.name;
      CUSTOS_RETURN_IF_ERROR(emit(r));
    }
    return absl::OkStatus();
  };
  if (vics) {
    CUSTOS_RETURN_IF_ERROR(hashset::WriteVics(gen, out));
  } else {
    std::vector<std::string> comments;
    if (!options.command_line.empty()) comments.push_back(options.command_line);
    comments.push_back(
        absl::StrCat("log ", repo.origin(), " tree_size ", stats.tree_size));
    comments.push_back(absl::StrCat("tag ", options.tag, ": ",
                                    stats.written.size(), " item(s)"));
    CUSTOS_RETURN_IF_ERROR(hashset::WriteHashdeep(gen, comments, out));
  }
  return stats;
}

}  // namespace custos::export_
