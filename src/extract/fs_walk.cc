#include "src/extract/fs_walk.h"

#include <sys/stat.h>
#include <tsk/libtsk.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <new>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/base/absl_compat.h"
#include "src/base/status_macros.h"

namespace custos::extract {

const char* AllocName(Alloc a) {
  switch (a) {
    case Alloc::kAllocated:
      return "allocated";
    case Alloc::kDeleted:
      return "deleted";
    case Alloc::kOrphan:
      return "orphan";
  }
  return "allocated";
}

std::string LibtskVersion() { return tsk_version_get_str(); }

namespace {

constexpr size_t kChunk = size_t{1} << 20;
constexpr char kTriedFs[] =
    "FAT, exFAT, NTFS, ext2/3/4, HFS+, ISO 9660, UFS, YAFFS2, APFS";
constexpr char kTriedVs[] = "DOS (MBR), GPT, BSD, Sun, Mac partition tables";

// The libtsk error message of the current thread ("" if none), then reset.
std::string TskError() {
  const char* e = tsk_error_get();
  std::string s = e ? e : "";
  tsk_error_reset();
  // libtsk messages may end with a newline or carry stray control bytes.
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "unknown libtsk error" : s;
}

// ---- The image, handed to libtsk through its "external" image type. ----

// libtsk treats the pointer we pass as its TSK_IMG_INFO, so that struct must
// come first.
struct ExternalImage {
  TSK_IMG_INFO info;
  acquire::MediaReader* media;
};
static_assert(offsetof(ExternalImage, info) == 0);

ssize_t ImgRead(TSK_IMG_INFO* img, TSK_OFF_T off, char* buf, size_t len) {
  auto* ext = reinterpret_cast<ExternalImage*>(img);
  if (off < 0) {
    tsk_error_reset();
    tsk_error_set_errno(TSK_ERR_IMG_READ);
    tsk_error_set_errstr("negative offset %lld", static_cast<long long>(off));
    return -1;
  }
  absl::StatusOr<size_t> n =
      ext->media->Read(static_cast<uint64_t>(off), buf, len);
  if (!n.ok()) {
    tsk_error_reset();
    tsk_error_set_errno(TSK_ERR_IMG_READ);
    tsk_error_set_errstr("%s", std::string(n.status().message()).c_str());
    return -1;
  }
  return static_cast<ssize_t>(*n);
}

void ImgClose(TSK_IMG_INFO* img) {
  auto* ext = reinterpret_cast<ExternalImage*>(img);
  ext->~ExternalImage();
  ::operator delete(ext);
}

void ImgStat(TSK_IMG_INFO*, FILE*) {}

struct ImgDeleter {
  void operator()(TSK_IMG_INFO* i) const { tsk_img_close(i); }
};
struct VsDeleter {
  void operator()(TSK_VS_INFO* v) const { tsk_vs_close(v); }
};
struct FsDeleter {
  void operator()(TSK_FS_INFO* f) const { tsk_fs_close(f); }
};

absl::StatusOr<std::unique_ptr<TSK_IMG_INFO, ImgDeleter>> OpenImage(
    acquire::MediaReader& media) {
  // TSK_IMG_INFO holds a 2 MiB read cache: allocate zeroed on the heap.
  void* mem = ::operator new(sizeof(ExternalImage));
  std::memset(mem, 0, sizeof(ExternalImage));
  auto* ext = new (mem) ExternalImage;
  ext->media = &media;
  unsigned ssize = media.sector_size() ? media.sector_size() : 512;
  TSK_IMG_INFO* img =
      tsk_img_open_external(ext, static_cast<TSK_OFF_T>(media.size()), ssize,
                            ImgRead, ImgClose, ImgStat);
  if (!img) {
    ext->~ExternalImage();
    ::operator delete(mem);
    return absl::InternalError(
        absl::StrCat("libtsk could not open the image: ", TskError()));
  }
  return std::unique_ptr<TSK_IMG_INFO, ImgDeleter>(img);
}

std::string FsTypeName(TSK_FS_TYPE_ENUM t) {
  const char* n = tsk_fs_type_toname(t);
  return n ? n : "unknown";
}

std::string KindOf(const TSK_FS_FILE* f) {
  if (f->meta) {
    switch (f->meta->type) {
      case TSK_FS_META_TYPE_REG:
        return "file";
      case TSK_FS_META_TYPE_DIR:
      case TSK_FS_META_TYPE_VIRT_DIR:
        return "directory";
      case TSK_FS_META_TYPE_LNK:
        return "symlink";
      case TSK_FS_META_TYPE_BLK:
        return "block_device";
      case TSK_FS_META_TYPE_CHR:
        return "char_device";
      case TSK_FS_META_TYPE_FIFO:
        return "fifo";
      case TSK_FS_META_TYPE_SOCK:
        return "socket";
      default:
        break;
    }
    if (f->meta->type != TSK_FS_META_TYPE_UNDEF) return "other";
  }
  if (f->name) {
    switch (f->name->type) {
      case TSK_FS_NAME_TYPE_REG:
        return "file";
      case TSK_FS_NAME_TYPE_DIR:
      case TSK_FS_NAME_TYPE_VIRT_DIR:
        return "directory";
      case TSK_FS_NAME_TYPE_LNK:
        return "symlink";
      case TSK_FS_NAME_TYPE_BLK:
        return "block_device";
      case TSK_FS_NAME_TYPE_CHR:
        return "char_device";
      case TSK_FS_NAME_TYPE_FIFO:
        return "fifo";
      case TSK_FS_NAME_TYPE_SOCK:
        return "socket";
      default:
        break;
    }
  }
  return "other";
}

uint32_t TypeBits(TSK_FS_META_TYPE_ENUM t) {
  switch (t) {
    case TSK_FS_META_TYPE_REG:
      return S_IFREG;
    case TSK_FS_META_TYPE_DIR:
      return S_IFDIR;
    case TSK_FS_META_TYPE_LNK:
      return S_IFLNK;
    case TSK_FS_META_TYPE_BLK:
      return S_IFBLK;
    case TSK_FS_META_TYPE_CHR:
      return S_IFCHR;
    case TSK_FS_META_TYPE_FIFO:
      return S_IFIFO;
    case TSK_FS_META_TYPE_SOCK:
      return S_IFSOCK;
    default:
      return 0;
  }
}

std::optional<int64_t> Ns(time_t s, uint32_t nano) {
  if (s == 0 && nano == 0) return std::nullopt;
  return int64_t{s} * 1000000000 + nano;
}

bool IsVirtual(const TSK_FS_FILE* f) {
  if (f->name && (f->name->type == TSK_FS_NAME_TYPE_VIRT ||
                  f->name->type == TSK_FS_NAME_TYPE_VIRT_DIR))
    return true;
  if (f->meta && (f->meta->type == TSK_FS_META_TYPE_VIRT ||
                  f->meta->type == TSK_FS_META_TYPE_VIRT_DIR))
    return true;
  return false;
}

// Fills e.runs from the default data attribute; sets e.content_error when
// the runs cannot account for the whole file.
void CollectRuns(TSK_FS_FILE* f, const TSK_FS_INFO* fs, FsEntry& e) {
  const TSK_FS_ATTR* attr = tsk_fs_file_attr_get(f);
  if (!attr) {
    tsk_error_reset();
    if (e.size > 0)
      e.content_error =
          "no data attribute: the content is not recoverable from the "
          "metadata";
    return;
  }
  if (attr->flags & TSK_FS_ATTR_RES) {
    if (e.size > 0) {
      ByteRun r;
      r.len = e.size;
      r.resident = true;
      e.runs.push_back(r);
    }
    return;
  }
  if (!(attr->flags & TSK_FS_ATTR_NONRES)) return;
  const uint64_t bs = fs->block_size;
  uint64_t covered = 0;
  for (const TSK_FS_ATTR_RUN* run = attr->nrd.run; run; run = run->next) {
    if (run->len == 0) continue;
    uint64_t file_off = run->offset * bs;
    if (file_off >= e.size) break;
    uint64_t len = std::min<uint64_t>(run->len * bs, e.size - file_off);
    if (run->flags & TSK_FS_ATTR_RUN_FLAG_FILLER) {
      e.content_error = absl::StrCat(
          "the location of bytes ", file_off, "..", file_off + len,
          " is not known (libtsk filler run): content not recoverable");
      continue;
    }
    if (!(run->flags & TSK_FS_ATTR_RUN_FLAG_SPARSE) &&
        (run->addr > fs->last_block ||
         run->len - 1 > fs->last_block - run->addr)) {
      // Corrupt block pointers: libtsk reports them as they are.
      e.content_error =
          absl::StrCat("bytes ", file_off, "..", file_off + len,
                       " are said to lie at block ", run->addr,
                       ", beyond the file system's last block ", fs->last_block,
                       " (damaged metadata): content not recoverable");
      continue;
    }
    ByteRun r;
    r.file_offset = file_off;
    r.len = len;
    if (run->flags & TSK_FS_ATTR_RUN_FLAG_SPARSE) {
      r.sparse = true;
    } else {
      r.fs_offset = run->addr * bs;
      r.img_offset = static_cast<uint64_t>(fs->offset) + r.fs_offset;
    }
    if (!e.runs.empty()) {
      ByteRun& p = e.runs.back();
      if (p.sparse == r.sparse && !p.resident &&
          p.file_offset + p.len == r.file_offset &&
          (r.sparse || p.fs_offset + p.len == r.fs_offset)) {
        p.len += r.len;
        covered += r.len;
        continue;
      }
    }
    covered += r.len;
    e.runs.push_back(r);
  }
  if (covered < e.size && e.content_error.empty() &&
      !(attr->flags & TSK_FS_ATTR_COMP))
    e.content_error = absl::StrCat("the data runs cover ", covered, " of ",
                                   e.size, " bytes: content not recoverable");
}

class TskContent final : public ContentReader {
 public:
  TskContent(TSK_FS_FILE* f, uint64_t size, std::string* buf)
      : f_(f), size_(size), buf_(buf) {}
  absl::Status Read(const std::function<absl::Status(std::string_view)>& sink,
                    uint64_t* delivered, std::string* error) override {
    *delivered = 0;
    error->clear();
    if (buf_->size() < kChunk) buf_->resize(kChunk);
    uint64_t off = 0;
    while (off < size_) {
      size_t want =
          static_cast<size_t>(std::min<uint64_t>(kChunk, size_ - off));
      ssize_t n =
          tsk_fs_file_read(f_, static_cast<TSK_OFF_T>(off), buf_->data(), want,
                           TSK_FS_FILE_READ_FLAG_NONE);
      if (n <= 0) {
        *error = absl::StrCat("read at offset ", off, ": ",
                              n < 0 ? TskError() : "no data returned");
        return absl::OkStatus();
      }
      CUSTOS_RETURN_IF_ERROR(
          sink(std::string_view(buf_->data(), static_cast<size_t>(n))));
      off += static_cast<uint64_t>(n);
      *delivered = off;
    }
    return absl::OkStatus();
  }

