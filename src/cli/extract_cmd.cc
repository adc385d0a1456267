// `custos extract ITEM`: walks the volume system and file systems of an
// acquired disk image with libtsk and records every file (allocated, deleted,
// orphan) as a derived item, with one signed `extracted` event committing to
// a manifest. Repository side: src/repo/extract.cc; format:
// docs/formats/extraction.md.
#include <chrono>

#include "src/base/bytes.h"
#include "src/cli/commands.h"
#include "src/repo/extract.h"

namespace custos::cli {
namespace {

using nlohmann::json;

constexpr char kFooter[] =
    R"(Opens the media stream of ITEM (a raw/dd image acquired as a file or device,
a split raw image, or an E01 image), finds its partition table (DOS/MBR, GPT,
BSD, Sun, Mac) or a bare file system, and walks every file system libtsk
knows (FAT12/16/32, exFAT, NTFS, ext2/3/4, HFS+, ISO 9660, UFS, YAFFS2, APFS)
recursively, deleted names and orphan files included.

Every regular file becomes a derived item whose parent is ITEM: its content is
stored in the vault (identical content once), hashed with SHA-256, MD5 and
SHA-1, and recorded with its provenance (partition, file system, inode, path),
MAC(B) times at the file system's resolution, allocation status
(allocated / deleted / orphan) and byte runs. Names are kept as raw bytes
(shown escaped). Content that cannot be recovered (reused or cleared
metadata, unreadable sectors) is recorded as such, never zero-filled.

Every file read completely is identified by content as acquisition does:
libmagic's MIME type (signed in the manifest line, media_type; searchable
with `custos items --type 'image/%'`) and the EXIF tags of photographs
(item properties: `custos items --property exif.Make=Canon`). libmagic costs
up to a few ms per file, run on helper threads; --no-identify skips it.

The run is ONE signed 'extracted' event that commits to a manifest blob with
one line per entry (docs/formats/extraction.md); a reviewer re-runs the
extraction and compares manifests.

Partitions are numbered p1, p2, ... among the allocated entries of the
partition table, in table order (--partition N selects pN).

Exit codes:
  0   extracted
  2   usage error (bad --partition, wrong --case)
  3   no such item, actor, or partition
  6   the item is not an image (a directory acquisition)
  7   no partition table and no file system recognised (nothing committed)
  8   PARTIAL: committed, but some volume could not be opened or walked
      completely (listed in the output and in the event)
)";

json VolumeOut(const extract::VolumeInfo& v) {
  json j = {{"label", v.label},
            {"offset", v.offset},
            {"length", v.length},
            {"slot", v.slot},
            {"entries", v.entries},
            {"files", v.files},
            {"status", v.error.empty() ? "ok" : "error"}};
  if (!v.description.empty()) j["description"] = EscapeBytes(v.description);
  if (!v.fs_type.empty()) j["fs_type"] = v.fs_type;
  if (!v.error.empty()) j["error"] = EscapeBytes(v.error);
  return j;
}

}  // namespace

