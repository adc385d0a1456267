#include "src/repo/repository.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/base/absl_compat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "src/custody/merkle.h"
#include "src/repo/canonical_json.h"
#include "src/repo/repository_internal.h"

namespace custos::repo {
namespace {

using custody::Checkpoint;
using nlohmann::json;

constexpr char kFormatFile[] = "FORMAT";
constexpr char kFormatMagic[] = "custos-repository";
constexpr char kDbFile[] = "custos.db";

std::string HexOf(const crypto::Hash32& h) {
  return HexEncode(crypto::AsView(h));
}

}  // namespace

int ExitCodeFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return kExitUsage;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return kExitPermission;
    case absl::StatusCode::kResourceExhausted:
      return kExitDiskFull;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kUnavailable:
      return kExitConflict;
    case absl::StatusCode::kDataLoss:
      return kExitDataLoss;
    default:
      return kExitInternal;
  }
}

Repository::Repository(std::string dir, RepoEnv env)
    : dir_(std::move(dir)), env_(std::move(env)) {}

Repository::~Repository() {
  Unlock();
  ReleaseWritersLock();
}

namespace {
// Opens (creating) `path` and takes flock(2) `op` on it, retrying on EINTR.
absl::StatusOr<int> OpenAndLock(const std::string& path, int op) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoToStatus(errno, path);
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return ErrnoToStatus(err, path);
  }
  return fd;
}
}  // namespace

absl::Status Repository::Lock() {
  if (lock_fd_ >= 0) return absl::OkStatus();
  CUSTOS_ASSIGN_OR_RETURN(lock_fd_, OpenAndLock(dir_ + "/lock", LOCK_EX));
  // Whatever this process read before waiting for the lock may be stale.
  if (meta_) meta_->ReleaseSnapshot();
  return absl::OkStatus();
}

absl::Status Repository::HoldWritersLock() {
  if (writers_fd_ >= 0) return absl::OkStatus();
  CUSTOS_ASSIGN_OR_RETURN(writers_fd_,
                          OpenAndLock(dir_ + "/blob-writers.lock", LOCK_SH));
  return absl::OkStatus();
}

bool Repository::TryExclusiveWritersLock() {
  std::string path = dir_ + "/blob-writers.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  writers_fd_ = fd;
  return true;
}

void Repository::ReleaseWritersLock() {
  if (writers_fd_ >= 0) {
    ::flock(writers_fd_, LOCK_UN);
    ::close(writers_fd_);
    writers_fd_ = -1;
  }
}

void Repository::Unlock() {
  if (lock_fd_ >= 0) {
    ::flock(lock_fd_, LOCK_UN);
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
}

absl::StatusOr<std::unique_ptr<Repository>> Repository::Init(
    const std::string& dir, const InitOptions& options, RepoEnv env) {
  if (!crypto::IsValidKeyName(options.origin))
    return absl::InvalidArgumentError(
        absl::StrCat("invalid origin \"", options.origin,
                     "\": it must be non-empty, without spaces or '+', e.g. "
                     "example.org/nl-om"));
  if (options.authority.empty() || !IsValidUtf8(options.authority))
    return absl::InvalidArgumentError(
        "--authority must be a non-empty UTF-8 name");
  FileSystem& fs = *env.fs;
  if (fs.Exists(dir)) {
    CUSTOS_ASSIGN_OR_RETURN(auto entries, fs.ListDir(dir));
    if (!entries.empty())
      return absl::AlreadyExistsError(absl::StrCat(
          dir, ": directory exists and is not empty; refusing to initialise"));
  }
  CUSTOS_RETURN_IF_ERROR(CreateDirs(fs, dir));
  for (const char* sub :
       {"/keys", "/keys/actors", "/log", "/log/checkpoints", "/log/tree"})
    CUSTOS_RETURN_IF_ERROR(CreateDirs(fs, dir + sub, 0700));

  auto key = crypto::Ed25519PrivateKey::Generate(*env.random);
  CUSTOS_ASSIGN_OR_RETURN(std::string pem, key.ToPkcs8Pem(env.passphrase));
  CUSTOS_RETURN_IF_ERROR(
      WriteFileAtomically(fs, dir + "/keys/log.key", pem, 0600));
  crypto::NoteSigner signer(options.origin, std::move(key));
  std::string vkey = signer.Vkey();
  CUSTOS_RETURN_IF_ERROR(
      WriteFileAtomically(fs, dir + "/keys/log.vkey", vkey + "\n", 0644));

  CUSTOS_ASSIGN_OR_RETURN(auto meta,
                          OpenSqliteMetaStore(dir + "/" + kDbFile, true));
  CUSTOS_RETURN_IF_ERROR(meta->Begin());
  absl::Status st =
      meta->PutSetting("format", std::to_string(kRepositoryFormat));
  if (st.ok()) st = meta->PutSetting("origin", options.origin);
  if (st.ok()) st = meta->PutSetting("authority", options.authority);
  if (st.ok()) st = meta->PutSetting("log_vkey", vkey);
  if (st.ok())
    st = meta->PutSetting(
        "keys_encrypted",
        env.passphrase && !env.passphrase->empty() ? "1" : "0");
  if (st.ok()) st = meta->Commit();
  if (!st.ok()) {
    meta->Rollback();
    return st;
  }
  meta.reset();
  CUSTOS_RETURN_IF_ERROR(WriteFileAtomically(
      fs, dir + "/" + kFormatFile,
      absl::StrCat(kFormatMagic, " ", kRepositoryFormat, "\n")));

  CUSTOS_ASSIGN_OR_RETURN(auto repo, Open(dir, env));
  // Event #0: the repository's creation, signed by the authority.
  Batch batch;
  Pending p;
  p.event.type = "repository_created";
  p.event.details = {{"log_key", vkey}, {"format", kRepositoryFormat}};
  batch.events.push_back(std::move(p));
  CUSTOS_RETURN_IF_ERROR(repo->Commit(batch).status());
  return repo;
}

absl::StatusOr<std::unique_ptr<Repository>> Repository::Open(
    const std::string& dir, RepoEnv env) {
  FileSystem& fs = *env.fs;
  std::string format_path = dir + "/" + kFormatFile;
  if (!fs.Exists(format_path))
    return absl::NotFoundError(
        absl::StrCat(dir,
                     " is not a custos repository (no FORMAT file); create one "
                     "with `custos init`"));
  CUSTOS_ASSIGN_OR_RETURN(std::string format, fs.ReadFile(format_path));
  std::vector<std::string> parts =
      absl::StrSplit(absl::StripSuffix(format, "\n"), ' ');
  int version = 0;
  if (parts.size() != 2 || parts[0] != kFormatMagic ||
      !absl::SimpleAtoi(parts[1], &version))
    return absl::DataLossError(
        absl::StrCat(format_path, ": unrecognised FORMAT file"));
  if (version > kRepositoryFormat)
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " has repository format ", version,
                     ", newer than this custos supports (", kRepositoryFormat,
                     "); upgrade custos"));

  auto repo = std::unique_ptr<Repository>(new Repository(dir, env));
  CUSTOS_ASSIGN_OR_RETURN(repo->meta_,
                          OpenSqliteMetaStore(dir + "/" + kDbFile, false));
  auto get = [&](const char* k) -> absl::StatusOr<std::string> {
    CUSTOS_ASSIGN_OR_RETURN(auto v, repo->meta_->GetSetting(k));
    if (!v)
      return absl::DataLossError(
          absl::StrCat("repository metadata lacks \"", k, "\""));
    return *v;
  };
  CUSTOS_ASSIGN_OR_RETURN(repo->origin_, get("origin"));
  CUSTOS_ASSIGN_OR_RETURN(repo->authority_, get("authority"));
  CUSTOS_ASSIGN_OR_RETURN(repo->log_vkey_, get("log_vkey"));
  CUSTOS_ASSIGN_OR_RETURN(
      repo->blobs_, store::OpenPosixBlobStore(fs, *env.random, dir + "/blobs"));
  CUSTOS_RETURN_IF_ERROR(repo->RepairDerived());
  return repo;
}

