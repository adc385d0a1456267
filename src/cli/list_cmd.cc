// `custos list ...`, `custos match`, `custos finding ...` and
// `custos thumbnail`: image hash lists, known-image matching and the
// protection of the people who look (issue 4; docs/formats/hash-lists.md).
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_join.h"
#include "src/base/bytes.h"
#include "src/cli/commands.h"
#include "src/crypto/hash.h"
#include "src/image/thumbnail.h"
#include "src/lists/list_format.h"
#include "src/lists/list_store.h"
#include "src/phash/pdq.h"
#include "src/repo/event.h"

namespace custos::cli {
namespace {

using nlohmann::json;

constexpr char kAlgorithmVersion[] =
    "pdq-1.0 (ThreatExchange reference hashing, bit-exact)";
constexpr char kToolVersion[] = "0.1.0";

std::string Now(Ctx& ctx) {
  return repo::FormatEventTime(ctx.env().repo.clock->Now());
}

// Records pending removals (a crash between removing and recording) and
// discards entries of imports that were never recorded.
absl::Status Reconcile(repo::Repository& r, lists::ListStore& store,
                       const std::string& actor) {
  CUSTOS_ASSIGN_OR_RETURN(uint64_t discarded, store.DiscardUnrecorded());
  (void)discarded;
  CUSTOS_ASSIGN_OR_RETURN(auto pending, store.PendingRemovals());
  if (pending.empty()) return absl::OkStatus();
  std::map<std::string, std::vector<int64_t>> by_list;
  for (const auto& e : pending) by_list[e.list_name].push_back(e.id);
  for (const auto& [list, ids] : by_list) {
    for (size_t i = 0; i < ids.size(); i += 1000) {
      std::vector<int64_t> chunk(
          ids.begin() + static_cast<std::ptrdiff_t>(i),
          ids.begin() +
              static_cast<std::ptrdiff_t>(std::min(ids.size(), i + 1000)));
      repo::EventRequest ev;
      ev.type = "list_entries_removed";
      ev.actor = actor;
      ev.details = {{"list", list},
                    {"entries", chunk},
                    {"reason", "removal recorded after an interruption"}};
      CUSTOS_ASSIGN_OR_RETURN(auto recs, r.AddEvents({ev}));
      CUSTOS_RETURN_IF_ERROR(store.MarkRemovalRecorded(chunk, recs[0].seq));
    }
  }
  return absl::OkStatus();
}

// Removes entries and records the removal as signed events (1000 ids per
// event). Returns the seqs of the events.
absl::StatusOr<std::vector<uint64_t>> RemoveAndRecord(
    repo::Repository& r, lists::ListStore& store, const std::string& list,
    const std::vector<int64_t>& ids, const std::string& actor,
    const std::string& reason, bool whole_list) {
  std::vector<uint64_t> seqs;
  if (!whole_list) CUSTOS_RETURN_IF_ERROR(store.RemoveEntries(ids));
  for (size_t i = 0; i < ids.size() || (i == 0 && whole_list); i += 1000) {
    std::vector<int64_t> chunk(
        ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), i)),
        ids.begin() +
            static_cast<std::ptrdiff_t>(std::min(ids.size(), i + 1000)));
    repo::EventRequest ev;
    ev.type = "list_entries_removed";
    ev.actor = actor;
    ev.details = {{"list", list}, {"entries", chunk}, {"reason", reason}};
    if (whole_list) ev.details["whole_list"] = true;
    CUSTOS_ASSIGN_OR_RETURN(auto recs, r.AddEvents({ev}));
    CUSTOS_RETURN_IF_ERROR(store.MarkRemovalRecorded(chunk, recs[0].seq));
    seqs.push_back(recs[0].seq);
    if (ids.empty()) break;
  }
  return seqs;
}

json EntryJson(const lists::StoredEntry& e) {
  json j = {{"entry", e.id},
            {"list", e.list_name},
            {"meaning", e.list_meaning},
            {"kind", lists::HashKindName(e.entry.kind)},
            {"hash", HexEncode(e.entry.hash)}};
  if (!e.entry.category.empty()) j["category"] = e.entry.category;
  if (!e.entry.source.empty()) j["source"] = e.entry.source;
  if (e.entry.confidence >= 0) j["confidence"] = e.entry.confidence;
  if (e.entry.quality >= 0) j["quality"] = e.entry.quality;
  if (!e.entry.added.empty()) j["added"] = e.entry.added;
  return j;
}

match::Code CodeOf(const phash::PdqHash& h) {
  std::string raw = *HexDecode(h.ToHex());
  match::Code c{};
  std::copy(raw.begin(), raw.end(), c.begin());
  return c;
}

// One image (or non-image) under examination.
struct Subject {
  std::string label;  // exhibit/path shown to people
  std::string item_id;
  std::string path;               // directory mode
  std::string sha256, md5, sha1;  // raw
  std::string status;             // hashed, not_image, error
  std::string error;
  std::string format;
  int quality = -1;
  std::string pdq_hex;
  std::vector<match::Code> codes;  // 1 or 8 (dihedral)
  json findings = json::array();
};

