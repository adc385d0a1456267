// `custos tag`: an examiner tags (or untags) items. Each item whose state
// changes gets one signed `analysed` event with details {"action": "tag" |
// "untag", "tag": NAME}; the item property tag.NAME indexes the latest state
// for `custos items --property` (docs/formats/event.md "Tags"). Exports of
// tagged items: `custos export hashdeep|vics --tag NAME` (export_cmd.cc).
#include <set>

#include "src/base/bytes.h"
#include "src/cli/commands.h"
#include "src/export/tagged.h"

namespace custos::cli {
namespace {

using nlohmann::json;

std::string DisplayName(const repo::ItemRecord& it) {
  return it.rel_path.empty()
             ? it.exhibit
             : absl::StrCat(it.exhibit, "/", EscapeBytes(it.rel_path));
}

}  // namespace

void AddTagCommands(CLI::App& app, Commands& cmd) {
  Ctx& ctx = cmd.ctx;
  struct TagOpts {
    std::vector<std::string> items;
    std::string tag, actor, case_id, note, purpose;
    bool remove = false;
  };
  auto to = std::make_shared<TagOpts>();
  auto* tag = app.add_subcommand(
      "tag", "Tag items (or remove a tag): a signed analysis act per item");
  tag->add_option("ITEM", to->items, "Item id, id prefix or exhibit number")
      ->required();
  tag->add_option("--tag", to->tag,
                  "Tag name: 1-64 of A-Z a-z 0-9 . _ - (first a letter or "
                  "digit)")
      ->required();
  tag->add_option("--actor", to->actor, "Person tagging (id or name)")
      ->required();
  tag->add_option("--case", to->case_id, "Case (default: the item's case)");
  tag->add_option("--note", to->note, "Why (free text, signed)");
  tag->add_option("--purpose", to->purpose, "Purpose or legal basis");
  tag->add_flag("--remove", to->remove, "Remove the tag instead");
  tag->footer(
      "Each item whose state changes gets one signed 'analysed' event with\n"
      "details {\"action\":\"tag\"|\"untag\",\"tag\":NAME}, all in one batch; "
      "items already\n"
      "in that state are listed as unchanged and get no event. Removal is its "
      "own event:\n"
      "the log keeps every change. The property tag.NAME (tagged|untagged) "
      "holds the\n"
      "latest state for search:\n"
      "  custos items --property tag.NAME=tagged\n"
      "Export the tagged items: custos export hashdeep|vics --tag NAME.\n"
      "Exit codes: 0 recorded (or nothing to change); 2 bad tag name; 3 "
      "unknown item,\nactor or case (nothing is recorded); see `custos "
      "--help` for the rest.");
  tag->callback(cmd.Action([&ctx, to]() -> absl::Status {
    if (!export_::IsValidTagName(to->tag))
      return absl::InvalidArgumentError(absl::StrCat(
          "--tag \"", to->tag,
          "\": a tag name is 1-64 of A-Z a-z 0-9 . _ - starting with a "
          "letter or digit"));
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    const std::string key = export_::TagPropertyKey(to->tag);
    std::vector<repo::ItemRecord> change, unchanged;
    std::set<std::string> seen;
    // Resolve every item before recording anything: an unknown item fails
    // the whole command with nothing committed.
    for (const auto& k : to->items) {
      CUSTOS_ASSIGN_OR_RETURN(auto item, r->meta().FindItem(k));
      if (!item)
        return absl::NotFoundError(absl::StrCat("no item \"", k, "\""));
      if (!seen.insert(item->id).second) continue;
      CUSTOS_ASSIGN_OR_RETURN(auto props, r->meta().ItemProperties(item->id));
      bool tagged = false;
      for (const auto& [pk, pv] : props)
        if (pk == key) tagged = pv == export_::kTaggedValue;
      if (tagged == !to->remove)
        unchanged.push_back(std::move(*item));
      else
        change.push_back(std::move(*item));
    }
    std::vector<repo::EventRequest> reqs;
    for (const auto& it : change) {
      repo::EventRequest q =
          export_::TagEventRequest(it.id, to->tag, to->remove);
      q.actor = to->actor;
      q.case_id = to->case_id;
      q.note = to->note;
      q.purpose = to->purpose;
      reqs.push_back(std::move(q));
    }
    std::vector<repo::EventRecord> recs;
    if (!reqs.empty()) {
      CUSTOS_ASSIGN_OR_RETURN(recs, r->AddEvents(reqs));
    } else if (!to->case_id.empty()) {
      // Nothing to record, but a wrong --case is still an error.
      CUSTOS_ASSIGN_OR_RETURN(auto c, r->meta().FindCase(to->case_id));
      if (!c)
        return absl::NotFoundError(
            absl::StrCat("unknown case \"", to->case_id, "\""));
    }
    const char* action =
        to->remove ? export_::kUntagAction : export_::kTagAction;
    if (ctx.json_mode()) {
      json events = json::array(), same = json::array();
      for (size_t i = 0; i < change.size() && i < recs.size(); ++i)
        events.push_back({{"event", recs[i].seq},
                          {"item", change[i].id},
                          {"exhibit", change[i].exhibit},
                          {"name", DisplayName(change[i])}});
      for (const auto& it : unchanged)
        same.push_back({{"item", it.id},
                        {"exhibit", it.exhibit},
                        {"name", DisplayName(it)}});
      ctx.Emit({{"tag", to->tag},
                {"action", action},
                {"property", key},
                {"events", events},
                {"unchanged", same}});
      return absl::OkStatus();
    }
    for (size_t i = 0; i < change.size() && i < recs.size(); ++i)
      ctx.out() << (to->remove ? "Untagged " : "Tagged ")
                << DisplayName(change[i]) << " (item " << change[i].id << ") "
                << to->tag << ": event #" << recs[i].seq << "\n";
    for (const auto& it : unchanged)
      ctx.out() << DisplayName(it) << " (item " << it.id << ") "
                << (to->remove ? "was not tagged " : "is already tagged ")
                << to->tag << ": nothing recorded\n";
    return absl::OkStatus();
  }));
}

}  // namespace custos::cli
