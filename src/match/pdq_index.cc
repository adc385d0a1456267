#include "src/match/pdq_index.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "src/base/absl_compat.h"
#include "src/base/file_system.h"
#include "src/base/status_macros.h"
#include "src/match/pdq_scan.h"

namespace custos::match {

static_assert(sizeof(Code) == 32);
static_assert(std::endian::native == std::endian::little,
              "the index file is little-endian and mapped as is");

Code CodeFromWords(const std::array<uint16_t, 16>& words) {
  Code c;
  for (int k = 0; k < 16; ++k) {
    c[2 * k] = static_cast<uint8_t>(words[k] & 0xff);
    c[2 * k + 1] = static_cast<uint8_t>(words[k] >> 8);
  }
  return c;
}

int Distance(const Code& a, const Code& b) {
  int d = 0;
  for (int k = 0; k < 32; ++k) d += std::popcount(uint8_t(a[k] ^ b[k]));
  return d;
}

namespace {

constexpr char kMagic[8] = {'c', 'u', 's', 't', 'p', 'd', 'q', 'i'};
constexpr char kExtentMagic[8] = {'c', 'u', 's', 't', 'p', 'd', 'q', 'x'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kSlotSize = 128;
constexpr uint64_t kSlotOffset[2] = {0, 2048};
constexpr uint64_t kExtentHeader = 64;
constexpr uint32_t kKindEntries = 1;
constexpr uint32_t kKindTombstones = 2;
constexpr uint64_t kMaxResultRows = uint64_t{1} << 28;

uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

uint64_t Get64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint32_t Get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
void Put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
void Put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

// Fold over n little-endian 64-bit words (docs/formats/pdq-index.md).
uint64_t FoldBytes(const uint8_t* p, size_t nwords) {
  uint64_t h = Mix(8 * nwords + 0x9e3779b97f4a7c15ull);
  for (size_t k = 0; k < nwords; ++k) h = Mix(h ^ Get64(p + 8 * k));
  return h;
}

uint64_t EntryDigest(uint64_t index, const uint8_t* code, uint64_t id) {
  uint8_t buf[48];
  Put64(buf, index);
  std::memcpy(buf + 8, code, 32);
  Put64(buf + 40, id);
  return FoldBytes(buf, 6);
}

uint64_t TombDigest(uint64_t k, uint64_t id, uint64_t cutoff) {
  uint8_t buf[24];
  Put64(buf, k);
  Put64(buf + 8, id);
  Put64(buf + 16, cutoff);
  return FoldBytes(buf, 3);
}

uint64_t RoundUp(uint64_t x, uint64_t to) { return (x + to - 1) / to * to; }

struct Superblock {
  uint64_t generation = 0;
  uint32_t e = 0;  // entries per extent
  uint32_t t = 0;  // tombstones per extent
  uint64_t entries = 0;
  uint64_t tombstones = 0;
  uint64_t live = 0;
  uint64_t file_end = kPage;
  uint32_t entry_extents = 0;
  uint32_t tomb_extents = 0;
  uint64_t entries_digest = 0;
  uint64_t tombs_digest = 0;
};

void EncodeSlot(const Superblock& s, uint8_t out[kSlotSize]) {
  std::memset(out, 0, kSlotSize);
  std::memcpy(out, kMagic, 8);
  Put32(out + 8, kVersion);
  Put32(out + 12, kSlotSize);
  Put64(out + 16, s.generation);
  Put32(out + 24, s.e);
  Put32(out + 28, s.t);
  Put64(out + 32, s.entries);
  Put64(out + 40, s.tombstones);
  Put64(out + 48, s.live);
  Put64(out + 56, s.file_end);
  Put32(out + 64, s.entry_extents);
  Put32(out + 68, s.tomb_extents);
  Put64(out + 72, s.entries_digest);
  Put64(out + 80, s.tombs_digest);
  Put64(out + 120, FoldBytes(out, 15));
}

enum class SlotResult { kValid, kNotIndex, kBadVersion, kCorrupt };

SlotResult DecodeSlot(const uint8_t* in, Superblock* s) {
  if (std::memcmp(in, kMagic, 8) != 0) return SlotResult::kNotIndex;
  if (Get64(in + 120) != FoldBytes(in, 15) || Get32(in + 12) != kSlotSize) {
    return SlotResult::kCorrupt;
  }
  if (Get32(in + 8) != kVersion) return SlotResult::kBadVersion;
  s->generation = Get64(in + 16);
  s->e = Get32(in + 24);
  s->t = Get32(in + 28);
  s->entries = Get64(in + 32);
  s->tombstones = Get64(in + 40);
  s->live = Get64(in + 48);
  s->file_end = Get64(in + 56);
  s->entry_extents = Get32(in + 64);
  s->tomb_extents = Get32(in + 68);
  s->entries_digest = Get64(in + 72);
  s->tombs_digest = Get64(in + 80);
  return SlotResult::kValid;
}

void EncodeExtentHeader(uint32_t kind, uint32_t ordinal, uint64_t capacity,
                        uint8_t out[kExtentHeader]) {
  std::memset(out, 0, kExtentHeader);
  std::memcpy(out, kExtentMagic, 8);
  Put32(out + 8, kind);
  Put32(out + 12, ordinal);
  Put64(out + 16, capacity);
  Put64(out + 56, FoldBytes(out, 7));
}

uint64_t EntryExtentSize(uint64_t e) {
  return RoundUp(kExtentHeader + 40 * e, kPage);
}
uint64_t TombExtentSize(uint64_t t) {
  return RoundUp(kExtentHeader + 16 * t, kPage);
}

absl::Status ValidateShape(uint32_t e, uint32_t t) {
  if (e < 8 || e > (1u << 24) || e % 8 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("entries per extent must be a multiple of 8 in 8..2^24, "
                     "not ",
                     e));
  }
  if (t < 1 || t > (1u << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tombstones per extent must be in 1..2^20, not ", t));
  }
  return absl::OkStatus();
}

// A read-only shared mapping of the file, possibly longer than the file (pages
// past EOF are never touched). Shared by the snapshots that use it.
struct Mapping {
  const uint8_t* base = nullptr;
  size_t len = 0;
  ~Mapping() {
    if (base != nullptr) ::munmap(const_cast<uint8_t*>(base), len);
  }
};

absl::Status PwriteAll(int fd, const void* data, size_t n, uint64_t offset,
                       const std::string& path) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, path);
    }
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return absl::OkStatus();
}

