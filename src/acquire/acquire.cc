#include "src/acquire/acquire.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "src/base/absl_compat.h"
#include "src/base/file_system.h"
#include "src/base/status_macros.h"
#include "src/filetype/filetype.h"

namespace custos::acquire {

const char* EntryKindName(EntryKind k) {
  switch (k) {
    case EntryKind::kFile:
      return "file";
    case EntryKind::kDirectory:
      return "directory";
    case EntryKind::kSymlink:
      return "symlink";
    case EntryKind::kBlockDevice:
      return "block_device";
    case EntryKind::kCharDevice:
      return "char_device";
    case EntryKind::kFifo:
      return "fifo";
    case EntryKind::kSocket:
      return "socket";
    case EntryKind::kOther:
      return "other";
  }
  return "other";
}

namespace {

// Files below the root up to this size are stored with group commit (one
// filesystem barrier for many files, before Acquire returns); larger ones,
// and a root that is a single file, get their own fsync.
constexpr uint64_t kDeferredCommitMax = uint64_t{4} << 20;
constexpr uint64_t kFadviseMin = uint64_t{1} << 20;
constexpr uint64_t kProgressEvery = uint64_t{8} << 20;
// Entries waiting for the typing worker (or behind one that is) before they
// go to the sink: bounds memory to about kMaxPending * 64 KiB of heads.
constexpr size_t kMaxPending = 256;

EntryKind KindOf(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return EntryKind::kFile;
    case S_IFDIR:
      return EntryKind::kDirectory;
    case S_IFLNK:
      return EntryKind::kSymlink;
    case S_IFBLK:
      return EntryKind::kBlockDevice;
    case S_IFCHR:
      return EntryKind::kCharDevice;
    case S_IFIFO:
      return EntryKind::kFifo;
    case S_IFSOCK:
      return EntryKind::kSocket;
    default:
      return EntryKind::kOther;
  }
}

int64_t Ns(const struct statx_timestamp& t) {
  return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec;
}

std::string ErrText(int err) { return std::strerror(err); }

// statx relative to `dirfd` (AT_FDCWD for a path), filling the metadata
// fields of `e`. Returns 0 or an errno value.
int StatInto(int dirfd, const char* name, bool follow, SourceEntry& e) {
  struct statx sx;
  int flags = AT_STATX_SYNC_AS_STAT | (follow ? 0 : AT_SYMLINK_NOFOLLOW);
  if (::statx(dirfd, name, flags, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
    return errno;
  e.kind = KindOf(sx.stx_mode);
  e.size = sx.stx_size;
  e.mode = sx.stx_mode;
  e.uid = sx.stx_uid;
  e.gid = sx.stx_gid;
  e.mtime_ns = Ns(sx.stx_mtime);
  e.atime_ns = Ns(sx.stx_atime);
  e.ctime_ns = Ns(sx.stx_ctime);
  e.btime_ns = (sx.stx_mask & STATX_BTIME) ? Ns(sx.stx_btime) : -1;
  e.inode = sx.stx_ino;
  e.device = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  e.nlink = sx.stx_nlink;
  return 0;
}

// Opens for reading without following a final symlink, without updating
// atime where permitted (O_NOATIME needs ownership or CAP_FOWNER), and
// without ever blocking (O_NONBLOCK: should the entry have been replaced by
// a FIFO since it was stat'ed).
int OpenNoFollow(int dirfd, const char* name, int extra) {
  int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | extra;
  int fd = ::openat(dirfd, name, flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::openat(dirfd, name, flags);
  return fd;
}

// Identifies file content (filetype::Describe, libmagic: ~200 us per file)
// on a worker thread so that it overlaps with reading and storing the next
// files, while the sink still sees every entry in walk order, on the walker
// thread. Entries are queued in order; those needing typing are also handed
// to the worker; the walker passes the queue's head to the sink as soon as
// it is typed (or needs none). At most kMaxPending entries wait.
class OrderedTyper {
 public:
  explicit OrderedTyper(
      const std::function<absl::Status(const SourceEntry&)>& sink)
      : sink_(sink) {}
  ~OrderedTyper() { StopWorker(); }

  // Queues `e` for the sink; with `needs_typing`, `head` is typed first.
  absl::Status Add(SourceEntry e, std::string head, bool needs_typing,
                   uint64_t* emitted) {
    auto p = std::make_unique<Pending>();
    p->entry = std::move(e);
    p->head = std::move(head);
    {
      std::lock_guard<std::mutex> l(mu_);
      p->typed = !needs_typing;
      if (needs_typing) to_type_.push_back(p.get());
      queue_.push_back(std::move(p));
      cv_.notify_all();
    }
    if (needs_typing && !worker_.joinable())
      worker_ = std::thread([this] { WorkerLoop(); });
    return Drain(kMaxPending - 1, emitted);
  }

  // Passes every queued entry to the sink.
  absl::Status Finish(uint64_t* emitted) { return Drain(0, emitted); }

 private:
  struct Pending {
    SourceEntry entry;
    std::string head;
    bool typed = false;  // guarded by mu_
  };

  // Passes typed entries at the head of the queue to the sink, waiting for
  // the worker while more than `keep` entries are queued.
  absl::Status Drain(size_t keep, uint64_t* emitted) {
    while (true) {
      std::unique_ptr<Pending> p;
      {
        std::unique_lock<std::mutex> l(mu_);
        if (queue_.empty()) break;
        if (!queue_.front()->typed) {
          if (queue_.size() <= keep) break;
          cv_.wait(l, [&] { return queue_.front()->typed; });
        }
        p = std::move(queue_.front());
        queue_.pop_front();
      }
      if (!status_.ok()) continue;  // after a sink error: drop the rest
      ++*emitted;
      status_ = sink_(p->entry);
    }
    return status_;
  }

  void WorkerLoop() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [&] { return !to_type_.empty() || stop_; });
      if (to_type_.empty()) return;
      Pending* p = to_type_.front();
      to_type_.pop_front();
      l.unlock();
      p->entry.properties = filetype::Describe(p->head, &p->entry.media_type,
                                               /*describe=*/false);
      p->head.clear();
      p->head.shrink_to_fit();
      l.lock();
      p->typed = true;
      cv_.notify_all();
    }
  }

  void StopWorker() {
    if (!worker_.joinable()) return;
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    worker_.join();
  }

  const std::function<absl::Status(const SourceEntry&)>& sink_;
  absl::Status status_;  // first sink error; walker thread only
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Pending>> queue_;  // guarded by mu_
  std::deque<Pending*> to_type_;                // guarded by mu_
  bool stop_ = false;                           // guarded by mu_
};

class Walker {
 public:
  Walker(store::BlobStore& blobs, const AcquireOptions& options,
         const std::function<absl::Status(const SourceEntry&)>& sink)
      : blobs_(blobs), options_(options), typer_(sink) {}

