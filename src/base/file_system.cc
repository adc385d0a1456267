#include "src/base/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "src/base/absl_compat.h"
#include "src/base/status_macros.h"

namespace custos {

absl::Status ErrnoToStatus(int err, std::string_view what) {
  std::string msg = absl::StrCat(Sv(what), ": ", std::strerror(err));
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(
          absl::StrCat(Sv(what), ": disk full (", std::strerror(err), ")"));
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    default:
      return absl::InternalError(msg);
  }
}

namespace {

// Large files are written past their first kDirectFrom bytes with O_DIRECT,
// in whole kDirectAlign blocks: on this project's VMs, filling fresh
// page-cache pages costs about 20x the copy itself (EPT faults on memory
// the host took back) and buffered writeback ran at a quarter of the
// disk's direct-write speed (docs/benchmarks.md, E01 acquisition). Small
// files, the unaligned tail, appendable files and filesystems without
// O_DIRECT (tmpfs) go through the page cache as before. Durability is
// unchanged: Sync() (fdatasync) is still what makes the data durable.
constexpr off_t kDirectFrom = off_t{8} << 20;
constexpr size_t kDirectAlign = 4096;
constexpr size_t kBounceSize = size_t{1} << 20;

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path, bool may_go_direct)
      : fd_(fd), path_(std::move(path)), may_go_direct_(may_go_direct) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
    std::free(bounce_);
  }
  absl::Status Append(std::string_view data) override {
    CUSTOS_RETURN_IF_ERROR(status_);
    while (!data.empty()) {
      size_t direct = DirectBytes(data.size());
      if (direct > 0) {
        absl::StatusOr<size_t> wrote = WriteDirect(data.substr(0, direct));
        if (!wrote.ok()) return status_ = wrote.status();
        data.remove_prefix(*wrote);
        if (*wrote == direct) continue;
      }
      if (direct_ && !SetDirect(false))
        return status_ = ErrnoToStatus(errno, path_);
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return status_ = ErrnoToStatus(errno, path_);
      }
      offset_ += n;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    CUSTOS_RETURN_IF_ERROR(status_);
    if (::fdatasync(fd_) != 0) return status_ = ErrnoToStatus(errno, path_);
    return absl::OkStatus();
  }
  absl::Status StartWriteback() override {
    CUSTOS_RETURN_IF_ERROR(status_);
    // Writes back the dirty range appended since the last call, and waits
    // for the range before it, so dirty pages stay bounded.
    off_t end = ::lseek(fd_, 0, SEEK_CUR);
    if (end < 0) return absl::OkStatus();
    if (::sync_file_range(fd_, started_, end - started_,
                          SYNC_FILE_RANGE_WRITE) != 0)
      return absl::OkStatus();  // only a hint (e.g. unsupported filesystem)
    if (started_ > waited_)
      (void)::sync_file_range(fd_, waited_, started_ - waited_,
                              SYNC_FILE_RANGE_WAIT_BEFORE |
                                  SYNC_FILE_RANGE_WRITE |
                                  SYNC_FILE_RANGE_WAIT_AFTER);
    waited_ = started_;
    started_ = end;
    return absl::OkStatus();
  }
  absl::Status Close() override {
    if (fd_ < 0) return status_;
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0 && status_.ok()) status_ = ErrnoToStatus(errno, path_);
    return status_;
  }

 private:
  // How many of the next `n` bytes to write with O_DIRECT: whole blocks,
  // at most kBounceSize, once the file is large and the offset aligned.
  size_t DirectBytes(size_t n) const {
    if (!may_go_direct_ || offset_ < kDirectFrom ||
        offset_ % static_cast<off_t>(kDirectAlign) != 0)
      return 0;
    return std::min(n, kBounceSize) / kDirectAlign * kDirectAlign;
  }
  bool SetDirect(bool on) {
    int fl = ::fcntl(fd_, F_GETFL);
    if (fl < 0 || ::fcntl(fd_, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT))
      return false;
    direct_ = on;
    return true;
  }
  // Writes `data` (whole blocks) with O_DIRECT, through an aligned buffer
  // if `data` is not aligned, and returns how many bytes it wrote. Where
  // O_DIRECT is refused (EINVAL: a filesystem without it, a device wanting
  // larger blocks) it returns what it wrote so far and the caller writes
  // the rest, and every later append, through the page cache.
  absl::StatusOr<size_t> WriteDirect(std::string_view data) {
    if (!direct_ && !SetDirect(true)) {
      may_go_direct_ = false;
      return 0;
    }
    const char* p = data.data();
    if (reinterpret_cast<uintptr_t>(p) % kDirectAlign != 0) {
      if (bounce_ == nullptr)
        bounce_ =
            static_cast<char*>(std::aligned_alloc(kDirectAlign, kBounceSize));
      if (bounce_ == nullptr) {
        may_go_direct_ = false;
        return 0;
      }
      std::memcpy(bounce_, p, data.size());
      p = bounce_;
    }
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd_, p + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EINVAL) {
        may_go_direct_ = false;
        break;
      }
      if (n < 0) return ErrnoToStatus(errno, path_);
      done += static_cast<size_t>(n);
      offset_ += n;
      if (done % kDirectAlign != 0) {
        may_go_direct_ = false;  // a short write off a block boundary
        break;
      }
    }
    return done;
  }

  int fd_;
  std::string path_;
  bool may_go_direct_;
  bool direct_ = false;     // O_DIRECT is set on fd_
  off_t offset_ = 0;        // bytes appended (files from NewWritableFile)
  char* bounce_ = nullptr;  // kBounceSize, kDirectAlign-aligned
  absl::Status status_;
  off_t started_ = 0;  // writeback started for [0, started_)
  off_t waited_ = 0;   // writeback completed for [0, waited_)
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(int fd, std::string path)
      : fd_(fd), path_(std::move(path)) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }
  absl::StatusOr<size_t> Read(uint64_t offset, size_t n,
                              char* buf) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r =
          ::pread(fd_, buf + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoToStatus(errno, path_);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }
  absl::StatusOr<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoToStatus(errno, path_);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  int fd_;
  std::string path_;
};