 private:
  TSK_FS_FILE* f_;
  uint64_t size_;
  std::string* buf_;
};

class NoContent final : public ContentReader {
 public:
  explicit NoContent(std::string why) : why_(std::move(why)) {}
  absl::Status Read(const std::function<absl::Status(std::string_view)>&,
                    uint64_t* delivered, std::string* error) override {
    *delivered = 0;
    *error = why_;
    return absl::OkStatus();
  }

 private:
  std::string why_;
};

// ---- Bounding libtsk's work on corrupt directories. ----
//
// libtsk builds a directory's whole block list from the size its inode
// claims before reading a name (ext2fs_dir_open_meta -> tsk_fs_file_read):
// a corrupt inode claiming gigabytes keeps it busy for minutes on a
// kilobyte-sized image. custos checks every directory's claimed size before
// libtsk opens it, by wrapping the file system's dir_open_meta hook; that
// covers the root, every subdirectory of the recursive walk and the walks
// libtsk makes itself to find orphans. A directory claiming more than
// DirSizeLimit() is not opened: it is listed (with `error`) but its names
// are not, and the volume's error says so (the run is partial).

// A directory no real file system holds (about 8 million ext4 names).
constexpr uint64_t kMaxDirBytes = uint64_t{256} << 20;

using DirOpenFn = TSK_RETVAL_ENUM (*)(TSK_FS_INFO*, TSK_FS_DIR**, TSK_INUM_T,
                                      int);

struct DirGuard {
  TSK_FS_INFO* fs = nullptr;
  DirOpenFn original = nullptr;
  uint64_t limit = 0;
  std::set<TSK_INUM_T> refused;  // distinct (libtsk may try one twice)
  std::string first;             // the first refusal, for the volume error
  DirGuard* outer = nullptr;
};
thread_local DirGuard* t_guard = nullptr;

// block_size x blocks, or "unbounded" when libtsk does not say.
uint64_t FsBytes(const TSK_FS_INFO* fs) {
  uint64_t fs_bytes = uint64_t{fs->block_size} * fs->block_count;
  if (fs_bytes == 0 || fs->block_count > (~uint64_t{0} / 65536))
    fs_bytes = ~uint64_t{0};
  return fs_bytes;
}

// The most bytes a directory of `fs` on `media_size` bytes of media may
// claim: it cannot hold more than the file system or the image, nor more
// than kMaxDirBytes.
uint64_t DirSizeLimit(const TSK_FS_INFO* fs, uint64_t media_size) {
  uint64_t fs_bytes = FsBytes(fs);
  uint64_t after_offset = media_size > static_cast<uint64_t>(fs->offset)
                              ? media_size - static_cast<uint64_t>(fs->offset)
                              : 0;
  return std::min({fs_bytes, after_offset, kMaxDirBytes});
}

// The largest size custos takes from an inode: 2^53-1 bytes (8 PiB), the
// largest integer the manifest's canonical JSON holds.
constexpr uint64_t kMaxClaimedSize = (uint64_t{1} << 53) - 1;

std::string DirRefusal(TSK_INUM_T inum, TSK_OFF_T size, uint64_t limit) {
  return absl::StrCat("directory inode ", inum, " claims ", size,
                      " bytes, more than the ", limit,
                      " bytes a directory of this file system can hold: not "
                      "opened (damaged metadata), its names are not listed");
}

TSK_RETVAL_ENUM GuardedDirOpen(TSK_FS_INFO* fs, TSK_FS_DIR** dir,
                               TSK_INUM_T inum, int depth) {
  DirGuard* g = t_guard;
  while (g && g->fs != fs) g = g->outer;
  if (!g) {  // cannot happen: the hook is only set while its guard lives
    tsk_error_reset();
    tsk_error_set_errno(TSK_ERR_FS_ARG);
    tsk_error_set_errstr("custos: directory hook without its guard");
    return TSK_ERR;
  }
  if (inum != TSK_FS_ORPHANDIR_INUM(fs)) {
    TSK_FS_FILE* f = tsk_fs_file_open_meta(fs, nullptr, inum);
    TSK_OFF_T size = (f && f->meta) ? f->meta->size : 0;
    if (f) tsk_fs_file_close(f);
    tsk_error_reset();  // unreadable inode: the original open says so
    if (size < 0 || static_cast<uint64_t>(size) > g->limit) {
      std::string why = DirRefusal(inum, size, g->limit);
      if (g->refused.empty()) g->first = why;
      g->refused.insert(inum);
      tsk_error_set_errno(TSK_ERR_FS_INODE_COR);
      tsk_error_set_errstr("%s", why.c_str());
      return TSK_COR;
    }
  }
  return g->original(fs, dir, inum, depth);
}

// Installs GuardedDirOpen on `fs` for the guard's lifetime.
class ScopedDirGuard {
 public:
  ScopedDirGuard(TSK_FS_INFO* fs, uint64_t media_size) {
    g_.fs = fs;
    g_.original = fs->dir_open_meta;
    g_.limit = DirSizeLimit(fs, media_size);
    g_.outer = t_guard;
    t_guard = &g_;
    if (g_.original) fs->dir_open_meta = GuardedDirOpen;
  }
  ~ScopedDirGuard() {
    g_.fs->dir_open_meta = g_.original;
    t_guard = g_.outer;
  }
  ScopedDirGuard(const ScopedDirGuard&) = delete;
  ScopedDirGuard& operator=(const ScopedDirGuard&) = delete;
  const DirGuard& guard() const { return g_; }