absl::Status Repository::RepairDerived() {
  CUSTOS_RETURN_IF_ERROR(Lock());
  absl::Status st = [&]() -> absl::Status {
    // Temporary blobs belong to acquisitions in progress in other processes
    // unless nobody holds the writers' lock: only then are they leftovers.
    if (TryExclusiveWritersLock()) {
      absl::Status cleaned = blobs_->CleanupTemporaryFiles();
      ReleaseWritersLock();
      CUSTOS_RETURN_IF_ERROR(cleaned);
    }
    if (absl::Status count = meta_->EventCount().status(); !count.ok()) {
      // A damaged log (e.g. a deleted event row) is left exactly as it is:
      // `verify` reports it, and every write is refused.
      damaged_ = count;
      return absl::OkStatus();
    }
    CUSTOS_RETURN_IF_ERROR(ReloadTreeLocked());
    // Checkpoint files lost in a crash after the commit are rewritten.
    CUSTOS_ASSIGN_OR_RETURN(auto latest, meta_->LatestCheckpoint());
    if (latest) {
      std::string path = absl::StrCat(dir_, "/log/checkpoints/", latest->size);
      if (!env_.fs->Exists(path))
        CUSTOS_RETURN_IF_ERROR(
            WriteFileAtomically(*env_.fs, path, latest->note));
    }
    return absl::OkStatus();
  }();
  Unlock();
  return st;
}

absl::Status Repository::ReloadTreeLocked() {
  tree_.reset();
  CUSTOS_ASSIGN_OR_RETURN(
      auto tree, custody::TreeStore::Open(*env_.fs, dir_ + "/log/tree"));
  CUSTOS_ASSIGN_OR_RETURN(uint64_t n, meta_->EventCount());
  if (tree->size() != n) {
    CUSTOS_RETURN_IF_ERROR(tree->Repair(
        n, [&](uint64_t b, uint64_t e) { return meta_->LeafHashes(b, e); }));
    CUSTOS_RETURN_IF_ERROR(tree->Flush());
  }
  tree_ = std::move(tree);
  return absl::OkStatus();
}

absl::Status Repository::RefreshTree() {
  CUSTOS_ASSIGN_OR_RETURN(uint64_t n, meta_->EventCount());
  if (tree_ && tree_->size() == n) return absl::OkStatus();
  CUSTOS_RETURN_IF_ERROR(Lock());
  absl::Status st = ReloadTreeLocked();
  Unlock();
  return st;
}

