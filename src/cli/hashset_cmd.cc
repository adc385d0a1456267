// `custos hashset add|list|remove|export|lookup|compact` and
// `custos search --known-bad|--not-known-good`: known-file hash sets
// (issue 3; docs/formats/hashset.md, docs/cli.md "Known-file hash sets").
#include <fstream>
#include <memory>
#include <set>

#include "absl/strings/str_join.h"
#include "src/base/bytes.h"
#include "src/cli/commands.h"
#include "src/hashset/exporters.h"
#include "src/hashset/hashset.h"
#include "src/hashset/parsers.h"
#include "src/repo/known_files.h"

namespace custos::cli {
namespace {

using nlohmann::json;
namespace hs = custos::hashset;

json SetJson(const hs::SetInfo& s) {
  json runs = json::array();
  for (const auto& r : s.runs)
    runs.push_back({{"file", r.file},
                    {"algorithm", hs::AlgorithmName(r.algo)},
                    {"kind", r.tombstone ? "tombstone" : "add"},
                    {"count", r.count},
                    {"bytes", r.bytes}});
  return {
      {"name", s.name},
      {"meaning", hs::MeaningName(s.meaning)},
      {"category", s.category},
      {"source", s.source},
      {"version", s.version},
      {"format", s.format},
      {"imported", s.imported},
      {"updated", s.updated},
      {"counts",
       {{"md5", s.counts[0]}, {"sha1", s.counts[1]}, {"sha256", s.counts[2]}}},
      {"runs", runs}};
}

constexpr char kAddFooter[] =
    R"(Imports a known-file hash set into DIR/hashsets, streaming: the source is
never loaded whole (entries are sorted in bounded memory, --memory, and
merged from disk). The set becomes visible only when complete; a malformed
source (the error names the file and line, row or byte) leaves nothing.

Formats (--format, default auto = sniffed):
  nsrl-rds3  NIST NSRL RDSv3 SQLite (minimal or full): FILE sha256/sha1/md5
  rds2       NSRL RDS 2.x NSRLFile.txt (quoted CSV, "SHA-1","MD5",...)
  hashdeep   hashdeep known-file list (%%%% HASHDEEP-1.0)
  vics       Project VIC VICS JSON v1.3 / v2.0 (per-media Category and flags)
  plain      one MD5/SHA-1/SHA-256 hex digest per line, # comments

--meaning known-good sets items aside; known-bad alerts (WARNING on stderr,
an `analysed` event per match). In a known-bad VICS set, Category 0 (non-
pertinent) entries count as known-good. --delta adds to an existing set
(NSRL quarterly updates) without a rebuild; --remove-list FILE (any format)
removes digests. One signed `note` event records the import (actor: --actor,
default the authority) with the SHA-256 of the source file.

Items acquired later are checked automatically. Exit codes: 0 ok; 2
malformed source or usage; 3 file or set not found; 6 set exists (use
--delta); 7 corrupt database.)";

}  // namespace