 private:
  DirGuard g_;
};

// State of one file system's directory walk.
struct FsWalk {
  TSK_FS_INFO* fs;
  VolumeInfo* volume;
  const WalkOptions* options;
  const EntrySink* sink;
  absl::Status status;  // first sink error
  std::string buf;
  uint64_t* entries;
  uint64_t* bytes;
  uint64_t dir_limit;  // DirSizeLimit() of fs
};

TSK_WALK_RET_ENUM DirWalkCallback(TSK_FS_FILE* f, const char* a_path,
                                  void* ptr) {
  auto* w = static_cast<FsWalk*>(ptr);
  if (!f->name || !f->name->name) return TSK_WALK_CONT;
  const char* name = f->name->name;
  if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0)
    return TSK_WALK_CONT;
  if (IsVirtual(f)) return TSK_WALK_CONT;
  std::string parent = a_path ? a_path : "";
  FsEntry e;
  e.volume = w->volume;
  e.path = parent + name;
  if (parent.rfind("$OrphanFiles/", 0) == 0) {
    e.alloc = Alloc::kOrphan;
  } else if (f->name->flags & TSK_FS_NAME_FLAG_UNALLOC) {
    e.alloc = Alloc::kDeleted;
  }
  if (e.alloc != Alloc::kAllocated && !w->options->include_deleted)
    return TSK_WALK_CONT;
  e.kind = KindOf(f);
  e.inode = f->name->meta_addr;
  if (f->meta) {
    const TSK_FS_META* m = f->meta;
    e.has_meta = true;
    e.inode = m->addr;
    e.meta_alloc = (m->flags & TSK_FS_META_FLAG_ALLOC) != 0;
    e.size = m->size > 0 ? static_cast<uint64_t>(m->size) : 0;
    if (e.size > kMaxClaimedSize) {
      // Damaged metadata: no file system holds 8 PiB, and libtsk would
      // spend minutes building the block list the size implies (a fuzz
      // input, fuzz/corpus/extract/regress-libtsk-huge-file-size). The
      // claim is kept in the error; the size recorded is 0.
      e.content_error = absl::StrCat(
          "inode ", m->addr, " claims ", e.size,
          " bytes, more than any file system holds (2^53-1): damaged "
          "metadata, content not read");
      e.size = 0;
    }
    e.mtime_ns = Ns(m->mtime, m->mtime_nano);
    e.atime_ns = Ns(m->atime, m->atime_nano);
    e.ctime_ns = Ns(m->ctime, m->ctime_nano);
    e.btime_ns = Ns(m->crtime, m->crtime_nano);
    e.mode = TypeBits(m->type) | (static_cast<uint32_t>(m->mode) & 07777);
    e.uid = static_cast<uint32_t>(m->uid);
    e.gid = static_cast<uint32_t>(m->gid);
    e.nlink = m->nlink > 0 ? static_cast<uint32_t>(m->nlink) : 0;
    if (m->type == TSK_FS_META_TYPE_LNK && m->link)
      e.symlink_target = std::string(m->link);
  }
  // A directory GuardedDirOpen will refuse: say so on its own line.
  if (f->meta && TSK_FS_IS_DIR_META(f->meta->type) &&
      f->meta->addr != TSK_FS_ORPHANDIR_INUM(w->fs) &&
      (f->meta->size < 0 ||
       static_cast<uint64_t>(f->meta->size) > w->dir_limit))
    e.content_error = DirRefusal(f->meta->addr, f->meta->size, w->dir_limit);
  ++w->volume->entries;
  ++*w->entries;
  if (e.kind == "file") {
    ++w->volume->files;
    if (!f->meta) {
      e.content_error = "no metadata for this name: content not recoverable";
    } else if (!e.content_error.empty()) {
      // refused above (a claimed size beyond any file system)
    } else if (e.alloc != Alloc::kAllocated && e.size > FsBytes(w->fs)) {
      // A deleted or orphan inode claiming more than its whole file system
      // (a sparse allocated file may; a freed one's blocks are not its own
      // any more): libtsk would build a block list for the whole claim, in
      // time quadratic in its runs (tsk_fs_attr_append_run), and custos
      // would read it all as holes.
      e.content_error = absl::StrCat(
          "the ", AllocName(e.alloc), " file's inode ", e.inode, " claims ",
          e.size, " bytes, more than its file system's ", FsBytes(w->fs),
          ": content not recoverable (damaged or reused metadata), not read");
    } else if (e.alloc == Alloc::kDeleted && e.meta_alloc) {
      e.content_error =
          "the name is deleted but its metadata entry is allocated (reused "
          "by another file): content not attributable, not read";
    } else if (TSK_FS_TYPE_ISNTFS(w->fs->ftype) &&
               f->name->meta_seq != f->meta->seq) {
      e.content_error = absl::StrCat(
          "the MFT entry was reused (sequence ", f->meta->seq, ", name says ",
          f->name->meta_seq, "): content not attributable, not read");
    } else {
      CollectRuns(f, w->fs, e);
    }
  }
  absl::Status st;
  if (e.kind == "file" && e.content_error.empty()) {
    TskContent content(f, e.size, &w->buf);
    st = (*w->sink)(e, content);
    *w->bytes += e.size;
  } else {
    NoContent content(e.kind == "file" ? e.content_error
                                       : "not a regular file");
    st = (*w->sink)(e, content);
  }
  if (!st.ok()) {
    w->status = st;
    return TSK_WALK_STOP;
  }
  if (w->options->progress && (*w->entries % 256) == 0)
    w->options->progress(*w->entries, *w->bytes);
  return TSK_WALK_CONT;
}

// Opens the file system of `v` and walks it. Volume-level problems go to
// v.error; sink errors are returned.
absl::Status WalkVolume(TSK_IMG_INFO* img, uint64_t media_size, VolumeInfo& v,
                        const WalkOptions& options, const EntrySink& sink,
                        uint64_t* entries, uint64_t* bytes) {
  tsk_error_reset();
  std::unique_ptr<TSK_FS_INFO, FsDeleter> fs(tsk_fs_open_img(
      img, static_cast<TSK_OFF_T>(v.offset), TSK_FS_TYPE_DETECT));
  if (!fs) {
    v.error = absl::StrCat("no file system recognised at offset ", v.offset,
                           " (tried: ", kTriedFs, "): ", TskError());
    return absl::OkStatus();
  }
  v.fs_type = FsTypeName(fs->ftype);
  v.block_size = fs->block_size;
  v.blocks = fs->block_count;
  if (v.length == 0) v.length = uint64_t{fs->block_size} * fs->block_count;
  ScopedDirGuard guard(fs.get(), media_size);
  FsWalk w{fs.get(), &v,    &options,           &sink, absl::OkStatus(), {},
           entries,  bytes, guard.guard().limit};
  int flags = TSK_FS_DIR_WALK_FLAG_RECURSE | TSK_FS_DIR_WALK_FLAG_ALLOC;
  if (options.include_deleted)
    flags |= TSK_FS_DIR_WALK_FLAG_UNALLOC;
  else
    flags |= TSK_FS_DIR_WALK_FLAG_NOORPHAN;
  uint8_t rc = tsk_fs_dir_walk(fs.get(), fs->root_inum,
                               static_cast<TSK_FS_DIR_WALK_FLAG_ENUM>(flags),
                               DirWalkCallback, &w);
  CUSTOS_RETURN_IF_ERROR(w.status);
  if (rc != 0)
    v.error = absl::StrCat("the walk of the ", v.fs_type,
                           " file system stopped early: ", TskError());
  tsk_error_reset();
  if (const DirGuard& g = guard.guard(); !g.refused.empty() && rc == 0)
    v.error = absl::StrCat(
        g.refused.size(), " director", g.refused.size() == 1 ? "y" : "ies",
        " of the ", v.fs_type, " file system not walked; first: ", g.first);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WalkResult> Walk(acquire::MediaReader& media,
                                const WalkOptions& options,
                                const EntrySink& sink) {
  // FAT times are local times converted by libtsk with mktime(3).
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  tsk_error_reset();
  CUSTOS_ASSIGN_OR_RETURN(auto img, OpenImage(media));
  WalkResult result;
  uint64_t entries = 0, bytes = 0;
  std::unique_ptr<TSK_VS_INFO, VsDeleter> vs(
      tsk_vs_open(img.get(), 0, TSK_VS_TYPE_DETECT));
  std::string vs_error;
  if (!vs) vs_error = TskError();
  if (!vs) {
    if (options.partition > 0)
      return absl::NotFoundError(
          absl::StrCat("--partition ", options.partition,
                       ": the image has no partition table (tried: ", kTriedVs,
                       "): ", vs_error));
    result.volume_system = "none";
    VolumeInfo v;
    v.label = "fs";
    v.length = media.size();
    result.volumes.push_back(v);
    CUSTOS_RETURN_IF_ERROR(WalkVolume(img.get(), media.size(),
                                      result.volumes.back(), options, sink,
                                      &entries, &bytes));
    if (!result.volumes.back().error.empty() &&
        result.volumes.back().fs_type.empty())
      return absl::DataLossError(
          absl::StrCat("no partition table (tried: ", kTriedVs, ": ", vs_error,
                       ") and ", result.volumes.back().error));
    result.partial = !result.volumes.back().error.empty();
  } else {
    const char* vsn = tsk_vs_type_toname(vs->vstype);
    result.volume_system = vsn ? vsn : "unknown";
    uint32_t n = 0;
    bool any_ok = false;
    // Pre-size so that pointers handed to the sink stay valid.
    result.volumes.reserve(vs->part_count);
    for (TSK_PNUM_T i = 0; i < vs->part_count; ++i) {
      const TSK_VS_PART_INFO* p = tsk_vs_part_get(vs.get(), i);
      if (!p || !(p->flags & TSK_VS_PART_FLAG_ALLOC)) continue;
      ++n;
      if (options.partition > 0 && static_cast<int>(n) != options.partition)
        continue;
      VolumeInfo v;
      v.label = absl::StrCat("p", n);
      v.index = static_cast<uint32_t>(result.volumes.size());
      v.slot = p->addr;
      v.start_sector = p->start;
      v.sectors = p->len;
      v.offset = p->start * uint64_t{vs->block_size};
      v.length = p->len * uint64_t{vs->block_size};
      v.description = p->desc ? p->desc : "";
      result.volumes.push_back(v);
      VolumeInfo& ref = result.volumes.back();
      CUSTOS_RETURN_IF_ERROR(WalkVolume(img.get(), media.size(), ref, options,
                                        sink, &entries, &bytes));
      if (ref.error.empty()) {
        any_ok = true;
      } else {
        result.partial = true;
        if (!ref.fs_type.empty()) any_ok = true;  // walked in part
      }
    }
    if (options.partition > 0 && result.volumes.empty())
      return absl::NotFoundError(absl::StrCat(
          "--partition ", options.partition, ": the ", result.volume_system,
          " partition table has ", n, " allocated partition(s)"));
    if (!any_ok) {
      std::string why;
      for (const auto& v : result.volumes)
        absl::StrAppend(&why, "; ", v.label, ": ", v.error);
      if (result.volumes.empty()) why = "; it lists no allocated partition";
      return absl::DataLossError(
          absl::StrCat("no file system could be opened in the ",
                       result.volume_system, " partition table", why));
    }
  }
  if (options.progress) options.progress(entries, bytes);
  return result;
}

namespace {

class RawFile final : public acquire::MediaReader {
 public:
  RawFile(std::unique_ptr<RandomAccessFile> f, uint64_t size)
      : f_(std::move(f)), size_(size) {}
  uint64_t size() const override { return size_; }
  uint32_t sector_size() const override { return 512; }
  const char* format() const override { return "raw"; }
  absl::StatusOr<size_t> Read(uint64_t offset, char* buf, size_t len) override {
    if (offset >= size_) return size_t{0};
    len = static_cast<size_t>(std::min<uint64_t>(len, size_ - offset));
    size_t done = 0;
    while (done < len) {
      CUSTOS_ASSIGN_OR_RETURN(size_t n,
                              f_->Read(offset + done, len - done, buf + done));
      if (n == 0) break;
      done += n;
    }
    return done;
  }

 private:
  std::unique_ptr<RandomAccessFile> f_;
  uint64_t size_;
};

}  // namespace

std::unique_ptr<acquire::MediaReader> RawFileMedia(
    std::unique_ptr<RandomAccessFile> file, uint64_t size) {
  return std::make_unique<RawFile>(std::move(file), size);
}

}  // namespace custos::extract
