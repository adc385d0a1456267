#include "src/cli/cli.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "src/cli/commands.h"
#include "src/custody/checkpoint.h"
#include "src/custody/merkle.h"

namespace custos::cli {
namespace {

using nlohmann::json;
using repo::Repository;

constexpr char kExitCodes[] = R"(Exit codes:
  0   success
  1   verification found problems (verify, verify-receipt), differences
      found (audit)
  2   usage error or malformed input
  3   not found (path, repository, item, actor, case, event)
  4   permission denied: file permissions, wrong passphrase, revoked or
      unknown signer, forged signature
  5   disk full
  6   conflict: already exists, newer repository format, busy
  7   data loss: corrupt repository or input
  8   partial: committed but incomplete (extract: a volume failed)
  70  internal error

Environment:
  CUSTOS_REPO        repository directory when --repo is not given
  CUSTOS_PASSPHRASE  passphrase of the private keys (or --passphrase-file)

See docs/cli.md for the full reference.)";

}  // namespace

CliEnv ProcessCliEnv() {
  CliEnv env;
  for (const char* k : {"CUSTOS_REPO", "CUSTOS_PASSPHRASE"})
    if (const char* v = std::getenv(k)) env.vars[k] = v;
  env.stderr_is_tty = ::isatty(2) == 1;
  return env;
}