  absl::Status Run(const std::string& source) {
    SourceEntry root;
    int err = StatInto(AT_FDCWD, source.c_str(), false, root);
    if (err != 0) return ErrnoToStatus(err, source);
    absl::Status st = Visit(AT_FDCWD, source.c_str(), std::move(root),
                            /*is_root=*/true, source);
    absl::Status drained = typer_.Finish(&progress_.entries_done);
    if (st.ok()) st = drained;
    absl::Status flushed = blobs_.FlushDeferred();
    if (st.ok()) st = flushed;
    if (st.ok() && options_.progress) options_.progress(progress_);
    return st;
  }

 private:
  // `e` has its metadata; `name` is relative to `dirfd`; `shown` names it in
  // messages.
  absl::Status Visit(int dirfd, const char* name, SourceEntry e, bool is_root,
                     const std::string& shown) {
    if (e.kind == EntryKind::kSymlink) {
      std::string target;
      int err = ReadLink(dirfd, name, &target);
      if (err != 0) {
        e.error = absl::StrCat("readlink: ", ErrText(err));
      } else {
        e.symlink_target = target;
      }
      if (!options_.follow_symlinks || err != 0) return Emit(std::move(e));
      // Followed: the entry describes the target, symlink_target says it
      // was reached through a link.
      SourceEntry t;
      t.path = e.path;
      t.symlink_target = e.symlink_target;
      err = StatInto(dirfd, name, /*follow=*/true, t);
      if (err != 0) {
        e.error = absl::StrCat("symlink target: ", ErrText(err));
        return Emit(std::move(e));
      }
      e = std::move(t);
    }
    switch (e.kind) {
      case EntryKind::kDirectory:
        return VisitDirectory(dirfd, name, std::move(e), is_root, shown);
      case EntryKind::kFile:
      case EntryKind::kBlockDevice:
        return VisitContent(dirfd, name, std::move(e), is_root, shown);
      default:
        // FIFOs, sockets, character devices: recorded, never opened.
        return Emit(std::move(e));
    }
  }