absl::Status Repository::LoadSigners() {
  if (log_signer_) return absl::OkStatus();
  CUSTOS_ASSIGN_OR_RETURN(auto enc, meta_->GetSetting("keys_encrypted"));
  if (enc && *enc == "1" && (!env_.passphrase || env_.passphrase->empty()))
    return absl::PermissionDeniedError(
        "this repository's keys are encrypted: set CUSTOS_PASSPHRASE or use "
        "--passphrase-file");
  CUSTOS_ASSIGN_OR_RETURN(std::string pem,
                          env_.fs->ReadFile(dir_ + "/keys/log.key"));
  CUSTOS_ASSIGN_OR_RETURN(
      auto key, crypto::Ed25519PrivateKey::FromPkcs8Pem(pem, env_.passphrase));
  CUSTOS_ASSIGN_OR_RETURN(auto second, crypto::Ed25519PrivateKey::FromPkcs8Pem(
                                           pem, env_.passphrase));
  CUSTOS_ASSIGN_OR_RETURN(crypto::Vkey vk, crypto::ParseVkey(log_vkey_));
  if (key.PublicKey() != vk.public_key)
    return absl::PermissionDeniedError(
        "keys/log.key does not match the repository's registered log key");
  log_key_ = std::make_unique<crypto::Ed25519PrivateKey>(std::move(second));
  log_signer_ = std::make_unique<crypto::NoteSigner>(origin_, std::move(key));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<crypto::Ed25519PrivateKey>>
Repository::LoadActorKey(const ActorRecord& a) {
  std::string path = absl::StrCat(dir_, "/keys/actors/", a.id, ".key");
  CUSTOS_ASSIGN_OR_RETURN(auto enc, meta_->GetSetting("keys_encrypted"));
  if (enc && *enc == "1" && (!env_.passphrase || env_.passphrase->empty()))
    return absl::PermissionDeniedError(
        "this repository's keys are encrypted: set CUSTOS_PASSPHRASE or use "
        "--passphrase-file");
  auto pem = env_.fs->ReadFile(path);
  if (!pem.ok())
    return absl::PermissionDeniedError(
        absl::StrCat("no private key for actor \"", a.name, "\" (",
                     pem.status().message(), ")"));
  CUSTOS_ASSIGN_OR_RETURN(
      auto key, crypto::Ed25519PrivateKey::FromPkcs8Pem(*pem, env_.passphrase));
  return std::make_unique<crypto::Ed25519PrivateKey>(std::move(key));
}

absl::StatusOr<ActorRecord> Repository::ResolveActor(const std::string& key) {
  CUSTOS_ASSIGN_OR_RETURN(auto a, meta_->FindActor(key));
  if (!a)
    return absl::NotFoundError(absl::StrCat(
        "unknown actor \"", key, "\" (register with `custos actor add`)"));
  if (a->revoked)
    return absl::PermissionDeniedError(absl::StrCat(
        "actor \"", a->name, "\" has been revoked and may not sign events"));
  return *a;
}

absl::StatusOr<ItemRecord> Repository::ResolveItem(const std::string& key) {
  CUSTOS_ASSIGN_OR_RETURN(auto it, meta_->FindItem(key));
  if (!it) return absl::NotFoundError(absl::StrCat("no item \"", key, "\""));
  return *it;
}

absl::StatusOr<std::vector<EventRecord>> Repository::Commit(Batch& batch) {
  if (!damaged_.ok())
    return absl::DataLossError(
        absl::StrCat("refusing to append to a damaged log (",
                     damaged_.message(), "); run `custos verify`"));
  CUSTOS_RETURN_IF_ERROR(LoadSigners());
  CUSTOS_RETURN_IF_ERROR(Lock());
  if (absl::Status begun = meta_->Begin(); !begun.ok()) {
    Unlock();
    return begun;
  }
  std::vector<EventRecord> records;
  std::vector<crypto::Hash32> leaves;
  std::string note;
  uint64_t new_size = 0;
  crypto::Hash32 root{};
  absl::Status st = [&]() -> absl::Status {
    CUSTOS_ASSIGN_OR_RETURN(uint64_t n, meta_->EventCount());
    // Another process may have appended since we last looked: re-read the
    // tree files under the lock.
    if (!tree_ || tree_->size() != n)
      CUSTOS_RETURN_IF_ERROR(ReloadTreeLocked());
    absl::Time now = env_.clock->Now();
    const size_t count = batch.events.size();
    std::vector<std::string> encoded(count);
    // Signs event i with its actor's key and verifies the signature against
    // the key registered for that actor, as the log must before appending.
    auto finish = [&](size_t i) -> absl::Status {
      Pending& p = batch.events[i];
      CUSTOS_ASSIGN_OR_RETURN(std::string message, SigningMessage(p.event));
      p.event.sig_key = p.signer->PublicKey();
      p.event.sig_value = p.signer->Sign(message);
      if (p.event.sig_key != p.registered_key ||
          !crypto::Ed25519Verify(p.registered_key, message, p.event.sig_value))
        return absl::PermissionDeniedError(absl::StrCat(
            "refused: the signature of \"", p.event.actor.name,
            "\" does not verify under the key registered for that actor"));
      CUSTOS_ASSIGN_OR_RETURN(encoded[i], EncodeEvent(p.event));
      return absl::OkStatus();
    };
    // The signing pipeline. Event i may be signed once it is linked (its
    // items' `prev` hashes are known). A helper thread signs linked events
    // in order while this thread links the rest; then this thread signs
    // what is left and inserts finished events in order, so linking,
    // signing and the database work overlap on two cores. Each event is
    // claimed exactly once (kNew -> kClaimed -> kDone).
    enum : int { kNew = 0, kClaimed = 1, kDone = 2 };
    std::unique_ptr<std::atomic<int>[]> state(new std::atomic<int>[count]);
    for (size_t i = 0; i < count; ++i) state[i].store(kNew);
    std::vector<absl::Status> results(count);
    std::mutex mu;
    std::condition_variable cv;
    size_t linked = 0;  // guarded by mu: events [0, linked) may be signed
    bool stop = false;  // guarded by mu
    auto run = [&](size_t i) {  // signs i unless someone else claimed it
      int expected = kNew;
      if (!state[i].compare_exchange_strong(expected, kClaimed)) return;
      absl::Status result = finish(i);
      {
        std::lock_guard<std::mutex> l(mu);
        results[i] = std::move(result);
        state[i].store(kDone);
      }
      cv.notify_all();
    };
    // Waits until event k is final, signing other linked events meanwhile
    // rather than idling while the helper finishes k.
    size_t ahead = 0;
    auto wait_done = [&](size_t k) {
      run(k);
      ahead = std::max(ahead, k + 1);
      while (state[k].load() != kDone) {
        size_t limit;
        {
          std::lock_guard<std::mutex> l(mu);
          limit = linked;
        }
        if (ahead < limit) {
          run(ahead++);
          continue;
        }
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return state[k].load() == kDone; });
      }
    };
    std::thread helper;
    if (count >= 64) {
      helper = std::thread([&] {
        for (size_t i = 0; i < count; ++i) {
          {
            std::unique_lock<std::mutex> l(mu);
            cv.wait(l, [&] { return stop || linked > i; });
            if (stop) return;
          }
          run(i);
        }
      });
    }
    absl::Status pipeline = [&]() -> absl::Status {
      // item id -> index of the latest event of this batch that touched it.
      std::map<std::string, size_t> in_batch;
      for (size_t i = 0; i < count; ++i) {
        Pending& p = batch.events[i];
        Event& e = p.event;
        e.origin = origin_;
        e.authority = authority_;
        e.seq = n + i;
        e.time = now;
        if (!p.signer) {
          p.signer = log_key_.get();
          p.registered_key = log_key_->PublicKey();
          e.actor = {kAuthorityActorId, authority_, "authority"};
        }
        if (e.place.empty())
          e.place = env_.place.empty() ? HostName() : env_.place;
        for (auto& item : e.items) {
          if (p.new_items.count(item.id)) {
            item.prev_hex.clear();
          } else if (auto it = in_batch.find(item.id); it != in_batch.end()) {
            // Chained to an earlier event of this batch: it must be final.
            wait_done(it->second);
            CUSTOS_RETURN_IF_ERROR(results[it->second]);
            item.prev_hex = HexOf(custody::LeafHash(encoded[it->second]));
          } else {
            CUSTOS_ASSIGN_OR_RETURN(auto head, meta_->ItemHead(item.id));
            if (!head)
              return absl::NotFoundError(absl::StrCat("no item ", item.id));
            item.prev_hex = HexOf(*head);
          }
        }
        for (const auto& item : e.items) in_batch[item.id] = i;
        for (const auto& c : p.covered_children) in_batch[c] = i;
        {
          std::lock_guard<std::mutex> l(mu);
          linked = i + 1;
        }
        cv.notify_all();
      }
      CUSTOS_ASSIGN_OR_RETURN(auto range,
                              custody::CompactRange::FromSource(*tree_, n));
      for (size_t i = 0; i < count; ++i) {
        wait_done(i);
        CUSTOS_RETURN_IF_ERROR(results[i]);
        const Pending& p = batch.events[i];
        EventRecord r;
        r.seq = p.event.seq;
        r.type = p.event.type;
        r.actor_id = p.event.actor.id;
        r.case_id = p.event.case_id;
        r.time = FormatEventTime(p.event.time);
        r.leaf = std::move(encoded[i]);
        r.leaf_hash = custody::LeafHash(r.leaf);
        for (const auto& it : p.event.items) r.item_ids.push_back(it.id);
        r.item_ids.insert(r.item_ids.end(), p.covered_children.begin(),
                          p.covered_children.end());
        range.Append(r.leaf_hash,
                     [](unsigned, uint64_t, const crypto::Hash32&) {});
        leaves.push_back(r.leaf_hash);
        CUSTOS_RETURN_IF_ERROR(meta_->InsertEvent(r));
        records.push_back(std::move(r));
      }
      root = range.Root();
      return absl::OkStatus();
    }();
    {
      std::lock_guard<std::mutex> l(mu);
      stop = true;
    }
    cv.notify_all();
    if (helper.joinable()) helper.join();
    CUSTOS_RETURN_IF_ERROR(pipeline);
    std::vector<uint64_t> seqs;
    for (const auto& r : records) seqs.push_back(r.seq);
    if (batch.apply) CUSTOS_RETURN_IF_ERROR(batch.apply(*meta_, seqs));
    // Existing items touched by these events move their head.
    for (size_t i = 0; i < batch.events.size(); ++i)
      for (const auto& it : batch.events[i].event.items)
        if (!batch.events[i].new_items.count(it.id))
          CUSTOS_RETURN_IF_ERROR(meta_->SetItemHead(it.id, seqs[i]));
    new_size = n + count;
    Checkpoint cp{origin_, new_size, root, {}};
    note = crypto::SignNote(custody::FormatCheckpoint(cp), {log_signer_.get()});
    CUSTOS_RETURN_IF_ERROR(meta_->InsertCheckpoint({new_size, note}));
    return meta_->Commit();
  }();
  if (!st.ok()) {
    meta_->Rollback();
    // The tree files may hold uncommitted hashes only after a failed append
    // below; nothing was appended yet, so only the lock is released.
    Unlock();
    return st;
  }
  // Committed and durable. The tree files and the checkpoint file are
  // derived copies, repaired on the next open if this process dies here.
  absl::Status post = tree_->Append(leaves);
  if (post.ok()) post = tree_->Flush();
  if (post.ok())
    post = WriteFileAtomically(
        *env_.fs, absl::StrCat(dir_, "/log/checkpoints/", new_size), note);
  Unlock();
  if (!post.ok()) tree_.reset();  // re-read and repaired by the next call
  return records;
}