class PosixFs final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, bool exclusive, int mode) override {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
    int fd = ::open(path.c_str(), flags, mode);
    if (fd < 0) return ErrnoToStatus(errno, path);
    return std::make_unique<PosixWritableFile>(fd, path,
                                               /*may_go_direct=*/true);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoToStatus(errno, path);
    return std::make_unique<PosixWritableFile>(fd, path,
                                               /*may_go_direct=*/false);
  }
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus(errno, path);
    return std::make_unique<PosixRandomAccessFile>(fd, path);
  }
  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    CUSTOS_ASSIGN_OR_RETURN(auto f, NewRandomAccessFile(path));
    CUSTOS_ASSIGN_OR_RETURN(uint64_t size, f->Size());
    std::string out(size, '\0');
    CUSTOS_ASSIGN_OR_RETURN(size_t n, f->Read(0, size, out.data()));
    out.resize(n);
    return out;
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return ErrnoToStatus(errno, absl::StrCat("rename ", from, " -> ", to));
    return absl::OkStatus();
  }
  absl::Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoToStatus(errno, path);
    return absl::OkStatus();
  }
  absl::Status Truncate(const std::string& path, uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0)
      return ErrnoToStatus(errno, path);
    return absl::OkStatus();
  }
  absl::Status CreateDir(const std::string& path, int mode) override {
    if (::mkdir(path.c_str(), mode) != 0) return ErrnoToStatus(errno, path);
    return absl::OkStatus();
  }
  absl::Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus(errno, path);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoToStatus(err, path);
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoToStatus(errno, path);
    return static_cast<uint64_t>(st.st_size);
  }
  bool Exists(const std::string& path) override {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoToStatus(errno, dir);
    std::vector<std::string> out;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      out.emplace_back(name);
    }
    ::closedir(d);
    return out;
  }
};

}  // namespace

FileSystem& PosixFileSystem() {
  static PosixFs fs;
  return fs;
}

absl::Status WriteFileAtomically(FileSystem& fs, const std::string& path,
                                 std::string_view data, int mode) {
  std::string dir = ".";
  if (auto slash = path.rfind('/'); slash != std::string::npos)
    dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string tmp = path + ".tmp";
  (void)fs.Remove(tmp);
  CUSTOS_ASSIGN_OR_RETURN(auto f, fs.NewWritableFile(tmp, true, mode));
  absl::Status st = f->Append(data);
  if (st.ok()) st = f->Sync();
  absl::Status closed = f->Close();
  if (st.ok()) st = closed;
  if (st.ok()) st = fs.Rename(tmp, path);
  if (!st.ok()) {
    (void)fs.Remove(tmp);
    return st;
  }
  return fs.SyncDir(dir);
}

absl::Status CreateDirs(FileSystem& fs, const std::string& path, int mode) {
  if (path.empty() || fs.Exists(path)) return absl::OkStatus();
  if (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0)
    CUSTOS_RETURN_IF_ERROR(CreateDirs(fs, path.substr(0, slash), mode));
  absl::Status st = fs.CreateDir(path, mode);
  if (absl::IsAlreadyExists(st)) return absl::OkStatus();
  return st;
}

}  // namespace custos