absl::Status PreadAll(int fd, void* data, size_t n, uint64_t offset,
                      const std::string& path) {
  uint8_t* p = static_cast<uint8_t*>(data);
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, path);
    }
    if (r == 0) {
      return absl::DataLossError(
          absl::StrCat(path, ": unexpected end of file"));
    }
    p += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return absl::OkStatus();
}

absl::Status SyncDirOf(const std::string& path) {
  std::string dir = ".";
  size_t slash = path.rfind('/');
  if (slash != std::string::npos)
    dir = slash == 0 ? "/" : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoToStatus(err, dir);
  return absl::OkStatus();
}

}  // namespace

// One committed state: immutable once published.
struct PdqIndex::State {
  Superblock sb;
  std::shared_ptr<Mapping> map;
  std::vector<uint64_t> entry_ext;  // file offsets of entry extents
  std::vector<uint64_t> tomb_ext;   // file offsets of tombstone extents
  // id -> cutoff: entries with this id and index < cutoff are removed.
  // Shared (not copied) between states when no tombstone was added.
  std::shared_ptr<const absl::flat_hash_map<uint64_t, uint64_t>> tombs;

  const uint8_t* Codes(size_t x) const { return map->base + entry_ext[x] + 64; }
  uint64_t IdAt(uint64_t i) const {
    const uint64_t x = i / sb.e, slot = i % sb.e;
    return Get64(map->base + entry_ext[x] + kExtentHeader + 32ull * sb.e +
                 8 * slot);
  }
  const uint8_t* Tomb(uint64_t k) const {
    return map->base + tomb_ext[k / sb.t] + kExtentHeader + 16 * (k % sb.t);
  }
  bool Removed(uint64_t entry, uint64_t id) const {
    auto it = tombs->find(id);
    return it != tombs->end() && entry < it->second;
  }
};

class PdqIndex::Impl {
 public:
  std::string path;
  int fd = -1;
  bool writable = false;
  IndexOptions options;
  std::mutex write_mu;    // serializes Add / Remove / Refresh
  absl::Status poisoned;  // set if a commit may have been half-written