Repository::Pending Repository::AcquiredEvent(
    const AcquireRequest& req, const ActorRecord& actor, const ItemRecord& top,
    const std::vector<ItemRecord>& children,
    const crypto::Ed25519PrivateKey* key, json details) {
  Pending p;
  p.event.type = "acquired";
  p.event.case_id = req.case_id;
  p.event.actor = {actor.id, actor.name, actor.role};
  p.event.items.push_back(
      {top.id, top.exhibit, HexEncode(top.sha256), top.size, ""});
  p.event.place = req.place;
  p.event.purpose = req.purpose;
  p.event.note = req.note;
  p.event.details = std::move(details);
  p.new_items.insert(top.id);
  for (const auto& ch : children) p.covered_children.push_back(ch.id);
  p.signer = key;
  p.registered_key = actor.public_key;
  return p;
}

absl::StatusOr<ActorRecord> Repository::AddActor(const std::string& name,
                                                 const std::string& role) {
  if (name.empty() || !IsValidUtf8(name))
    return absl::InvalidArgumentError("actor name must be non-empty UTF-8");
  if (!IsKnownRole(role))
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown role \"", role,
        "\" (one of: examiner, custodian, investigator, prosecutor, auditor)"));
  CUSTOS_ASSIGN_OR_RETURN(auto existing, meta_->FindActor(name));
  if (existing)
    return absl::AlreadyExistsError(
        absl::StrCat("actor \"", name, "\" already exists"));
  CUSTOS_RETURN_IF_ERROR(LoadSigners());
  ActorRecord a;
  a.id = env_.random->Uuid4();
  a.name = name;
  a.role = role;
  auto key = crypto::Ed25519PrivateKey::Generate(*env_.random);
  a.public_key = key.PublicKey();
  CUSTOS_ASSIGN_OR_RETURN(std::string pem, key.ToPkcs8Pem(env_.passphrase));
  // The key file is durable before the event that registers it.
  CUSTOS_RETURN_IF_ERROR(WriteFileAtomically(
      *env_.fs, absl::StrCat(dir_, "/keys/actors/", a.id, ".key"), pem, 0600));
  Batch batch;
  Pending p;
  p.event.type = "actor_registered";
  p.event.details = {{"actor_id", a.id},
                     {"name", a.name},
                     {"role", a.role},
                     {"key", Base64Encode(a.public_key)}};
  batch.events.push_back(std::move(p));
  batch.apply = [&](MetaStore& m, const std::vector<uint64_t>& seqs) {
    a.registered_seq = seqs[0];
    return m.InsertActor(a);
  };
  CUSTOS_RETURN_IF_ERROR(Commit(batch).status());
  return a;
}

