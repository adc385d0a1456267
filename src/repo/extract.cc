// Repository::Extract: file-system extraction from a disk-image item
// (src/repo/extract.h, docs/formats/extraction.md).
#include "src/repo/extract.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "src/acquire/media_reader.h"
#include "src/base/absl_compat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "src/extract/fs_walk.h"
#include "src/filetype/filetype.h"
#include "src/repo/canonical_json.h"
#include "src/repo/known_files.h"
#include "src/repo/repository.h"
#include "src/repo/repository_internal.h"

namespace custos::repo {
namespace {

using nlohmann::json;

constexpr char kMethod[] = "file-system extraction (libtsk)";
// Files up to this size are stored with group commit (one filesystem
// barrier for many), as directory acquisition does.
constexpr uint64_t kDeferredMax = uint64_t{4} << 20;
constexpr size_t kMaxErrors = 50;
constexpr size_t kMaxErrorBytes = 200;
constexpr size_t kMaxVolumesListed = 64;

// Escaped, and cut to `max` bytes on a character boundary.
std::string Clip(const std::string& raw, size_t max) {
  std::string s = EscapeBytes(raw);
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return s.substr(0, n) + "...";
}

std::string RelPath(const std::string& label, const std::string& path) {
  return label == "fs" ? path : label + "/" + path;
}

// Appends `v` as a JSON string in canonical form (event.md): only `"`, `\`
// and control characters are escaped.
void AppendQuoted(std::string& out, std::string_view v) {
  AppendCanonicalJsonString(out, v);
}

// Writes one canonical JSON object (docs/formats/event.md) straight into a
// string, for the manifest's hot path (one line per file; building an
// nlohmann object per file cost more than libtsk's whole walk). The caller
// gives keys in bytewise-sorted order; integers must be at most 2^53-1.
class CanonObject {
 public:
  explicit CanonObject(std::string& out) : out_(out) { out_ += '{'; }
  void Str(const char* key, std::string_view v) {
    Key(key);
    Quote(v);
  }
  void Int(const char* key, uint64_t v) {
    Key(key);
    if (v > kMaxCanonicalInt) ok_ = false;
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }
  void Bool(const char* key, bool v) {
    Key(key);
    out_ += v ? "true" : "false";
  }
  // Starts a member whose value the caller appends (an array, an object).
  void Raw(const char* key) { Key(key); }
  // False if a key came out of order or an integer was too large.
  bool Close() {
    out_ += '}';
    return ok_;
  }

 private:
  static constexpr uint64_t kMaxCanonicalInt = (uint64_t{1} << 53) - 1;
  void Key(const char* key) {
    if (last_ && std::strcmp(last_, key) >= 0) ok_ = false;
    if (last_) out_ += ',';
    last_ = key;
    Quote(key);
    out_ += ':';
  }
  void Quote(std::string_view v) { AppendQuoted(out_, v); }
  std::string& out_;
  const char* last_ = nullptr;
  bool ok_ = true;
};

void AppendRun(const extract::ByteRun& r, std::string& out) {
  CanonObject o(out);
  o.Int("file_offset", r.file_offset);
  if (!r.sparse && !r.resident) {
    o.Int("fs_offset", r.fs_offset);
    o.Int("img_offset", r.img_offset);
  }
  o.Int("len", r.len);
  if (r.resident) o.Bool("resident", true);
  if (r.sparse) o.Bool("sparse", true);
  o.Close();
}

}  // namespace

json ExtractCountsJson(const ExtractResult& res) {
  return {{"entries", res.entries},
          {"files", res.files},
          {"directories", res.directories},
          {"allocated", res.allocated},
          {"deleted", res.deleted},
          {"orphan", res.orphan},
          {"bytes", res.bytes},
          {"stored_bytes", res.stored_bytes},
          {"new_blobs", res.new_blobs},
          {"deduplicated", res.deduplicated},
          {"unreadable", res.unreadable},
          {"errors", res.errors},
          {"partial", res.partial}};
}

namespace {

json VolumeJson(const extract::VolumeInfo& v) {
  json j = {
      {"label", v.label},     {"index", v.index},
      {"slot", v.slot},       {"start_sector", v.start_sector},
      {"sectors", v.sectors}, {"offset", v.offset},
      {"length", v.length},   {"status", v.error.empty() ? "ok" : "error"},
      {"entries", v.entries}, {"files", v.files}};
  if (!v.description.empty())
    j["description"] = Clip(v.description, kMaxErrorBytes);
  if (!v.fs_type.empty()) {
    j["fs_type"] = v.fs_type;
    j["block_size"] = v.block_size;
    j["blocks"] = v.blocks;
  }
  if (!v.error.empty()) j["error"] = Clip(v.error, 2 * kMaxErrorBytes);
  return j;
}

// The derived item rows, spilled to an unnamed temporary file during the
// walk and read back inside the commit, so that memory does not grow with
// the number of files. Fields are length-prefixed; the record order is
// fixed by Put/Get below.
class ItemSpill {
 public:
  ItemSpill() : f_(std::tmpfile()) {}
  ~ItemSpill() {
    if (f_) std::fclose(f_);
  }
  ItemSpill(const ItemSpill&) = delete;
  ItemSpill& operator=(const ItemSpill&) = delete;