// Reads, hashes and PDQ-hashes subjects on `threads` threads.
void HashSubjects(
    std::vector<Subject>& subjects, bool dihedral, int threads,
    const std::function<absl::StatusOr<std::string>(const Subject&)>& read,
    const std::function<void(uint64_t)>& progress) {
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> done{0};
  std::mutex progress_mu;
  auto worker = [&] {
    phash::PdqHasher hasher;
    while (true) {
      size_t i = next.fetch_add(1);
      if (i >= subjects.size()) break;
      Subject& s = subjects[i];
      auto bytes = read(s);
      if (!bytes.ok()) {
        s.status = "error";
        s.error = std::string(bytes.status().message());
      } else {
        if (s.sha256.empty()) {
          crypto::MultiHasher h(crypto::kSha256 | crypto::kMd5 | crypto::kSha1,
                                /*parallel=*/false);
          h.Update(*bytes);
          auto d = h.Finish();
          s.sha256 = d.sha256;
          s.md5 = d.md5;
          s.sha1 = d.sha1;
        }
        image::ImageFormat f = image::SniffImageFormat(*bytes);
        if (f == image::ImageFormat::kUnknown) {
          s.status = "not_image";
        } else {
          s.format = image::ImageFormatName(f);
          auto img = image::DecodeImage(*bytes);
          if (!img.ok()) {
            s.status = "error";
            s.error = std::string(img.status().message());
          } else if (dihedral) {
            auto r = hasher.HashDihedral(*img);
            s.quality = r.quality;
            s.pdq_hex = r.hashes[0].ToHex();
            for (const auto& h : r.hashes) s.codes.push_back(CodeOf(h));
            s.status = "hashed";
          } else {
            auto r = hasher.Hash(*img);
            s.quality = r.quality;
            s.pdq_hex = r.hash.ToHex();
            s.codes.push_back(CodeOf(r.hash));
            s.status = "hashed";
          }
        }
      }
      uint64_t d = done.fetch_add(1) + 1;
      std::lock_guard<std::mutex> l(progress_mu);
      progress(d);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

struct MatchOptions {
  int radius = 31;
  int min_quality = 50;
  bool dihedral = false;
  int threads = 2;
  std::set<std::string> lists;  // empty = all
};

// Fills subjects[].findings from exact and PDQ matches.
absl::Status FindMatches(lists::ListStore& store, std::vector<Subject>& subs,
                         const MatchOptions& o) {
  auto wanted = [&](const lists::StoredEntry& e) {
    return o.lists.empty() || o.lists.count(e.list_name) > 0;
  };
  for (auto& s : subs) {
    for (auto [kind, raw] : {std::pair{lists::HashKind::kSha256, &s.sha256},
                             std::pair{lists::HashKind::kMd5, &s.md5},
                             std::pair{lists::HashKind::kSha1, &s.sha1}}) {
      if (raw->empty()) continue;
      CUSTOS_ASSIGN_OR_RETURN(auto hits, store.MatchExact(kind, *raw));
      for (const auto& e : hits) {
        if (!wanted(e)) continue;
        json f = EntryJson(e);
        f["distance"] = 0;
        f["match"] = "exact";
        s.findings.push_back(f);
      }
    }
  }
  std::vector<match::Code> queries;
  std::vector<std::pair<size_t, int>> owner;  // subject, transform
  for (size_t i = 0; i < subs.size(); ++i) {
    if (subs[i].codes.empty() || subs[i].quality < o.min_quality) continue;
    for (size_t t = 0; t < subs[i].codes.size(); ++t) {
      queries.push_back(subs[i].codes[t]);
      owner.emplace_back(i, static_cast<int>(t));
    }
  }
  if (queries.empty()) return absl::OkStatus();
  CUSTOS_ASSIGN_OR_RETURN(auto hits,
                          store.MatchPdq(queries, o.radius, o.threads));
  // Per subject and entry, the closest transform.
  std::map<std::pair<size_t, int64_t>, std::pair<int, int>> best;
  std::map<int64_t, lists::StoredEntry> entries;
  for (const auto& h : hits) {
    if (!wanted(h.entry)) continue;
    auto [subject, transform] = owner[h.query];
    auto key = std::make_pair(subject, h.entry.id);
    auto it = best.find(key);
    if (it == best.end() || h.distance < it->second.first)
      best[key] = {h.distance, transform};
    entries.emplace(h.entry.id, h.entry);
  }
  for (const auto& [key, v] : best) {
    json f = EntryJson(entries.at(key.second));
    f["distance"] = v.first;
    f["match"] = "pdq";
    f["transform"] =
        phash::DihedralName(static_cast<phash::Dihedral>(v.second));
    subs[key.first].findings.push_back(f);
  }
  for (auto& s : subs) {
    std::stable_sort(
        s.findings.begin(), s.findings.end(), [](const json& a, const json& b) {
          return a["distance"].get<int>() < b["distance"].get<int>();
        });
  }
  return absl::OkStatus();
}

json SubjectJson(const Subject& s) {
  json j = {{"status", s.status}};
  if (!s.item_id.empty()) j["item"] = s.item_id;
  j["label"] = s.label;
  if (!s.sha256.empty()) j["sha256"] = HexEncode(s.sha256);
  if (!s.format.empty()) j["format"] = s.format;
  if (!s.pdq_hex.empty()) {
    j["pdq"] = s.pdq_hex;
    j["quality"] = s.quality;
  }
  if (!s.error.empty()) j["error"] = s.error;
  j["findings"] = s.findings;
  return j;
}

absl::StatusOr<std::vector<repo::ItemRecord>> ItemsToMatch(
    repo::Repository& r, const std::vector<std::string>& keys,
    const std::string& case_id) {
  std::vector<repo::ItemRecord> out;
  std::set<std::string> seen;
  auto add = [&](const repo::ItemRecord& it) {
    if (it.sha256.empty() || !it.error.empty() || it.kind == "directory")
      return;
    if (seen.insert(it.id).second) out.push_back(it);
  };
  std::function<absl::Status(const repo::ItemRecord&)> add_tree =
      [&](const repo::ItemRecord& it) -> absl::Status {
    add(it);
    CUSTOS_ASSIGN_OR_RETURN(auto kids, r.meta().ChildrenOf(it.id));
    for (const auto& k : kids) CUSTOS_RETURN_IF_ERROR(add_tree(k));
    return absl::OkStatus();
  };
  for (const auto& k : keys) {
    CUSTOS_ASSIGN_OR_RETURN(auto it, r.meta().FindItem(k));
    if (!it) return absl::NotFoundError(absl::StrCat("no item \"", k, "\""));
    CUSTOS_RETURN_IF_ERROR(add_tree(*it));
  }
  if (!case_id.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(auto c, r.meta().FindCase(case_id));
    if (!c)
      return absl::NotFoundError(
          absl::StrCat("unknown case \"", case_id, "\""));
    CUSTOS_RETURN_IF_ERROR(r.meta().ForEachItem(
        case_id, /*children=*/true, [&](const repo::ItemRecord& it) {
          add(it);
          return absl::OkStatus();
        }));
  }
  return out;
}

}  // namespace

void AddListCommands(CLI::App& app, Commands& cmd) {
  Ctx& ctx = cmd.ctx;
  auto* list = app.add_subcommand(
      "list", "Image hash lists: import, show, export, remove entries");
  list->require_subcommand(1);
  list->footer(
      "Hash lists hold PDQ perceptual hashes and exact hashes (SHA-256, MD5, "
      "SHA-1) of\n"
      "known images, each entry with category, source, confidence and date "
      "added. Each\n"
      "list has a meaning: illegal-international (baseline), "
      "illegal-national,\n"
      "known-good, or watch. Imports and removals are signed custody events; "
      "entries\n"
      "are never deleted, only marked removed. See "
      "docs/formats/hash-lists.md.");

  // list import
  struct ImportOpts {
    std::string file, name, format = "custos", kind, meaning, source,
                            description, actor;
  };
  auto io = std::make_shared<ImportOpts>();
  auto* imp = list->add_subcommand("import", "Import a hash list file");
  imp->add_option("FILE", io->file, "List file")->required();
  imp->add_option("--name", io->name, "List name (created if new)")->required();
  imp->add_option("--format", io->format,
                  "te-dataset | te-state | plain | custos (default custos)");
  imp->add_option("--kind", io->kind,
                  "plain lists: kind of 64-digit hashes (pdq | sha256)");
  imp->add_option("--meaning", io->meaning,
                  "illegal-international | illegal-national | known-good | "
                  "watch (new lists)");
  imp->add_option("--source", io->source, "Who supplied the list");
  imp->add_option("--description", io->description, "Description");
  imp->add_option("--actor", io->actor, "Person importing (id or name)")
      ->required();
  imp->footer(
      "Formats: te-dataset (python-threatexchange dataset CSV: "
      "signal_type,signal_str,\n"
      "collab,category,tags), te-state (headerless "
      "indicator,first_descriptor_id,added_on,\n"
      "labels), plain (one hash per line; 64-digit hashes need --kind), "
      "custos (what\n"
      "`custos list export` writes). A malformed line stops the import "
      "(file:line: reason)\n"
      "and nothing is imported. The file is stored in the vault and one "
      "signed\n"
      "list_imported event records it.");
  imp->callback(cmd.Action([&ctx, io]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto format, lists::ParseListFormat(io->format));
    lists::ParseOptions po{format, std::nullopt};
    if (!io->kind.empty()) {
      po.plain_kind = lists::ParseHashKind(io->kind);
      if (!po.plain_kind || (*po.plain_kind != lists::HashKind::kPdq &&
                             *po.plain_kind != lists::HashKind::kSha256))
        return absl::InvalidArgumentError("--kind must be pdq or sha256");
    }
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto store, lists::ListStore::Open(r->dir(), true));
    CUSTOS_RETURN_IF_ERROR(Reconcile(*r, *store, io->actor));
    CUSTOS_ASSIGN_OR_RETURN(auto existing, store->FindList(io->name));
    lists::ListInfo info;
    info.name = io->name;
    if (existing) {
      info = *existing;
      if (!io->meaning.empty() && io->meaning != existing->meaning)
        return absl::FailedPreconditionError(absl::StrCat(
            "list \"", io->name, "\" already has meaning ", existing->meaning));
    } else {
      if (!lists::IsKnownMeaning(io->meaning))
        return absl::InvalidArgumentError(
            "a new list needs --meaning illegal-international | "
            "illegal-national | known-good | watch");
      info.meaning = io->meaning;
      info.source = io->source;
      info.description = io->description;
    }
    // Store the list file in the vault (the exact list used is preserved).
    std::ifstream in(io->file, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", io->file));
    CUSTOS_ASSIGN_OR_RETURN(auto writer, r->blobs().NewWriter());
    {
      std::string buf(1 << 20, '\0');
      while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (in.gcount() > 0)
          CUSTOS_RETURN_IF_ERROR(writer->Append(
              std::string_view(buf.data(), static_cast<size_t>(in.gcount()))));
      }
    }
    CUSTOS_ASSIGN_OR_RETURN(auto blob, writer->Commit());
    lists::ParseStats stats;
    std::ifstream in2(io->file, std::ios::binary);
    auto result = store->Import(
        info, Now(ctx),
        [&](const std::function<absl::Status(const lists::ListEntry&)>& add)
            -> absl::Status {
          auto st = lists::ParseList(in2, po, add);
          if (!st.ok())
            return absl::Status(
                st.status().code(),
                absl::StrCat(io->file, ": ", st.status().message()));
          stats = *st;
          return absl::OkStatus();
        });
    if (!result.ok()) return result.status();
    repo::EventRequest ev;
    ev.type = "list_imported";
    ev.actor = io->actor;
    ev.details = {{"list", info.name},
                  {"meaning", info.meaning},
                  {"format", io->format},
                  {"file_sha256", HexEncode(blob.digests.sha256)},
                  {"entries", result->entries},
                  {"pdq", result->pdq},
                  {"exact", result->exact},
                  {"duplicates", result->duplicates},
                  {"skipped", stats.skipped}};
    if (!info.source.empty()) ev.details["source"] = info.source;
    CUSTOS_ASSIGN_OR_RETURN(auto recs, r->AddEvents({ev}));
    CUSTOS_RETURN_IF_ERROR(
        store->MarkImportRecorded(result->list_id, recs[0].seq));
    json j = {{"list", info.name},
              {"entries", result->entries},
              {"pdq", result->pdq},
              {"exact", result->exact},
              {"duplicates", result->duplicates},
              {"skipped", stats.skipped},
              {"event", recs[0].seq},
              {"file_sha256", HexEncode(blob.digests.sha256)}};
    if (ctx.json_mode()) {
      ctx.Emit(j);
    } else {
      ctx.out() << "Imported " << result->entries << " entries into list "
                << info.name << " (" << result->pdq << " PDQ, " << result->exact
                << " exact; " << result->duplicates << " already present, "
                << stats.skipped << " of other signal types skipped)\n  event #"
                << recs[0].seq << "\n";
    }
    return absl::OkStatus();
  }));

  // list show
  auto show_name = std::make_shared<std::string>();
  auto* show = list->add_subcommand("show", "Show the lists (or one list)");
  show->add_option("NAME", *show_name, "List name");
  show->callback(cmd.Action([&ctx, show_name]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    auto store = lists::ListStore::Open(r->dir(), false);
    std::vector<lists::ListInfo> all;
    if (store.ok()) {
      CUSTOS_ASSIGN_OR_RETURN(all, (*store)->Lists());
    } else if (!absl::IsNotFound(store.status())) {
      return store.status();
    }
    json arr = json::array();
    bool found = show_name->empty();
    for (const auto& l : all) {
      if (!show_name->empty() && l.name != *show_name) continue;
      found = true;
      arr.push_back({{"name", l.name},
                     {"meaning", l.meaning},
                     {"source", l.source},
                     {"description", l.description},
                     {"created", l.created},
                     {"removed", l.removed},
                     {"live", l.live},
                     {"pdq", l.pdq},
                     {"exact", l.exact},
                     {"removed_entries", l.removed_entries},
                     {"removal_not_recorded", l.pending}});
      if (!ctx.json_mode()) {
        ctx.out() << absl::StrFormat(
            "%-24s %-22s %9d live (%d PDQ, %d exact), %d removed%s\n", l.name,
            l.meaning, l.live, l.pdq, l.exact, l.removed_entries,
            l.removed ? "  [list removed]" : "");
        if (l.pending)
          ctx.out() << "  " << l.pending
                    << " removal(s) not yet recorded: the next list "
                       "command records them\n";
      }
    }
    if (!found)
      return absl::NotFoundError(absl::StrCat("no list \"", *show_name, "\""));
    if (ctx.json_mode()) ctx.Emit(arr);
    return absl::OkStatus();
  }));

  // list export
  struct ExportOpts {
    std::string name, output;
  };
  auto eo = std::make_shared<ExportOpts>();
  auto* exp = list->add_subcommand(
      "export", "Export a list's live entries (custos CSV; re-importable)");
  exp->add_option("NAME", eo->name, "List name")->required();
  exp->add_option("-o,--output", eo->output, "Output file (default stdout)");
  exp->callback(cmd.Action([&ctx, eo]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto store,
                            lists::ListStore::Open(r->dir(), false));
    CUSTOS_ASSIGN_OR_RETURN(auto l, store->FindList(eo->name));
    if (!l)
      return absl::NotFoundError(absl::StrCat("no list \"", eo->name, "\""));
    std::ofstream file;
    std::ostream* out = &ctx.out();
    if (!eo->output.empty()) {
      file.open(eo->output, std::ios::binary | std::ios::trunc);
      if (!file)
        return absl::PermissionDeniedError(
            absl::StrCat("cannot write ", eo->output));
      out = &file;
    }
    *out << lists::CustosCsvHeader();
    uint64_t n = 0;
    CUSTOS_RETURN_IF_ERROR(
        store->ForEachEntry(eo->name, [&](const lists::StoredEntry& e) {
          *out << lists::CustosCsvLine(e.entry);
          ++n;
          return absl::OkStatus();
        }));
    out->flush();
    if (!*out) return absl::ResourceExhaustedError("write failed (disk full?)");
    if (!eo->output.empty()) {
      if (ctx.json_mode())
        ctx.Emit({{"list", eo->name}, {"entries", n}, {"file", eo->output}});
      else
        ctx.out() << "Exported " << n << " entries of " << eo->name << " to "
                  << eo->output << "\n";
    }
    return absl::OkStatus();
  }));

  // list remove
  struct RemoveOpts {
    std::string name, kind, actor, reason;
    std::vector<std::string> hashes;
    std::vector<int64_t> ids;
  };
  auto ro = std::make_shared<RemoveOpts>();
  auto* rm = list->add_subcommand(
      "remove", "Remove entries (or a whole list); the removal is recorded");
  rm->add_option("NAME", ro->name, "List name")->required();
  rm->add_option("HASH", ro->hashes, "Hashes to remove (hex)");
  rm->add_option("--entry", ro->ids, "Entry ids to remove");
  rm->add_option("--kind", ro->kind,
                 "Kind of 64-digit hashes: pdq | sha256 (default pdq)");
  rm->add_option("--actor", ro->actor, "Person removing (id or name)")
      ->required();
  rm->add_option("--reason", ro->reason, "Why (recorded)")->required();
  rm->footer(
      "With no HASH and no --entry, the whole list is removed. Entries are "
      "never deleted:\n"
      "they are marked removed, tombstoned in the match index, and a signed\n"
      "list_entries_removed event names them (at most 1000 per event).");
  rm->callback(cmd.Action([&ctx, ro]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto store, lists::ListStore::Open(r->dir(), true));
    CUSTOS_RETURN_IF_ERROR(Reconcile(*r, *store, ro->actor));
    CUSTOS_ASSIGN_OR_RETURN(auto l, store->FindList(ro->name));
    if (!l || l->removed)
      return absl::NotFoundError(absl::StrCat("no list \"", ro->name, "\""));
    bool whole = ro->hashes.empty() && ro->ids.empty();
    std::vector<int64_t> ids;
    if (whole) {
      CUSTOS_ASSIGN_OR_RETURN(ids, store->RemoveList(ro->name));
    } else {
      for (int64_t id : ro->ids) {
        CUSTOS_ASSIGN_OR_RETURN(auto e, store->GetEntry(id));
        if (!e || e->list_name != ro->name || e->removed_seq != -1)
          return absl::NotFoundError(absl::StrCat(
              "no live entry ", id, " in list \"", ro->name, "\""));
        ids.push_back(id);
      }
      for (const auto& hex : ro->hashes) {
        auto raw = HexDecode(hex);
        std::optional<lists::HashKind> kind;
        if (raw && raw->size() == 16) kind = lists::HashKind::kMd5;
        if (raw && raw->size() == 20) kind = lists::HashKind::kSha1;
        if (raw && raw->size() == 32)
          kind = ro->kind == "sha256" ? lists::HashKind::kSha256
                                      : lists::HashKind::kPdq;
        if (!kind)
          return absl::InvalidArgumentError(
              absl::StrCat("\"", hex, "\" is not a hash"));
        CUSTOS_ASSIGN_OR_RETURN(auto found,
                                store->FindEntries(ro->name, *kind, *raw));
        if (found.empty())
          return absl::NotFoundError(absl::StrCat(
              "no live entry ", hex, " in list \"", ro->name, "\""));
        for (const auto& e : found) ids.push_back(e.id);
      }
    }
    CUSTOS_ASSIGN_OR_RETURN(
        auto seqs, RemoveAndRecord(*r, *store, ro->name, ids, ro->actor,
                                   ro->reason, whole));
    if (ctx.json_mode())
      ctx.Emit({{"list", ro->name},
                {"removed", ids},
                {"whole_list", whole},
                {"events", seqs}});
    else
      ctx.out() << "Removed " << ids.size() << " entr"
                << (ids.size() == 1 ? "y" : "ies") << " from " << ro->name
                << (whole ? " (the whole list)" : "") << "; recorded in event"
                << (seqs.size() == 1 ? " #" : "s #")
                << absl::StrJoin(seqs, ", #") << "\n";
    return absl::OkStatus();
  }));

  // match
  struct MatchCli {
    std::vector<std::string> items;
    std::string case_id, dir, actor;
    std::vector<std::string> lists;
    MatchOptions o;
    bool no_record = false;
  };
  auto mo = std::make_shared<MatchCli>();
  auto* m = app.add_subcommand(
      "match", "Match images against the hash lists (PDQ and exact hashes)");
  m->add_option("ITEM", mo->items, "Items to match (directories: their files)");
  m->add_option("--case", mo->case_id, "Match every item of a case");
  m->add_option("--dir", mo->dir,
                "Triage a plain directory (nothing is recorded)");
  m->add_option("--actor", mo->actor,
                "Person running the analysis (records findings)");
  m->add_option("--list", mo->lists, "Only these lists (default all)");
  m->add_option("--radius", mo->o.radius,
                "Largest PDQ Hamming distance that matches (default 31)")
      ->check(CLI::Range(0, 256));
  m->add_option("--min-quality", mo->o.min_quality,
                "Ignore PDQ hashes of lower quality (default 50)")
      ->check(CLI::Range(0, 100));
  m->add_flag("--dihedral", mo->o.dihedral,
              "Also match the 8 rotations/mirrorings of each image");
  m->add_option("--threads", mo->o.threads, "Threads (default 2)")
      ->check(CLI::Range(1, 64));
  m->add_flag("--no-record", mo->no_record,
              "Do not record findings as custody events");
  m->footer(
      "Every image is decoded (JPEG, PNG, WebP, GIF first frame, BMP, TIFF) "
      "and hashed\n"
      "with PDQ; its PDQ hash is matched within --radius against every live "
      "list entry\n"
      "(exact search), and its SHA-256/MD5/SHA-1 against the lists' exact "
      "hashes. For\n"
      "repository items, each item with findings gets one signed 'analysed' "
      "event naming\n"
      "list, entry, distance, quality, algorithm and version (needs "
      "--actor); confirm or\n"
      "reject a finding with `custos finding confirm|reject`. Exit 0 whether "
      "or not\n"
      "anything matched; per-image errors are reported and the run "
      "continues.");
  m->callback(cmd.Action([&ctx, mo]() -> absl::Status {
    if (mo->items.empty() && mo->case_id.empty() && mo->dir.empty())
      return absl::InvalidArgumentError(
          "name items, a --case or a --dir to match");
    if (!mo->dir.empty() && (!mo->items.empty() || !mo->case_id.empty()))
      return absl::InvalidArgumentError(
          "--dir cannot be combined with items or --case");
    bool record = mo->dir.empty() && !mo->no_record;
    if (record && mo->actor.empty())
      return absl::InvalidArgumentError(
          "--actor is required to record findings (or --no-record)");
    mo->o.lists.insert(mo->lists.begin(), mo->lists.end());
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto store,
                            lists::ListStore::Open(r->dir(), false));
    for (const auto& name : mo->lists) {
      CUSTOS_ASSIGN_OR_RETURN(auto l, store->FindList(name));
      if (!l)
        return absl::NotFoundError(absl::StrCat("no list \"", name, "\""));
    }
    std::vector<Subject> subs;
    std::vector<repo::ItemRecord> items;
    if (!mo->dir.empty()) {
      std::error_code ec;
      if (!std::filesystem::is_directory(mo->dir, ec))
        return absl::NotFoundError(
            absl::StrCat(mo->dir, " is not a directory"));
      for (auto it = std::filesystem::recursive_directory_iterator(
               mo->dir,
               std::filesystem::directory_options::skip_permission_denied, ec);
           it != std::filesystem::recursive_directory_iterator();
           it.increment(ec)) {
        if (ec) break;
        if (!it->is_regular_file(ec)) continue;
        Subject s;
        s.path = it->path().string();
        s.label = EscapeBytes(s.path);
        subs.push_back(std::move(s));
      }
      std::sort(
          subs.begin(), subs.end(),
          [](const Subject& a, const Subject& b) { return a.path < b.path; });
    } else {
      CUSTOS_ASSIGN_OR_RETURN(items, ItemsToMatch(*r, mo->items, mo->case_id));
      for (const auto& it : items) {
        Subject s;
        s.item_id = it.id;
        s.label = it.rel_path.empty()
                      ? it.exhibit
                      : absl::StrCat(it.exhibit, " ", EscapeBytes(it.rel_path));
        s.sha256 = it.sha256;
        s.md5 = it.md5;
        s.sha1 = it.sha1;
        subs.push_back(std::move(s));
      }
    }
    ProgressBar bar(ctx.err(), ctx.ShowProgress());
    std::mutex blob_mu;
    auto t0 = std::chrono::steady_clock::now();
    HashSubjects(
        subs, mo->o.dihedral, mo->o.threads,
        [&](const Subject& s) -> absl::StatusOr<std::string> {
          if (!s.path.empty()) {
            std::ifstream f(s.path, std::ios::binary);
            if (!f) return absl::PermissionDeniedError("cannot read");
            f.seekg(0, std::ios::end);
            auto size = f.tellg();
            if (size > (512 << 20))
              return absl::ResourceExhaustedError("larger than 512 MiB");
            f.seekg(0);
            std::string data(static_cast<size_t>(size), '\0');
            f.read(data.data(), size);
            if (!f) return absl::DataLossError("read error");
            return data;
          }
          // Sniff first; only images are read whole (and re-hashed).
          std::lock_guard<std::mutex> l(blob_mu);
          CUSTOS_ASSIGN_OR_RETURN(auto file, r->blobs().Open(s.sha256));
          char head[64];
          CUSTOS_ASSIGN_OR_RETURN(size_t n, file->Read(0, sizeof head, head));
          if (image::SniffImageFormat(std::string_view(head, n)) ==
              image::ImageFormat::kUnknown)
            return std::string(head, n);
          return r->blobs().ReadVerified(s.sha256);
        },
        [&](uint64_t done) {
          bar.Update("hashing", done, subs.size(), false);
        });
    bar.Done();
    CUSTOS_RETURN_IF_ERROR(FindMatches(*store, subs, mo->o));
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    // Record findings.
    std::vector<repo::EventRequest> evs;
    std::vector<size_t> ev_subject;
    for (size_t i = 0; i < subs.size(); ++i) {
      const Subject& s = subs[i];
      if (!record || s.findings.empty() || s.item_id.empty()) continue;
      repo::EventRequest ev;
      ev.type = "analysed";
      ev.actor = mo->actor;
      ev.items = {s.item_id};
      ev.purpose = "known-image matching";
      json query = {{"sha256", HexEncode(s.sha256)}};
      if (!s.pdq_hex.empty()) {
        query["pdq"] = s.pdq_hex;
        query["quality"] = s.quality;
      }
      ev.details = {{"analysis", "hash_match"},
                    {"tool", "custos"},
                    {"tool_version", kToolVersion},
                    {"algorithm", "pdq"},
                    {"algorithm_version", kAlgorithmVersion},
                    {"radius", mo->o.radius},
                    {"min_quality", mo->o.min_quality},
                    {"dihedral", mo->o.dihedral},
                    {"query", query},
                    {"findings", s.findings}};
      evs.push_back(std::move(ev));
      ev_subject.push_back(i);
    }
    json events = json::array();
    if (!evs.empty()) {
      CUSTOS_ASSIGN_OR_RETURN(auto recs, r->AddEvents(evs));
      for (size_t k = 0; k < recs.size(); ++k) {
        subs[ev_subject[k]].findings = subs[ev_subject[k]].findings;
        events.push_back(recs[k].seq);
      }
    }
    uint64_t images = 0, matched = 0, low = 0, errors = 0, other = 0;
    for (const auto& s : subs) {
      if (s.status == "hashed") ++images;
      if (s.status == "error") ++errors;
      if (s.status == "not_image") ++other;
      if (s.status == "hashed" && s.quality < mo->o.min_quality) ++low;
      if (!s.findings.empty()) ++matched;
    }
    if (ctx.json_mode()) {
      json arr = json::array();
      for (size_t i = 0; i < subs.size(); ++i) {
        json j = SubjectJson(subs[i]);
        for (size_t k = 0; k < ev_subject.size(); ++k)
          if (ev_subject[k] == i) j["event"] = events[k];
        arr.push_back(j);
      }
      ctx.Emit({{"results", arr},
                {"summary",
                 {{"subjects", subs.size()},
                  {"images", images},
                  {"matched", matched},
                  {"low_quality", low},
                  {"not_images", other},
                  {"errors", errors},
                  {"events", events},
                  {"seconds", secs}}}});
    } else {
      for (const auto& s : subs) {
        if (s.status == "error")
          ctx.out() << "ERROR   " << s.label << ": " << s.error << "\n";
        if (s.findings.empty()) continue;
        ctx.out() << "MATCH   " << s.label << "\n";
        for (const auto& f : s.findings) {
          ctx.out() << "        list " << f["list"].get<std::string>() << " ("
                    << f["meaning"].get<std::string>() << "), entry "
                    << f["entry"].get<int64_t>() << ", "
                    << f["match"].get<std::string>() << " distance "
                    << f["distance"].get<int>();
          if (f.contains("category"))
            ctx.out() << ", category " << f["category"].get<std::string>();
          ctx.out() << "\n";
        }
      }
      ctx.out() << absl::StrFormat(
          "%d file(s): %d image(s) hashed, %d matched, %d below quality %d "
          "(exact hashes only), %d not images, %d error(s); %.1f s\n",
          subs.size(), images, matched, low, mo->o.min_quality, other, errors,
          secs);
      if (!events.empty())
        ctx.out() << "Findings recorded in " << events.size()
                  << " signed 'analysed' event(s); review them with `custos "
                     "finding confirm|reject`.\n";
    }
    return absl::OkStatus();
  }));

  // finding confirm|reject
  auto* finding = app.add_subcommand(
      "finding", "Confirm or reject an automated finding (signed review)");
  finding->require_subcommand(1);
  struct ReviewOpts {
    std::string item, actor, note;
    uint64_t event = 0;
    int64_t entry = -1;
  };
  for (const char* decision : {"confirm", "reject"}) {
    auto rv = std::make_shared<ReviewOpts>();
    auto* sub = finding->add_subcommand(
        decision, absl::StrCat(decision[0] == 'c' ? "Confirm" : "Reject",
                               " a finding of `custos match`"));
    sub->add_option("ITEM", rv->item, "The item the finding is about")
        ->required();
    sub->add_option("--event", rv->event,
                    "The 'analysed' event that recorded the finding")
        ->required();
    sub->add_option("--entry", rv->entry,
                    "The list entry (default: every finding of the event)");
    sub->add_option("--actor", rv->actor, "Person reviewing")->required();
    sub->add_option("--note", rv->note, "What the reviewer saw and why");
    std::string dec = decision[0] == 'c' ? "confirmed" : "rejected";
    sub->callback(cmd.Action([&ctx, rv, dec]() -> absl::Status {
      CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
      CUSTOS_ASSIGN_OR_RETURN(auto item, r->meta().FindItem(rv->item));
      if (!item)
        return absl::NotFoundError(absl::StrCat("no item \"", rv->item, "\""));
      CUSTOS_ASSIGN_OR_RETURN(auto rec, r->meta().GetEvent(rv->event));
      CUSTOS_ASSIGN_OR_RETURN(repo::Event e, repo::DecodeEvent(rec.leaf));
      bool about_item = false;
      for (const auto& it : e.items) about_item |= it.id == item->id;
      if (e.type != "analysed" || !about_item ||
          e.details.value("analysis", "") != "hash_match")
        return absl::InvalidArgumentError(
            absl::StrCat("event #", rv->event,
                         " is not a match finding for item ", item->exhibit));
      json entries = json::array();
      for (const auto& f : e.details.value("findings", json::array()))
        if (rv->entry < 0 || f.value("entry", int64_t{-1}) == rv->entry)
          entries.push_back(f.value("entry", int64_t{-1}));
      if (entries.empty())
        return absl::NotFoundError(absl::StrCat(
            "event #", rv->event, " has no finding for entry ", rv->entry));
      repo::EventRequest ev;
      ev.type = "analysed";
      ev.actor = rv->actor;
      ev.items = {item->id};
      ev.note = rv->note;
      ev.details = {{"analysis", "finding_review"},
                    {"decision", dec},
                    {"finding_event", rv->event},
                    {"entries", entries}};
      CUSTOS_ASSIGN_OR_RETURN(auto recs, r->AddEvents({ev}));
      if (ctx.json_mode())
        ctx.Emit({{"event", recs[0].seq},
                  {"decision", dec},
                  {"item", item->id},
                  {"finding_event", rv->event},
                  {"entries", entries}});
      else
        ctx.out() << "Finding of event #" << rv->event << " " << dec << " for "
                  << item->exhibit << "; recorded as event #" << recs[0].seq
                  << "\n";
      return absl::OkStatus();
    }));
  }

  // thumbnail
  struct ThumbOpts {
    std::string item, output, actor, purpose;
    int size = 160;
    bool original = false;
  };
  auto to = std::make_shared<ThumbOpts>();
  auto* th = app.add_subcommand(
      "thumbnail", "Write a blurred greyscale thumbnail of an image item");
  th->add_option("ITEM", to->item, "Image item")->required();
  th->add_option("-o,--output", to->output, "PNG file to write")->required();
  th->add_option("--size", to->size, "Longer side in pixels (default 160)")
      ->check(CLI::Range(16, 4096));
  th->add_flag("--original", to->original,
               "Unblurred, in colour: an explicit act, recorded as a signed "
               "'accessed' event (needs --actor and --purpose)");
  th->add_option("--actor", to->actor, "Person viewing the original");
  th->add_option("--purpose", to->purpose, "Why the original is needed");
  th->footer(
      "Thumbnails protect the people who look: greyscale and blurred by "
      "default, enough\n"
      "to tell what kind of picture it is. Seeing the original is logged "
      "before the\n"
      "file is written.");
  th->callback(cmd.Action([&ctx, to]() -> absl::Status {
    if (to->original && (to->actor.empty() || to->purpose.empty()))
      return absl::InvalidArgumentError(
          "--original needs --actor and --purpose (it is recorded)");
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto item, r->meta().FindItem(to->item));
    if (!item)
      return absl::NotFoundError(absl::StrCat("no item \"", to->item, "\""));
    CUSTOS_ASSIGN_OR_RETURN(std::string bytes,
                            r->blobs().ReadVerified(item->sha256));
    auto img = image::DecodeImage(bytes);
    if (!img.ok())
      return absl::InvalidArgumentError(
          absl::StrCat(item->exhibit,
                       " is not a decodable image: ", img.status().message()));
    image::ThumbnailOptions o;
    o.max_side = to->size;
    if (to->original) {
      o.grey = false;
      o.blur = 0;
    }
    image::Image t = image::MakeThumbnail(*img, o);
    CUSTOS_ASSIGN_OR_RETURN(std::string png, image::EncodePng(t));
    json j = {{"item", item->id},
              {"output", to->output},
              {"width", t.width},
              {"height", t.height},
              {"blurred", !to->original}};
    if (to->original) {
      repo::EventRequest ev;
      ev.type = "accessed";
      ev.actor = to->actor;
      ev.items = {item->id};
      ev.purpose = to->purpose;
      ev.details = {{"access", "original_image_viewed"}, {"size", to->size}};
      CUSTOS_ASSIGN_OR_RETURN(auto recs, r->AddEvents({ev}));
      j["event"] = recs[0].seq;
    }
    std::ofstream f(to->output, std::ios::binary | std::ios::trunc);
    f.write(png.data(), static_cast<std::streamsize>(png.size()));
    f.close();
    if (!f)
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write ", to->output));
    if (ctx.json_mode())
      ctx.Emit(j);
    else
      ctx.out() << "Wrote " << (to->original ? "ORIGINAL (unblurred) " : "")
                << t.width << "x" << t.height << " thumbnail of "
                << item->exhibit << " to " << to->output
                << (to->original ? absl::StrCat("; recorded as event #",
                                                j["event"].get<uint64_t>())
                                 : std::string())
                << "\n";
    return absl::OkStatus();
  }));
}

}  // namespace custos::cli