absl::StatusOr<ActorRecord> Repository::RevokeActor(const std::string& actor,
                                                    const std::string& reason) {
  CUSTOS_ASSIGN_OR_RETURN(ActorRecord a, ResolveActor(actor));
  Batch batch;
  Pending p;
  p.event.type = "actor_revoked";
  p.event.details = {{"actor_id", a.id}};
  if (!reason.empty()) p.event.details["reason"] = reason;
  batch.events.push_back(std::move(p));
  batch.apply = [&](MetaStore& m, const std::vector<uint64_t>&) {
    return m.RevokeActor(a.id);
  };
  CUSTOS_RETURN_IF_ERROR(Commit(batch).status());
  a.revoked = true;
  return a;
}

absl::StatusOr<CaseRecord> Repository::OpenCase(const CaseRecord& c,
                                                const std::string& actor) {
  if (c.id.empty() || !IsValidUtf8(c.id) ||
      c.id.find_first_of(" \t\n") != std::string::npos)
    return absl::InvalidArgumentError(
        "case id must be non-empty, without spaces");
  CUSTOS_ASSIGN_OR_RETURN(auto existing, meta_->FindCase(c.id));
  if (existing)
    return absl::AlreadyExistsError(
        absl::StrCat("case ", c.id, " already exists"));
  for (const auto& code : c.iccs)
    if (code.empty() || code.size() > 16 ||
        code.find_first_not_of("0123456789.") != std::string::npos)
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", code,
          "\" is not an ICCS code (digits and dots, e.g. 0501 or 02011)"));
  Batch batch;
  Pending p;
  p.event.type = "case_opened";
  p.event.case_id = c.id;
  p.event.details = {
      {"case_id", c.id}, {"title", c.title}, {"legal_basis", c.legal_basis}};
  if (!c.iccs.empty()) p.event.details["iccs"] = c.iccs;
  if (!actor.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(ActorRecord a, ResolveActor(actor));
    CUSTOS_ASSIGN_OR_RETURN(auto key, LoadActorKey(a));
    p.signer = key.get();
    p.registered_key = a.public_key;
    p.event.actor = {a.id, a.name, a.role};
    batch.keys.push_back(std::move(key));
  }
  batch.events.push_back(std::move(p));
  CaseRecord out = c;
  batch.apply = [&](MetaStore& m, const std::vector<uint64_t>& seqs) {
    out.opened_seq = seqs[0];
    return m.InsertCase(out);
  };
  CUSTOS_RETURN_IF_ERROR(Commit(batch).status());
  return out;
}

