// Repository members for known-file hash sets (src/repo/known_files.h,
// docs/formats/hashset.md).
#include "src/repo/known_files.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "src/base/absl_compat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "src/crypto/hash.h"
#include "src/repo/repository_internal.h"

namespace custos::repo {

using nlohmann::json;

absl::StatusOr<std::unique_ptr<hashset::Store>> OpenHashSets(
    const std::string& repo_dir) {
  return hashset::Store::Open(repo_dir + "/hashsets", /*create=*/true);
}

namespace {

// SHA-256 of a whole file, read on its own (for SQLite sources, which
// SQLite reads itself).
absl::StatusOr<std::string> FileSha256(const std::string& path,
                                       uint64_t* size) {
  CUSTOS_ASSIGN_OR_RETURN(auto src, hashset::FileSource::Open(path));
  crypto::MultiHasher h(crypto::kSha256, false);
  std::vector<char> buf(size_t{1} << 20);
  while (true) {
    CUSTOS_ASSIGN_OR_RETURN(size_t got, src->Read(buf.data(), buf.size()));
    if (got == 0) break;
    h.Update(std::string_view(buf.data(), got));
  }
  crypto::Digests d = h.Finish();
  *size = d.size;
  return d.sha256;
}

}  // namespace

absl::StatusOr<HashSetImportResult> Repository::ImportHashSet(
    const HashSetImportRequest& req) {
  auto t0 = std::chrono::steady_clock::now();
  if (req.path.empty())
    return absl::InvalidArgumentError("give the hash-set file to import");
  CUSTOS_RETURN_IF_ERROR(hashset::CheckSetName(req.name));
  if (!IsValidUtf8(req.source) || !IsValidUtf8(req.version) ||
      !IsValidUtf8(req.category))
    return absl::InvalidArgumentError(
        "--source, --set-version and --category must be UTF-8");
  // Resolve the signer before any heavy work.
  CUSTOS_RETURN_IF_ERROR(LoadSigners());
  std::optional<ActorRecord> actor;
  std::unique_ptr<crypto::Ed25519PrivateKey> key;
  if (!req.actor.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(actor, ResolveActor(req.actor));
    CUSTOS_ASSIGN_OR_RETURN(key, LoadActorKey(*actor));
  }
  if (!env_.fs->Exists(req.path))
    return absl::NotFoundError(absl::StrCat("cannot read ", req.path));
  HashSetImportResult out;
  out.format = req.format;
  if (out.format == hashset::Format::kAuto) {
    CUSTOS_ASSIGN_OR_RETURN(out.format, hashset::DetectFormat(req.path));
  }
  CUSTOS_ASSIGN_OR_RETURN(auto store, OpenHashSets(dir_));
  hashset::ImportOptions opt;
  opt.name = req.name;
  opt.meaning = req.meaning;
  opt.category = req.category;
  opt.source = req.source;
  opt.version = req.version;
  opt.format = std::string(hashset::FormatName(out.format));
  opt.delta = req.delta;
  opt.memory_budget = req.memory_budget;
  opt.now = FormatEventTime(env_.clock->Now());
  CUSTOS_ASSIGN_OR_RETURN(auto imp, store->BeginImport(opt));
  // Hash the source as it is read; an SQLite file is hashed on a second
  // thread while SQLite reads it.
  crypto::MultiHasher hasher(crypto::kSha256, false);
  uint64_t total = 0;
  if (auto sz = env_.fs->FileSize(req.path); sz.ok()) total = *sz;
  absl::Status parse;
  if (out.format == hashset::Format::kNsrlRds3) {
    absl::StatusOr<std::string> digest;
    uint64_t bytes = 0;
    std::thread th([&] { digest = FileSha256(req.path, &bytes); });
    parse = hashset::ImportRds3(req.path, *imp, &out.stats, [&](uint64_t rows) {
      if (req.progress) req.progress("reading", rows, 0);
    });
    th.join();
    if (parse.ok() && !digest.ok()) parse = digest.status();
    if (parse.ok()) {
      out.source_sha256_hex = HexEncode(*digest);
      out.source_bytes = bytes;
    }
  } else {
    parse = hashset::ParseFile(
        req.path, out.format, *imp, &out.stats,
        [&](std::string_view b) {
          hasher.Update(b);
          out.source_bytes += b.size();
        },
        [&](uint64_t done) {
          if (req.progress) req.progress("reading", done, total);
        });
    if (parse.ok()) out.source_sha256_hex = HexEncode(hasher.Finish().sha256);
  }
  CUSTOS_RETURN_IF_ERROR(parse);
  if (!req.remove_list.empty()) {
    if (!req.delta)
      return absl::InvalidArgumentError("--remove-list needs --delta");
    if (req.progress) req.progress("removals", 0, 0);
    CUSTOS_RETURN_IF_ERROR(
        hashset::ParseFile(req.remove_list, req.remove_format, imp->removals(),
                           &out.remove_stats));
  }
  if (req.progress) req.progress("writing", 0, 0);
  // The version from an RDSv3 VERSION table, unless one was given.
  if (!out.stats.version.empty() && req.version.empty())
    imp->SetVersion(out.stats.version);
  CUSTOS_ASSIGN_OR_RETURN(out.result, imp->Prepare());

  // The custody event, then the MANIFEST (a visible set always has its
  // event; docs/formats/hashset.md "Import").
  const hashset::SetInfo& set = out.result.set;
  Batch batch;
  Pending p;
  p.event.type = "note";
  p.event.note =
      absl::StrCat("hash set ", req.name, req.delta ? " updated" : " imported");
  json d = {{"hashset", req.name},
            {"action", req.delta ? "updated" : "imported"},
            {"format", hashset::FormatName(out.format)},
            {"meaning", hashset::MeaningName(req.meaning)},
            {"source_file", EscapeBytes(req.path)},
            {"source_sha256", out.source_sha256_hex},
            {"source_bytes", out.source_bytes},
            {"records", out.stats.records},
            {"count_md5", set.counts[0]},
            {"count_sha1", set.counts[1]},
            {"count_sha256", set.counts[2]}};
  if (!set.category.empty()) d["category"] = set.category;
  if (!set.source.empty()) d["source"] = set.source;
  if (!set.version.empty()) d["version"] = set.version;
  if (req.delta) {
    d["added"] = out.result.added;
    d["removed"] = out.result.removed;
    if (!req.remove_list.empty())
      d["remove_list"] = EscapeBytes(req.remove_list);
  }
  p.event.details = std::move(d);
  if (actor) {
    p.event.actor = {actor->id, actor->name, actor->role};
    p.signer = key.get();
    p.registered_key = actor->public_key;
  }
  batch.events.push_back(std::move(p));
  if (key) batch.keys.push_back(std::move(key));
  CUSTOS_ASSIGN_OR_RETURN(auto recs, Commit(batch));
  out.event_seq = recs.at(0).seq;
  absl::Status pub = imp->Publish();
  if (!pub.ok())
    return absl::Status(pub.code(),
                        absl::StrCat("the import of hash set ", req.name,
                                     " was logged (event #", out.event_seq,
                                     ") but could not be made visible: ",
                                     pub.message(), "; import it again"));
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  return out;
}

absl::StatusOr<uint64_t> Repository::RemoveHashSet(const std::string& name,
                                                   const std::string& actor) {
  CUSTOS_ASSIGN_OR_RETURN(auto store, OpenHashSets(dir_));
  const hashset::SetInfo* set = store->FindSet(name);
  if (!set)
    return absl::NotFoundError(absl::StrCat("no hash set \"", name, "\""));
  Batch batch;
  Pending p;
  p.event.type = "note";
  p.event.note = absl::StrCat("hash set ", name, " removed");
  p.event.details = {{"hashset", name},
                     {"action", "removed"},
                     {"meaning", hashset::MeaningName(set->meaning)},
                     {"count_md5", set->counts[0]},
                     {"count_sha1", set->counts[1]},
                     {"count_sha256", set->counts[2]}};
  if (!actor.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(ActorRecord a, ResolveActor(actor));
    CUSTOS_ASSIGN_OR_RETURN(auto key, LoadActorKey(a));
    p.event.actor = {a.id, a.name, a.role};
    p.signer = key.get();
    p.registered_key = a.public_key;
    batch.keys.push_back(std::move(key));
  }
  batch.events.push_back(std::move(p));
  CUSTOS_ASSIGN_OR_RETURN(auto recs, Commit(batch));
  CUSTOS_RETURN_IF_ERROR(store->Remove(name));
  return recs.at(0).seq;
}

absl::StatusOr<std::vector<std::string>> Repository::CompactHashSets(
    const std::string& name, const std::string& actor) {
  std::optional<ActorRecord> a;
  std::unique_ptr<crypto::Ed25519PrivateKey> key;
  if (!actor.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(a, ResolveActor(actor));
    CUSTOS_ASSIGN_OR_RETURN(key, LoadActorKey(*a));
  }
  CUSTOS_ASSIGN_OR_RETURN(auto store, OpenHashSets(dir_));
  CUSTOS_ASSIGN_OR_RETURN(
      auto done, store->Compact(name, FormatEventTime(env_.clock->Now())));
  if (done.empty()) return done;
  Batch batch;
  Pending p;
  p.event.type = "note";
  p.event.note =
      absl::StrCat("hash sets compacted: ", absl::StrJoin(done, " "));
  p.event.details = {{"hashset", absl::StrJoin(done, " ")},
                     {"action", "compacted"}};
  if (a) {
    p.event.actor = {a->id, a->name, a->role};
    p.signer = key.get();
    p.registered_key = a->public_key;
    batch.keys.push_back(std::move(key));
  }
  batch.events.push_back(std::move(p));
  CUSTOS_RETURN_IF_ERROR(Commit(batch).status());
  return done;
}

absl::StatusOr<KnownFileReport> Repository::CheckKnownFiles(
    const std::vector<std::string>& item_ids, const std::string& actor) {
  KnownFileReport report;
  if (!env_.fs->Exists(dir_ + "/hashsets/MANIFEST")) return report;
  CUSTOS_ASSIGN_OR_RETURN(auto store,
                          hashset::Store::Open(dir_ + "/hashsets", false));
  if (store->sets().empty()) return report;
  // The roots, without any that lies under another root (it is reached
  // through that root).
  std::vector<ItemRecord> roots;
  std::set<std::string> root_ids;
  for (const std::string& id : item_ids) {
    CUSTOS_ASSIGN_OR_RETURN(auto it, meta_->FindItem(id));
    if (!it) return absl::NotFoundError(absl::StrCat("no item ", id));
    if (root_ids.insert(it->id).second) roots.push_back(std::move(*it));
  }
  std::vector<ItemRecord> top;
  for (ItemRecord& r : roots) {
    bool under = false;
    std::string p = r.parent_id;
    for (int hops = 0; !p.empty() && !under && hops < 1000; ++hops) {
      under = root_ids.count(p) > 0;
      CUSTOS_ASSIGN_OR_RETURN(auto parent, meta_->FindItem(p));
      p = parent ? parent->parent_id : "";
    }
    if (!under) top.push_back(std::move(r));
  }

  // Every root and, recursively, its children (directory files, extracted
  // files), a page at a time, so memory does not grow with the number of
  // items: only known-bad matches (rare, each a signed event) are kept
  // until the end. Known-good matches only set a property; each page's are
  // written in a transaction of their own.
  struct Pend {
    ItemRecord item;
    std::vector<std::pair<std::string, std::string>> props;
    std::vector<KnownBadHit> new_hits;
  };
  std::vector<Pend> pend;
  uint64_t lookups_total = 0;
  using hashset::Algorithm;
  auto digest_of = [](const ItemRecord& it, Algorithm a) -> const std::string& {
    return a == Algorithm::kSha256 ? it.sha256
           : a == Algorithm::kSha1 ? it.sha1
                                   : it.md5;
  };
  const Algorithm order[] = {Algorithm::kSha256, Algorithm::kSha1,
                             Algorithm::kMd5};
  std::string digests;
  std::vector<size_t> owner;
  std::vector<std::pair<size_t, hashset::Match>> hits;
  std::vector<std::vector<hashset::Match>> item_matches;
  std::vector<std::pair<std::string, std::string>> good_props;
  auto check_page = [&](std::vector<ItemRecord>& page) -> absl::Status {
    std::vector<ItemRecord*> checked;
    for (ItemRecord& it : page)
      if (it.kind != "directory" && !it.sha256.empty()) checked.push_back(&it);
    report.checked += checked.size();
    // Batched lookups (Store::LookupBatch: prefetching, and set details
    // only for hits), per algorithm: SHA-256, then SHA-1 and MD5 when
    // recorded. Once many lookups are seen, the runs are preloaded.
    for (const ItemRecord* it : checked)
      for (Algorithm a : order)
        lookups_total += digest_of(*it, a).size() == hashset::DigestLength(a);
    if (store->PreloadPays(lookups_total))
      CUSTOS_RETURN_IF_ERROR(store->Preload());
    item_matches.assign(checked.size(), {});
    for (Algorithm a : order) {
      digests.clear();
      owner.clear();
      hits.clear();
      for (size_t i = 0; i < checked.size(); ++i) {
        const std::string& d = digest_of(*checked[i], a);
        if (d.size() != hashset::DigestLength(a)) continue;
        digests += d;
        owner.push_back(i);
      }
      store->LookupBatch(a, reinterpret_cast<const uint8_t*>(digests.data()),
                         owner.size(), &hits);
      for (auto& [i, m] : hits) item_matches[owner[i]].push_back(std::move(m));
    }
    good_props.clear();
    for (size_t ci = 0; ci < checked.size(); ++ci) {
      ItemRecord& it = *checked[ci];
      const std::vector<hashset::Match>& matches = item_matches[ci];
      if (matches.empty()) continue;
      // One result per set: the strongest algorithm found first.
      std::set<std::string> good;
      std::map<std::string, const hashset::Match*> bad;
      for (const auto& m : matches) {
        if (m.meaning == hashset::Meaning::kKnownGood)
          good.insert(m.set);
        else if (!bad.count(m.set))
          bad[m.set] = &m;
      }
      if (!good.empty()) {
        good_props.emplace_back(it.id, absl::StrJoin(good, " "));
        ++report.known_good;
        ++report.known_good_by_exhibit[it.exhibit];
      }
      if (bad.empty()) continue;
      CUSTOS_ASSIGN_OR_RETURN(auto props, meta_->ItemProperties(it.id));
      std::string old_bad;
      for (const auto& [k, v] : props)
        if (k == "hashset.known_bad") old_bad = v;
      std::set<std::string> before =
          absl::StrSplit(old_bad, ' ', absl::SkipEmpty());
      std::set<std::string> all = before;
      Pend pe;
      for (const auto& [set, m] : bad) {
        std::string label = absl::StrCat(set, ":", m->category);
        all.insert(label);
        KnownBadHit h;
        h.item_id = it.id;
        h.exhibit = it.exhibit;
        h.path = EscapeBytes(it.rel_path);
        h.set = set;
        h.category = m->category;
        h.flags = m->flags;
        h.algorithm = std::string(hashset::AlgorithmName(m->algo));
        h.hash_hex = HexEncode(m->digest);
        if (before.count(label))
          report.known_bad.push_back(h);  // recorded by an earlier check
        else
          pe.new_hits.push_back(h);
      }
      pe.props.emplace_back("hashset.known_bad", absl::StrJoin(all, " "));
      pe.item = std::move(it);
      pend.push_back(std::move(pe));
    }
    if (good_props.empty()) return absl::OkStatus();
    // Known-good properties of this page: one transaction under the write
    // lock (an index for search, re-derived by the next check if lost).
    CUSTOS_RETURN_IF_ERROR(Lock());
    absl::Status st = meta_->Begin();
    if (st.ok()) {
      for (const auto& [id, names] : good_props) {
        st = meta_->PutItemProperties(id, {{"hashset.known_good", names}});
        if (!st.ok()) break;
      }
      if (st.ok())
        st = meta_->Commit();
      else
        meta_->Rollback();
    }
    Unlock();
    return st;
  };
  constexpr size_t kPage = 8192;
  std::vector<std::string> parents;  // items whose children are still due
  for (const ItemRecord& r : top) parents.push_back(r.id);
  CUSTOS_RETURN_IF_ERROR(check_page(top));
  std::vector<ItemRecord> page;
  std::vector<bool> has_children;
  while (!parents.empty()) {
    std::string parent = std::move(parents.back());
    parents.pop_back();
    int64_t after = 0;
    while (true) {
      CUSTOS_RETURN_IF_ERROR(
          meta_->ChildrenPage(parent, kPage, &after, &page, &has_children));
      if (page.empty()) break;
      for (size_t i = 0; i < page.size(); ++i)
        if (has_children[i]) parents.push_back(page[i].id);
      CUSTOS_RETURN_IF_ERROR(check_page(page));
    }
  }
  if (pend.empty()) return report;

  Batch batch;
  std::vector<std::pair<size_t, size_t>> event_of;  // (pend index, hit index)
  bool any_event = false;
  for (const auto& pe : pend) any_event |= !pe.new_hits.empty();
  std::optional<ActorRecord> a;
  const crypto::Ed25519PrivateKey* signer = nullptr;
  if (any_event && !actor.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(a, ResolveActor(actor));
    CUSTOS_ASSIGN_OR_RETURN(auto key, LoadActorKey(*a));
    signer = key.get();
    batch.keys.push_back(std::move(key));
  }
  for (size_t i = 0; i < pend.size(); ++i) {
    for (size_t j = 0; j < pend[i].new_hits.size(); ++j) {
      const KnownBadHit& h = pend[i].new_hits[j];
      const ItemRecord& it = pend[i].item;
      Pending p;
      p.event.type = "analysed";
      p.event.case_id = it.case_id;
      p.event.items.push_back(
          {it.id, it.exhibit, HexEncode(it.sha256), it.size, ""});
      p.event.note = absl::StrCat("known-bad hash set match: ", h.set,
                                  " category ", h.category);
      json d = {{"finding", "known-bad hash set match"},
                {"hashset", h.set},
                {"category", h.category},
                {"algorithm", h.algorithm},
                {"hash", h.hash_hex},
                {"tool", kToolName},
                {"tool_version", kToolVersion},
                {"automated", "yes"}};
      if (!h.flags.empty()) d["flags"] = h.flags;
      if (!h.path.empty()) d["path"] = h.path;
      p.event.details = std::move(d);
      if (a) {
        p.event.actor = {a->id, a->name, a->role};
        p.signer = signer;
        p.registered_key = a->public_key;
      }
      batch.events.push_back(std::move(p));
      event_of.emplace_back(i, j);
    }
  }
  auto put_props = [&](MetaStore& m) -> absl::Status {
    for (const auto& pe : pend)
      CUSTOS_RETURN_IF_ERROR(m.PutItemProperties(pe.item.id, pe.props));
    return absl::OkStatus();
  };
  if (batch.events.empty()) {
    // Only properties: one transaction under the write lock.
    CUSTOS_RETURN_IF_ERROR(Lock());
    absl::Status st = meta_->Begin();
    if (st.ok()) {
      st = put_props(*meta_);
      if (st.ok())
        st = meta_->Commit();
      else
        meta_->Rollback();
    }
    Unlock();
    CUSTOS_RETURN_IF_ERROR(st);
    return report;
  }
  batch.apply = [&](MetaStore& m, const std::vector<uint64_t>&) {
    return put_props(m);
  };
  CUSTOS_ASSIGN_OR_RETURN(auto recs, Commit(batch));
  for (size_t k = 0; k < event_of.size(); ++k) {
    KnownBadHit h = pend[event_of[k].first].new_hits[event_of[k].second];
    h.event_seq = recs.at(k).seq;
    report.known_bad.push_back(std::move(h));
  }
  return report;
}

void Repository::CheckAcquiredKnownFiles(std::vector<AcquiredSource>& results,
                                         const std::string& actor_id) {
  std::vector<std::string> ids;
  for (const auto& r : results) ids.push_back(r.item.id);
  auto report = CheckKnownFiles(ids, actor_id);
  if (!report.ok()) {
    for (auto& r : results)
      r.known_files_error = std::string(report.status().message());
    return;
  }
  for (auto& r : results) {
    for (const auto& h : report->known_bad)
      if (h.exhibit == r.item.exhibit) r.known_bad.push_back(h);
    auto good = report->known_good_by_exhibit.find(r.item.exhibit);
    if (good != report->known_good_by_exhibit.end())
      r.known_good = good->second;
  }
}

}  // namespace custos::repo