  absl::Status Put(const ItemRecord& r, const filetype::Properties& props) {
    if (!f_) return absl::InternalError("cannot create a temporary file");
    buf_.clear();
    for (const std::string* s :
         {&r.id, &r.description, &r.rel_path, &r.sha256, &r.md5, &r.sha1,
          &r.mtime, &r.atime, &r.ctime, &r.btime, &r.error, &r.media_type})
      Field(*s);
    for (uint64_t v : {r.size, uint64_t{r.mode}, uint64_t{r.uid},
                       uint64_t{r.gid}, uint64_t{props.size()}})
      buf_.append(reinterpret_cast<const char*>(&v), sizeof v);
    for (const auto& [k, v] : props) {
      Field(k);
      Field(v);
    }
    if (std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
      return absl::ResourceExhaustedError(
          "cannot write the temporary list of extracted items (disk full?)");
    ++count_;
    return absl::OkStatus();
  }
  absl::Status Rewind() {
    if (!f_ || std::fflush(f_) != 0 || std::fseek(f_, 0, SEEK_SET) != 0)
      return absl::InternalError("cannot re-read the temporary item list");
    return absl::OkStatus();
  }
  // Fills the per-file fields of `r` and its properties; false at the end.
  absl::StatusOr<bool> Get(ItemRecord& r, filetype::Properties& props) {
    if (read_ == count_) return false;
    for (std::string* s :
         {&r.id, &r.description, &r.rel_path, &r.sha256, &r.md5, &r.sha1,
          &r.mtime, &r.atime, &r.ctime, &r.btime, &r.error, &r.media_type})
      CUSTOS_RETURN_IF_ERROR(ReadField(*s));
    uint64_t v[5];
    if (std::fread(v, sizeof v, 1, f_) != 1) return Short();
    r.size = v[0];
    r.mode = static_cast<uint32_t>(v[1]);
    r.uid = static_cast<uint32_t>(v[2]);
    r.gid = static_cast<uint32_t>(v[3]);
    if (v[4] > 4096) return Short();  // never written: a damaged file
    props.resize(v[4]);
    for (auto& [k, val] : props) {
      CUSTOS_RETURN_IF_ERROR(ReadField(k));
      CUSTOS_RETURN_IF_ERROR(ReadField(val));
    }
    ++read_;
    return true;
  }

 private:
  void Field(const std::string& s) {
    uint32_t n = static_cast<uint32_t>(s.size());
    buf_.append(reinterpret_cast<const char*>(&n), sizeof n);
    buf_.append(s);
  }
  absl::Status ReadField(std::string& s) {
    uint32_t n = 0;
    if (std::fread(&n, sizeof n, 1, f_) != 1) return Short();
    s.resize(n);
    if (n > 0 && std::fread(s.data(), 1, n, f_) != n) return Short();
    return absl::OkStatus();
  }
  static absl::Status Short() {
    return absl::DataLossError("the temporary item list is truncated");
  }
  std::FILE* f_;
  std::string buf_;
  uint64_t count_ = 0, read_ = 0;
};

// One walk entry on its way to the manifest and the spill file, waiting
// (when `identify`) for its file type.
struct Slot {
  std::string line;      // manifest line without media_type, ending in '\n'
  size_t type_at = 0;    // where `,"media_type":...` goes
  bool is_file = false;  // has a derived item (`item`)
  ItemRecord item;
  bool identify = false;
  bool known = false;  // type taken from TypeCache: `mime`, `props` set
  std::string head;    // the content's first filetype::kIdentifyBytes
  size_t head_size = 0;
  // Set by a helper thread before `done`.
  std::string mime;
  filetype::Properties props;
  bool done = false;  // guarded by TypeWindow::mu_
};

// File-type identification (libmagic, libexif: 0.01 to 5 ms per file) on
// helper threads while the walk goes on, with the results handed to `emit`
// in walk order. At most kMaxSlots entries and kMaxHeadBytes of heads are
// held: when the window is full, Push waits for its oldest entry, so memory
// does not grow with the number of files.
class TypeWindow {
 public:
  using Emit = std::function<absl::Status(Slot&)>;
  TypeWindow(unsigned threads, bool describe, Emit emit)
      : describe_(describe), emit_(std::move(emit)) {
    for (unsigned i = 0; i < threads; ++i)
      threads_.emplace_back([this] { Work(); });
  }
  ~TypeWindow() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      todo_.clear();
    }
    cv_work_.notify_all();
    for (auto& t : threads_) t.join();
  }
  TypeWindow(const TypeWindow&) = delete;
  TypeWindow& operator=(const TypeWindow&) = delete;