namespace {

ItemRecord ItemFromEntry(const acquire::SourceEntry& e) {
  ItemRecord r;
  r.kind = acquire::EntryKindName(e.kind);
  r.rel_path = e.path;
  r.size = e.size;
  r.sha256 = e.digests.sha256;
  r.md5 = e.digests.md5;
  r.sha1 = e.digests.sha1;
  r.mode = e.mode;
  r.uid = e.uid;
  r.gid = e.gid;
  r.mtime = FormatNanoTime(e.mtime_ns);
  r.atime = FormatNanoTime(e.atime_ns);
  r.ctime = FormatNanoTime(e.ctime_ns);
  if (e.btime_ns >= 0) r.btime = FormatNanoTime(e.btime_ns);
  r.symlink_target = e.symlink_target;
  r.error = e.error;
  r.media_type = e.media_type;
  return r;
}

// One manifest line (docs/formats/event.md "Manifest blobs").
absl::StatusOr<std::string> ManifestLine(const acquire::SourceEntry& e,
                                         const std::string& item) {
  json j = {{"path_b64", Base64Encode(e.path)},
            {"path", EscapeBytes(e.path)},
            {"kind", acquire::EntryKindName(e.kind)},
            {"size", e.size},
            {"mode", e.mode},
            {"uid", e.uid},
            {"gid", e.gid},
            {"mtime", FormatNanoTime(e.mtime_ns)},
            {"atime", FormatNanoTime(e.atime_ns)},
            {"ctime", FormatNanoTime(e.ctime_ns)}};
  if (e.btime_ns >= 0) j["btime"] = FormatNanoTime(e.btime_ns);
  if (!e.digests.sha256.empty()) j["sha256"] = HexEncode(e.digests.sha256);
  if (!e.digests.md5.empty()) j["md5"] = HexEncode(e.digests.md5);
  if (!e.digests.sha1.empty()) j["sha1"] = HexEncode(e.digests.sha1);
  if (e.kind == acquire::EntryKind::kSymlink) {
    j["target_b64"] = Base64Encode(e.symlink_target);
    j["target"] = EscapeBytes(e.symlink_target);
  }
  if (!e.error.empty()) j["error"] = e.error;
  if (!e.media_type.empty()) j["media_type"] = e.media_type;
  if (!item.empty()) j["item"] = item;
  CUSTOS_ASSIGN_OR_RETURN(std::string line, CanonicalJson(j));
  return line + "\n";
}

}  // namespace