int RunCli(int argc, const char* const* argv, CliEnv& env) {
  Globals g;
  CLI::App app{
      "custos: evidence vault and custody ledger.\n\n"
      "Every byte of evidence is addressed by its SHA-256; every act on it is "
      "a custody\n"
      "event signed by the person who acted; all events form an append-only "
      "Merkle log\n"
      "(RFC 9162) with signed C2SP checkpoints that anyone can check offline.",
      "custos"};
  app.footer(kExitCodes);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--repo", g.repo_dir,
                 "Repository directory (default: $CUSTOS_REPO, else .)");
  app.add_flag("--json", g.json, "Machine-readable JSON output");
  app.add_flag("-q,--quiet", g.quiet, "No progress bars");
  app.add_option(
      "--passphrase-file", g.passphrase_file,
      "File whose first line is the key passphrase (else $CUSTOS_PASSPHRASE)");
  app.add_option("--place", g.place,
                 "Place recorded in events (default: host name)");
  app.set_version_flag("--version", "custos 0.1.0");

  Ctx ctx(env, g);
  absl::Status status;
  int verify_exit = 0;
  auto run = [&](std::function<absl::Status()> fn) {
    return std::function<void()>([&status, fn] { status = fn(); });
  };
  Commands cmd{ctx, run, &verify_exit};

  // init
  std::string init_dir, origin, authority;
  auto* init =
      app.add_subcommand("init", "Create a repository for one authority");
  init->add_option("DIR", init_dir,
                   "Directory to create (must be absent or empty)")
      ->required();
  init->add_option("--origin", origin,
                   "C2SP log origin, e.g. example.org/nl-om")
      ->required();
  init->add_option("--authority", authority, "Name of the authority")
      ->required();
  init->footer(
      "Creates DIR with a SQLite metadata database (WAL), a content-addressed "
      "blob\n"
      "store, and a new Ed25519 log key (PKCS#8, mode 0600, encrypted when a\n"
      "passphrase is set). Event #0 records the creation.");
  init->callback(run([&]() -> absl::Status {
    CUSTOS_RETURN_IF_ERROR(ctx.SetupEnv());
    CUSTOS_ASSIGN_OR_RETURN(
        auto r, Repository::Init(init_dir, {origin, authority}, env.repo));
    if (ctx.json_mode())
      ctx.Emit({{"repository", init_dir},
                {"origin", r->origin()},
                {"vkey", r->log_vkey()}});
    else
      ctx.out() << "Initialised custos repository in " << init_dir
                << "\n  origin: " << r->origin()
                << "\n  log verifier key: " << r->log_vkey() << "\n";
    return absl::OkStatus();
  }));

  // actor
  auto* actor =
      app.add_subcommand("actor", "Register, list and revoke actors (people)");
  actor->require_subcommand(1);
  std::string actor_name, actor_role, revoke_reason;
  auto* actor_add = actor->add_subcommand(
      "add", "Register a person with a role and a new key");
  actor_add->add_option("NAME", actor_name, "Full name")->required();
  actor_add
      ->add_option("--role", actor_role,
                   "examiner, custodian, investigator, prosecutor or auditor")
      ->required();
  actor_add->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto a, r->AddActor(actor_name, actor_role));
    if (ctx.json_mode())
      ctx.Emit({{"id", a.id},
                {"name", a.name},
                {"role", a.role},
                {"public_key", Base64Encode(a.public_key)},
                {"event", a.registered_seq}});
    else
      ctx.out() << "Registered " << a.name << " (" << a.role << "), id " << a.id
                << ", event #" << a.registered_seq << "\n";
    return absl::OkStatus();
  }));
  auto* actor_list = actor->add_subcommand("list", "List actors");
  actor_list->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto list, r->meta().ListActors());
    json arr = json::array();
    for (const auto& a : list) {
      arr.push_back({{"id", a.id},
                     {"name", a.name},
                     {"role", a.role},
                     {"revoked", a.revoked},
                     {"public_key", Base64Encode(a.public_key)}});
      if (!ctx.json_mode())
        ctx.out() << absl::StrFormat("%-36s  %-12s %s%s\n", a.id, a.role,
                                     a.name, a.revoked ? "  (revoked)" : "");
    }
    if (ctx.json_mode()) ctx.Emit(arr);
    return absl::OkStatus();
  }));
  auto* actor_revoke = actor->add_subcommand(
      "revoke", "Revoke an actor: they can sign no more events");
  actor_revoke->add_option("ACTOR", actor_name, "Actor id or name")->required();
  actor_revoke->add_option("--reason", revoke_reason, "Why");
  actor_revoke->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto a, r->RevokeActor(actor_name, revoke_reason));
    if (ctx.json_mode())
      ctx.Emit({{"id", a.id}, {"name", a.name}, {"revoked", true}});
    else
      ctx.out() << "Revoked " << a.name << "\n";
    return absl::OkStatus();
  }));

  // case
  auto* kase = app.add_subcommand("case", "Open and list cases");
  kase->require_subcommand(1);
  repo::CaseRecord case_rec;
  std::string case_actor;
  auto* case_open = kase->add_subcommand("open", "Open a case");
  case_open
      ->add_option("ID", case_rec.id, "Case identifier, e.g. CASE-2026-0042")
      ->required();
  case_open->add_option("--title", case_rec.title, "Title")->required();
  case_open->add_option("--legal-basis", case_rec.legal_basis, "Legal basis")
      ->required();
  case_open->add_option("--iccs", case_rec.iccs,
                        "ICCS offence code (repeatable)");
  case_open->add_option("--actor", case_actor,
                        "Actor opening the case (default: the authority)");
  case_open->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto c, r->OpenCase(case_rec, case_actor));
    if (ctx.json_mode())
      ctx.Emit({{"id", c.id},
                {"title", c.title},
                {"legal_basis", c.legal_basis},
                {"iccs", c.iccs},
                {"event", c.opened_seq}});
    else
      ctx.out() << "Opened case " << c.id << ", event #" << c.opened_seq
                << "\n";
    return absl::OkStatus();
  }));
  auto* case_list = kase->add_subcommand("list", "List cases");
  case_list->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto list, r->meta().ListCases());
    json arr = json::array();
    for (const auto& c : list) {
      arr.push_back({{"id", c.id},
                     {"title", c.title},
                     {"legal_basis", c.legal_basis},
                     {"iccs", c.iccs},
                     {"event", c.opened_seq}});
      if (!ctx.json_mode())
        ctx.out() << absl::StrFormat("%-20s %s\n", c.id, c.title);
    }
    if (ctx.json_mode()) ctx.Emit(arr);
    return absl::OkStatus();
  }));

  // acquire
  std::vector<std::string> acq_paths;
  repo::AcquireRequest acq;
  bool want_md5 = false, want_sha1 = false;
  auto* acquire_cmd = app.add_subcommand(
      "acquire", "Acquire files, directories, devices or raw images");
  acquire_cmd->add_option("PATH", acq_paths, "Sources to acquire")->required();
  acquire_cmd->add_option("--case", acq.case_id, "Case the evidence belongs to")
      ->required();
  acquire_cmd->add_option("--actor", acq.actor, "Person acquiring (id or name)")
      ->required();
  acquire_cmd->add_option(
      "--exhibit", acq.exhibits,
      "Exhibit number: one per source, or one used as a prefix (-1, -2, ...)");
  acquire_cmd->add_option("--description", acq.description,
                          "Description of the exhibit");
  acquire_cmd->add_option("--note", acq.note,
                          "Free text recorded in the event");
  acquire_cmd->add_option("--purpose", acq.purpose,
                          "Purpose or legal basis of the acquisition");
  acquire_cmd->add_flag("--md5", want_md5, "Also compute MD5 (same read pass)");
  acquire_cmd->add_flag("--sha1", want_sha1,
                        "Also compute SHA-1 (same read pass)");
  acquire_cmd->add_flag("--follow-symlinks", acq.follow_symlinks,
                        "Follow symbolic links");
  acquire_cmd
      ->add_option("--format", acq.format,
                   "How to read the sources: auto (default), ewf, raw, split, "
                   "file")
      ->check(CLI::IsMember({"auto", "ewf", "raw", "split", "file"}));
  acquire_cmd->footer(
      "Each source becomes one exhibit item and one signed 'acquired' event. "
      "Files are\n"
      "read once, hashed and stored by SHA-256 (identical content is stored "
      "once).\n"
      "Directories are walked recursively: every entry is listed in a manifest "
      "blob with\n"
      "its raw name bytes, times, mode and owner; symlinks and special files "
      "are recorded,\n"
      "not followed or read; unreadable entries are listed with the error.\n"
      "Every file read is identified by content (libmagic: media_type; EXIF "
      "of photos as\n"
      "exif.* properties, see `custos show` and `custos items --property`).\n"
      "\n"
      "Disk images (docs/formats/images.md). An E01 (EWF) image, recognised "
      "by its\n"
      "signature, is acquired as ONE item with all its segment files (E01, "
      "E02, ...,\n"
      "found from the first; each stored as a blob). The media data is "
      "decompressed\n"
      "and hashed (SHA-256; MD5 and SHA-1 when the image stores them or "
      "--md5/--sha1\n"
      "ask) and compared with the hashes stored in the\n"
      "image: 'verified', 'no_stored_hash', or 'mismatch'/'chunk_errors' - "
      "still\n"
      "recorded, flagged as the property ewf.verification and told on "
      "stderr, exit 1.\n"
      "Header metadata (case and evidence number, examiner, notes, dates, "
      "software)\n"
      "become ewf.* properties and part of the signed event. A missing, "
      "truncated or\n"
      "damaged segment is refused with an error naming it; nothing is "
      "recorded.\n"
      "NAME.001 is a split raw image: NAME.002, ... are found and "
      "concatenated into one\n"
      "raw_image item whose SHA-256 is that of the whole media stream. "
      "--format raw\n"
      "records a single raw/dd file as a raw_image.\n"
      "\n"
      "Known files (custos hashset): every file acquired is looked up in the "
      "imported\n"
      "hash sets. A known-bad match prints 'WARNING: KNOWN-BAD FILE in EXH: "
      "PATH\n"
      "matches hash set SET (category C, ALGO HASH), event #N' on stderr (with "
      "--json\n"
      "too; items[].known_bad lists them) and is recorded as a signed "
      "'analysed' event\n"
      "and the property hashset.known_bad; known-good matches set "
      "hashset.known_good.\n"
      "\n"
      "Exit codes: 0 ok; 1 recorded, but an image failed verification; 2 "
      "usage;\n"
      "3 source not found or image segment missing; 4 permission; 5 disk "
      "full;\n"
      "6 conflict; 7 damaged image or repository (nothing recorded).");
  acquire_cmd->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    acq.digests = unsigned{crypto::kSha256} |
                  (want_md5 ? unsigned{crypto::kMd5} : 0u) |
                  (want_sha1 ? unsigned{crypto::kSha1} : 0u);
    ProgressBar bar(ctx.err(), ctx.ShowProgress());
    acq.progress = [&](const acquire::Progress& p) {
      bar.Update("acquiring", p.bytes_done, p.bytes_total, true);
    };
    auto t0 = std::chrono::steady_clock::now();
    CUSTOS_ASSIGN_OR_RETURN(auto results, r->Acquire(acq_paths, acq));
    bar.Done();
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    json arr = json::array();
    for (const auto& s : results) {
      json j = ItemJson(s.item);
      j["event"] = s.event_seq;
      j["entries"] = s.entries;
      j["files"] = s.files;
      j["bytes"] = s.bytes;
      j["unreadable"] = s.unreadable;
      json bad = json::array();
      for (const auto& h : s.known_bad) {
        bad.push_back({{"item", h.item_id},
                       {"path", h.path},
                       {"set", h.set},
                       {"category", h.category},
                       {"algorithm", h.algorithm},
                       {"hash", h.hash_hex},
                       {"event", h.event_seq}});
        // Told loudly, also in --json mode (on stderr).
        ctx.err() << "WARNING: KNOWN-BAD FILE in " << s.item.exhibit << ": "
                  << (h.path.empty() ? EscapeBytes(s.item.source) : h.path)
                  << " matches hash set " << h.set << " (category "
                  << h.category << ", " << h.algorithm << " " << h.hash_hex
                  << ")"
                  << (h.event_seq ? absl::StrCat(", event #", h.event_seq)
                                  : std::string())
                  << "\n";
      }
      j["known_bad"] = bad;
      j["known_good"] = s.known_good;
      if (!s.image_format.empty()) {
        j["image_format"] = s.image_format;
        if (!s.verification.empty()) j["verification"] = s.verification;
        j["warnings"] = s.warnings;
        json props = json::object();
        if (auto pr = r->meta().ItemProperties(s.item.id); pr.ok())
          for (const auto& [k, v] : *pr) props[k] = v;
        j["properties"] = props;
      }
      // Told loudly, also in --json mode (on stderr).
      for (const auto& w : s.warnings)
        ctx.err() << "WARNING: " << s.item.exhibit << " ("
                  << EscapeBytes(s.item.source) << "): " << w << "\n";
      if (s.verification == "mismatch" || s.verification == "chunk_errors")
        verify_exit = repo::kExitVerifyFailed;
      if (!s.known_files_error.empty()) {
        j["known_files_error"] = s.known_files_error;
        ctx.err() << "WARNING: the known-file check of " << s.item.exhibit
                  << " failed: " << s.known_files_error << "\n";
      }
      arr.push_back(j);
      if (!ctx.json_mode()) {
        ctx.out() << "Acquired " << s.item.exhibit << " (" << s.item.kind
                  << ") from " << EscapeBytes(s.item.source) << "\n  item "
                  << s.item.id << ", event #" << s.event_seq << "\n  "
                  << s.files << " file(s), " << HumanBytes(s.bytes)
                  << "; sha256 " << Hex(s.item.sha256) << "\n";
        if (!s.item.md5.empty())
          ctx.out() << "  md5 " << Hex(s.item.md5) << "\n";
        if (!s.item.sha1.empty())
          ctx.out() << "  sha1 " << Hex(s.item.sha1) << "\n";
        for (const auto& u : s.unreadable)
          ctx.out() << "  UNREADABLE: " << u << "\n";
        if (s.image_format == "ewf") {
          std::map<std::string, std::string> p;
          if (auto pr = r->meta().ItemProperties(s.item.id); pr.ok())
            p.insert(pr->begin(), pr->end());
          ctx.out() << "  EWF image, " << p["ewf.segment_count"]
                    << " segment(s), media "
                    << HumanBytes(static_cast<double>(std::strtoull(
                           p["ewf.media_size"].c_str(), nullptr, 10)))
                    << "\n  media md5    "
                    << (p["ewf.media_md5"].empty() ? "- (not computed)"
                                                   : p["ewf.media_md5"])
                    << "\n  media sha1   "
                    << (p["ewf.media_sha1"].empty() ? "- (not computed)"
                                                    : p["ewf.media_sha1"])
                    << "\n  media sha256 " << p["ewf.media_sha256"]
                    << "\n  stored md5   "
                    << (p["ewf.stored_md5"].empty() ? "-" : p["ewf.stored_md5"])
                    << "\n  stored sha1  "
                    << (p["ewf.stored_sha1"].empty() ? "-"
                                                     : p["ewf.stored_sha1"])
                    << "\n  verification: "
                    << (s.verification == "verified"
                            ? "VERIFIED (stored hashes match the media data)"
                        : s.verification == "mismatch"
                            ? "MISMATCH (see warning)"
                        : s.verification == "chunk_errors"
                            ? "DAMAGED CHUNKS (see warning)"
                            : "no stored hash in the image")
                    << "\n";
        }
      }
    }
    if (ctx.json_mode()) ctx.Emit({{"items", arr}, {"seconds", secs}});
    return absl::OkStatus();
  }));

  // event add
  auto* event = app.add_subcommand("event", "Record custody events");
  event->require_subcommand(1);
  repo::EventRequest ev;
  auto* event_add =
      event->add_subcommand("add", "Record one signed custody event");
  event_add
      ->add_option(
          "--type", ev.type,
          "accessed, analysed, transferred, received, exported, returned, "
          "disposed or note")
      ->required();
  event_add->add_option("--item", ev.items,
                        "Item id, id prefix or exhibit number (repeatable)");
  event_add->add_option("--actor", ev.actor, "Person acting (id or name)")
      ->required();
  event_add->add_option("--to", ev.to,
                        "Recipient (transferred, exported, returned)");
  event_add->add_option("--from", ev.from, "Sender (received)");
  event_add->add_option("--purpose", ev.purpose, "Purpose or legal basis");
  event_add->add_option("--note", ev.note, "Free text");
  event_add->add_option("--case", ev.case_id,
                        "Case (default: the items' case)");
  event_add->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    CUSTOS_ASSIGN_OR_RETURN(auto recs, r->AddEvents({ev}));
    if (ctx.json_mode())
      ctx.Emit(EventJson(recs.at(0)));
    else
      ctx.out() << "Recorded " << EventLine(recs.at(0)) << "\n";
    return absl::OkStatus();
  }));

  // log / show / items
  std::string log_item, log_case;
  auto* log = app.add_subcommand("log", "List custody events, oldest first");
  log->add_option("--item", log_item, "Only events of this item");
  log->add_option("--case", log_case, "Only events of this case");
  log->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    json arr = json::array();
    auto emit = [&](const repo::EventRecord& e) -> absl::Status {
      if (!log_case.empty() && e.case_id != log_case) return absl::OkStatus();
      if (ctx.json_mode())
        arr.push_back(EventJson(e));
      else
        ctx.out() << EventLine(e) << "\n";
      return absl::OkStatus();
    };
    if (!log_item.empty()) {
      CUSTOS_ASSIGN_OR_RETURN(auto it, r->meta().FindItem(log_item));
      if (!it)
        return absl::NotFoundError(absl::StrCat("no item \"", log_item, "\""));
      CUSTOS_ASSIGN_OR_RETURN(auto seqs, r->meta().EventsOfItem(it->id));
      for (uint64_t s : seqs) {
        CUSTOS_ASSIGN_OR_RETURN(auto e, r->meta().GetEvent(s));
        CUSTOS_RETURN_IF_ERROR(emit(e));
      }
    } else {
      CUSTOS_RETURN_IF_ERROR(r->meta().ForEachEvent(0, UINT64_MAX >> 1, emit));
    }
    if (ctx.json_mode()) ctx.Emit(arr);
    return absl::OkStatus();
  }));

  std::string show_id;
  auto* show = app.add_subcommand(
      "show", "Show an item (id, prefix, exhibit) or an event (#N)");
  show->add_option("ID", show_id,
                   "Item id, id prefix, exhibit number, or #N / event number")
      ->required();
  show->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    std::string key = show_id;
    uint64_t seq;
    if (!key.empty() && key[0] == '#' &&
        absl::SimpleAtoi(key.substr(1), &seq)) {
      CUSTOS_ASSIGN_OR_RETURN(auto e, r->meta().GetEvent(seq));
      json j = EventJson(e);
      ctx.out() << j.dump(2) << "\n";
      return absl::OkStatus();
    }
    CUSTOS_ASSIGN_OR_RETURN(auto it, r->meta().FindItem(key));
    if (!it) {
      if (absl::SimpleAtoi(key, &seq)) {
        CUSTOS_ASSIGN_OR_RETURN(auto e, r->meta().GetEvent(seq));
        ctx.out() << EventJson(e).dump(2) << "\n";
        return absl::OkStatus();
      }
      return absl::NotFoundError(
          absl::StrCat("no item or event \"", key, "\""));
    }
    json j = ItemJson(*it);
    CUSTOS_ASSIGN_OR_RETURN(auto seqs, r->meta().EventsOfItem(it->id));
    j["events"] = seqs;
    CUSTOS_ASSIGN_OR_RETURN(auto kids, r->meta().ChildrenOf(it->id));
    j["children"] = kids.size();
    CUSTOS_ASSIGN_OR_RETURN(auto props, r->meta().ItemProperties(it->id));
    json pj = json::object();
    for (const auto& [k, v] : props) pj[k] = v;
    if (ctx.json_mode()) {
      j["properties"] = pj;
      ctx.Emit(j);
    } else {
      for (const auto& [k, v] : j.items())
        ctx.out() << absl::StrFormat(
            "%-15s %s\n", k, v.is_string() ? v.get<std::string>() : v.dump());
      if (!props.empty()) ctx.out() << "properties:\n";
      for (const auto& [k, v] : props)
        ctx.out() << absl::StrFormat("  %-32s %s\n", k, EscapeBytes(v));
      for (size_t i = 0; i < kids.size() && i < 50; ++i)
        ctx.out() << "  " << Hex(kids[i].sha256).substr(0, 16) << "  "
                  << EscapeBytes(kids[i].rel_path) << "\n";
      if (kids.size() > 50)
        ctx.out() << "  ... " << kids.size() - 50 << " more\n";
    }
    return absl::OkStatus();
  }));

  std::string items_case;
  bool items_all = false;
  auto* items = app.add_subcommand(
      "items", "List exhibits (and with --all, every file item)");
  items->add_option("--case", items_case, "Only this case");
  items->add_flag("--all", items_all,
                  "Include files inside acquired directories");
  std::vector<std::string> items_props;
  items->add_option(
      "--property", items_props,
      "KEY=PATTERN: only items whose property KEY matches PATTERN (SQL LIKE: "
      "% any run, _ one character; case-insensitive for ASCII); repeat to "
      "require all. Implies --all");
  std::string items_type;
  items->add_option("--type", items_type,
                    "Only items whose media type matches (SQL LIKE pattern, "
                    "e.g. image/%)");
  items->footer(
      "Properties are set at acquisition: media type and description "
      "(libmagic),\n"
      "EXIF of photos (exif.Make, exif.Model, exif.DateTimeOriginal, "
      "exif.gps.latitude,\n"
      "...), EWF image header metadata (ewf.case_number, ewf.examiner, "
      "ewf.verification, ...).\n"
      "Examples:\n"
      "  custos items --property exif.Make=Canon\n"
      "  custos items --property 'ewf.verification=MISMATCH'\n"
      "  custos items --type 'image/%'\n"
      "Exit codes: 0 ok (also when nothing matches); 2 usage; 3 no "
      "repository.");
  items->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    json arr = json::array();
    // Property filters: the intersection of the items matching each one.
    std::optional<std::set<std::string>> wanted;
    for (const auto& kv : items_props) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        return absl::InvalidArgumentError(
            absl::StrCat("--property wants KEY=PATTERN, got \"", kv, "\""));
      CUSTOS_ASSIGN_OR_RETURN(
          auto ids,
          r->meta().FindItemsByProperty(kv.substr(0, eq), kv.substr(eq + 1)));
      std::set<std::string> got(ids.begin(), ids.end());
      if (!wanted) {
        wanted = std::move(got);
      } else {
        std::set<std::string> both;
        for (const auto& id : *wanted)
          if (got.count(id)) both.insert(id);
        wanted = std::move(both);
      }
    }
    if (wanted) items_all = true;
    auto like = [](std::string_view text, std::string_view pat) -> bool {
      // SQL LIKE with % and _, ASCII case-insensitive (as SQLite's LIKE).
      std::vector<std::vector<bool>> m(pat.size() + 1,
                                       std::vector<bool>(text.size() + 1));
      m[0][0] = true;
      for (size_t i = 1; i <= pat.size(); ++i) {
        m[i][0] = m[i - 1][0] && pat[i - 1] == '%';
        for (size_t k = 1; k <= text.size(); ++k) {
          char p = pat[i - 1];
          if (p == '%')
            m[i][k] = m[i - 1][k] || m[i][k - 1];
          else
            m[i][k] = m[i - 1][k - 1] &&
                      (p == '_' || absl::ascii_tolower(p) ==
                                       absl::ascii_tolower(text[k - 1]));
        }
      }
      return m[pat.size()][text.size()];
    };
    CUSTOS_RETURN_IF_ERROR(r->meta().ForEachItem(
        items_case, items_all, [&](const repo::ItemRecord& it) {
          if (wanted && !wanted->count(it.id)) return absl::OkStatus();
          if (!items_type.empty() && !like(it.media_type, items_type))
            return absl::OkStatus();
          if (ctx.json_mode())
            arr.push_back(ItemJson(it));
          else
            ctx.out() << absl::StrFormat(
                "%-36s %-10s %-12s %12d %s %s\n", it.id, it.exhibit, it.kind,
                it.size, Hex(it.sha256).substr(0, 16),
                EscapeBytes(it.rel_path.empty() ? it.source : it.rel_path));
          return absl::OkStatus();
        }));
    if (ctx.json_mode()) ctx.Emit(arr);
    return absl::OkStatus();
  }));

  // checkpoint / vkey
  uint64_t cp_size = 0;
  auto* checkpoint = app.add_subcommand(
      "checkpoint", "Print the latest signed checkpoint (C2SP signed note)");
  checkpoint->add_option("--size", cp_size,
                         "The stored checkpoint of this tree size instead");
  checkpoint->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    repo::CheckpointRecord cp;
    if (cp_size > 0) {
      CUSTOS_ASSIGN_OR_RETURN(auto c, r->meta().GetCheckpoint(cp_size));
      if (!c)
        return absl::NotFoundError(
            absl::StrCat("no checkpoint of size ", cp_size));
      cp = *c;
    } else {
      CUSTOS_ASSIGN_OR_RETURN(cp, r->LatestCheckpoint());
    }
    if (ctx.json_mode()) {
      auto parsed = crypto::ParseNote(cp.note);
      json j = {{"size", cp.size}, {"note", cp.note}};
      if (parsed.ok()) {
        auto c = custody::ParseCheckpoint(parsed->text);
        if (c.ok())
          j["root"] = Base64Encode(crypto::AsView(c->root)),
          j["origin"] = c->origin;
      }
      ctx.Emit(j);
    } else {
      ctx.out() << cp.note;
    }
    return absl::OkStatus();
  }));
  auto* vkey =
      app.add_subcommand("vkey", "Print the log's verifier key (C2SP vkey)");
  vkey->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    if (ctx.json_mode())
      ctx.Emit({{"vkey", r->log_vkey()}, {"origin", r->origin()}});
    else
      ctx.out() << r->log_vkey() << "\n";
    return absl::OkStatus();
  }));

  // prove
  std::vector<uint64_t> prove_args;
  bool prove_consistency = false;
  std::string prove_out;
  auto* prove = app.add_subcommand(
      "prove", "Offline receipt for an event, or a consistency proof");
  prove
      ->add_option("EVENT", prove_args,
                   "Event number; with --consistency: OLD_SIZE [NEW_SIZE]")
      ->required();
  prove->add_flag("--consistency", prove_consistency,
                  "Prove that tree OLD_SIZE is a prefix of NEW_SIZE");
  prove->add_option("-o,--output", prove_out, "Write the receipt to this file");
  prove->footer(
      "A receipt is a c2sp.org/tlog-proof@v1 text: the event's canonical bytes "
      "(extra\n"
      "line, base64), its index, the inclusion proof and the signed "
      "checkpoint. Check it\n"
      "with `custos verify-receipt` or any tlog-proof verifier, with only the "
      "log's vkey.");
  prove->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(auto r, ctx.Open());
    if (prove_consistency) {
      if (prove_args.size() > 2)
        return absl::InvalidArgumentError("give OLD_SIZE [NEW_SIZE]");
      CUSTOS_ASSIGN_OR_RETURN(
          auto c,
          r->ProveConsistency(prove_args[0],
                              prove_args.size() > 1 ? prove_args[1] : 0));
      json proof = json::array();
      for (const auto& h : c.proof)
        proof.push_back(Base64Encode(crypto::AsView(h)));
      if (ctx.json_mode()) {
        ctx.Emit({{"old_size", c.old_size},
                  {"new_size", c.new_size},
                  {"proof", proof},
                  {"old_checkpoint", c.old_checkpoint},
                  {"new_checkpoint", c.new_checkpoint}});
      } else {
        ctx.out() << "old " << c.old_size << "\nnew " << c.new_size << "\n";
        for (const auto& p : proof) ctx.out() << p.get<std::string>() << "\n";
      }
      return absl::OkStatus();
    }
    if (prove_args.size() != 1)
      return absl::InvalidArgumentError("give one event number");
    CUSTOS_ASSIGN_OR_RETURN(auto rc, r->Prove(prove_args[0]));
    if (!prove_out.empty()) {
      std::ofstream f(prove_out, std::ios::binary);
      f << rc.text;
      if (!f.flush())
        return absl::PermissionDeniedError(
            absl::StrCat("cannot write ", prove_out));
    }
    if (ctx.json_mode()) {
      ctx.Emit({{"index", rc.seq},
                {"tree_size", rc.tree_size},
                {"leaf_hash", HexH(rc.leaf_hash)},
                {"event_bytes_b64", Base64Encode(rc.leaf)},
                {"receipt", rc.text}});
    } else if (prove_out.empty()) {
      ctx.out() << rc.text;
    } else {
      ctx.out() << "Wrote receipt for event #" << rc.seq << " (tree size "
                << rc.tree_size << ") to " << prove_out << "\n";
    }
    return absl::OkStatus();
  }));

  // verify
  auto* verify = app.add_subcommand("verify", "Re-check the whole repository");
  verify->footer(
      "Re-hashes every blob, checks every event's canonical form, signature, "
      "signer and\n"
      "per-item chain, recomputes the Merkle tree, and checks every stored "
      "checkpoint's\n"
      "signature, root and consistency with the next. Exit 0 only if all "
      "holds; else\n"
      "every problem is listed and the exit code is 1.");
  verify->callback(run([&]() -> absl::Status {
    auto opened = ctx.Open();
    if (!opened.ok() && opened.status().code() == absl::StatusCode::kDataLoss) {
      // A repository too damaged to open is a verification failure, named.
      std::string what(opened.status().message());
      if (ctx.json_mode())
        ctx.Emit({{"ok", false},
                  {"problems", json::array({{{"where", "repository"},
                                             {"problem", what}}})}});
      else
        ctx.out() << "PROBLEM  repository: " << what
                  << "\nFAILED: the repository cannot be read\n";
      verify_exit = repo::kExitVerifyFailed;
      return absl::OkStatus();
    }
    CUSTOS_ASSIGN_OR_RETURN(auto r, std::move(opened));
    ProgressBar bar(ctx.err(), ctx.ShowProgress());
    CUSTOS_ASSIGN_OR_RETURN(auto rep, r->Verify([&](const std::string& stage,
                                                    uint64_t d, uint64_t t) {
      bar.Update(stage, d, t, false);
    }));
    bar.Done();
    double mbs = rep.seconds > 0 ? rep.blob_bytes / 1e6 / rep.seconds : 0;
    if (ctx.json_mode()) {
      json probs = json::array();
      for (const auto& p : rep.problems)
        probs.push_back({{"where", p.where}, {"problem", p.what}});
      ctx.Emit({{"ok", rep.ok()},
                {"events", rep.events},
                {"items", rep.items},
                {"blobs", rep.blobs},
                {"bytes", rep.blob_bytes},
                {"checkpoints", rep.checkpoints},
                {"seconds", rep.seconds},
                {"mb_per_s", mbs},
                {"problems", probs}});
    } else {
      for (const auto& p : rep.problems)
        ctx.out() << "PROBLEM  " << p.where << ": " << p.what << "\n";
      ctx.out() << (rep.ok() ? "OK" : "FAILED") << ": " << rep.events
                << " events, " << rep.items << " items, " << rep.blobs
                << " blobs (" << HumanBytes(rep.blob_bytes) << "), "
                << rep.checkpoints << " checkpoints checked in "
                << absl::StrFormat("%.2f s (%.0f MB/s)", rep.seconds, mbs);
      if (!rep.ok()) ctx.out() << "; " << rep.problems.size() << " problem(s)";
      ctx.out() << "\n";
    }
    if (!rep.ok()) verify_exit = repo::kExitVerifyFailed;
    return absl::OkStatus();
  }));

  // verify-receipt
  std::string receipt_file, event_bytes_file;
  std::vector<std::string> vkeys, witness_vkeys;
  size_t min_witnesses = 0;
  auto* vr = app.add_subcommand(
      "verify-receipt", "Check an offline receipt; no repository needed");
  vr->add_option("FILE", receipt_file, "The .tlog-proof receipt")->required();
  vr->add_option("--vkey", vkeys,
                 "Log verifier key: text, @FILE or FILE (repeatable)")
      ->required();
  vr->add_option("--witness-vkey", witness_vkeys,
                 "Witness verifier key (repeatable)");
  vr->add_option("--min-witnesses", min_witnesses,
                 "Witness cosignatures required");
  vr->add_option(
      "--event-bytes", event_bytes_file,
      "The event's canonical bytes (default: the receipt's extra line)");
  vr->callback(run([&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(std::string text, ReadFileArg(receipt_file));
    auto parsed = custody::ParseTlogProof(text);
    if (!parsed.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("malformed receipt: ", parsed.status().message()));
    std::string leaf;
    if (!event_bytes_file.empty()) {
      CUSTOS_ASSIGN_OR_RETURN(leaf, ReadFileArg(event_bytes_file));
    } else if (parsed->extra) {
      leaf = *parsed->extra;
    } else {
      return absl::InvalidArgumentError(
          "the receipt has no event bytes: give --event-bytes");
    }
    custody::CheckpointPolicy policy;
    for (const auto& v : vkeys) {
      CUSTOS_ASSIGN_OR_RETURN(auto k, VkeyArg(v));
      policy.log_keys.push_back(k);
    }
    for (const auto& v : witness_vkeys) {
      CUSTOS_ASSIGN_OR_RETURN(auto k, VkeyArg(v));
      policy.witness_keys.push_back(k);
    }
    policy.min_witnesses = min_witnesses;
    auto note = crypto::ParseNote(parsed->checkpoint_note);
    if (!note.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("malformed checkpoint: ", note.status().message()));
    auto cp = custody::ParseCheckpoint(note->text);
    if (!cp.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("malformed checkpoint: ", cp.status().message()));
    policy.origin = cp->origin;
    auto v = custody::VerifyTlogProof(*parsed, custody::LeafHash(leaf), policy);
    json j = {{"ok", v.ok()},
              {"index", parsed->index},
              {"origin", cp->origin},
              {"tree_size", cp->size},
              {"leaf_hash", HexH(custody::LeafHash(leaf))}};
    auto event = json::parse(leaf, nullptr, false);
    if (!v.ok()) j["problem"] = std::string(v.status().message());
    if (!event.is_discarded()) j["event"] = event;
    if (ctx.json_mode()) {
      ctx.Emit(j);
    } else if (v.ok()) {
      ctx.out() << "OK: event #" << parsed->index << " is in the log "
                << cp->origin << " (tree size " << cp->size
                << "), checkpoint signed by "
                << absl::StrJoin(
                       v->note.verified, ", ",
                       [](std::string* o, const crypto::VerifiedSignature& s) {
                         o->append(s.name);
                       })
                << "\n";
      if (!event.is_discarded())
        ctx.out() << "  " << event.value("type", "") << " by "
                  << event["actor"].value("name", "") << " at "
                  << event.value("time", "") << "\n";
    } else {
      ctx.out() << "FAILED: " << v.status().message() << "\n";
    }
    if (!v.ok()) verify_exit = repo::kExitVerifyFailed;
    return absl::OkStatus();
  }));

  // Command groups in their own files, listed after the vault's core
  // commands in `custos --help`.
  AddExtractCommands(app, cmd);
  AddExportCommands(app, cmd);
  AddHashsetCommands(app, cmd);
  AddListCommands(app, cmd);
  AddTagCommands(app, cmd);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      app.exit(e, *env.out, *env.err);
      return 0;
    }
    *env.err << "custos: " << e.what() << "\n(run `custos --help` for usage)\n";
    return repo::kExitUsage;
  }
  if (!status.ok()) {
    *env.err << "custos: error: " << status.message() << "\n";
    return repo::ExitCodeFor(status);
  }
  return verify_exit;
}

}  // namespace custos::cli