  int ReadLink(int dirfd, const char* name, std::string* out) {
    std::string buf(256, '\0');
    while (true) {
      ssize_t n = ::readlinkat(dirfd, name, buf.data(), buf.size());
      if (n < 0) return errno;
      if (static_cast<size_t>(n) < buf.size()) {
        buf.resize(static_cast<size_t>(n));
        *out = std::move(buf);
        return 0;
      }
      buf.resize(buf.size() * 2);
    }
  }

  absl::Status VisitDirectory(int dirfd, const char* name, SourceEntry e,
                              bool is_root, const std::string& shown) {
    // Loop guard for followed symlinks: a directory already on the current
    // path is not entered again.
    std::pair<uint64_t, uint64_t> id{e.device, e.inode};
    if (on_path_.count(id)) {
      e.error = "directory loop (reached again through a symlink)";
      return Emit(std::move(e));
    }
    int fd = e.symlink_target.empty()
                 ? OpenNoFollow(dirfd, name, O_DIRECTORY)
                 : ::openat(dirfd, name,
                            O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NONBLOCK);
    if (fd < 0) {
      int err = errno;
      if (is_root) return ErrnoToStatus(err, shown);
      e.error = absl::StrCat("open directory: ", ErrText(err));
      return Emit(std::move(e));
    }
    std::vector<std::string> names;
    int err = ListNames(fd, &names);
    if (err != 0) {
      ::close(fd);
      if (is_root) return ErrnoToStatus(err, shown);
      e.error = absl::StrCat("read directory: ", ErrText(err));
      return Emit(std::move(e));
    }
    absl::Status st = Emit(e);
    on_path_.insert(id);
    std::sort(names.begin(), names.end());  // bytewise (char_traits<char>)
    for (const std::string& child : names) {
      if (!st.ok()) break;
      SourceEntry c;
      c.path = e.path.empty() ? child : absl::StrCat(e.path, "/", child);
      int serr = StatInto(fd, child.c_str(), false, c);
      if (serr != 0) {
        c.error = absl::StrCat("stat: ", ErrText(serr));
        st = Emit(c);
        continue;
      }
      st = Visit(fd, child.c_str(), std::move(c), false, child);
    }
    on_path_.erase(id);
    ::close(fd);
    return st;
  }

  // Reads all names of the directory open at `fd` (which stays open).
  int ListNames(int fd, std::vector<std::string>* names) {
    int dup_fd = ::dup(fd);
    if (dup_fd < 0) return errno;
    DIR* d = ::fdopendir(dup_fd);
    if (d == nullptr) {
      int err = errno;
      ::close(dup_fd);
      return err;
    }
    errno = 0;
    while (struct dirent* de = ::readdir(d)) {
      std::string_view n = de->d_name;
      if (n != "." && n != "..") names->emplace_back(n);
      errno = 0;
    }
    int err = errno;
    ::closedir(d);
    return err;
  }