absl::StatusOr<std::vector<AcquiredSource>> Repository::Acquire(
    const std::vector<std::string>& sources, const AcquireRequest& req) {
  if (sources.empty())
    return absl::InvalidArgumentError("nothing to acquire: give a path");
  if (req.case_id.empty())
    return absl::InvalidArgumentError("--case is required");
  CUSTOS_ASSIGN_OR_RETURN(auto c, meta_->FindCase(req.case_id));
  if (!c)
    return absl::NotFoundError(
        absl::StrCat("unknown case \"", req.case_id, "\""));
  if (req.actor.empty())
    return absl::InvalidArgumentError("--actor is required");
  CUSTOS_ASSIGN_OR_RETURN(ActorRecord actor, ResolveActor(req.actor));
  CUSTOS_ASSIGN_OR_RETURN(auto key, LoadActorKey(actor));
  CUSTOS_RETURN_IF_ERROR(LoadSigners());
  if (req.exhibits.size() > 1 && req.exhibits.size() != sources.size())
    return absl::InvalidArgumentError("give one --exhibit, or one per source");
  std::vector<std::string> exhibits;
  for (size_t i = 0; i < sources.size(); ++i) {
    std::string ex;
    if (req.exhibits.size() == sources.size()) {
      ex = req.exhibits[i];
    } else if (req.exhibits.size() == 1) {
      ex = absl::StrCat(req.exhibits[0], "-", i + 1);
    } else {
      for (int k = 1;; ++k) {  // the first free EXH-nnn number
        ex = absl::StrFormat("EXH-%03d", k);
        CUSTOS_ASSIGN_OR_RETURN(auto taken, meta_->FindItem(ex));
        if (!taken &&
            std::find(exhibits.begin(), exhibits.end(), ex) == exhibits.end())
          break;
      }
    }
    CUSTOS_ASSIGN_OR_RETURN(auto taken, meta_->FindItem(ex));
    if (taken)
      return absl::AlreadyExistsError(
          absl::StrCat("exhibit ", ex, " already exists"));
    exhibits.push_back(ex);
  }

  // Other processes must not take our temporary blob files for leftovers.
  CUSTOS_RETURN_IF_ERROR(HoldWritersLock());
  struct ReleaseAtEnd {
    Repository* r;
    ~ReleaseAtEnd() { r->ReleaseWritersLock(); }
  } release_writers{this};
  std::vector<AcquiredSource> results;
  std::vector<std::vector<ItemRecord>> children(sources.size());
  std::vector<ItemPropertyList> props(sources.size());  // filetype, images
  Batch batch;
  const std::string host = HostName();
  for (size_t si = 0; si < sources.size(); ++si) {
    const std::string& source = sources[si];
    AcquiredSource res;
    // Disk images (E01 sets, raw, split raw): src/repo/image_acquire.cc.
    CUSTOS_ASSIGN_OR_RETURN(
        bool image,
        AcquireImageSource(source, exhibits[si], req, actor, key.get(), batch,
                           res, children[si], props[si]));
    if (image) {
      results.push_back(std::move(res));
      continue;
    }
    std::unique_ptr<store::BlobWriter> manifest;
    ItemRecord top;
    bool have_root = false;
    std::vector<std::string> unreadable;
    acquire::AcquireOptions opts;
    opts.digests = req.digests;
    opts.follow_symlinks = req.follow_symlinks;
    opts.progress = req.progress;
    absl::Status walk = acquire::Acquire(
        source, *blobs_, opts,
        [&](const acquire::SourceEntry& e) -> absl::Status {
          ++res.entries;
          if (!e.error.empty())
            unreadable.push_back(absl::StrCat(
                EscapeBytes(e.path.empty() ? source : e.path), ": ", e.error));
          if (!have_root) {
            have_root = true;
            top = ItemFromEntry(e);
            if (!e.properties.empty())
              props[si].push_back({"", e.properties});  // id set below
            if (e.kind == acquire::EntryKind::kDirectory) {
              CUSTOS_ASSIGN_OR_RETURN(manifest, blobs_->NewWriter());
            } else {
              if (e.stored) ++res.files, res.bytes += e.size;
              return absl::OkStatus();
            }
          }
          if (!manifest) return absl::OkStatus();
          std::string child_id;
          if (e.kind == acquire::EntryKind::kFile && e.stored) {
            ItemRecord child = ItemFromEntry(e);
            child.id = env_.random->Uuid4();
            child_id = child.id;
            if (!e.properties.empty())
              props[si].push_back({child.id, e.properties});
            ++res.files;
            res.bytes += e.size;
            children[si].push_back(std::move(child));
          }
          CUSTOS_ASSIGN_OR_RETURN(std::string line, ManifestLine(e, child_id));
          return manifest->Append(line);
        });
    if (!walk.ok()) {
      if (manifest) manifest->Abort();
      return walk;
    }
    top.id = env_.random->Uuid4();
    top.case_id = req.case_id;
    top.exhibit = exhibits[si];
    top.description = req.description;
    top.source = source;
    top.rel_path.clear();
    top.method = top.kind == "directory" ? "logical copy of a directory tree"
                 : top.kind == "block_device"
                     ? "physical read of a block device (stream)"
                     : "logical copy of a file";
    top.tool = kToolName;
    top.tool_version = kToolVersion;
    top.host = host;
    if (top.kind == "directory") top.media_type = "inode/directory";
    for (auto& [id, kv] : props[si])
      if (id.empty()) id = top.id;
    json details = {{"method", top.method},
                    {"tool", top.tool},
                    {"tool_version", top.tool_version},
                    {"host", host},
                    {"source_b64", Base64Encode(source)},
                    {"source", EscapeBytes(source)},
                    {"kind", top.kind},
                    {"entries", res.entries},
                    {"files", res.files},
                    {"bytes", res.bytes},
                    {"unreadable", unreadable.size()}};
    if (!top.media_type.empty()) details["media_type"] = top.media_type;
    if (manifest) {
      CUSTOS_ASSIGN_OR_RETURN(store::BlobInfo info, manifest->Commit());
      top.sha256 = info.digests.sha256;
      top.size = info.digests.size;
      details["manifest"] = HexEncode(top.sha256);
    } else if (top.sha256.empty()) {
      // A root that could not be read (or a special file): nothing to store.
      if (top.error.empty())
        return absl::InvalidArgumentError(
            absl::StrCat(EscapeBytes(source), ": a ", top.kind,
                         " cannot be acquired as evidence content"));
      return absl::PermissionDeniedError(
          absl::StrCat(EscapeBytes(source), ": ", top.error));
    }
    if (!top.md5.empty()) details["md5"] = HexEncode(top.md5);
    if (!top.sha1.empty()) details["sha1"] = HexEncode(top.sha1);
    if (!unreadable.empty()) {
      json list = json::array();
      for (size_t k = 0; k < unreadable.size() && k < 100; ++k)
        list.push_back(unreadable[k]);
      details["unreadable_paths"] = std::move(list);
    }
    for (auto& ch : children[si]) {
      ch.case_id = req.case_id;
      ch.exhibit = top.exhibit;
      ch.parent_id = top.id;
      ch.source = source;
      ch.method = "logical copy of a file";
      ch.tool = kToolName;
      ch.tool_version = kToolVersion;
      ch.host = host;
    }
    batch.events.push_back(AcquiredEvent(req, actor, top, children[si],
                                         key.get(), std::move(details)));
    res.unreadable = std::move(unreadable);
    res.item = std::move(top);
    results.push_back(std::move(res));
  }
  batch.keys.push_back(std::move(key));
  batch.apply = [&](MetaStore& m,
                    const std::vector<uint64_t>& seqs) -> absl::Status {
    for (size_t si = 0; si < results.size(); ++si) {
      results[si].item.acquired_seq = results[si].item.head_seq = seqs[si];
      results[si].event_seq = seqs[si];
      CUSTOS_RETURN_IF_ERROR(m.InsertItem(results[si].item));
      for (auto& ch : children[si]) {
        ch.acquired_seq = ch.head_seq = seqs[si];
        CUSTOS_RETURN_IF_ERROR(m.InsertItem(ch));
      }
      for (const auto& [id, kv] : props[si])
        CUSTOS_RETURN_IF_ERROR(m.PutItemProperties(id, kv));
    }
    return absl::OkStatus();
  };
  CUSTOS_RETURN_IF_ERROR(Commit(batch).status());
  CheckAcquiredKnownFiles(results, actor.id);  // src/repo/known_files.cc
  return results;
}