  ~Impl() {
    if (fd >= 0) ::close(fd);
  }

  std::shared_ptr<const State> Snapshot() const {
    std::lock_guard<std::mutex> l(view_mu_);
    return current_;
  }
  void Publish(std::shared_ptr<const State> s) {
    std::lock_guard<std::mutex> l(view_mu_);
    current_ = std::move(s);
  }

  absl::StatusOr<uint64_t> FileSize() const {
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoToStatus(errno, path);
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": not a regular file"));
    }
    return static_cast<uint64_t>(st.st_size);
  }

  // Reads the current superblock. Retries while both slots are invalid
  // (a writer may be rewriting one; torn reads of both are transient).
  // Call before FileSize(): a file only grows, so the size read afterwards
  // covers the superblock's file_end.
  absl::StatusOr<Superblock> ReadSuperblock() const {
    CUSTOS_ASSIGN_OR_RETURN(uint64_t file_size, FileSize());
    if (file_size < kPage) {
      return absl::DataLossError(
          absl::StrCat(path, ": not a custos PDQ index or truncated (",
                       file_size, " bytes, the superblock alone is 4096)"));
    }
    absl::Status last;
    for (int attempt = 0; attempt < 200; ++attempt) {
      uint8_t buf[kPage];
      CUSTOS_RETURN_IF_ERROR(PreadAll(fd, buf, kPage, 0, path));
      Superblock s[2];
      SlotResult r[2];
      for (int k = 0; k < 2; ++k)
        r[k] = DecodeSlot(buf + kSlotOffset[k], &s[k]);
      int pick = -1;
      for (int k = 0; k < 2; ++k) {
        if (r[k] == SlotResult::kValid &&
            (pick < 0 || s[k].generation > s[pick].generation)) {
          pick = k;
        }
      }
      if (pick >= 0) return s[pick];
      if (r[0] == SlotResult::kNotIndex && r[1] == SlotResult::kNotIndex) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": not a custos PDQ index (bad magic)"));
      }
      if (r[0] == SlotResult::kBadVersion || r[1] == SlotResult::kBadVersion) {
        return absl::FailedPreconditionError(absl::StrCat(
            path, ": PDQ index format version not supported (this is ",
            kVersion, ")"));
      }
      last = absl::DataLossError(
          absl::StrCat(path, ": both superblock slots are damaged"));
      std::this_thread::yield();
    }
    return last;
  }

  // Builds the state for `sb`, reusing `prev` (an earlier state of the same
  // file) so that only new extents and tombstones are read.
  absl::StatusOr<std::shared_ptr<const State>> LoadState(
      const Superblock& sb, uint64_t file_size,
      const std::shared_ptr<const State>& prev) const {
    auto bad = [this](auto... parts) {
      return absl::DataLossError(absl::StrCat(path, ": ", parts...));
    };
    if (!ValidateShape(sb.e, sb.t).ok()) {
      return bad("bad extent capacities ", sb.e, " / ", sb.t);
    }
    if (sb.file_end < kPage || sb.file_end % kPage != 0) {
      return bad("bad committed file end ", sb.file_end);
    }
    if (sb.file_end > file_size) {
      return bad("truncated: committed data ends at byte ", sb.file_end,
                 " but the file has ", file_size, " bytes");
    }
    if (sb.live > sb.entries ||
        sb.entries > uint64_t{sb.entry_extents} * sb.e ||
        sb.tombstones > uint64_t{sb.tomb_extents} * sb.t) {
      return bad("inconsistent counts in the superblock");
    }
    auto st = std::make_shared<State>();
    st->sb = sb;
    uint64_t pos = kPage;
    if (prev != nullptr) {
      if (sb.e != prev->sb.e || sb.t != prev->sb.t ||
          sb.file_end < prev->sb.file_end || sb.entries < prev->sb.entries ||
          sb.tombstones < prev->sb.tombstones ||
          sb.entry_extents < prev->sb.entry_extents ||
          sb.tomb_extents < prev->sb.tomb_extents) {
        return bad("the committed state went backwards (file replaced?)");
      }
      st->entry_ext = prev->entry_ext;
      st->tomb_ext = prev->tomb_ext;
      pos = prev->sb.file_end;
    }
    if (prev != nullptr && prev->map->len >= sb.file_end) {
      st->map = prev->map;
    } else {
      auto m = std::make_shared<Mapping>();
      m->len = RoundUp(std::max<uint64_t>(sb.file_end * 2, 64ull << 20), kPage);
      void* p = ::mmap(nullptr, m->len, PROT_READ, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) return ErrnoToStatus(errno, path);
      m->base = static_cast<const uint8_t*>(p);
      st->map = std::move(m);
    }
    const uint64_t esize = EntryExtentSize(sb.e), tsize = TombExtentSize(sb.t);
    while (pos < sb.file_end) {
      if (sb.file_end - pos < kExtentHeader) {
        return bad("extent header at byte ", pos, " is cut off");
      }
      const uint8_t* h = st->map->base + pos;
      if (std::memcmp(h, kExtentMagic, 8) != 0 ||
          Get64(h + 56) != FoldBytes(h, 7)) {
        return bad("damaged extent header at byte ", pos);
      }
      const uint32_t kind = Get32(h + 8), ordinal = Get32(h + 12);
      const uint64_t capacity = Get64(h + 16);
      uint64_t size;
      if (kind == kKindEntries && ordinal == st->entry_ext.size() &&
          capacity == sb.e) {
        st->entry_ext.push_back(pos);
        size = esize;
      } else if (kind == kKindTombstones && ordinal == st->tomb_ext.size() &&
                 capacity == sb.t) {
        st->tomb_ext.push_back(pos);
        size = tsize;
      } else {
        return bad("unexpected extent (kind ", kind, ", ordinal ", ordinal,
                   ", capacity ", capacity, ") at byte ", pos);
      }
      if (size > sb.file_end - pos) {
        return bad("extent at byte ", pos, " runs past the committed end");
      }
      pos += size;
    }
    if (pos != sb.file_end || st->entry_ext.size() != sb.entry_extents ||
        st->tomb_ext.size() != sb.tomb_extents) {
      return bad("extents do not match the superblock");
    }
    const uint64_t first_new = prev == nullptr ? 0 : prev->sb.tombstones;
    if (prev != nullptr && first_new == sb.tombstones) {
      st->tombs = prev->tombs;
    } else {
      auto tombs =
          prev == nullptr
              ? std::make_shared<absl::flat_hash_map<uint64_t, uint64_t>>()
              : std::make_shared<absl::flat_hash_map<uint64_t, uint64_t>>(
                    *prev->tombs);
      for (uint64_t k = first_new; k < sb.tombstones; ++k) {
        const uint8_t* rec = st->Tomb(k);
        const uint64_t id = Get64(rec), cutoff = Get64(rec + 8);
        if (cutoff > sb.entries) {
          return bad("tombstone ", k, " refers past the last entry");
        }
        uint64_t& c = (*tombs)[id];
        c = std::max(c, cutoff);
      }
      st->tombs = std::move(tombs);
    }
    return std::shared_ptr<const State>(std::move(st));
  }

  // Writes `next` as generation prev+1 and publishes it. Data must already
  // be written (and is synced here first).
  absl::Status CommitSuperblock(Superblock next) {
    const std::shared_ptr<const State> prev = Snapshot();
    if (options.sync && ::fdatasync(fd) != 0) {
      return ErrnoToStatus(errno, path);
    }
    if (prev->sb.generation == UINT64_MAX) {
      return absl::DataLossError(
          absl::StrCat(path, ": superblock generation exhausted"));
    }
    next.generation = prev->sb.generation + 1;
    uint8_t slot[kSlotSize];
    EncodeSlot(next, slot);
    absl::Status s =
        PwriteAll(fd, slot, kSlotSize, kSlotOffset[next.generation % 2], path);
    if (s.ok() && options.sync && ::fdatasync(fd) != 0) {
      s = ErrnoToStatus(errno, path);
    }
    if (!s.ok()) {
      poisoned = absl::DataLossError(
          absl::StrCat(path, ": a commit failed while writing the superblock (",
                       s.message(), "); reopen the index"));
      return s;
    }
    // Committed on disk: from here a failure must stop further writes, which
    // would otherwise be computed from the previous state.
    absl::StatusOr<uint64_t> size = FileSize();
    absl::StatusOr<std::shared_ptr<const State>> st =
        size.ok() ? LoadState(next, *size, prev) : size.status();
    if (!st.ok()) {
      poisoned = absl::DataLossError(
          absl::StrCat(path, ": committed, but re-reading the index failed (",
                       st.status().message(), "); reopen the index"));
      return poisoned;
    }
    Publish(*std::move(st));
    return absl::OkStatus();
  }

  // Ensures the file is at least `end` bytes.
  absl::Status Grow(uint64_t end) {
    CUSTOS_ASSIGN_OR_RETURN(uint64_t size, FileSize());
    if (size < end && ::ftruncate(fd, static_cast<off_t>(end)) != 0) {
      return ErrnoToStatus(errno, path);
    }
    return absl::OkStatus();
  }

  absl::Status CheckWritable() const {
    if (!writable) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": index opened read-only"));
    }
    return poisoned;
  }

 private:
  mutable std::mutex view_mu_;
  std::shared_ptr<const State> current_;
};

