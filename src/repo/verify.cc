// Repository::Verify: re-checks every blob, event, chain link, tree root and
// checkpoint, and names each problem found (docs/formats/repository.md).
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "src/base/absl_compat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "src/custody/merkle.h"
#include "src/repo/repository.h"

namespace custos::repo {
namespace {

std::string HexOf(const crypto::Hash32& h) {
  return HexEncode(crypto::AsView(h));
}

struct KnownActor {
  std::string key;
  std::string name, role;
  bool revoked = false;
};

}  // namespace

absl::StatusOr<VerifyReport> Repository::Verify(
    const std::function<void(const std::string&, uint64_t, uint64_t)>&
        progress) {
  auto started = std::chrono::steady_clock::now();
  VerifyReport rep;
  auto problem = [&](std::string where, std::string what) {
    rep.problems.push_back({std::move(where), std::move(what)});
  };
  auto report = [&](const std::string& stage, uint64_t done, uint64_t total) {
    if (progress) progress(stage, done, total);
  };

  // 1. The database itself.
  if (absl::Status st = meta_->CheckIntegrity(); !st.ok())
    problem("database", std::string(st.message()));
  // The derived tree files are needed only for consistency proofs; a log
  // that cannot be read in order is reported below, event by event.
  bool have_tree = RefreshTree().ok();

  CUSTOS_ASSIGN_OR_RETURN(crypto::Vkey log_vk, crypto::ParseVkey(log_vkey_));
  std::string log_key = log_vk.public_key;

  // 2. Events, signatures, chains; roots recomputed at every size.
  uint64_t max_seq = 0;
  {
    auto n = meta_->EventCount();
    if (!n.ok()) problem("events", std::string(n.status().message()));
  }
  std::map<std::string, KnownActor> actors;  // from the log itself
  std::map<std::string, std::string> heads;  // item -> leaf hash hex
  std::map<std::string, std::pair<std::string, uint64_t>>
      item_digest;  // from events
  // Items whose signed manifest line says the content was hashed but not
  // stored: no blob is expected for them.
  std::set<std::string> unstored_items;
  // Roots are recomputed at every size that some checkpoint (in the
  // database or on disk) claims, and only there: memory stays independent
  // of the log's length.
  std::set<uint64_t> wanted_sizes;
  if (auto list = meta_->ListCheckpoints(); list.ok())
    for (const auto& c : *list) wanted_sizes.insert(c.size);
  if (auto files = env_.fs->ListDir(dir_ + "/log/checkpoints"); files.ok())
    for (const auto& f : *files)
      if (uint64_t size; absl::SimpleAtoi(f, &size)) wanted_sizes.insert(size);
  std::map<uint64_t, crypto::Hash32> roots;  // size -> recomputed root
  roots[0] = custody::EmptyRoot();
  custody::CompactRange range;
  uint64_t expect_seq = 0;
  // Per-event work that needs no ordering (hashing, decoding, signature
  // checks) runs on two threads over chunks of rows; the checks that follow
  // the log's order (chains, signer registrations, roots) run in order.
  struct Pre {
    crypto::Hash32 leaf_hash;
    absl::StatusOr<Event> decoded = absl::UnknownError("not decoded");
    bool signature_ok = false;
  };
  auto precompute = [](const EventRecord& row, Pre& pre) {
    pre.leaf_hash = custody::LeafHash(row.leaf);
    pre.decoded = DecodeEvent(row.leaf);
    if (pre.decoded.ok()) {
      auto msg = SigningMessage(*pre.decoded);
      pre.signature_ok =
          msg.ok() && crypto::Ed25519Verify(pre.decoded->sig_key, *msg,
                                            pre.decoded->sig_value);
    }
  };
  auto check_in_order = [&](const EventRecord& row, Pre& pre) -> absl::Status {
    std::string where = absl::StrCat("event #", row.seq);
    if (row.seq != expect_seq) {
      problem(absl::StrCat("event #", expect_seq),
              row.seq > expect_seq
                  ? absl::StrCat("missing: the log jumps from #",
                                 expect_seq - 1 + (expect_seq == 0), " to #",
                                 row.seq, " (events deleted)")
                  : "duplicate sequence number");
      expect_seq = row.seq;
    }
    ++expect_seq;
    ++rep.events;
    max_seq = row.seq;
    const crypto::Hash32& leaf_hash = pre.leaf_hash;
    if (leaf_hash != row.leaf_hash)
      problem(where, absl::StrCat("stored leaf hash ", HexOf(row.leaf_hash),
                                  " does not match the event bytes (",
                                  HexOf(leaf_hash), ")"));
    range.Append(leaf_hash, [](unsigned, uint64_t, const crypto::Hash32&) {});
    if (wanted_sizes.count(range.size())) roots[range.size()] = range.Root();
    report("events", rep.events, 0);

    absl::StatusOr<Event>& decoded = pre.decoded;
    if (!decoded.ok()) {
      problem(where,
              absl::StrCat("cannot be decoded: ", decoded.status().message()));
      return absl::OkStatus();
    }
    const Event& e = *decoded;
    if (e.seq != row.seq)
      problem(where,
              absl::StrCat("event says it is #", e.seq, " but is stored as #",
                           row.seq, " (events reordered or moved)"));
    if (e.origin != origin_)
      problem(where, absl::StrCat("origin \"", e.origin,
                                  "\" is not this log's \"", origin_, "\""));
    if (row.type != e.type || row.actor_id != e.actor.id ||
        row.case_id != e.case_id)
      problem(where,
              "the row's index columns (type/actor/case) disagree with the "
              "signed event");
    // Signature and signer authority.
    if (!pre.signature_ok) {
      problem(where, absl::StrCat("signature of \"", e.actor.name,
                                  "\" does not verify"));
    }
    if (e.actor.id == kAuthorityActorId) {
      if (e.sig_key != log_key)
        problem(where, "signed as the authority, but not with the log key");
    } else if (IsAuthorityOnlyType(e.type)) {
      problem(where, absl::StrCat("a ", e.type,
                                  " event must be signed by the authority"));
    } else {
      auto it = actors.find(e.actor.id);
      if (it == actors.end())
        problem(where,
                absl::StrCat("signed by \"", e.actor.name, "\" (", e.actor.id,
                             "), who is not registered earlier in the log"));
      else if (it->second.key != e.sig_key)
        problem(where,
                absl::StrCat(
                    "signed with a key that is not the one registered for \"",
                    e.actor.name, "\""));
      else if (it->second.revoked)
        problem(where, absl::StrCat("signed by \"", e.actor.name,
                                    "\" after revocation"));
    }
    if (e.type == "actor_registered" && e.details.contains("actor_id")) {
      KnownActor a;
      auto key = Base64Decode(e.details.value("key", ""));
      a.key = key ? *key : "";
      a.name = e.details.value("name", "");
      a.role = e.details.value("role", "");
      actors[e.details.value("actor_id", "")] = a;
    } else if (e.type == "actor_revoked") {
      actors[e.details.value("actor_id", "")].revoked = true;
    }
    // Per-item chains.
    for (const auto& item : e.items) {
      auto h = heads.find(item.id);
      std::string want = h == heads.end() ? "" : h->second;
      if (item.prev_hex != want) {
        problem(
            where,
            absl::StrCat(
                "chain of item ", item.id, " (", item.exhibit,
                ") is broken: prev is ",
                item.prev_hex.empty() ? "empty" : item.prev_hex, ", expected ",
                want.empty() ? "empty (first event of the item)" : want,
                " (an event of this item was removed, reordered or "
                "altered)"));
      }
      heads[item.id] = HexOf(leaf_hash);
      if (e.type == "acquired")
        item_digest[item.id] = {item.sha256_hex, item.size};
    }
    // Directory acquisitions and file-system extractions list the items
    // they create in a manifest blob (event.md, extraction.md).
    if ((e.type == "acquired" || e.type == "extracted") &&
        e.details.contains("manifest")) {
      std::string mhex = e.details.value("manifest", "");
      auto mraw = HexDecode(mhex);
      auto manifest =
          mraw ? blobs_->ReadVerified(*mraw)
               : absl::StatusOr<std::string>(absl::DataLossError("bad hex"));
      if (!manifest.ok()) {
        problem(where, absl::StrCat("manifest ", mhex, ": ",
                                    manifest.status().message()));
      } else {
        size_t pos = 0;
        while (pos < manifest->size()) {
          size_t nl = manifest->find('\n', pos);
          if (nl == std::string::npos) nl = manifest->size();
          auto line = nlohmann::json::parse(manifest->substr(pos, nl - pos),
                                            nullptr, false);
          pos = nl + 1;
          if (line.is_discarded() || !line.is_object()) {
            problem(where,
                    absl::StrCat("manifest ", mhex, " has a malformed line"));
            break;
          }
          if (line.contains("item")) {
            std::string id = line.value("item", "");
            heads[id] = HexOf(leaf_hash);
            item_digest[id] = {line.value("sha256", ""),
                               line.value("size", uint64_t{0})};
            // `custos extract --no-content` hashes without storing.
            if (line.value("content", "") == "not_stored")
              unstored_items.insert(id);
          }
        }
      }
    }
    return absl::OkStatus();
  };
  constexpr size_t kChunk = 4096;
  std::vector<EventRecord> chunk;
  std::vector<Pre> pres;
  auto drain = [&]() -> absl::Status {
    pres.clear();
    pres.resize(chunk.size());
    size_t half = chunk.size() / 2;
    std::thread helper([&] {
      for (size_t i = half; i < chunk.size(); ++i)
        precompute(chunk[i], pres[i]);
    });
    for (size_t i = 0; i < half; ++i) precompute(chunk[i], pres[i]);
    helper.join();
    for (size_t i = 0; i < chunk.size(); ++i)
      CUSTOS_RETURN_IF_ERROR(check_in_order(chunk[i], pres[i]));
    chunk.clear();
    return absl::OkStatus();
  };
  absl::Status scan = meta_->ForEachEvent(
      0, UINT64_MAX >> 1, [&](const EventRecord& row) -> absl::Status {
        chunk.push_back(row);
        if (chunk.size() == kChunk) return drain();
        return absl::OkStatus();
      });
  if (scan.ok()) scan = drain();
  if (!scan.ok())
    problem("events", absl::StrCat("scan stopped: ", scan.message()));
  uint64_t n = range.size();

  // Registered actors in the table must match the log.
  if (auto list = meta_->ListActors(); list.ok()) {
    for (const auto& a : *list) {
      auto it = actors.find(a.id);
      if (it == actors.end())
        problem(absl::StrCat("actor ", a.name),
                "in the actors table but never registered in the log");
      else if (it->second.key != a.public_key || it->second.name != a.name ||
               it->second.role != a.role || it->second.revoked != a.revoked)
        problem(absl::StrCat("actor ", a.name),
                "actors table disagrees with the log");
    }
  } else {
    problem("actors", std::string(list.status().message()));
  }

  // 3. Items: the table must agree with the log, and their heads.
  std::vector<std::pair<std::string, std::string>>
      blobs_to_check;  // digest, label
  {
    std::set<std::string> seen_digest;
    absl::Status st =
        meta_->ForEachItem("", true, [&](const ItemRecord& it) -> absl::Status {
          ++rep.items;
          std::string where = absl::StrCat("item ", it.id, " (", it.exhibit,
                                           it.rel_path.empty() ? "" : "/",
                                           EscapeBytes(it.rel_path), ")");
          auto d = item_digest.find(it.id);
          if (d == item_digest.end()) {
            problem(where, "not created by any acquisition in the log");
          } else if (d->second.first != HexEncode(it.sha256) ||
                     d->second.second != it.size) {
            problem(where,
                    absl::StrCat("recorded digest/size ", HexEncode(it.sha256),
                                 "/", it.size, " differ from the signed log: ",
                                 d->second.first, "/", d->second.second));
          }
          if (!it.sha256.empty() && !unstored_items.count(it.id) &&
              seen_digest.insert(it.sha256).second)
            blobs_to_check.push_back({it.sha256, where});
          return absl::OkStatus();
        });
    if (!st.ok()) problem("items", std::string(st.message()));
  }

  // 4. Checkpoints: signature, root against the recomputed tree, copies on
  // disk, and consistency of each with the next.
  custody::CheckpointPolicy policy{origin_, {log_vk}, {}, 0};
  std::map<uint64_t, std::string> notes;  // size -> note (database)
  if (auto list = meta_->ListCheckpoints(); list.ok()) {
    for (const auto& c : *list) notes[c.size] = c.note;
  } else {
    problem("checkpoints", std::string(list.status().message()));
  }
  // Checkpoint files: a file beyond the database is proof of removed history.
  std::string cp_dir = dir_ + "/log/checkpoints";
  if (auto files = env_.fs->ListDir(cp_dir); files.ok()) {
    for (const auto& f : *files) {
      uint64_t size;
      if (!absl::SimpleAtoi(f, &size)) continue;
      auto text = env_.fs->ReadFile(cp_dir + "/" + f);
      if (!text.ok()) {
        problem(absl::StrCat("checkpoint file ", f),
                std::string(text.status().message()));
        continue;
      }
      auto it = notes.find(size);
      if (it == notes.end()) {
        problem(absl::StrCat("checkpoint ", size),
                size > n
                    ? absl::StrCat(
                          "a signed checkpoint of size ", size,
                          " exists on disk but the database holds only ", n,
                          " events: history was removed or the database rolled "
                          "back")
                    : "present on disk but missing from the database");
        notes[size] = *text;  // still check it against the recomputed tree
      } else if (it->second != *text) {
        problem(absl::StrCat("checkpoint ", size),
                "the file copy and the database copy differ");
      }
    }
  }
  std::optional<std::pair<uint64_t, crypto::Hash32>> prev;
  for (const auto& [size, note] : notes) {
    ++rep.checkpoints;
    std::string where = absl::StrCat("checkpoint ", size);
    auto v = custody::VerifyCheckpointNote(note, policy);
    if (!v.ok()) {
      problem(where, absl::StrCat("signature or format invalid: ",
                                  v.status().message()));
      continue;
    }
    if (v->checkpoint.size != size) {
      problem(where, absl::StrCat("stored as size ", size, " but signs size ",
                                  v->checkpoint.size));
      continue;
    }
    auto r = roots.find(size);
    if (r == roots.end()) {
      problem(where, absl::StrCat("signed for ", size,
                                  " events, but the log has only ", n));
    } else if (r->second != v->checkpoint.root) {
      problem(where,
              absl::StrCat("root ", HexOf(v->checkpoint.root),
                           " does not match the recomputed tree (",
                           HexOf(r->second),
                           "): events were altered, removed or reordered"));
    }
    if (prev && size <= n && have_tree) {
      auto proof = custody::ConsistencyProof(*tree_, prev->first, size);
      absl::Status ok = proof.ok() ? custody::VerifyConsistency(
                                         prev->first, size, prev->second,
                                         v->checkpoint.root, *proof)
                                   : proof.status();
      if (!ok.ok())
        problem(where, absl::StrCat("not consistent with checkpoint ",
                                    prev->first, ": ", ok.message()));
    }
    prev = {size, v->checkpoint.root};
  }
  if (notes.empty() || notes.rbegin()->first < n)
    problem("log", absl::StrCat("events after #",
                                notes.empty() ? 0 : notes.rbegin()->first,
                                " are not covered by a signed checkpoint"));
  // The derived tree files must agree with the recomputed tree.
  if (!have_tree)
    problem("log/tree",
            "the derived tree files could not be brought up to date");
  else if (auto root = tree_->Root();
           !root.ok() || tree_->size() != n || *root != range.Root())
    problem("log/tree",
            "the derived tree files disagree with the events (repaired on next "
            "open)");

  // 5. Blobs: re-hash every referenced blob, on two threads.
  uint64_t total = blobs_to_check.size();
  std::atomic<uint64_t> next{0}, bytes{0}, done{0};
  std::mutex mu;
  auto worker = [&] {
    for (uint64_t i; (i = next.fetch_add(1)) < total;) {
      auto size = blobs_->Verify(blobs_to_check[i].first);
      std::lock_guard<std::mutex> l(mu);
      if (!size.ok()) {
        problem(absl::StrCat("blob ", HexEncode(blobs_to_check[i].first)),
                absl::StrCat(size.status().message(), " [",
                             blobs_to_check[i].second, "]"));
      } else {
        bytes += *size;
      }
      report("blobs", ++done, total);
    }
  };
  std::thread t(worker);
  worker();
  t.join();
  rep.blobs = total;
  rep.blob_bytes = bytes;
  rep.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  (void)max_seq;
  return rep;
}

}  // namespace custos::repo