absl::StatusOr<std::vector<EventRecord>> Repository::AddEvents(
    const std::vector<EventRequest>& requests) {
  Batch batch;
  std::map<std::string, const crypto::Ed25519PrivateKey*> keys;
  std::map<std::string, ActorRecord> actors;  // resolved once per batch
  ItemPropertyList props;  // set in the commit's transaction, in order
  for (const auto& r : requests) {
    if (!IsCustodyEventType(r.type) || r.type == "acquired" ||
        r.type == "extracted")
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown event type \"", r.type,
          "\" (one of: accessed, analysed, transferred, received, exported, "
          "returned, "
          "disposed, note; acquisitions are recorded by `custos acquire`)"));
    if ((r.type == "transferred" || r.type == "exported" ||
         r.type == "returned") &&
        r.to.empty())
      return absl::InvalidArgumentError(
          absl::StrCat("a ", r.type, " event needs --to"));
    if (r.type == "received" && r.from.empty())
      return absl::InvalidArgumentError("a received event needs --from");
    if (r.actor.empty())
      return absl::InvalidArgumentError("--actor is required");
    auto cached_actor = actors.find(r.actor);
    if (cached_actor == actors.end()) {
      CUSTOS_ASSIGN_OR_RETURN(ActorRecord resolved, ResolveActor(r.actor));
      cached_actor = actors.emplace(r.actor, std::move(resolved)).first;
    }
    const ActorRecord& a = cached_actor->second;
    if (!keys.count(a.id)) {
      CUSTOS_ASSIGN_OR_RETURN(auto k, LoadActorKey(a));
      keys[a.id] = k.get();
      batch.keys.push_back(std::move(k));
    }
    Pending p;
    p.event.type = r.type;
    p.event.actor = {a.id, a.name, a.role};
    p.signer = keys[a.id];
    p.registered_key = a.public_key;
    std::set<std::string> seen;
    for (const auto& key : r.items) {
      CUSTOS_ASSIGN_OR_RETURN(ItemRecord item, ResolveItem(key));
      if (!seen.insert(item.id).second) continue;
      p.event.items.push_back(
          {item.id, item.exhibit, HexEncode(item.sha256), item.size, ""});
      if (p.event.case_id.empty()) p.event.case_id = item.case_id;
    }
    if (!r.case_id.empty()) {
      CUSTOS_ASSIGN_OR_RETURN(auto c, meta_->FindCase(r.case_id));
      if (!c)
        return absl::NotFoundError(
            absl::StrCat("unknown case \"", r.case_id, "\""));
      p.event.case_id = r.case_id;
    }
    if (p.event.items.empty() && !EventTypeMayHaveNoItems(r.type))
      return absl::InvalidArgumentError(
          "name the item(s) this event concerns with --item");
    p.event.place = r.place;
    p.event.purpose = r.purpose;
    p.event.to = r.to;
    p.event.from = r.from;
    p.event.note = r.note;
    p.event.details = r.details;
    if (!r.item_properties.empty())
      for (const auto& it : p.event.items)
        props.push_back({it.id, r.item_properties});
    batch.events.push_back(std::move(p));
  }
  if (batch.events.empty()) return std::vector<EventRecord>();
  if (!props.empty())
    batch.apply = [&props](MetaStore& m,
                           const std::vector<uint64_t>&) -> absl::Status {
      for (const auto& [id, kv] : props)
        CUSTOS_RETURN_IF_ERROR(m.PutItemProperties(id, kv));
      return absl::OkStatus();
    };
  return Commit(batch);
}

absl::StatusOr<CheckpointRecord> Repository::LatestCheckpoint() {
  CUSTOS_ASSIGN_OR_RETURN(auto cp, meta_->LatestCheckpoint());
  if (!cp) return absl::NotFoundError("no checkpoint yet");
  return *cp;
}

absl::StatusOr<Receipt> Repository::Prove(uint64_t seq) {
  CUSTOS_RETURN_IF_ERROR(RefreshTree());
  CUSTOS_ASSIGN_OR_RETURN(CheckpointRecord cp, LatestCheckpoint());
  if (seq >= cp.size)
    return absl::NotFoundError(
        absl::StrCat("no event #", seq, " (the log has ", cp.size, ")"));
  CUSTOS_ASSIGN_OR_RETURN(EventRecord ev, meta_->GetEvent(seq));
  if (custody::LeafHash(ev.leaf) != ev.leaf_hash)
    return absl::DataLossError(
        absl::StrCat("event #", seq, " is damaged; run `custos verify`"));
  CUSTOS_ASSIGN_OR_RETURN(auto proof,
                          custody::InclusionProof(*tree_, seq, cp.size));
  custody::TlogProof tp;
  tp.extra = ev.leaf;
  tp.index = seq;
  tp.proof = proof;
  tp.checkpoint_note = cp.note;
  Receipt r;
  r.seq = seq;
  r.text = custody::FormatTlogProof(tp);
  r.leaf = ev.leaf;
  r.leaf_hash = ev.leaf_hash;
  r.tree_size = cp.size;
  // Self-check before handing it out.
  CUSTOS_ASSIGN_OR_RETURN(crypto::Vkey vk, crypto::ParseVkey(log_vkey_));
  custody::CheckpointPolicy policy{origin_, {vk}, {}, 0};
  CUSTOS_RETURN_IF_ERROR(
      custody::VerifyTlogProof(tp, r.leaf_hash, policy).status());
  return r;
}

absl::StatusOr<ConsistencyResult> Repository::ProveConsistency(
    uint64_t old_size, uint64_t new_size) {
  CUSTOS_RETURN_IF_ERROR(RefreshTree());
  CUSTOS_ASSIGN_OR_RETURN(CheckpointRecord latest, LatestCheckpoint());
  if (new_size == 0) new_size = latest.size;
  if (new_size > latest.size)
    return absl::OutOfRangeError(absl::StrCat(
        "tree size ", new_size, " is beyond the log (", latest.size, ")"));
  if (old_size > new_size)
    return absl::InvalidArgumentError(absl::StrCat(
        "old size ", old_size, " is larger than new size ", new_size));
  ConsistencyResult r;
  r.old_size = old_size;
  r.new_size = new_size;
  CUSTOS_ASSIGN_OR_RETURN(
      r.proof, custody::ConsistencyProof(*tree_, old_size, new_size));
  CUSTOS_ASSIGN_OR_RETURN(auto oc, meta_->GetCheckpoint(old_size));
  CUSTOS_ASSIGN_OR_RETURN(auto nc, meta_->GetCheckpoint(new_size));
  if (oc) r.old_checkpoint = oc->note;
  if (nc) r.new_checkpoint = nc->note;
  return r;
}

}  // namespace custos::repo