PdqIndex::PdqIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PdqIndex::~PdqIndex() = default;

absl::StatusOr<std::unique_ptr<PdqIndex>> PdqIndex::Create(
    const std::string& path, const IndexOptions& options) {
  CUSTOS_RETURN_IF_ERROR(
      ValidateShape(options.entries_per_extent, options.tombstones_per_extent));
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->writable = true;
  impl->options = options;
  impl->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (impl->fd < 0) return ErrnoToStatus(errno, path);
  if (::flock(impl->fd, LOCK_EX | LOCK_NB) != 0) {
    return ErrnoToStatus(errno, path);
  }
  Superblock sb;
  sb.generation = 1;
  sb.e = options.entries_per_extent;
  sb.t = options.tombstones_per_extent;
  std::vector<uint8_t> page(kPage, 0);
  EncodeSlot(sb, page.data() + kSlotOffset[1]);
  absl::Status s = PwriteAll(impl->fd, page.data(), kPage, 0, path);
  if (s.ok() && options.sync && ::fsync(impl->fd) != 0) {
    s = ErrnoToStatus(errno, path);
  }
  if (s.ok() && options.sync) s = SyncDirOf(path);
  if (!s.ok()) {
    ::unlink(path.c_str());
    return s;
  }
  CUSTOS_ASSIGN_OR_RETURN(auto st, impl->LoadState(sb, kPage, nullptr));
  impl->Publish(std::move(st));
  return std::unique_ptr<PdqIndex>(new PdqIndex(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<PdqIndex>> PdqIndex::Open(
    const std::string& path, bool writable, const IndexOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->writable = writable;
  impl->options = options;
  impl->fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (impl->fd < 0) return ErrnoToStatus(errno, path);
  if (writable && ::flock(impl->fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::UnavailableError(absl::StrCat(
          path, ": the index is open for writing by another process"));
    }
    return ErrnoToStatus(errno, path);
  }
  CUSTOS_ASSIGN_OR_RETURN(Superblock sb, impl->ReadSuperblock());
  CUSTOS_ASSIGN_OR_RETURN(uint64_t size, impl->FileSize());
  CUSTOS_ASSIGN_OR_RETURN(auto st, impl->LoadState(sb, size, nullptr));
  if (writable && size > sb.file_end) {
    // The remains of an interrupted append: never committed, drop them.
    if (::ftruncate(impl->fd, static_cast<off_t>(sb.file_end)) != 0) {
      return ErrnoToStatus(errno, path);
    }
  }
  impl->Publish(std::move(st));
  return std::unique_ptr<PdqIndex>(new PdqIndex(std::move(impl)));
}

absl::Status PdqIndex::Add(std::span<const Code> codes,
                           std::span<const uint64_t> ids) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> lock(im.write_mu);
  CUSTOS_RETURN_IF_ERROR(im.CheckWritable());
  if (codes.size() != ids.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Add: ", codes.size(), " codes but ", ids.size(), " ids"));
  }
  if (codes.empty()) return absl::OkStatus();
  const std::shared_ptr<const State> cur = im.Snapshot();
  Superblock next = cur->sb;
  const uint64_t e = next.e;
  const uint64_t esize = EntryExtentSize(e);
  const uint64_t n0 = next.entries, n1 = n0 + codes.size();
  // Extent offsets: committed ones, then new ones at the committed end.
  std::vector<uint64_t> ext = cur->entry_ext;
  const uint64_t need = (n1 + e - 1) / e;
  while (ext.size() < need) {
    uint8_t h[kExtentHeader];
    EncodeExtentHeader(kKindEntries, static_cast<uint32_t>(ext.size()), e, h);
    CUSTOS_RETURN_IF_ERROR(im.Grow(next.file_end + esize));
    CUSTOS_RETURN_IF_ERROR(
        PwriteAll(im.fd, h, kExtentHeader, next.file_end, im.path));
    ext.push_back(next.file_end);
    next.file_end += esize;
    ++next.entry_extents;
  }
  uint64_t digest = 0;
  for (uint64_t i = n0; i < n1;) {
    const uint64_t x = i / e, slot = i % e;
    const uint64_t run = std::min(n1 - i, e - slot);
    const Code* c = codes.data() + (i - n0);
    const uint64_t* id = ids.data() + (i - n0);
    CUSTOS_RETURN_IF_ERROR(PwriteAll(im.fd, c->data(), 32 * run,
                                     ext[x] + kExtentHeader + 32 * slot,
                                     im.path));
    CUSTOS_RETURN_IF_ERROR(PwriteAll(im.fd, id, 8 * run,
                                     ext[x] + kExtentHeader + 32 * e + 8 * slot,
                                     im.path));
    for (uint64_t k = 0; k < run; ++k) {
      digest += EntryDigest(i + k, c[k].data(), id[k]);
    }
    i += run;
  }
  next.entries = n1;
  next.live += codes.size();
  next.entries_digest += digest;
  return im.CommitSuperblock(next);
}

absl::Status PdqIndex::Remove(std::span<const uint64_t> ids) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> lock(im.write_mu);
  CUSTOS_RETURN_IF_ERROR(im.CheckWritable());
  if (ids.empty()) return absl::OkStatus();
  const std::shared_ptr<const State> cur = im.Snapshot();
  const State& s = *cur;
  absl::flat_hash_map<uint64_t, uint64_t> hits;  // id -> live entries
  for (uint64_t id : ids) hits.emplace(id, 0);
  uint64_t removed = 0;
  for (uint64_t i = 0; i < s.sb.entries; ++i) {
    const uint64_t id = s.IdAt(i);
    auto it = hits.find(id);
    if (it != hits.end() && !s.Removed(i, id)) {
      ++it->second;
      ++removed;
    }
  }
  std::vector<uint64_t> records;  // ids to tombstone, in request order
  absl::flat_hash_set<uint64_t> seen;
  for (uint64_t id : ids) {
    if (hits[id] > 0 && seen.insert(id).second) records.push_back(id);
  }
  if (records.empty()) return absl::OkStatus();
  Superblock next = s.sb;
  const uint64_t t = next.t;
  const uint64_t tsize = TombExtentSize(t);
  std::vector<uint64_t> ext = s.tomb_ext;
  const uint64_t m0 = next.tombstones, m1 = m0 + records.size();
  while (ext.size() < (m1 + t - 1) / t) {
    uint8_t h[kExtentHeader];
    EncodeExtentHeader(kKindTombstones, static_cast<uint32_t>(ext.size()), t,
                       h);
    CUSTOS_RETURN_IF_ERROR(im.Grow(next.file_end + tsize));
    CUSTOS_RETURN_IF_ERROR(
        PwriteAll(im.fd, h, kExtentHeader, next.file_end, im.path));
    ext.push_back(next.file_end);
    next.file_end += tsize;
    ++next.tomb_extents;
  }
  uint64_t digest = 0;
  std::vector<uint8_t> buf;
  for (uint64_t k = m0; k < m1;) {
    const uint64_t x = k / t, slot = k % t;
    const uint64_t run = std::min(m1 - k, t - slot);
    buf.assign(16 * run, 0);
    for (uint64_t r = 0; r < run; ++r) {
      const uint64_t id = records[k - m0 + r];
      Put64(&buf[16 * r], id);
      Put64(&buf[16 * r + 8], s.sb.entries);
      digest += TombDigest(k + r, id, s.sb.entries);
    }
    CUSTOS_RETURN_IF_ERROR(PwriteAll(im.fd, buf.data(), buf.size(),
                                     ext[x] + kExtentHeader + 16 * slot,
                                     im.path));
    k += run;
  }
  next.tombstones = m1;
  next.live -= removed;
  next.tombs_digest += digest;
  return im.CommitSuperblock(next);
}

absl::StatusOr<std::vector<PdqIndex::Match>> PdqIndex::Search(
    std::span<const Code> queries, int radius, int threads) const {
  if (radius < 0 || radius > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("radius must be in 0..256, not ", radius));
  }
  if (threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads must be at least 1, not ", threads));
  }
  if (queries.size() > UINT32_MAX) {
    return absl::InvalidArgumentError("too many queries");
  }
  const std::shared_ptr<const State> cur = impl_->Snapshot();
  const State& s = *cur;
  std::vector<internal::Run> runs;
  for (size_t x = 0; x < s.entry_ext.size(); ++x) {
    const uint64_t first = x * s.sb.e;
    if (first >= s.sb.entries) break;
    runs.push_back(
        {s.Codes(x), first, std::min<uint64_t>(s.sb.e, s.sb.entries - first)});
  }
  const internal::Plan plan =
      internal::ChoosePlan(s.sb.entries, queries.size(), radius);
  std::vector<internal::RawMatch> raw;
  internal::Scan(runs, queries, radius, threads, plan, &raw);
  if (raw.size() > kMaxResultRows) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "search result too large (", raw.size(), " rows); lower the radius"));
  }
  struct Row {
    internal::RawMatch m;
    uint64_t id;
  };
  std::vector<Row> rows;
  rows.reserve(raw.size());
  const bool any_tombs = !s.tombs->empty();
  for (const internal::RawMatch& m : raw) {
    const uint64_t id = s.IdAt(m.entry);
    if (any_tombs && s.Removed(m.entry, id)) continue;
    rows.push_back({m, id});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.m.query != b.m.query) return a.m.query < b.m.query;
    if (a.m.distance != b.m.distance) return a.m.distance < b.m.distance;
    if (a.id != b.id) return a.id < b.id;
    return a.m.entry < b.m.entry;
  });
  std::vector<Match> out;
  out.reserve(rows.size());
  for (const Row& r : rows) out.push_back({r.m.query, r.id, r.m.distance});
  return out;
}