  // Takes the next entry in walk order; emits the finished ones.
  absl::Status Push(std::unique_ptr<Slot> s) {
    const bool work = s->identify && !s->known && !threads_.empty();
    if (!work) {
      s->done = true;
      // Nothing ahead of it: no need to queue.
      if (window_.empty()) return emit_(*s);
    }
    s->head_size = s->head.size();
    {
      std::lock_guard<std::mutex> l(mu_);
      head_bytes_ += s->head_size;
      if (work) todo_.push_back(s.get());
      window_.push_back(std::move(s));
    }
    cv_work_.notify_one();
    while (true) {
      bool full = window_.size() > kMaxSlots || head_bytes_ > kMaxHeadBytes;
      CUSTOS_ASSIGN_OR_RETURN(bool emitted, EmitFront(full));
      if (!emitted) return absl::OkStatus();
    }
  }
  // Waits for every entry and emits it.
  absl::Status Finish() {
    while (true) {
      CUSTOS_ASSIGN_OR_RETURN(bool emitted, EmitFront(true));
      if (!emitted) return absl::OkStatus();
    }
  }

 private:
  static constexpr size_t kMaxSlots = 512;
  static constexpr size_t kMaxHeadBytes = size_t{8} << 20;

  // Emits the oldest entry if it is done (or, with `wait`, once it is);
  // false when there was nothing to emit.
  absl::StatusOr<bool> EmitFront(bool wait) {
    std::unique_ptr<Slot> s;
    {
      std::unique_lock<std::mutex> l(mu_);
      if (window_.empty()) return false;
      Slot* front = window_.front().get();
      if (!front->done) {
        if (!wait) return false;
        cv_done_.wait(l, [front] { return front->done; });
      }
      s = std::move(window_.front());
      window_.pop_front();
      head_bytes_ -= s->head_size;
    }
    CUSTOS_RETURN_IF_ERROR(emit_(*s));
    return true;
  }
  void Work() {
    while (true) {
      Slot* s;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_work_.wait(l, [this] { return stop_ || !todo_.empty(); });
        if (stop_) return;
        s = todo_.front();
        todo_.pop_front();
      }
      s->props = filetype::Describe(s->head, &s->mime, describe_);
      std::string().swap(s->head);
      {
        std::lock_guard<std::mutex> l(mu_);
        s->done = true;
      }
      cv_done_.notify_all();
    }
  }

  const bool describe_;
  Emit emit_;
  std::mutex mu_;
  std::condition_variable cv_work_, cv_done_;
  std::deque<std::unique_ptr<Slot>> window_;  // walk order
  std::deque<Slot*> todo_;                    // not yet taken by a thread
  size_t head_bytes_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;  // last: joined before the rest goes
};