void AddHashsetCommands(CLI::App& app, Commands& cmd) {
  Ctx& ctx = cmd.ctx;
  auto* hsc = app.add_subcommand(
      "hashset", "Known-file hash sets: NSRL, Project VIC, hashdeep, lists");
  hsc->require_subcommand(1);

  // add
  struct AddOpts {
    repo::HashSetImportRequest req;
    std::string format = "auto", meaning, remove_format = "auto";
    size_t memory_mib = 512;
  };
  auto ao = std::make_shared<AddOpts>();
  auto* add = hsc->add_subcommand("add", "Import a hash set (or a delta)");
  add->add_option("FILE", ao->req.path, "The hash-set file")->required();
  add->add_option("--name", ao->req.name, "Set name ([A-Za-z0-9._-])")
      ->required();
  add->add_option("--format", ao->format,
                  "nsrl-rds3, rds2, hashdeep, vics, plain or auto");
  add->add_option("--meaning", ao->meaning, "known-good or known-bad")
      ->required();
  add->add_option("--category", ao->req.category,
                  "Category of the set's entries (e.g. 1, malware)");
  add->add_option("--source", ao->req.source, "Where the set comes from");
  add->add_option("--set-version", ao->req.version,
                  "Version of the set (RDSv3: read from the database)");
  add->add_flag("--delta", ao->req.delta, "Add to an existing set");
  add->add_option("--remove-list", ao->req.remove_list,
                  "With --delta: a file of digests to remove");
  add->add_option("--remove-format", ao->remove_format,
                  "Format of --remove-list (default auto)");
  add->add_option("--actor", ao->req.actor,
                  "Person importing (default: the authority)");
  add->add_option("--memory", ao->memory_mib,
                  "MiB of sort buffers (default 512)");
  add->footer(kAddFooter);
  add->callback(cmd.Action([&ctx, ao]() -> absl::Status {
    auto f = hs::ParseFormat(ao->format);
    auto rf = hs::ParseFormat(ao->remove_format);
    if (!f || !rf)
      return absl::InvalidArgumentError(
          "--format: one of nsrl-rds3, rds2, hashdeep, vics, plain, auto");
    auto m = hs::ParseMeaning(ao->meaning);
    if (!m)
      return absl::InvalidArgumentError("--meaning: known-good or known-bad");
    ao->req.format = *f;
    ao->req.remove_format = *rf;
    ao->req.meaning = *m;
    ao->req.memory_budget = std::max<size_t>(ao->memory_mib, 1) << 20;
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    ProgressBar bar(ctx.err(), ctx.ShowProgress());
    ao->req.progress = [&](const std::string& stage, uint64_t done,
                           uint64_t total) {
      bar.Update(stage, done, total, stage == "reading" && total > 0);
    };
    CUSTOS_ASSIGN_OR_RETURN(auto res, r->ImportHashSet(ao->req));
    bar.Done();
    const hs::SetInfo& s = res.result.set;
    if (ctx.json_mode()) {
      json j = SetJson(s);
      j["event"] = res.event_seq;
      j["records"] = res.stats.records;
      j["entries"] = res.stats.entries;
      j["skipped"] = res.stats.skipped;
      j["added"] = res.result.added;
      j["removed"] = res.result.removed;
      j["source_sha256"] = res.source_sha256_hex;
      j["source_bytes"] = res.source_bytes;
      j["seconds"] = res.seconds;
      j["rows_per_second"] =
          res.seconds > 0 ? static_cast<double>(res.stats.records) / res.seconds
                          : 0.0;
      ctx.Emit(j);
    } else {
      ctx.out() << (ao->req.delta ? "Updated" : "Imported") << " hash set "
                << s.name << " (" << hs::MeaningName(s.meaning)
                << (s.category.empty() ? "" : ", category " + s.category)
                << ") from " << hs::FormatName(res.format) << ", event #"
                << res.event_seq << "\n  " << res.stats.records
                << " record(s) read, " << res.result.added << " added, "
                << res.result.removed << " removed in "
                << absl::StrFormat("%.1f", res.seconds) << " s\n  now md5 "
                << s.counts[0] << ", sha1 " << s.counts[1] << ", sha256 "
                << s.counts[2] << "\n  source sha256 " << res.source_sha256_hex
                << "\n";
    }
    return absl::OkStatus();
  }));

  // list
  auto* list = hsc->add_subcommand("list", "List the hash sets");
  list->footer("Name, meaning, category, counts per algorithm and runs.");
  list->callback(cmd.Action([&ctx]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto store, repo::OpenHashSets(r->dir()));
    json arr = json::array();
    for (const auto& s : store->sets()) {
      arr.push_back(SetJson(s));
      if (!ctx.json_mode())
        ctx.out() << absl::StrFormat(
            "%-24s %-10s %-8s md5 %-10d sha1 %-10d sha256 %-10d runs %d  %s "
            "%s\n",
            s.name, hs::MeaningName(s.meaning),
            s.category.empty() ? "-" : s.category, s.counts[0], s.counts[1],
            s.counts[2], s.runs.size(), s.source, s.version);
    }
    if (ctx.json_mode()) ctx.Emit(arr);
    return absl::OkStatus();
  }));

  // remove
  auto rm = std::make_shared<std::pair<std::string, std::string>>();
  auto* remove = hsc->add_subcommand("remove", "Remove a hash set");
  remove->add_option("NAME", rm->first, "Set name")->required();
  remove->add_option("--actor", rm->second,
                     "Person removing (default: the authority)");
  remove->footer(
      "Records one signed `note` event, then removes the set. Item\n"
      "properties recorded earlier stay (they are findings of their time).");
  remove->callback(cmd.Action([&ctx, rm]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(uint64_t seq,
                            r->RemoveHashSet(rm->first, rm->second));
    if (ctx.json_mode())
      ctx.Emit({{"removed", rm->first}, {"event", seq}});
    else
      ctx.out() << "Removed hash set " << rm->first << ", event #" << seq
                << "\n";
    return absl::OkStatus();
  }));

  // export
  struct ExportOpts {
    std::string name, format, output;
  };
  auto eo = std::make_shared<ExportOpts>();
  auto* exp = hsc->add_subcommand("export", "Write a set as hashdeep or VICS");
  exp->add_option("NAME", eo->name, "Set name")->required();
  exp->add_option("--format", eo->format, "hashdeep or vics")->required();
  exp->add_option("-o,--output", eo->output, "Output file (default stdout)");
  exp->footer(
      "hashdeep: %%%% HASHDEEP-1.0 with size,md5,sha1,sha256,filename "
      "columns,\n"
      "one line per digest. vics: a VICS v2.0 JSON envelope, one media object\n"
      "per digest with its Category (known-good sets: 0) and flags. Importing\n"
      "the export gives the same set (docs/formats/hashset.md).");
  exp->callback(cmd.Action([&ctx, eo]() -> absl::Status {
    hs::ExportFormat f;
    if (eo->format == "hashdeep")
      f = hs::ExportFormat::kHashdeep;
    else if (eo->format == "vics")
      f = hs::ExportFormat::kVics;
    else
      return absl::InvalidArgumentError("--format: hashdeep or vics");
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto store, repo::OpenHashSets(r->dir()));
    if (eo->output.empty())
      return hs::ExportSet(*store, eo->name, f, ctx.out());
    std::ofstream out(eo->output, std::ios::binary | std::ios::trunc);
    if (!out)
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write ", eo->output));
    CUSTOS_RETURN_IF_ERROR(hs::ExportSet(*store, eo->name, f, out));
    out.close();
    if (!out)
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot write ", eo->output));
    return absl::OkStatus();
  }));

  // lookup
  auto hashes = std::make_shared<std::vector<std::string>>();
  auto* lookup = hsc->add_subcommand("lookup", "Look digests up in all sets");
  lookup->add_option("HASH", *hashes, "MD5, SHA-1 or SHA-256 (hex)")
      ->required();
  lookup->footer(
      "Prints each set holding each digest with its meaning and category.\n"
      "Exit code 0 whether found or not; 2 for a malformed digest.");
  lookup->callback(cmd.Action([&ctx, hashes]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto store, repo::OpenHashSets(r->dir()));
    // All digests first (a malformed one fails before any output), then
    // the batched path per algorithm (Store::LookupBatch).
    std::vector<std::string> raws(hashes->size());
    for (size_t i = 0; i < hashes->size(); ++i)
      if (!hs::DecodeHexDigest((*hashes)[i], &raws[i]))
        return absl::InvalidArgumentError(
            absl::StrCat("\"", (*hashes)[i],
                         "\" is not an MD5, SHA-1 or SHA-256 hex digest"));
    if (store->PreloadPays(raws.size()))
      CUSTOS_RETURN_IF_ERROR(store->Preload());
    std::vector<std::vector<hs::Match>> found(raws.size());
    for (hs::Algorithm a : hs::kAlgorithms) {
      std::string digests;
      std::vector<size_t> owner;
      for (size_t i = 0; i < raws.size(); ++i)
        if (raws[i].size() == hs::DigestLength(a)) {
          digests += raws[i];
          owner.push_back(i);
        }
      if (owner.empty()) continue;
      std::vector<std::pair<size_t, hs::Match>> hits;
      store->LookupBatch(a, reinterpret_cast<const uint8_t*>(digests.data()),
                         owner.size(), &hits);
      for (auto& [i, m] : hits) found[owner[i]].push_back(std::move(m));
    }
    json arr = json::array();
    for (size_t i = 0; i < raws.size(); ++i) {
      const std::string& raw = raws[i];
      const std::vector<hs::Match>& m = found[i];
      hs::Algorithm algo = *hs::AlgorithmForLength(raw.size());
      json j = {{"hash", HexEncode(raw)},
                {"algorithm", hs::AlgorithmName(algo)},
                {"matches", json::array()}};
      for (const auto& x : m) {
        j["matches"].push_back({{"set", x.set},
                                {"meaning", hs::MeaningName(x.meaning)},
                                {"category", x.category},
                                {"flags", x.flags}});
        if (!ctx.json_mode())
          ctx.out() << HexEncode(raw) << "  " << x.set << "  "
                    << hs::MeaningName(x.meaning)
                    << (x.category.empty() ? "" : "  category " + x.category)
                    << (x.flags.empty() ? "" : "  " + x.flags) << "\n";
      }
      if (m.empty() && !ctx.json_mode())
        ctx.out() << HexEncode(raw) << "  not in any set\n";
      arr.push_back(std::move(j));
    }
    if (ctx.json_mode()) ctx.Emit(arr);
    return absl::OkStatus();
  }));

  // compact
  auto co = std::make_shared<std::pair<std::string, std::string>>();
  auto* compact =
      hsc->add_subcommand("compact", "Merge a set's delta and tombstone runs");
  compact->add_option("NAME", co->first,
                      "Set name (default: all that need it)");
  compact->add_option("--actor", co->second,
                      "Person compacting (default: the authority)");
  compact->footer(
      "Rewrites the runs of each set that has deltas or removals into one\n"
      "run per algorithm; lookups give the same answers. One `note` event.");
  compact->callback(cmd.Action([&ctx, co]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto done,
                            r->CompactHashSets(co->first, co->second));
    if (ctx.json_mode())
      ctx.Emit({{"compacted", done}});
    else
      ctx.out() << (done.empty() ? "Nothing to compact"
                                 : "Compacted " + absl::StrJoin(done, " "))
                << "\n";
    return absl::OkStatus();
  }));

  // search
  struct SearchOpts {
    bool known_bad = false, not_known_good = false;
    std::string case_id;
  };
  auto so = std::make_shared<SearchOpts>();
  auto* search = app.add_subcommand("search", "Find items that matter");
  search->add_flag("--known-bad", so->known_bad,
                   "Items matched by a known-bad hash set");
  search->add_flag("--not-known-good", so->not_known_good,
                   "File items that no known-good set holds");
  search->add_option("--case", so->case_id, "Only this case");
  search->footer(
      "Lists items by the hash-set findings recorded when they were acquired\n"
      "or extracted (item properties hashset.known_bad / hashset.known_good).\n"
      "Exit code 0 (also when nothing is found).");
  search->callback(cmd.Action([&ctx, so]() -> absl::Status {
    if (so->known_bad == so->not_known_good)
      return absl::InvalidArgumentError(
          "give one of --known-bad or --not-known-good");
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    json arr = json::array();
    auto emit = [&](const repo::ItemRecord& it, const std::string& finding) {
      json j = ItemJson(it);
      if (!finding.empty()) j["known_bad"] = finding;
      arr.push_back(j);
      if (!ctx.json_mode())
        ctx.out() << it.id << "  " << it.exhibit << "  "
                  << (it.rel_path.empty() ? EscapeBytes(it.source)
                                          : EscapeBytes(it.rel_path))
                  << (finding.empty() ? "" : "  " + finding) << "\n";
    };
    if (so->known_bad) {
      CUSTOS_ASSIGN_OR_RETURN(
          auto ids, r->meta().FindItemsByProperty("hashset.known_bad", "%"));
      for (const auto& id : ids) {
        CUSTOS_ASSIGN_OR_RETURN(auto it, r->meta().FindItem(id));
        if (!it || (!so->case_id.empty() && it->case_id != so->case_id))
          continue;
        CUSTOS_ASSIGN_OR_RETURN(auto props, r->meta().ItemProperties(id));
        std::string finding;
        for (const auto& [k, v] : props)
          if (k == "hashset.known_bad") finding = v;
        emit(*it, finding);
      }
    } else {
      CUSTOS_ASSIGN_OR_RETURN(
          auto good, r->meta().FindItemsByProperty("hashset.known_good", "%"));
      std::set<std::string> set_aside(good.begin(), good.end());
      CUSTOS_RETURN_IF_ERROR(r->meta().ForEachItem(
          so->case_id, true, [&](const repo::ItemRecord& it) -> absl::Status {
            if (it.kind != "file" || set_aside.count(it.id))
              return absl::OkStatus();
            emit(it, "");
            return absl::OkStatus();
          }));
    }
    if (ctx.json_mode()) ctx.Emit(arr);
    return absl::OkStatus();
  }));
}

}  // namespace custos::cli
