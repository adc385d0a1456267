// `custos export dfxml|case|hashdeep|vics` and `custos audit`: read-only
// commands that hand the repository's records to the field's tools (DFXML,
// CASE/UCO JSON-LD, hashdeep and VICS lists of tagged items) and
// compare files on disk with the recorded hashes (hashdeep's audit mode).
// Formats: docs/formats/exports.md.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_join.h"
#include "src/base/bytes.h"
#include "src/base/clock.h"
#include "src/cli/commands.h"
#include "src/crypto/hash.h"
#include "src/export/audit.h"
#include "src/export/case_uco.h"
#include "src/export/dfxml.h"
#include "src/export/tagged.h"
#include "src/repo/event.h"

namespace custos::cli {
namespace {

using nlohmann::json;

constexpr char kVersion[] = "0.1.0";

// Writes `data` to `path` through a temporary file and rename, so that a
// failed export leaves no partial file; "" or "-" = stdout.
absl::Status WriteOutput(Ctx& ctx, const std::string& path,
                         const std::string& data) {
  if (path.empty() || path == "-") {
    ctx.out() << data;
    return absl::OkStatus();
  }
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << data;
    if (!f.flush()) {
      std::remove(tmp.c_str());
      return absl::PermissionDeniedError(absl::StrCat("cannot write ", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace

void AddExportCommands(CLI::App& app, Commands& cmd) {
  Ctx& ctx = cmd.ctx;
  auto* exp = app.add_subcommand(
      "export",
      "Export records as DFXML, CASE/UCO JSON-LD, or tagged items as "
      "hashdeep/VICS (read-only)");
  exp->require_subcommand(1);

  // export dfxml
  struct DfxmlArgs {
    std::string item, case_id, out;
  };
  auto da = std::make_shared<DfxmlArgs>();
  auto* dfxml = exp->add_subcommand(
      "dfxml", "Digital Forensics XML of an exhibit or a whole case");
  dfxml->add_option("ITEM", da->item,
                    "Top-level item: id, id prefix or exhibit number");
  dfxml->add_option("--case", da->case_id, "Every exhibit of this case");
  dfxml->add_option("-o,--output", da->out, "Write to FILE (default: stdout)");
  dfxml->footer(
      "Writes DFXML 2.0.0-beta.0 (valid against dfxml.xsd; see "
      "tests/data/dfxml/):\n"
      "one <fileobject> per entry of a directory acquisition's manifest, per "
      "file\n"
      "extracted from an image (inside <diskimageobject>/<volume>, with inode,"
      "\n"
      "allocation flags and byte runs), and per single-file exhibit; filename, "
      "size,\n"
      "MAC(B) times, mode, owner and MD5/SHA-1/SHA-256 as recorded. Names that "
      "are not\n"
      "valid XML text are shown escaped, with the raw bytes in "
      "custos:raw_b64.\n"
      "Manifests are re-hashed before use. Writes nothing to the repository.\n"
      "Exit codes: 0 written; 3 unknown item or case; 7 a manifest does not "
      "match its\nhash; see `custos --help` for the rest.");
  dfxml->callback(cmd.Action([&ctx, da]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    export_::DfxmlOptions o;
    o.item = da->item;
    o.case_id = da->case_id;
    o.program_version = kVersion;
    o.command_line = absl::StrCat(
        "custos export dfxml", da->item.empty() ? "" : " " + da->item,
        da->case_id.empty() ? "" : " --case " + da->case_id);
    o.start_time = repo::FormatEventTime(RealClock().Now());
    ProgressBar bar(ctx.err(), ctx.ShowProgress());
    o.progress = [&](uint64_t d, uint64_t t) {
      bar.Update("exporting", d, t, false);
    };
    std::ostringstream xml;
    CUSTOS_ASSIGN_OR_RETURN(auto stats, export_::WriteDfxml(*r, o, xml));
    bar.Done();
    CUSTOS_RETURN_IF_ERROR(WriteOutput(ctx, da->out, xml.str()));
    bool to_stdout = da->out.empty() || da->out == "-";
    if (ctx.json_mode() && !to_stdout)
      ctx.Emit({{"output", da->out},
                {"items", stats.items},
                {"fileobjects", stats.fileobjects},
                {"volumes", stats.volumes},
                {"tree_size", stats.tree_size}});
    else if (!to_stdout)
      ctx.out() << "Wrote DFXML of " << stats.items << " exhibit(s), "
                << stats.fileobjects << " file object(s) to " << da->out
                << " (log size " << stats.tree_size << ")\n";
    return absl::OkStatus();
  }));

  // export case
  struct CaseArgs {
    std::string case_id, out;
  };
  auto ca = std::make_shared<CaseArgs>();
  auto* kase = exp->add_subcommand(
      "case", "CASE/UCO 1.4.0 JSON-LD of a case and its chain of custody");
  kase->add_option("--case", ca->case_id, "The case")->required();
  kase->add_option("-o,--output", ca->out, "Write to FILE (default: stdout)");
  kase->footer(
      "The case as a case-investigation:Investigation; every item as a\n"
      "uco-observable:File or Directory with FileFacet and ContentDataFacet "
      "hashes\n"
      "(SHA256, MD5, SHA1 as recorded) and Contained_Within relations; every "
      "custody\n"
      "event of the case as an InvestigativeAction (performer with role, "
      "instrument,\n"
      "object, result, time, and the event's log index and leaf hash as "
      "external\n"
      "references); ProvenanceRecords chained as custody passes. Conforms to "
      "the\n"
      "CASE 1.4.0 SHACL shapes (../shared/tools/case-validate). IRIs are "
      "stable across\n"
      "exports. Writes nothing to the repository.\n"
      "Exit codes: 0 written; 3 unknown case; 7 an event does not decode.");
  kase->callback(cmd.Action([&ctx, ca]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    export_::CaseExportOptions o;
    o.case_id = ca->case_id;
    o.tool_version = kVersion;
    ProgressBar bar(ctx.err(), ctx.ShowProgress());
    o.progress = [&](uint64_t d, uint64_t t) {
      bar.Update("scanning the log", d, t, false);
    };
    export_::CaseExportStats stats;
    CUSTOS_ASSIGN_OR_RETURN(auto doc, export_::ExportCase(*r, o, &stats));
    bar.Done();
    CUSTOS_RETURN_IF_ERROR(WriteOutput(ctx, ca->out, doc.dump(2) + "\n"));
    bool to_stdout = ca->out.empty() || ca->out == "-";
    if (ctx.json_mode() && !to_stdout)
      ctx.Emit({{"output", ca->out},
                {"actions", stats.actions},
                {"observables", stats.observables},
                {"provenance_records", stats.provenance_records},
                {"tree_size", stats.tree_size}});
    else if (!to_stdout)
      ctx.out() << "Wrote CASE/UCO JSON-LD of " << ca->case_id << ": "
                << stats.actions << " action(s), " << stats.observables
                << " observable(s), " << stats.provenance_records
                << " provenance record(s) to " << ca->out << "\n";
    return absl::OkStatus();
  }));

  // export hashdeep|vics --tag NAME
  struct TaggedArgs {
    std::string tag, case_id, category = "0", out;
  };
  for (const char* fmt : {"hashdeep", "vics"}) {
    bool vics = std::string_view(fmt) == "vics";
    auto ta = std::make_shared<TaggedArgs>();
    auto* sub = exp->add_subcommand(
        fmt, vics ? "Project VIC VICS JSON of the items tagged NAME"
                  : "hashdeep known-file list of the items tagged NAME");
    sub->add_option("--tag", ta->tag, "The tag (see `custos tag`)")->required();
    sub->add_option("--case", ta->case_id, "Only items of this case");
    if (vics)
      sub->add_option("--category", ta->category,
                      "VICS Category of every item (whole number, default 0 "
                      "= not categorised)");
    sub->add_option("-o,--output", ta->out, "Write to FILE (default: stdout)");
    sub->footer(
        std::string(
            vics ? "A VICS v2.0 JSON envelope, one media object per item: "
                   "MediaID, Category,\n"
                   "MD5/SHA1 (as recorded), SHA256 (uppercase hex), "
                   "MediaSize, MediaFiles (name).\n"
                 : "%%%% HASHDEEP-1.0 with size,md5,sha1,sha256,filename, "
                   "one line per item (MD5\n"
                   "and SHA-1 where recorded; the name is EXHIBIT or "
                   "EXHIBIT/PATH).\n") +
        "The items are those whose latest tag event for NAME in the signed "
        "log is a tag;\n"
        "items without a content hash (directories, E01 image items, "
        "unread files) are\n"
        "skipped and reported. `custos hashset add FILE --format " +
        fmt +
        "` imports it back.\n"
        "Writes nothing to the repository (record a hand-over with `custos "
        "event add\n"
        "--type exported`; --json prints the file's SHA-256).\n"
        "Exit codes: 0 written; 2 bad tag name or category; 3 the tag was "
        "never used or\nunknown case; 7 a tag event does not match its "
        "hash.");
    sub->callback(cmd.Action([&ctx, ta, vics, fmt]() -> absl::Status {
      CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
      export_::TaggedExportOptions o;
      o.tag = ta->tag;
      o.case_id = ta->case_id;
      o.category = ta->category;
      o.format = vics ? hashset::ExportFormat::kVics
                      : hashset::ExportFormat::kHashdeep;
      o.command_line =
          absl::StrCat("custos export ", fmt, " --tag ", ta->tag,
                       ta->case_id.empty() ? "" : " --case " + ta->case_id);
      std::ostringstream data;
      CUSTOS_ASSIGN_OR_RETURN(auto stats,
                              export_::WriteTaggedItems(*r, o, data));
      std::string bytes = data.str();
      CUSTOS_RETURN_IF_ERROR(WriteOutput(ctx, ta->out, bytes));
      bool to_stdout = ta->out.empty() || ta->out == "-";
      std::string sha = HexH(crypto::Sha256(bytes));
      if (ctx.json_mode() && !to_stdout) {
        json items = json::array(), skipped = json::array();
        for (const auto& t : stats.written)
          items.push_back({{"item", t.item.id},
                           {"exhibit", t.item.exhibit},
                           {"name", EscapeBytes(t.name)},
                           {"sha256", Hex(t.item.sha256)},
                           {"tag_event", t.tag_event}});
        for (const auto& k : stats.skipped)
          skipped.push_back({{"item", k.item_id},
                             {"exhibit", k.exhibit},
                             {"name", EscapeBytes(k.name)},
                             {"reason", k.reason}});
        ctx.Emit({{"output", ta->out},
                  {"format", fmt},
                  {"tag", ta->tag},
                  {"records", stats.written.size()},
                  {"items", items},
                  {"skipped", skipped},
                  {"sha256", sha},
                  {"bytes", bytes.size()},
                  {"tree_size", stats.tree_size}});
        return absl::OkStatus();
      }
      for (const auto& k : stats.skipped)
        ctx.err() << "skipped " << EscapeBytes(k.name) << " (item " << k.item_id
                  << "): " << k.reason << "\n";
      if (!to_stdout)
        ctx.out() << "Wrote " << fmt << " list of " << stats.written.size()
                  << " item(s) tagged " << ta->tag << " to " << ta->out
                  << " (sha256 " << sha << ", log size " << stats.tree_size
                  << ")\n";
      return absl::OkStatus();
    }));
  }

  // audit
  struct AuditArgs {
    std::string path, item, case_id;
  };
  auto aa = std::make_shared<AuditArgs>();
  auto* audit = app.add_subcommand(
      "audit", "Compare a directory or image with the recorded hashes");
  audit->add_option("PATH", aa->path, "Directory or file (e.g. a raw image)")
      ->required();
  audit->add_option("--item", aa->item,
                    "The acquisition to compare with (default: the latest "
                    "whose source is PATH)");
  audit->add_option("--case", aa->case_id,
                    "Only items of this case count as known");
  audit->footer(
      "Like hashdeep's audit mode, with the repository as the known set. "
      "Every regular\n"
      "file under PATH (symlinks not followed) is hashed (SHA-256) and is:\n"
      "  matched     same path and same hash as recorded\n"
      "  changed     the path is recorded with another hash\n"
      "  moved       the hash is recorded under another path (or item)\n"
      "  new         neither path nor hash is recorded\n"
      "  unreadable  could not be read\n"
      "and every recorded path not found is missing. Read-only: records no "
      "event.\n"
      "Exit codes: 0 all matched and nothing missing; 1 differences found; 3 "
      "PATH,\nitem or case not found; see `custos --help` for the rest.");
  int* exit_code = cmd.exit_code;
  audit->callback(cmd.Action([&ctx, aa, exit_code]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    export_::AuditOptions o;
    o.path = aa->path;
    o.item = aa->item;
    o.case_id = aa->case_id;
    ProgressBar bar(ctx.err(), ctx.ShowProgress());
    o.progress = [&](uint64_t d, uint64_t t) {
      bar.Update("auditing", d, t, true);
    };
    CUSTOS_ASSIGN_OR_RETURN(auto rep, export_::Audit(*r, o));
    bar.Done();
    if (ctx.json_mode()) {
      json entries = json::array(), missing = json::array();
      for (const auto& e : rep.entries) {
        json j = {{"path", EscapeBytes(e.path)},
                  {"path_b64", Base64Encode(e.path)},
                  {"status", export_::AuditStatusName(e.status)},
                  {"size", e.size}};
        if (!e.sha256.empty()) j["sha256"] = Hex(e.sha256);
        if (!e.recorded_sha256.empty())
          j["recorded_sha256"] = Hex(e.recorded_sha256);
        if (!e.item_id.empty()) j["item"] = e.item_id;
        if (!e.error.empty()) j["error"] = e.error;
        if (!e.known_as.empty()) {
          json k = json::array();
          for (const auto& a : e.known_as)
            k.push_back({{"item", a.item_id},
                         {"exhibit", a.exhibit},
                         {"path", EscapeBytes(a.path)}});
          j["known_as"] = k;
        }
        entries.push_back(j);
      }
      for (const auto& m : rep.missing)
        missing.push_back({{"path", EscapeBytes(m.rel_path)},
                           {"path_b64", Base64Encode(m.rel_path)},
                           {"exhibit", m.exhibit},
                           {"item", m.id},
                           {"sha256", Hex(m.sha256)}});
      json ref = nullptr;
      if (rep.reference)
        ref = {{"item", rep.reference->id},
               {"exhibit", rep.reference->exhibit},
               {"case", rep.reference->case_id},
               {"acquired_event", rep.reference->acquired_seq}};
      ctx.Emit({{"root", EscapeBytes(rep.root)},
                {"reference", ref},
                {"ok", rep.ok()},
                {"counts",
                 {{"matched", rep.matched},
                  {"changed", rep.changed},
                  {"moved", rep.moved},
                  {"new", rep.fresh},
                  {"unreadable", rep.unreadable},
                  {"missing", rep.missing.size()},
                  {"files", rep.entries.size()},
                  {"bytes", rep.bytes}}},
                {"entries", entries},
                {"missing", missing}});
    } else {
      if (rep.reference)
        ctx.out() << "Auditing " << EscapeBytes(rep.root) << " against "
                  << rep.reference->exhibit << " (item " << rep.reference->id
                  << ", acquired in event #" << rep.reference->acquired_seq
                  << ")\n";
      else
        ctx.out() << "Auditing " << EscapeBytes(rep.root)
                  << ": no acquisition of this path is recorded; comparing "
                     "by hash only\n";
      for (const auto& e : rep.entries) {
        if (e.status == export_::AuditStatus::kMatched) continue;
        ctx.out() << absl::StrFormat("%-10s %s",
                                     export_::AuditStatusName(e.status),
                                     EscapeBytes(e.path));
        if (!e.known_as.empty())
          ctx.out() << "  (recorded as " << e.known_as[0].exhibit << ":"
                    << EscapeBytes(e.known_as[0].path)
                    << (e.known_as.size() > 1 ? ", ..." : "") << ")";
        if (!e.error.empty()) ctx.out() << "  (" << e.error << ")";
        ctx.out() << "\n";
      }
      for (const auto& m : rep.missing)
        ctx.out() << absl::StrFormat(
            "%-10s %s\n", "missing",
            m.rel_path.empty() ? "(the file itself)" : EscapeBytes(m.rel_path));
      ctx.out() << (rep.ok() ? "OK" : "DIFFERENCES") << ": " << rep.matched
                << " matched, " << rep.changed << " changed, " << rep.moved
                << " moved, " << rep.fresh << " new, " << rep.unreadable
                << " unreadable, " << rep.missing.size() << " missing ("
                << HumanBytes(static_cast<double>(rep.bytes)) << " hashed)\n";
    }
    if (!rep.ok()) *exit_code = repo::kExitVerifyFailed;
    return absl::OkStatus();
  }));
}

}  // namespace custos::cli