  absl::Status VisitContent(int dirfd, const char* name, SourceEntry e,
                            bool is_root, const std::string& shown) {
    int fd = e.symlink_target.empty()
                 ? OpenNoFollow(dirfd, name, 0)
                 : ::openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      int err = errno;
      if (is_root) return ErrnoToStatus(err, shown);
      e.error = absl::StrCat("open: ", ErrText(err));
      return Emit(std::move(e));
    }
    // The entry must still be what was stat'ed (not swapped meanwhile).
    struct stat st;
    if (::fstat(fd, &st) != 0 || st.st_ino != e.inode ||
        KindOf(st.st_mode) != e.kind) {
      ::close(fd);
      e.error = "changed while being acquired (not the entry stat'ed)";
      return Emit(std::move(e));
    }
    uint64_t expected = e.size;
    if (e.kind == EntryKind::kBlockDevice) {
      uint64_t bytes = 0;
      if (::ioctl(fd, BLKGETSIZE64, &bytes) == 0) expected = bytes;
    }
    // Larger readahead for big sources; not worth a syscall for small files.
    if (expected >= kFadviseMin)
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (is_root) progress_.bytes_total = expected;
    std::string head;  // the first bytes, for filetype::Describe
    absl::Status s =
        ReadInto(fd, e, expected, /*group_commit=*/!is_root, &head);
    ::close(fd);
    CUSTOS_RETURN_IF_ERROR(s);
    if (!options_.identify || !e.stored) return Emit(std::move(e));
    if (is_root) {
      // A single file: typed here, with the description as well.
      e.properties = filetype::Describe(head, &e.media_type, true);
      return Emit(std::move(e));
    }
    // Entries below the root get the MIME type (and EXIF) only: the
    // description would double libmagic's cost per file. Typed on the
    // worker.
    return typer_.Add(std::move(e), std::move(head), /*needs_typing=*/true,
                      &progress_.entries_done);
  }

  // Streams `fd` into the blob store. Store errors are returned; read errors
  // go to e.error.
  absl::Status ReadInto(int fd, SourceEntry& e, uint64_t expected,
                        bool group_commit, std::string* head_out) {
    CUSTOS_ASSIGN_OR_RETURN(auto w, blobs_.NewWriter(options_.digests));
    uint64_t total = 0;
    std::string& head = *head_out;
    bool eof = false;
    while (!eof) {
      CUSTOS_ASSIGN_OR_RETURN(std::span<char> buf, w->NextBuffer());
      size_t fill = 0;
      while (fill < buf.size()) {
        ssize_t n = ::read(fd, buf.data() + fill, buf.size() - fill);
        if (n < 0) {
          if (errno == EINTR) continue;
          e.error = absl::StrCat("read at offset ", total + fill, ": ",
                                 ErrText(errno));
          w->Abort();
          return absl::OkStatus();
        }
        if (n == 0) {
          eof = true;
          break;
        }
        fill += static_cast<size_t>(n);
      }
      if (options_.identify && head.size() < filetype::kIdentifyBytes)
        head.append(buf.data(),
                    std::min(fill, filetype::kIdentifyBytes - head.size()));
      CUSTOS_RETURN_IF_ERROR(w->AppendBuffer(fill));
      total += fill;
      progress_.bytes_done += fill;
      if (options_.progress &&
          progress_.bytes_done - last_progress_ >= kProgressEvery) {
        last_progress_ = progress_.bytes_done;
        options_.progress(progress_);
      }
    }
    CUSTOS_ASSIGN_OR_RETURN(store::BlobInfo info,
                            group_commit && total <= kDeferredCommitMax
                                ? w->CommitDeferred()
                                : w->Commit());
    e.digests = std::move(info.digests);
    e.size = total;
    e.stored = true;
    if (e.kind == EntryKind::kFile && total != expected)
      e.error = absl::StrCat("size changed during acquisition: stat said ",
                             expected, " bytes, read ", total);
    return absl::OkStatus();
  }

  // Queued behind any entry still being typed, so the sink sees walk order.
  absl::Status Emit(SourceEntry e) {
    return typer_.Add(std::move(e), {}, /*needs_typing=*/false,
                      &progress_.entries_done);
  }

  store::BlobStore& blobs_;
  const AcquireOptions& options_;
  OrderedTyper typer_;
  Progress progress_;
  uint64_t last_progress_ = 0;
  std::set<std::pair<uint64_t, uint64_t>> on_path_;
};

}  // namespace

absl::Status Acquire(
    const std::string& source, store::BlobStore& blobs,
    const AcquireOptions& options,
    const std::function<absl::Status(const SourceEntry&)>& sink) {
  Walker w(blobs, options, sink);
  return w.Run(source);
}

}  // namespace custos::acquire