void AddExtractCommands(CLI::App& app, Commands& cmd) {
  auto req = std::make_shared<repo::ExtractRequest>();
  auto no_content = std::make_shared<bool>(false);
  auto no_identify = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand(
      "extract", "Extract the files of a disk image (libtsk) as derived items");
  sub->add_option("ITEM", req->item, "Image item: id, id prefix or exhibit")
      ->required();
  sub->add_option("--actor", req->actor, "Person extracting (id or name)")
      ->required();
  sub->add_option("--case", req->case_id,
                  "Case (checked: must be the item's case)");
  sub->add_option("--partition", req->partition,
                  "Only partition pN (1-based among allocated partitions)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--no-content", *no_content,
                "Hash files but do not store their content in the vault");
  sub->add_flag("--include-deleted,!--no-deleted", req->include_deleted,
                "Include deleted names and orphan files (default on)");
  sub->add_flag("--no-identify", *no_identify,
                "Do not identify file types (libmagic, EXIF): faster");
  sub->add_flag("--describe", req->describe,
                "Also record libmagic's description (file.description; a "
                "second libmagic call per file)");
  sub->add_option("--note", req->note, "Free text recorded in the event");
  sub->add_option("--purpose", req->purpose, "Purpose or legal basis");
  sub->footer(kFooter);
  Ctx& ctx = cmd.ctx;
  int* exit_code = cmd.exit_code;
  sub->callback(cmd.Action([&ctx, req, no_content, no_identify,
                            exit_code]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    req->content = !*no_content;
    req->identify = !*no_identify;
    ProgressBar bar(ctx.err(), ctx.ShowProgress());
    req->progress = [&](const repo::ExtractProgress& p) {
      bar.Update(absl::StrCat("extracting (", p.entries, " entries)"), p.bytes,
                 0, true);
    };
    auto t0 = std::chrono::steady_clock::now();
    CUSTOS_ASSIGN_OR_RETURN(repo::ExtractResult res, r->Extract(*req));
    bar.Done();
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    if (res.partial) *exit_code = repo::kExitPartial;
    if (ctx.json_mode()) {
      json vols = json::array();
      for (const auto& v : res.volumes) vols.push_back(VolumeOut(v));
      json out = repo::ExtractCountsJson(res);
      out.update({{"source", ItemJson(res.source)},
                  {"event", res.event_seq},
                  {"manifest", res.manifest_hex},
                  {"libtsk_version", res.libtsk_version},
                  {"volume_system", res.volume_system},
                  {"volumes", vols},
                  {"identified", res.identified},
                  {"known_bad", res.known_bad},
                  {"known_good", res.known_good},
                  {"known_files_error", res.known_files_error},
                  {"seconds", secs},
                  {"files_per_second", secs > 0 ? res.files / secs : 0.0}});
      ctx.Emit(out);
      return absl::OkStatus();
    }
    std::ostream& out = ctx.out();
    out << (res.partial ? "PARTIAL extraction of " : "Extracted ")
        << res.source.exhibit << " (item " << res.source.id << "), event #"
        << res.event_seq << "\n  volume system: " << res.volume_system
        << "; libtsk " << res.libtsk_version << "\n";
    for (const auto& v : res.volumes) {
      out << "  " << v.label << ": offset " << v.offset << ", "
          << HumanBytes(static_cast<double>(v.length));
      if (!v.description.empty()) out << ", " << EscapeBytes(v.description);
      if (!v.fs_type.empty()) out << ", " << v.fs_type;
      out << ": " << v.files << " file(s)";
      if (!v.error.empty()) out << "\n    ERROR: " << EscapeBytes(v.error);
      out << "\n";
    }
    out << "  " << res.files << " file(s) (" << res.allocated << " allocated, "
        << res.deleted << " deleted, " << res.orphan << " orphan), "
        << res.directories << " directories, "
        << HumanBytes(static_cast<double>(res.bytes)) << "\n  " << res.new_blobs
        << " new blob(s), " << res.deduplicated
        << " already in the vault; manifest " << res.manifest_hex << "\n";
    if (res.unreadable > 0)
      out << "  " << res.unreadable
          << " file(s) with unreadable content (listed in the manifest)\n";
    for (const auto& e : res.errors) out << "  ERROR: " << e << "\n";
    if (res.known_bad > 0)
      out << "  KNOWN-BAD: " << res.known_bad
          << " file(s) match a known-bad hash set (see `custos search "
             "--known-bad`)\n";
    if (!res.known_files_error.empty())
      out << "  hash-set check failed: " << res.known_files_error << "\n";
    if (res.partial)
      out << "  PARTIAL: some volumes could not be read completely (exit 8)\n";
    return absl::OkStatus();
  }));
}

}  // namespace custos::cli