// The types of the last kCapacity distinct contents identified (by
// SHA-256): a disk holds many copies of the same file, and libmagic costs
// up to milliseconds per call. Bounded (about 100 bytes an entry), oldest
// out first.
class TypeCache {
 public:
  struct Entry {
    std::string mime;
    filetype::Properties props;
  };
  const Entry* Find(const std::string& sha256) const {
    auto it = map_.find(sha256);
    return it == map_.end() ? nullptr : &it->second;
  }
  void Put(const std::string& sha256, const std::string& mime,
           const filetype::Properties& props) {
    if (sha256.empty() || map_.count(sha256)) return;
    if (order_.size() >= kCapacity) {
      map_.erase(order_.front());
      order_.pop_front();
    }
    map_.emplace(sha256, Entry{mime, props});
    order_.push_back(sha256);
  }

 private:
  static constexpr size_t kCapacity = 4096;
  std::unordered_map<std::string, Entry> map_;
  std::deque<std::string> order_;
};

}  // namespace

absl::StatusOr<ExtractResult> Repository::Extract(const ExtractRequest& req) {
  if (req.actor.empty())
    return absl::InvalidArgumentError("--actor is required");
  if (req.item.empty())
    return absl::InvalidArgumentError("name the image item to extract");
  if (req.partition < 0)
    return absl::InvalidArgumentError("--partition must be 1 or more");
  CUSTOS_ASSIGN_OR_RETURN(ItemRecord image, ResolveItem(req.item));
  if (!req.case_id.empty() && req.case_id != image.case_id)
    return absl::InvalidArgumentError(
        absl::StrCat("item ", image.exhibit, " belongs to case ", image.case_id,
                     ", not ", req.case_id));
  CUSTOS_ASSIGN_OR_RETURN(ActorRecord actor, ResolveActor(req.actor));
  CUSTOS_ASSIGN_OR_RETURN(auto key, LoadActorKey(actor));
  CUSTOS_RETURN_IF_ERROR(LoadSigners());
  if (image.kind == "directory")
    return absl::FailedPreconditionError(absl::StrCat(
        "item ", image.exhibit,
        " is a directory acquisition: its files are already items; extract "
        "works on disk images"));
  if (image.sha256.empty())
    return absl::FailedPreconditionError(absl::StrCat(
        "item ", image.exhibit, " has no stored content to extract from",
        image.error.empty() ? "" : absl::StrCat(" (", image.error, ")")));

  // The media stream: raw/dd, split raw or E01, whatever the item holds.
  CUSTOS_ASSIGN_OR_RETURN(std::unique_ptr<acquire::MediaReader> media,
                          OpenMedia(*this, image));

  // Other processes must not take our temporary blob files for leftovers.
  CUSTOS_RETURN_IF_ERROR(HoldWritersLock());
  struct ReleaseAtEnd {
    Repository* r;
    ~ReleaseAtEnd() { r->ReleaseWritersLock(); }
  } release_writers{this};

  ExtractResult res;
  res.libtsk_version = extract::LibtskVersion();
  const std::string host = HostName();
  CUSTOS_ASSIGN_OR_RETURN(auto manifest, blobs_->NewWriter());
  ItemSpill spill;
  ExtractProgress progress;
  progress.media_size = media->size();

  extract::WalkOptions opts;
  opts.partition = req.partition;
  opts.include_deleted = req.include_deleted;
  if (req.progress)
    opts.progress = [&](uint64_t entries, uint64_t bytes) {
      progress.entries = entries;
      progress.bytes = bytes;
      req.progress(progress);
    };
  std::vector<std::string> file_errors;  // the first kMaxErrors
  auto note_error = [&](const std::string& what) {
    if (file_errors.size() < kMaxErrors)
      file_errors.push_back(Clip(what, kMaxErrorBytes));
  };

  // Entries leave the identification window in walk order: the media type
  // goes into the manifest line, the item row (with its properties) into
  // the spill file.
  std::string typed;
  TypeCache type_cache;
  auto emit = [&](Slot& s) -> absl::Status {
    if (s.identify && !s.mime.empty()) {
      // Types with EXIF properties (photographs: fast for libmagic, up to
      // kilobytes of values) are not cached, so the cache stays small.
      if (!s.known && s.props.empty())
        type_cache.Put(s.item.sha256, s.mime, s.props);
      typed.clear();
      typed += ",\"media_type\":";
      AppendQuoted(typed, s.mime);
      s.line.insert(s.type_at, typed);
      s.item.media_type = std::move(s.mime);
      ++res.identified;
    }
    if (s.is_file) CUSTOS_RETURN_IF_ERROR(spill.Put(s.item, s.props));
    return manifest->Append(s.line);
  };
  unsigned threads = 0;
  if (req.identify)
    threads = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  TypeWindow window(threads, req.describe, emit);
  const size_t head_max = req.identify ? filetype::kIdentifyBytes : 0;

  absl::StatusOr<extract::WalkResult> walk = extract::Walk(
      *media, opts,
      [&](const extract::FsEntry& e,
          extract::ContentReader& content) -> absl::Status {
        ++res.entries;
        const bool is_file = e.kind == "file";
        std::string error, content_state, item_id;
        uint64_t delivered = 0;
        crypto::Digests digests;
        auto slot = std::make_unique<Slot>();
        std::string& head = slot->head;
        auto keep_head = [&](std::string_view chunk) {
          if (head.size() < head_max)
            head.append(chunk.data(),
                        std::min(chunk.size(), head_max - head.size()));
        };
        if (e.kind == "directory") ++res.directories;
        if (!is_file && !e.content_error.empty()) {  // a damaged directory
          error = EscapeBytes(e.content_error);
          ++res.unreadable;
          note_error(absl::StrCat(e.volume->label, "/", EscapeBytes(e.path),
                                  ": ", error));
        }
        if (is_file) {
          ++res.files;
          res.bytes += e.size;
          switch (e.alloc) {
            case extract::Alloc::kAllocated:
              ++res.allocated;
              break;
            case extract::Alloc::kDeleted:
              ++res.deleted;
              break;
            case extract::Alloc::kOrphan:
              ++res.orphan;
              break;
          }
          if (!e.content_error.empty()) {
            error = e.content_error;
          } else if (req.content) {
            CUSTOS_ASSIGN_OR_RETURN(auto w, blobs_->NewWriter(req.digests));
            CUSTOS_RETURN_IF_ERROR(content.Read(
                [&](std::string_view chunk) {
                  keep_head(chunk);
                  return w->Append(chunk);
                },
                &delivered, &error));
            if (error.empty()) {
              CUSTOS_ASSIGN_OR_RETURN(
                  store::BlobInfo info,
                  e.size <= kDeferredMax ? w->CommitDeferred() : w->Commit());
              digests = std::move(info.digests);
              if (info.already_present)
                ++res.deduplicated;
              else
                ++res.new_blobs;
            } else {
              w->Abort();
            }
          } else {
            crypto::MultiHasher h(req.digests,
                                  /*parallel=*/e.size >= (uint64_t{1} << 20));
            CUSTOS_RETURN_IF_ERROR(content.Read(
                [&](std::string_view chunk) {
                  keep_head(chunk);
                  h.Update(chunk);
                  return absl::OkStatus();
                },
                &delivered, &error));
            digests = h.Finish();
          }
          res.stored_bytes += delivered;
          if (error.empty()) {
            content_state = req.content ? "full" : "not_stored";
            slot->identify = req.identify;
            if (const TypeCache::Entry* known =
                    slot->identify ? type_cache.Find(digests.sha256)
                                   : nullptr) {
              slot->known = true;
              slot->mime = known->mime;
              slot->props = known->props;
            }
          } else {
            content_state = delivered > 0 ? "partial" : "none";
            digests = crypto::Digests();
            error = EscapeBytes(error);
            ++res.unreadable;
            note_error(absl::StrCat(e.volume->label, "/", EscapeBytes(e.path),
                                    ": ", error));
          }
          item_id = env_.random->Uuid4();
          slot->is_file = true;
          ItemRecord& it = slot->item;
          it.id = item_id;
          it.description = e.alloc == extract::Alloc::kDeleted  ? "deleted file"
                           : e.alloc == extract::Alloc::kOrphan ? "orphan file"
                                                                : "";
          it.rel_path = RelPath(e.volume->label, e.path);
          it.size = e.size;
          it.sha256 = digests.sha256;
          it.md5 = digests.md5;
          it.sha1 = digests.sha1;
          it.mode = e.has_meta ? e.mode : 0;
          it.uid = e.uid;
          it.gid = e.gid;
          it.mtime = e.mtime_ns ? FormatNanoTime(*e.mtime_ns) : "";
          it.atime = e.atime_ns ? FormatNanoTime(*e.atime_ns) : "";
          it.ctime = e.ctime_ns ? FormatNanoTime(*e.ctime_ns) : "";
          it.btime = e.btime_ns ? FormatNanoTime(*e.btime_ns) : "";
          it.error = error;
        }
        if (!slot->identify || slot->known) std::string().swap(head);
        // One manifest line, keys in bytewise order (extraction.md).
        std::string& line_buf = slot->line;
        CanonObject o(line_buf);
        o.Str("alloc", extract::AllocName(e.alloc));
        if (e.atime_ns) o.Str("atime", FormatNanoTime(*e.atime_ns));
        if (e.btime_ns) o.Str("btime", FormatNanoTime(*e.btime_ns));
        if (is_file && !e.runs.empty()) {
          o.Raw("byte_runs");
          line_buf += '[';
          for (size_t i = 0; i < e.runs.size(); ++i) {
            if (i) line_buf += ',';
            AppendRun(e.runs[i], line_buf);
          }
          line_buf += ']';
        }
        if (!content_state.empty()) o.Str("content", content_state);
        if (e.ctime_ns) o.Str("ctime", FormatNanoTime(*e.ctime_ns));
        if (!error.empty()) o.Str("error", error);
        const bool owners = e.has_meta && (e.uid || e.gid);
        if (owners) o.Int("gid", e.gid);
        o.Int("inode", e.inode);
        if (!item_id.empty()) o.Str("item", item_id);
        o.Str("kind", e.kind);
        if (!digests.md5.empty()) o.Str("md5", HexEncode(digests.md5));
        // "media_type" sorts here; the window inserts it (TypeWindow).
        slot->type_at = line_buf.size();
        o.Bool("meta_alloc", e.meta_alloc);
        if (e.has_meta) o.Int("mode", e.mode);
        if (e.mtime_ns) o.Str("mtime", FormatNanoTime(*e.mtime_ns));
        if (e.has_meta && e.nlink) o.Int("nlink", e.nlink);
        o.Str("path", EscapeBytes(e.path));
        o.Str("path_b64", Base64Encode(e.path));
        if (!digests.sha1.empty()) o.Str("sha1", HexEncode(digests.sha1));
        if (!digests.sha256.empty()) o.Str("sha256", HexEncode(digests.sha256));
        o.Int("size", e.size);
        if (e.symlink_target) {
          o.Str("target", EscapeBytes(*e.symlink_target));
          o.Str("target_b64", Base64Encode(*e.symlink_target));
        }
        if (owners) o.Int("uid", e.uid);
        o.Str("volume", e.volume->label);
        if (!o.Close())
          return absl::InternalError(
              absl::StrCat("manifest line for ", EscapeBytes(e.path),
                           " is not canonical JSON (a value above 2^53-1?)"));
        line_buf.push_back('\n');
        return window.Push(std::move(slot));
      });
  if (walk.ok()) {
    absl::Status rest = window.Finish();
    if (!rest.ok()) walk = absl::StatusOr<extract::WalkResult>(rest);
  }
  if (!walk.ok()) {
    manifest->Abort();
    return walk.status();
  }
  // Content blobs committed with group commit become durable here, before
  // the event that refers to them.
  CUSTOS_RETURN_IF_ERROR(blobs_->FlushDeferred());
  CUSTOS_ASSIGN_OR_RETURN(store::BlobInfo minfo, manifest->Commit());
  res.manifest_hex = HexEncode(minfo.digests.sha256);
  res.volume_system = walk->volume_system;
  res.volumes = walk->volumes;
  res.partial = walk->partial;
  // Volume errors first: they matter most.
  for (const auto& v : res.volumes)
    if (!v.error.empty() && res.errors.size() < kMaxErrors)
      res.errors.push_back(
          Clip(absl::StrCat(v.label, ": ", v.error), 2 * kMaxErrorBytes));
  for (auto& e : file_errors)
    if (res.errors.size() < kMaxErrors) res.errors.push_back(std::move(e));

  json volumes = json::array();
  for (size_t i = 0; i < res.volumes.size() && i < kMaxVolumesListed; ++i)
    volumes.push_back(VolumeJson(res.volumes[i]));
  json digest_names = json::array();
  if (req.digests & crypto::kMd5) digest_names.push_back("md5");
  if (req.digests & crypto::kSha1) digest_names.push_back("sha1");
  digest_names.push_back("sha256");
  json details = {{"tool", kToolName},
                  {"tool_version", kToolVersion},
                  {"libtsk_version", res.libtsk_version},
                  {"source", image.id},
                  {"media_format", media->format()},
                  {"media_size", media->size()},
                  {"volume_system", res.volume_system},
                  {"volumes", std::move(volumes)},
                  {"volumes_total", res.volumes.size()},
                  {"manifest", res.manifest_hex},
                  {"content", req.content},
                  {"digests", std::move(digest_names)}};
  details.update(ExtractCountsJson(res));
  if (req.identify) details["magic_version"] = filetype::MagicVersion();
  if (req.describe && req.identify) details["describe"] = true;

  Batch batch;
  Pending p;
  p.event.type = "extracted";
  p.event.case_id = image.case_id;
  p.event.actor = {actor.id, actor.name, actor.role};
  p.event.items.push_back(
      {image.id, image.exhibit, HexEncode(image.sha256), image.size, ""});
  p.event.place = req.place;
  p.event.purpose = req.purpose;
  p.event.note = req.note;
  p.event.details = std::move(details);
  // The derived items' event_items rows are streamed from the spill file
  // in `apply` below rather than listed in covered_children, so that no
  // per-file list is held (this batch has one event: nothing else chains
  // to them within it).
  p.signer = key.get();
  p.registered_key = actor.public_key;
  batch.events.push_back(std::move(p));
  batch.keys.push_back(std::move(key));
  CUSTOS_RETURN_IF_ERROR(spill.Rewind());
  batch.apply = [&](MetaStore& m,
                    const std::vector<uint64_t>& seqs) -> absl::Status {
    // One row per derived item, streamed back from the spill file.
    ItemRecord it;
    it.case_id = image.case_id;
    it.exhibit = image.exhibit;
    it.parent_id = image.id;
    it.kind = "file";
    it.source = image.source;
    it.method = kMethod;
    it.tool = kToolName;
    it.tool_version = kToolVersion;
    it.host = host;
    it.acquired_seq = it.head_seq = seqs[0];
    filetype::Properties props;
    while (true) {
      CUSTOS_ASSIGN_OR_RETURN(bool more, spill.Get(it, props));
      if (!more) break;
      CUSTOS_RETURN_IF_ERROR(m.InsertItem(it));
      CUSTOS_RETURN_IF_ERROR(m.InsertEventItem(it.id, seqs[0]));
      // Search index (extraction.md "Item properties"): allocation status
      // of deleted and orphan files, EXIF of photographs (and the libmagic
      // description with --describe); the rest is in the manifest line.
      if (!it.description.empty())
        props.emplace_back("fs.alloc", it.description == "deleted file"
                                           ? "deleted"
                                           : "orphan");
      if (!props.empty())
        CUSTOS_RETURN_IF_ERROR(m.PutItemProperties(it.id, props));
    }
    return absl::OkStatus();
  };
  CUSTOS_ASSIGN_OR_RETURN(auto records, Commit(batch));
  res.event_seq = records.at(0).seq;
  res.source = image;
  // Known-file hash sets (docs/formats/hashset.md): the derived files are
  // children of the image. The extraction is committed whatever happens
  // here; a failure is reported, not returned.
  auto known = CheckKnownFiles({image.id}, actor.id);
  if (known.ok()) {
    res.known_bad = known->known_bad.size();
    res.known_good = known->known_good;
  } else {
    res.known_files_error = std::string(known.status().message());
  }
  return res;
}

}  // namespace custos::repo