absl::Status PdqIndex::Refresh() {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> lock(im.write_mu);
  if (im.writable) return im.poisoned;
  const std::shared_ptr<const State> cur = im.Snapshot();
  CUSTOS_ASSIGN_OR_RETURN(Superblock sb, im.ReadSuperblock());
  CUSTOS_ASSIGN_OR_RETURN(uint64_t size, im.FileSize());
  if (sb.generation <= cur->sb.generation) return absl::OkStatus();
  CUSTOS_ASSIGN_OR_RETURN(auto st, im.LoadState(sb, size, cur));
  im.Publish(std::move(st));
  return absl::OkStatus();
}

absl::Status PdqIndex::Verify() const {
  const std::shared_ptr<const State> cur = impl_->Snapshot();
  const State& s = *cur;
  uint64_t digest = 0;
  for (size_t x = 0; x < s.entry_ext.size(); ++x) {
    const uint64_t first = x * s.sb.e;
    const uint64_t n = std::min<uint64_t>(
        s.sb.e, s.sb.entries > first ? s.sb.entries - first : 0);
    const uint8_t* codes = s.Codes(x);
    for (uint64_t k = 0; k < n; ++k) {
      digest += EntryDigest(first + k, codes + 32 * k, s.IdAt(first + k));
    }
  }
  if (digest != s.sb.entries_digest) {
    return absl::DataLossError(absl::StrCat(
        impl_->path, ": entries do not match their digest (damaged codes)"));
  }
  digest = 0;
  for (uint64_t k = 0; k < s.sb.tombstones; ++k) {
    const uint8_t* rec = s.Tomb(k);
    digest += TombDigest(k, Get64(rec), Get64(rec + 8));
  }
  if (digest != s.sb.tombs_digest) {
    return absl::DataLossError(
        absl::StrCat(impl_->path, ": tombstones do not match their digest"));
  }
  return absl::OkStatus();
}

uint64_t PdqIndex::size() const { return impl_->Snapshot()->sb.entries; }
uint64_t PdqIndex::live() const { return impl_->Snapshot()->sb.live; }
const std::string& PdqIndex::path() const { return impl_->path; }

}  // namespace custos::match
