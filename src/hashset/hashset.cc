#include "src/hashset/hashset.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <queue>
#include <set>
#include <thread>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "src/base/absl_compat.h"
#include "src/base/file_system.h"
#include "src/base/status_macros.h"

namespace custos::hashset {

using nlohmann::json;

std::string_view AlgorithmName(Algorithm a) {
  switch (a) {
    case Algorithm::kMd5:
      return "md5";
    case Algorithm::kSha1:
      return "sha1";
    case Algorithm::kSha256:
      return "sha256";
  }
  return "?";
}

std::optional<Algorithm> ParseAlgorithm(std::string_view name) {
  if (name == "md5") return Algorithm::kMd5;
  if (name == "sha1") return Algorithm::kSha1;
  if (name == "sha256") return Algorithm::kSha256;
  return std::nullopt;
}

std::optional<Algorithm> AlgorithmForLength(size_t n) {
  if (n == 16) return Algorithm::kMd5;
  if (n == 20) return Algorithm::kSha1;
  if (n == 32) return Algorithm::kSha256;
  return std::nullopt;
}

std::string_view MeaningName(Meaning m) {
  return m == Meaning::kKnownBad ? "known-bad" : "known-good";
}

std::optional<Meaning> ParseMeaning(std::string_view name) {
  if (name == "known-good") return Meaning::kKnownGood;
  if (name == "known-bad") return Meaning::kKnownBad;
  return std::nullopt;
}

Meaning EffectiveMeaning(Meaning set_meaning, std::string_view category) {
  if (set_meaning == Meaning::kKnownBad && category == "0")
    return Meaning::kKnownGood;
  return set_meaning;
}

void SplitTag(std::string_view tag, std::string* category, std::string* flags) {
  size_t semi = tag.find(';');
  *category = std::string(tag.substr(0, semi));
  *flags =
      semi == std::string_view::npos ? "" : std::string(tag.substr(semi + 1));
}

absl::Status CheckSetName(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return absl::InvalidArgumentError(
        "a hash-set name must be 1 to 64 characters");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
          c == '-'))
      return absl::InvalidArgumentError(absl::StrCat(
          "hash-set name \"", Sv(name), "\": use only A-Z a-z 0-9 . _ -"));
  return absl::OkStatus();
}

namespace {

constexpr char kMagic[8] = {'C', 'U', 'S', 'T', 'H', 'S', 'R', '1'};
constexpr size_t kFooterSize = 64;
constexpr int kMaxDirBits = 24;

inline void PutLe64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint64_t GetLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline uint32_t TopBits(const uint8_t* d, int bits) {
  if (bits == 0) return 0;
  uint32_t top = (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) |
                 (uint32_t{d[2]} << 8) | uint32_t{d[3]};
  return top >> (32 - bits);
}

int DirBitsFor(uint64_t upper_bound) {
  int b = 0;
  while (b < kMaxDirBits && (uint64_t{1} << b) * 4 < upper_bound) ++b;
  return b;
}

absl::Status Errno(const std::string& what) {
  return ErrnoToStatus(errno, what);
}

// Buffered appends to a WritableFile.
class BufferedWriter {
 public:
  explicit BufferedWriter(std::unique_ptr<WritableFile> f) : f_(std::move(f)) {
    buf_.reserve(kCap);
  }
  absl::Status Append(const void* p, size_t n) {
    if (buf_.size() + n > kCap) CUSTOS_RETURN_IF_ERROR(Flush());
    if (n > kCap) {
      written_ += n;
      return f_->Append(std::string_view(static_cast<const char*>(p), n));
    }
    buf_.append(static_cast<const char*>(p), n);
    written_ += n;
    return absl::OkStatus();
  }
  absl::Status Flush() {
    if (buf_.empty()) return absl::OkStatus();
    absl::Status st = f_->Append(buf_);
    buf_.clear();
    // Start writing back every 64 MiB so that the final fsync is short.
    if (st.ok() && written_ - writeback_at_ >= (size_t{64} << 20)) {
      writeback_at_ = written_;
      st = f_->StartWriteback();
    }
    return st;
  }
  absl::Status Finish() {
    CUSTOS_RETURN_IF_ERROR(Flush());
    CUSTOS_RETURN_IF_ERROR(f_->Sync());
    return f_->Close();
  }
  uint64_t written() const { return written_; }

 private:
  static constexpr size_t kCap = size_t{1} << 20;
  std::unique_ptr<WritableFile> f_;
  std::string buf_;
  uint64_t written_ = 0;
  uint64_t writeback_at_ = 0;
};

}  // namespace

// A run file mapped read-only.
struct Store::MappedRun {
  RunInfo info;
  const uint8_t* base = nullptr;
  size_t size = 0;
  size_t len = 32;  // digest length
  int bits = 0;
  uint64_t n = 0;
  const uint8_t* records = nullptr;
  const uint8_t* tags = nullptr;  // uint16 LE per record, or null
  const uint32_t* dir = nullptr;

  ~MappedRun() {
    if (base) ::munmap(const_cast<uint8_t*>(base), size);
  }

  static absl::StatusOr<std::unique_ptr<MappedRun>> Open(
      const std::string& path, const RunInfo& info, bool preload = false) {
    auto r = std::make_unique<MappedRun>();
    r->info = info;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno(path);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      absl::Status s = Errno(path);
      ::close(fd);
      return s;
    }
    size_t size = static_cast<size_t>(st.st_size);
    auto bad = [&](std::string_view why) {
      return absl::DataLossError(
          absl::StrCat("hash-set run ", path, " is damaged: ", Sv(why)));
    };
    if (size < kFooterSize) {
      ::close(fd);
      return bad("shorter than its footer");
    }
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) return Errno(path);
    r->base = static_cast<const uint8_t*>(p);
    r->size = size;
    const uint8_t* f = r->base + size - kFooterSize;
    if (std::memcmp(f, kMagic, 8) != 0) return bad("bad magic");
    if (f[8] != static_cast<uint8_t>(info.algo)) return bad("wrong algorithm");
    if (f[9] != (info.tombstone ? 2 : 1)) return bad("wrong kind");
    r->bits = f[10];
    int tag_width = f[11];
    r->n = GetLe64(f + 16);
    uint64_t dir_off = GetLe64(f + 24), rec_off = GetLe64(f + 32),
             tag_off = GetLe64(f + 40), fsize = GetLe64(f + 48);
    r->len = DigestLength(info.algo);
    if (r->bits > kMaxDirBits || (tag_width != 0 && tag_width != 2) ||
        fsize != size || r->n != info.count || r->n >= (uint64_t{1} << 32) ||
        rec_off != 0 || r->n * r->len > size)
      return bad("inconsistent footer");
    uint64_t dir_bytes = ((uint64_t{1} << r->bits) + 1) * 4;
    if (dir_off % 4 != 0 || dir_off + dir_bytes != size - kFooterSize ||
        dir_off < r->n * r->len)
      return bad("inconsistent directory offset");
    if (tag_width == 2) {
      if (tag_off < r->n * r->len || tag_off + r->n * 2 > dir_off)
        return bad("inconsistent tag offset");
      r->tags = r->base + tag_off;
    }
    if (preload) {
      // A private copy in anonymous memory backed by transparent huge pages:
      // random lookups then touch 2 MiB pages instead of 4 KiB ones (page
      // walks, and shadow paging on some VMs, dominate otherwise).
      // Read with pread so that the file's pages are never mapped here
      // (the peak resident size stays one copy).
      void* anon = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (anon == MAP_FAILED) return Errno(path);
      ::madvise(anon, size, MADV_HUGEPAGE);
      ::munmap(const_cast<uint8_t*>(r->base), size);
      r->base = static_cast<const uint8_t*>(anon);
      int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (rfd < 0) return Errno(path);
      size_t done = 0;
      while (done < size) {
        ssize_t got = ::pread(rfd, static_cast<uint8_t*>(anon) + done,
                              std::min<size_t>(size - done, size_t{8} << 20),
                              static_cast<off_t>(done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          absl::Status st = got < 0 ? Errno(path) : bad("shrank while read");
          ::close(rfd);
          return st;
        }
        done += static_cast<size_t>(got);
      }
      ::close(rfd);
      ::mprotect(anon, size, PROT_READ);
      f = r->base + size - kFooterSize;
      if (std::memcmp(f, kMagic, 8) != 0) return bad("changed while read");
      r->base = static_cast<const uint8_t*>(anon);
      if (tag_width == 2) r->tags = r->base + tag_off;
    }
    r->records = r->base;
    r->dir = reinterpret_cast<const uint32_t*>(r->base + dir_off);
    uint64_t entries = uint64_t{1} << r->bits;
    if (r->dir[entries] != r->n) return bad("directory does not end at n");
    // The directory is checked lazily for monotonicity per bucket: a bucket
    // outside [0, n] is clamped in Find().
    return r;
  }

  uint16_t Tag(uint64_t i) const {
    if (!tags) return 0;
    return static_cast<uint16_t>(tags[2 * i] | (tags[2 * i + 1] << 8));
  }

  // Index of `d` or -1.
  int64_t Find(const uint8_t* d) const {
    uint32_t p = TopBits(d, bits);
    uint64_t lo = dir[p], hi = dir[p + 1];
    if (hi > n) hi = n;
    while (lo < hi) {
      uint64_t mid = lo + (hi - lo) / 2;
      int c = std::memcmp(records + mid * len, d, len);
      if (c == 0) return static_cast<int64_t>(mid);
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
    return -1;
  }
};

Store::Store(std::string dir) : dir_(std::move(dir)) {}

Store::~Store() { UnlockWriter(); }

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir,
                                                   bool create, bool preload) {
  FileSystem& fs = PosixFileSystem();
  if (!fs.Exists(dir)) {
    if (!create)
      return absl::NotFoundError(absl::StrCat("no hash-set store in ", dir));
    CUSTOS_RETURN_IF_ERROR(CreateDirs(fs, dir));
  }
  for (const char* sub : {"/runs", "/tmp"})
    if (!fs.Exists(dir + sub))
      CUSTOS_RETURN_IF_ERROR(CreateDirs(fs, dir + sub));
  std::unique_ptr<Store> s(new Store(dir));
  s->preload_ = preload;
  CUSTOS_RETURN_IF_ERROR(s->Load());
  return s;
}

absl::Status Store::Reload() { return Load(); }

absl::Status Store::Load() {
  FileSystem& fs = PosixFileSystem();
  std::string path = dir_ + "/MANIFEST";
  std::vector<SetInfo> sets;
  uint64_t next_run = 1;
  if (fs.Exists(path)) {
    CUSTOS_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(path));
    json j = json::parse(text, nullptr, false);
    auto bad = [&](std::string_view why) {
      return absl::DataLossError(absl::StrCat(path, " is damaged: ", Sv(why)));
    };
    if (j.is_discarded() || !j.is_object()) return bad("not JSON");
    if (j.value("format", 0) != 1)
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": unknown hash-set store format"));
    next_run = j.value("next_run", uint64_t{1});
    if (!j.contains("sets") || !j["sets"].is_array()) return bad("no sets");
    for (const auto& js : j["sets"]) {
      if (!js.is_object()) return bad("a set is not an object");
      SetInfo s;
      s.name = js.value("name", "");
      auto m = ParseMeaning(js.value("meaning", ""));
      if (!m || !CheckSetName(s.name).ok()) return bad("bad set");
      s.meaning = *m;
      s.category = js.value("category", "");
      s.source = js.value("source", "");
      s.version = js.value("version", "");
      s.format = js.value("format", "");
      s.imported = js.value("imported", "");
      s.updated = js.value("updated", "");
      if (js.contains("counts") && js["counts"].is_object())
        for (Algorithm a : kAlgorithms)
          s.counts[AlgoIndex(a)] =
              js["counts"].value(std::string(AlgorithmName(a)), uint64_t{0});
      if (!js.contains("runs") || !js["runs"].is_array())
        return bad("set without runs");
      for (const auto& jr : js["runs"]) {
        if (!jr.is_object()) return bad("a run is not an object");
        RunInfo r;
        r.id = jr.value("id", uint64_t{0});
        auto a = ParseAlgorithm(jr.value("algo", ""));
        std::string kind = jr.value("kind", "");
        if (!a || (kind != "add" && kind != "tombstone")) return bad("bad run");
        r.algo = *a;
        r.tombstone = kind == "tombstone";
        r.count = jr.value("count", uint64_t{0});
        r.bytes = jr.value("bytes", uint64_t{0});
        r.file = jr.value("file", "");
        if (r.file.find("..") != std::string::npos || r.file.empty() ||
            r.file[0] == '/')
          return bad("bad run file name");
        if (jr.contains("tags") && jr["tags"].is_array())
          for (const auto& t : jr["tags"])
            r.tags.push_back(t.is_string() ? t.get<std::string>() : "");
        if (r.tags.empty()) r.tags.push_back("");
        s.runs.push_back(std::move(r));
      }
      sets.push_back(std::move(s));
    }
  }
  std::vector<std::unique_ptr<MappedRun>> mapped;
  std::vector<std::array<std::vector<const MappedRun*>, 3>> by_set(sets.size());
  for (size_t si = 0; si < sets.size(); ++si) {
    for (const RunInfo& r : sets[si].runs) {
      CUSTOS_ASSIGN_OR_RETURN(
          auto m, MappedRun::Open(dir_ + "/" + r.file, r, preload_));
      by_set[si][AlgoIndex(r.algo)].push_back(m.get());
      mapped.push_back(std::move(m));
    }
    for (auto& v : by_set[si]) std::reverse(v.begin(), v.end());
  }
  sets_ = std::move(sets);
  next_run_ = next_run;
  by_set_ = std::move(by_set);
  mapped_ = std::move(mapped);
  return absl::OkStatus();
}

const SetInfo* Store::FindSet(std::string_view name) const {
  for (const auto& s : sets_)
    if (s.name == name) return &s;
  return nullptr;
}

std::optional<std::string_view> Store::FindLive(
    const std::vector<const MappedRun*>& runs, std::string_view digest) {
  const uint8_t* d = reinterpret_cast<const uint8_t*>(digest.data());
  for (const MappedRun* r : runs) {
    int64_t i = r->Find(d);
    if (i < 0) continue;
    if (r->info.tombstone) return std::nullopt;
    uint16_t t = r->Tag(static_cast<uint64_t>(i));
    if (t < r->info.tags.size()) return std::string_view(r->info.tags[t]);
    return std::string_view();
  }
  return std::nullopt;
}

void Store::Lookup(Algorithm algo, std::string_view digest,
                   std::vector<Match>* out) const {
  if (digest.size() != DigestLength(algo)) return;
  for (size_t si = 0; si < sets_.size(); ++si) {
    auto tag = FindLive(by_set_[si][AlgoIndex(algo)], digest);
    if (!tag) continue;
    Match m;
    m.set = sets_[si].name;
    SplitTag(*tag, &m.category, &m.flags);
    if (m.category.empty()) m.category = sets_[si].category;
    m.meaning = EffectiveMeaning(sets_[si].meaning, m.category);
    m.algo = algo;
    m.digest = std::string(digest);
    out->push_back(std::move(m));
  }
}

namespace {

// The batched live search of one set (the core of ContainsBatch and
// LookupBatch): `runs` are the set's runs of one algorithm, newest first;
// `decided` (n bytes, zeroed by the caller) marks digests already found in a
// newer run. For each digest whose newest occurrence is in an add run,
// calls found(i, run, record index) once; a tombstone hides older runs.
// Groups of 16 digests are searched with their directory and first
// records prefetched.
template <typename Found>
void SearchSetBatch(const std::vector<const Store::MappedRun*>& runs,
                    size_t len, const uint8_t* digests, size_t n,
                    uint8_t* decided, Found&& found) {
  constexpr size_t kGroup = 16;
  for (const Store::MappedRun* r : runs) {
    for (size_t g = 0; g < n; g += kGroup) {
      size_t e = std::min(n, g + kGroup);
      uint32_t lo[kGroup], hi[kGroup];
      for (size_t i = g; i < e; ++i)
        __builtin_prefetch(&r->dir[TopBits(digests + i * len, r->bits)]);
      for (size_t i = g; i < e; ++i) {
        uint32_t p = TopBits(digests + i * len, r->bits);
        lo[i - g] = r->dir[p];
        hi[i - g] = r->dir[p + 1];
        const uint8_t* rec = r->records + uint64_t{lo[i - g]} * len;
        __builtin_prefetch(rec);
        __builtin_prefetch(rec + 64);
      }
      for (size_t i = g; i < e; ++i) {
        if (decided[i]) continue;
        const uint8_t* d = digests + i * len;
        uint64_t l = lo[i - g], h = std::min<uint64_t>(hi[i - g], r->n);
        while (l < h) {
          uint64_t mid = l + (h - l) / 2;
          int c = std::memcmp(r->records + mid * len, d, len);
          if (c == 0) {
            decided[i] = 1;
            if (!r->info.tombstone) found(i, r, mid);
            break;
          }
          if (c < 0)
            l = mid + 1;
          else
            h = mid;
        }
      }
    }
  }
}

}  // namespace

size_t Store::ContainsBatch(Algorithm algo, const uint8_t* digests, size_t n,
                            uint8_t* hit) const {
  const size_t len = DigestLength(algo);
  std::memset(hit, 0, n);
  std::vector<uint8_t> decided(n);
  for (size_t si = 0; si < sets_.size(); ++si) {
    std::fill(decided.begin(), decided.end(), 0);
    SearchSetBatch(by_set_[si][AlgoIndex(algo)], len, digests, n,
                   decided.data(),
                   [hit](size_t i, const MappedRun*, uint64_t) { hit[i] = 1; });
  }
  size_t hits = 0;
  for (size_t i = 0; i < n; ++i) hits += hit[i];
  return hits;
}

void Store::LookupBatch(Algorithm algo, const uint8_t* digests, size_t n,
                        std::vector<std::pair<size_t, Match>>* out) const {
  // One pass: the batched search records, per set and digest, the tag of
  // the live record it found; the Matches are built from those, in digest
  // order and, per digest, in set order (as Lookup() appends them).
  const size_t len = DigestLength(algo);
  const size_t nsets = sets_.size();
  if (nsets == 0 || n == 0) return;
  constexpr size_t kChunk = 4096;
  static const std::string kNoTag;
  // found[si * kChunk + i]: the tag of digest i in set si, or null.
  std::vector<const std::string*> found(nsets * kChunk);
  uint8_t decided[kChunk];
  uint8_t any[kChunk];
  // Per set, the Match fields of the last tag seen (sets rarely have more
  // than a few tags), so that tags are split once, not once per hit.
  struct Proto {
    const std::string* tag = nullptr;
    Match m;
  };
  std::vector<Proto> proto(nsets);
  for (size_t base = 0; base < n; base += kChunk) {
    size_t k = std::min(kChunk, n - base);
    const uint8_t* ds = digests + base * len;
    std::memset(any, 0, k);
    size_t hits = 0;
    for (size_t si = 0; si < nsets; ++si) {
      const std::string** f = found.data() + si * kChunk;
      std::fill(f, f + k, nullptr);
      std::memset(decided, 0, k);
      SearchSetBatch(by_set_[si][AlgoIndex(algo)], len, ds, k, decided,
                     [&](size_t i, const MappedRun* r, uint64_t idx) {
                       uint16_t t = r->Tag(idx);
                       f[i] =
                           t < r->info.tags.size() ? &r->info.tags[t] : &kNoTag;
                       hits += !any[i];
                       any[i] = 1;
                     });
    }
    if (hits == 0) continue;
    for (size_t i = 0; i < k; ++i) {
      if (!any[i]) continue;
      for (size_t si = 0; si < nsets; ++si) {
        const std::string* tag = found[si * kChunk + i];
        if (!tag) continue;
        Proto& p = proto[si];
        if (p.tag != tag && (p.tag == nullptr || *p.tag != *tag)) {
          p.tag = tag;
          p.m = Match();
          p.m.set = sets_[si].name;
          SplitTag(*tag, &p.m.category, &p.m.flags);
          if (p.m.category.empty()) p.m.category = sets_[si].category;
          p.m.meaning = EffectiveMeaning(sets_[si].meaning, p.m.category);
          p.m.algo = algo;
        }
        out->emplace_back(base + i, p.m);
        out->back().second.digest.assign(
            reinterpret_cast<const char*>(ds + i * len), len);
      }
    }
  }
}

uint64_t Store::RunBytes() const {
  uint64_t total = 0;
  for (const auto& r : mapped_) total += r->size;
  return total;
}

bool Store::PreloadPays(uint64_t lookups) const {
  return lookups >= RunBytes() / (uint64_t{16} << 10);
}

absl::Status Store::Preload() {
  if (preload_) return absl::OkStatus();
  preload_ = true;
  return Load();
}

absl::Status Store::LockWriter() {
  if (lock_fd_ >= 0) return absl::OkStatus();
  std::string path = dir_ + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno(path);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    absl::Status s = Errno(path);
    ::close(fd);
    return s;
  }
  lock_fd_ = fd;
  // Another process may have changed the store while we waited.
  absl::Status st = Load();
  if (!st.ok()) {
    UnlockWriter();
    return st;
  }
  RemoveUnreferenced();
  return absl::OkStatus();
}

void Store::UnlockWriter() {
  if (lock_fd_ < 0) return;
  ::flock(lock_fd_, LOCK_UN);
  ::close(lock_fd_);
  lock_fd_ = -1;
}

void Store::RemoveUnreferenced() {
  FileSystem& fs = PosixFileSystem();
  std::set<std::string> keep;
  for (const auto& s : sets_)
    for (const auto& r : s.runs) keep.insert(r.file);
  if (auto l = fs.ListDir(dir_ + "/tmp"); l.ok())
    for (const auto& f : *l) (void)fs.Remove(dir_ + "/tmp/" + f);
  if (auto l = fs.ListDir(dir_ + "/runs"); l.ok())
    for (const auto& f : *l)
      if (!keep.count("runs/" + f)) (void)fs.Remove(dir_ + "/runs/" + f);
}

absl::Status Store::WriteManifest(const std::vector<SetInfo>& sets,
                                  uint64_t next_run) {
  json j = {{"format", 1}, {"next_run", next_run}, {"sets", json::array()}};
  for (const auto& s : sets) {
    json js = {{"name", s.name},           {"meaning", MeaningName(s.meaning)},
               {"category", s.category},   {"source", s.source},
               {"version", s.version},     {"format", s.format},
               {"imported", s.imported},   {"updated", s.updated},
               {"counts", json::object()}, {"runs", json::array()}};
    for (Algorithm a : kAlgorithms)
      js["counts"][std::string(AlgorithmName(a))] = s.counts[AlgoIndex(a)];
    for (const auto& r : s.runs)
      js["runs"].push_back({{"id", r.id},
                            {"file", r.file},
                            {"algo", AlgorithmName(r.algo)},
                            {"kind", r.tombstone ? "tombstone" : "add"},
                            {"count", r.count},
                            {"bytes", r.bytes},
                            {"tags", r.tags}});
    j["sets"].push_back(std::move(js));
  }
  std::string text =
      j.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
  return WriteFileAtomically(PosixFileSystem(), dir_ + "/MANIFEST", text);
}

absl::Status Store::Remove(const std::string& name) {
  CUSTOS_RETURN_IF_ERROR(LockWriter());
  struct Unlock {
    Store* s;
    ~Unlock() { s->UnlockWriter(); }
  } unlock{this};
  std::vector<SetInfo> sets;
  bool found = false;
  for (const auto& s : sets_) {
    if (s.name == name)
      found = true;
    else
      sets.push_back(s);
  }
  if (!found)
    return absl::NotFoundError(absl::StrCat("no hash set \"", name, "\""));
  CUSTOS_RETURN_IF_ERROR(WriteManifest(sets, next_run_));
  CUSTOS_RETURN_IF_ERROR(Load());
  RemoveUnreferenced();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Sorted record streams and run writing.

namespace {

// Records in buffers and spill files: digest || tag (uint16 big-endian), so
// that bytewise order is (digest, tag) and the first of equal digests has the
// smallest (first-interned) tag.
template <size_t R>
struct Rec {
  uint8_t b[R];
};

template <size_t R>
void SortRecords(const uint8_t* in, size_t count, uint8_t* out_bytes) {
  const auto* recs = reinterpret_cast<const Rec<R>*>(in);
  auto* out = reinterpret_cast<Rec<R>*>(out_bytes);
  auto less = [](const Rec<R>& a, const Rec<R>& b) {
    return std::memcmp(a.b, b.b, R) < 0;
  };
  if (count < 4096) {
    std::memcpy(out_bytes, in, count * R);
    std::sort(out, out + count, less);
    return;
  }
  // Radix partition on the first 16 bits into `out`, then sort each bucket.
  std::vector<size_t> counts(65537, 0);
  for (size_t i = 0; i < count; ++i)
    ++counts[((recs[i].b[0] << 8) | recs[i].b[1]) + 1];
  for (size_t i = 1; i < counts.size(); ++i) counts[i] += counts[i - 1];
  std::vector<size_t> pos(counts.begin(), counts.end() - 1);
  for (size_t i = 0; i < count; ++i)
    out[pos[(recs[i].b[0] << 8) | recs[i].b[1]]++] = recs[i];
  for (size_t k = 0; k < 65536; ++k) {
    auto* b = out + counts[k];
    auto* e = out + counts[k + 1];
    if (e - b > 1)
      std::sort(b, e, [](const Rec<R>& x, const Rec<R>& y) {
        return std::memcmp(x.b + 2, y.b + 2, R - 2) < 0;
      });
  }
}

// Sorts `count` records of `rec` bytes from `in` into `out`.
void SortBuffer(const uint8_t* in, size_t count, size_t rec, uint8_t* out) {
  switch (rec) {
    case 18:
      SortRecords<18>(in, count, out);
      break;
    case 22:
      SortRecords<22>(in, count, out);
      break;
    case 34:
      SortRecords<34>(in, count, out);
      break;
  }
}

// A sorted source of records of `rec` bytes.
class Cursor {
 public:
  virtual ~Cursor() = default;
  // Current record or nullptr at the end.
  virtual const uint8_t* cur() const = 0;
  virtual absl::Status Next() = 0;
};

class MemCursor final : public Cursor {
 public:
  MemCursor(const uint8_t* data, size_t bytes, size_t rec)
      : data_(data), bytes_(bytes), rec_(rec) {}
  const uint8_t* cur() const override {
    return pos_ < bytes_ ? data_ + pos_ : nullptr;
  }
  absl::Status Next() override {
    pos_ += rec_;
    return absl::OkStatus();
  }

 private:
  const uint8_t* data_;
  size_t bytes_, rec_;
  size_t pos_ = 0;
};

class FileCursor final : public Cursor {
 public:
  static absl::StatusOr<std::unique_ptr<FileCursor>> Open(
      const std::string& path, size_t rec) {
    std::unique_ptr<FileCursor> c(new FileCursor(path, rec));
    c->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (c->fd_ < 0) return Errno(path);
    CUSTOS_RETURN_IF_ERROR(c->Fill());
    return c;
  }
  ~FileCursor() override {
    if (fd_ >= 0) ::close(fd_);
  }
  const uint8_t* cur() const override {
    return pos_ + rec_ <= len_ ? buf_.data() + pos_ : nullptr;
  }
  absl::Status Next() override {
    pos_ += rec_;
    if (pos_ + rec_ > len_) return Fill();
    return absl::OkStatus();
  }

 private:
  FileCursor(std::string path, size_t rec)
      : path_(std::move(path)), rec_(rec), buf_(rec * 32768) {}
  absl::Status Fill() {
    size_t keep = len_ > pos_ ? len_ - pos_ : 0;
    std::memmove(buf_.data(), buf_.data() + pos_, keep);
    len_ = keep;
    pos_ = 0;
    while (len_ < buf_.size()) {
      ssize_t got = ::read(fd_, buf_.data() + len_, buf_.size() - len_);
      if (got < 0) {
        if (errno == EINTR) continue;
        return Errno(path_);
      }
      if (got == 0) break;
      len_ += static_cast<size_t>(got);
    }
    return absl::OkStatus();
  }
  std::string path_;
  size_t rec_;
  std::vector<uint8_t> buf_;
  size_t len_ = 0, pos_ = 0;
  int fd_ = -1;
};

// K-way merge of sorted cursors into one sorted, digest-deduplicated stream.
// fn(record) is called once per distinct digest, with the smallest record.
template <typename Fn>
absl::Status Merge(std::vector<Cursor*> cursors, size_t len, Fn&& fn) {
  const size_t rec = len + 2;
  auto greater = [rec](Cursor* a, Cursor* b) {
    return std::memcmp(a->cur(), b->cur(), rec) > 0;
  };
  std::priority_queue<Cursor*, std::vector<Cursor*>, decltype(greater)> heap(
      greater);
  for (Cursor* c : cursors)
    if (c->cur()) heap.push(c);
  std::vector<uint8_t> last(rec);
  bool have_last = false;
  while (!heap.empty()) {
    Cursor* c = heap.top();
    heap.pop();
    const uint8_t* r = c->cur();
    if (!have_last || std::memcmp(last.data(), r, len) != 0) {
      CUSTOS_RETURN_IF_ERROR(fn(r));
      std::memcpy(last.data(), r, rec);
      have_last = true;
    }
    CUSTOS_RETURN_IF_ERROR(c->Next());
    if (c->cur()) heap.push(c);
  }
  return absl::OkStatus();
}

// Writes one run file (append-only: records, tags, directory, footer).
class RunWriter {
 public:
  static absl::StatusOr<std::unique_ptr<RunWriter>> Create(
      const std::string& path, Algorithm algo, bool tombstone,
      uint64_t upper_bound, bool with_tags) {
    CUSTOS_ASSIGN_OR_RETURN(
        auto f, PosixFileSystem().NewWritableFile(path, /*exclusive=*/true));
    std::unique_ptr<RunWriter> w(new RunWriter(std::move(f)));
    w->algo_ = algo;
    w->tombstone_ = tombstone;
    w->len_ = DigestLength(algo);
    w->bits_ = DirBitsFor(upper_bound);
    w->with_tags_ = with_tags;
    w->bucket_counts_.assign((size_t{1} << w->bits_) + 1, 0);
    return w;
  }
  absl::Status Add(const uint8_t* digest, uint16_t tag) {
    ++bucket_counts_[TopBits(digest, bits_)];
    if (with_tags_) tags_.push_back(tag);
    ++n_;
    return out_.Append(digest, len_);
  }
  uint64_t count() const { return n_; }
  // Returns the file size.
  absl::StatusOr<uint64_t> Finish() {
    if (n_ >= (uint64_t{1} << 32))
      return absl::ResourceExhaustedError(
          "a hash-set run holds at most 2^32-1 entries");
    uint64_t tag_off = 0;
    if (with_tags_) {
      tag_off = out_.written();
      std::vector<uint8_t> le(tags_.size() * 2);
      for (size_t i = 0; i < tags_.size(); ++i) {
        le[2 * i] = static_cast<uint8_t>(tags_[i]);
        le[2 * i + 1] = static_cast<uint8_t>(tags_[i] >> 8);
      }
      CUSTOS_RETURN_IF_ERROR(out_.Append(le.data(), le.size()));
    }
    uint64_t pad = (4 - out_.written() % 4) % 4;
    uint8_t zeros[4] = {0, 0, 0, 0};
    CUSTOS_RETURN_IF_ERROR(out_.Append(zeros, pad));
    uint64_t dir_off = out_.written();
    // dir[p] = records before bucket p.
    std::vector<uint32_t> dir(bucket_counts_.size());
    uint64_t acc = 0;
    for (size_t p = 0; p < bucket_counts_.size(); ++p) {
      dir[p] = static_cast<uint32_t>(acc);
      acc += bucket_counts_[p];
    }
    dir.back() = static_cast<uint32_t>(n_);
    CUSTOS_RETURN_IF_ERROR(out_.Append(dir.data(), dir.size() * 4));
    uint8_t f[kFooterSize] = {};
    std::memcpy(f, kMagic, 8);
    f[8] = static_cast<uint8_t>(algo_);
    f[9] = tombstone_ ? 2 : 1;
    f[10] = static_cast<uint8_t>(bits_);
    f[11] = with_tags_ ? 2 : 0;
    PutLe64(f + 16, n_);
    PutLe64(f + 24, dir_off);
    PutLe64(f + 32, 0);
    PutLe64(f + 40, tag_off);
    uint64_t size = out_.written() + kFooterSize;
    PutLe64(f + 48, size);
    CUSTOS_RETURN_IF_ERROR(out_.Append(f, kFooterSize));
    CUSTOS_RETURN_IF_ERROR(out_.Finish());
    return size;
  }

 private:
  explicit RunWriter(std::unique_ptr<WritableFile> f) : out_(std::move(f)) {}
  BufferedWriter out_;
  Algorithm algo_ = Algorithm::kSha256;
  bool tombstone_ = false;
  size_t len_ = 32;
  int bits_ = 0;
  bool with_tags_ = false;
  std::vector<uint64_t> bucket_counts_;
  std::vector<uint16_t> tags_;
  uint64_t n_ = 0;
};

// An anonymous mapping asking for transparent huge pages: the import
// buffers are hundreds of MB, and 4 KiB page faults cost more than the sort.
class HugeBuf {
 public:
  HugeBuf() = default;
  ~HugeBuf() { Free(); }
  HugeBuf(const HugeBuf&) = delete;
  HugeBuf& operator=(const HugeBuf&) = delete;
  // Ensures room for `cap` bytes (contents are dropped when it grows).
  bool Reserve(size_t cap) {
    if (cap <= cap_) return true;
    Free();
    void* p = ::mmap(nullptr, cap, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    ::madvise(p, cap, MADV_HUGEPAGE);
    p_ = static_cast<uint8_t*>(p);
    cap_ = cap;
    return true;
  }
  void Free() {
    if (p_) ::munmap(p_, cap_);
    p_ = nullptr;
    cap_ = size_ = 0;
  }
  uint8_t* data() { return p_; }
  const uint8_t* data() const { return p_; }
  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }
  // Appends; the caller made room.
  void Append(const void* src, size_t n) {
    std::memcpy(p_ + size_, src, n);
    size_ += n;
  }
  // Appends `n` bytes for the caller to fill; the caller made room.
  uint8_t* Grow(size_t n) {
    uint8_t* p = p_ + size_;
    size_ += n;
    return p;
  }

 private:
  uint8_t* p_ = nullptr;
  size_t cap_ = 0, size_ = 0;
};

// Drops, in place, the records of sorted `bytes` whose digest equals the
// previous one's (the first, smallest-tag record stays). Returns the bytes
// kept.
size_t DedupSorted(uint8_t* p, size_t bytes, size_t rec) {
  if (bytes == 0) return 0;
  const size_t len = rec - 2;
  size_t w = rec;
  for (size_t r = rec; r < bytes; r += rec) {
    if (std::memcmp(p + w - rec, p + r, len) == 0) continue;
    if (w != r) std::memcpy(p + w, p + r, rec);
    w += rec;
  }
  return w;
}

inline uint16_t TagOf(const uint8_t* rec, size_t len) {
  return static_cast<uint16_t>((rec[len] << 8) | rec[len + 1]);
}

}  // namespace

// ---------------------------------------------------------------------------
// Import.

struct Import::Impl {
  Store* store = nullptr;
  ImportOptions opt;
  std::vector<std::string> tags{""};
  std::unordered_map<std::string, uint16_t> tag_ids{{"", 0}};
  std::string last_tag;  // the tag of the previous Add(), and its id
  uint16_t last_tag_id = 0;
  // [generation][kind][algo]: kind 0 = add, 1 = tombstone. Add() fills
  // generation `gen`; when it holds `limit` bytes it is handed to the
  // spiller (the second generation fills meanwhile: double buffering).
  HugeBuf buf[2][2][3];
  int gen = 0;
  size_t limit = 0;     // bytes per generation
  size_t buffered = 0;  // bytes in generation `gen`
  // Spill files per [kind][algo]. Written by the spiller while it runs;
  // read by the importing thread only when the spiller is idle.
  std::vector<std::string> spills[2][3];
  uint64_t entries[2][3] = {};
  std::atomic<uint64_t> spill_seq{0};
  std::mutex written_mu;
  std::vector<std::string> written;  // run files of this import (runs/)
  ImportResult result;
  bool prepared = false, published = false;
  absl::Status broken;  // the first error of Add/Remove: the import is dead
  HugeBuf sorted;       // the spiller's sort output, reused

  // The spiller thread (started at the first full generation).
  std::thread spiller;
  std::mutex mu;
  std::condition_variable cv;
  int job = -1;  // generation to spill, -1: idle
  bool stop = false;
  absl::Status spill_status;

  class RemovalSink final : public EntrySink {
   public:
    explicit RemovalSink(Impl* i) : impl_(i) {}
    absl::Status Add(Algorithm algo, std::string_view digest,
                     std::string_view) override {
      return impl_->Push(1, algo, digest, 0);
    }

   private:
    Impl* impl_;
  };
  RemovalSink removal_sink{this};

  ~Impl() { (void)StopSpiller(); }

  std::string TmpPath(std::string_view what) {
    return absl::StrCat(store->dir(), "/tmp/", ::getpid(), "-", spill_seq++,
                        Sv(what));
  }

  absl::Status Push(int kind, Algorithm algo, std::string_view digest,
                    uint16_t tag) {
    if (digest.size() != DigestLength(algo))
      return absl::InvalidArgumentError("digest of the wrong length");
    CUSTOS_RETURN_IF_ERROR(broken);
    auto& b = buf[gen][kind][AlgoIndex(algo)];
    // Reserved once (virtual memory): a buffer never outgrows the
    // generation's limit, the generation is spilled first.
    if (b.capacity() == 0 && !b.Reserve(limit + 64))
      return broken =
                 absl::ResourceExhaustedError("cannot map the import buffers");
    uint8_t* rec = b.Grow(digest.size() + 2);
    std::memcpy(rec, digest.data(), digest.size());
    rec[digest.size()] = static_cast<uint8_t>(tag >> 8);
    rec[digest.size() + 1] = static_cast<uint8_t>(tag);
    ++entries[kind][AlgoIndex(algo)];
    buffered += digest.size() + 2;
    if (buffered > limit) {
      absl::Status st = HandOff();
      if (!st.ok()) broken = st;
      return st;
    }
    return absl::OkStatus();
  }

  // Sorts and spills generation `gen` (on the spiller thread when parallel)
  // and switches to the other one.
  absl::Status HandOff() {
    if (!opt.parallel) {
      CUSTOS_RETURN_IF_ERROR(SpillGeneration(gen));
      buffered = 0;
      return absl::OkStatus();
    }
    std::unique_lock<std::mutex> l(mu);
    if (!spiller.joinable()) spiller = std::thread([this] { SpillerLoop(); });
    cv.wait(l, [&] { return job < 0; });  // the other generation is empty
    CUSTOS_RETURN_IF_ERROR(spill_status);
    job = gen;
    cv.notify_all();
    gen ^= 1;
    buffered = 0;
    return absl::OkStatus();
  }

  void SpillerLoop() {
    std::unique_lock<std::mutex> l(mu);
    while (true) {
      cv.wait(l, [&] { return job >= 0 || stop; });
      if (job < 0) return;
      int g = job;
      l.unlock();
      absl::Status st =
          spill_status.ok() ? SpillGeneration(g) : absl::OkStatus();
      l.lock();
      if (spill_status.ok()) spill_status = st;
      job = -1;
      cv.notify_all();
    }
  }

  // Waits for the spiller to finish its work and ends it; its first error.
  absl::Status StopSpiller() {
    if (!spiller.joinable()) return spill_status;
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return job < 0; });
      stop = true;
      cv.notify_all();
    }
    spiller.join();
    return spill_status;
  }

  absl::Status SpillGeneration(int g) {
    for (int k = 0; k < 2; ++k)
      for (int a = 0; a < 3; ++a) CUSTOS_RETURN_IF_ERROR(Spill(g, k, a));
    return absl::OkStatus();
  }

  absl::Status Spill(int g, int kind, int a) {
    auto& b = buf[g][kind][a];
    if (b.empty()) return absl::OkStatus();
    size_t rec = DigestLength(kAlgorithms[a]) + 2;
    if (!sorted.Reserve(limit + 64))
      return absl::ResourceExhaustedError("cannot map the sort buffer");
    SortBuffer(b.data(), b.size() / rec, rec, sorted.data());
    // Exact duplicates of a digest are dropped here already.
    size_t bytes = DedupSorted(sorted.data(), b.size(), rec);
    std::string path = TmpPath(".spill");
    CUSTOS_ASSIGN_OR_RETURN(
        auto f, PosixFileSystem().NewWritableFile(path, /*exclusive=*/true));
    spills[kind][a].push_back(path);
    CUSTOS_RETURN_IF_ERROR(f->Append(
        std::string_view(reinterpret_cast<const char*>(sorted.data()), bytes)));
    // Spill files are scratch: no fsync needed (they are never published).
    CUSTOS_RETURN_IF_ERROR(f->Close());
    b.clear();  // keeps its capacity for the next round
    return absl::OkStatus();
  }

  bool HasData(int kind, int a) const {
    return !buf[gen][kind][a].empty() || !spills[kind][a].empty();
  }

  // Merges the buffer + spills of [kind][a] into run file `id` under runs/
  // (the spiller is idle; everything not spilled is in generation `gen`).
  // `existing` are the set's runs (newest first) used to count the effect;
  // `this_tomb` the tombstone run of this import (for adds). The buffer is
  // sorted in place.
  absl::StatusOr<std::optional<RunInfo>> WriteRun(
      int kind, int a, uint64_t id,
      const std::vector<const Store::MappedRun*>& existing,
      const Store::MappedRun* this_tomb, uint64_t* effect) {
    Algorithm algo = kAlgorithms[a];
    size_t len = DigestLength(algo), rec = len + 2;
    auto& b = buf[gen][kind][a];
    if (b.empty() && spills[kind][a].empty()) return std::nullopt;
    // Sorted into the other generation's buffer of the same kind and
    // algorithm: empty now, and its pages are already faulted in.
    HugeBuf& out = buf[gen ^ 1][kind][a];
    const size_t out_bytes = b.size();
    if (!out.Reserve(std::max<size_t>(b.size(), 1)))
      return absl::ResourceExhaustedError("cannot map the sort buffer");
    SortBuffer(b.data(), b.size() / rec, rec, out.data());
    b.Free();
    std::vector<std::unique_ptr<Cursor>> owned;
    owned.push_back(std::make_unique<MemCursor>(out.data(), out_bytes, rec));
    for (const auto& s : spills[kind][a]) {
      CUSTOS_ASSIGN_OR_RETURN(auto c, FileCursor::Open(s, rec));
      owned.push_back(std::move(c));
    }
    std::vector<Cursor*> cursors;
    for (auto& c : owned) cursors.push_back(c.get());
    std::string rel =
        absl::StrFormat("runs/%06d-%s%s.run", id, Sv(AlgorithmName(algo)),
                        kind == 1 ? "-tomb" : "");
    std::string tmp = TmpPath(".run");
    bool with_tags = kind == 0 && tags.size() > 1;
    CUSTOS_ASSIGN_OR_RETURN(
        auto w,
        RunWriter::Create(tmp, algo, kind == 1, entries[kind][a], with_tags));
    uint64_t eff = 0;
    bool check_existing = !existing.empty();
    CUSTOS_RETURN_IF_ERROR(Merge(cursors, len, [&](const uint8_t* r) {
      std::string_view d(reinterpret_cast<const char*>(r), len);
      if (kind == 1) {
        if (check_existing && Store::FindLive(existing, d)) ++eff;
      } else {
        bool removed_now = this_tomb && this_tomb->Find(r) >= 0;
        if (removed_now || !check_existing || !Store::FindLive(existing, d))
          ++eff;
      }
      return w->Add(r, TagOf(r, len));
    }));
    CUSTOS_ASSIGN_OR_RETURN(uint64_t size, w->Finish());
    FileSystem& fs = PosixFileSystem();
    std::string final_path = store->dir() + "/" + rel;
    CUSTOS_RETURN_IF_ERROR(fs.Rename(tmp, final_path));
    {
      std::lock_guard<std::mutex> l(written_mu);
      written.push_back(final_path);
    }
    RunInfo ri;
    ri.id = id;
    ri.algo = algo;
    ri.tombstone = kind == 1;
    ri.count = w->count();
    ri.bytes = size;
    ri.file = rel;
    ri.tags = kind == 0 ? tags : std::vector<std::string>{""};
    *effect = eff;
    for (const auto& s : spills[kind][a]) (void)fs.Remove(s);
    spills[kind][a].clear();
    out.Free();
    return ri;
  }
};

Import::Import(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Import::~Import() {
  if (!impl_) return;
  (void)impl_->StopSpiller();
  FileSystem& fs = PosixFileSystem();
  for (int k = 0; k < 2; ++k)
    for (int a = 0; a < 3; ++a)
      for (const auto& s : impl_->spills[k][a]) (void)fs.Remove(s);
  if (!impl_->published)
    for (const auto& f : impl_->written) (void)fs.Remove(f);
  impl_->store->UnlockWriter();
}

absl::Status Import::Add(Algorithm algo, std::string_view digest,
                         std::string_view tag) {
  Impl& m = *impl_;
  if (m.prepared)
    return absl::FailedPreconditionError("import already prepared");
  uint16_t id = 0;
  if (!tag.empty()) {
    if (tag == m.last_tag) {
      id = m.last_tag_id;
    } else {
      auto it = m.tag_ids.find(std::string(tag));
      if (it != m.tag_ids.end()) {
        id = it->second;
      } else {
        if (m.tags.size() >= 65535)
          return absl::ResourceExhaustedError(
              "more than 65535 distinct categories/flags in one import");
        id = static_cast<uint16_t>(m.tags.size());
        m.tags.emplace_back(tag);
        m.tag_ids.emplace(std::string(tag), id);
      }
      m.last_tag.assign(tag.data(), tag.size());
      m.last_tag_id = id;
    }
  }
  return m.Push(0, algo, digest, id);
}

absl::Status Import::Remove(Algorithm algo, std::string_view digest) {
  if (impl_->prepared)
    return absl::FailedPreconditionError("import already prepared");
  return impl_->Push(1, algo, digest, 0);
}

EntrySink& Import::removals() { return impl_->removal_sink; }

void Import::SetVersion(const std::string& version) {
  impl_->opt.version = version;
}

absl::StatusOr<ImportResult> Import::Prepare() {
  Impl& m = *impl_;
  if (m.prepared) return m.result;
  CUSTOS_RETURN_IF_ERROR(m.broken);
  CUSTOS_RETURN_IF_ERROR(m.StopSpiller());
  m.sorted.Free();
  Store& s = *m.store;
  const SetInfo* existing = s.FindSet(m.opt.name);
  SetInfo set;
  std::array<std::vector<const Store::MappedRun*>, 3> old_runs;
  if (existing) {
    set = *existing;
    for (size_t si = 0; si < s.sets_.size(); ++si)
      if (s.sets_[si].name == m.opt.name) old_runs = s.by_set_[si];
    if (!m.opt.source.empty()) set.source = m.opt.source;
    if (!m.opt.version.empty()) set.version = m.opt.version;
    set.updated = m.opt.now;
  } else {
    set.name = m.opt.name;
    set.meaning = m.opt.meaning;
    set.category = m.opt.category;
    set.source = m.opt.source;
    set.version = m.opt.version;
    set.format = m.opt.format;
    set.imported = set.updated = m.opt.now;
  }
  // Run ids in a fixed order (per algorithm: the tombstone run, then the
  // add run), whichever thread writes a run.
  std::array<std::array<uint64_t, 2>, 3> ids{};
  for (int a = 0; a < 3; ++a)
    for (int kind : {1, 0})
      if (m.HasData(kind, a)) ids[a][kind] = s.next_run_++;
  // Each algorithm's runs are independent of the others': written on a
  // thread each when parallel.
  struct Out {
    absl::Status st;
    std::optional<RunInfo> tomb, add;
    uint64_t removed = 0, added = 0;
  };
  std::array<Out, 3> outs;
  auto write_algo = [&](int a) {
    Out& o = outs[a];
    o.st = [&]() -> absl::Status {
      CUSTOS_ASSIGN_OR_RETURN(o.tomb, m.WriteRun(1, a, ids[a][1], old_runs[a],
                                                 nullptr, &o.removed));
      std::unique_ptr<Store::MappedRun> tomb_map;
      if (o.tomb) {
        CUSTOS_ASSIGN_OR_RETURN(
            tomb_map,
            Store::MappedRun::Open(s.dir() + "/" + o.tomb->file, *o.tomb));
      }
      CUSTOS_ASSIGN_OR_RETURN(o.add, m.WriteRun(0, a, ids[a][0], old_runs[a],
                                                tomb_map.get(), &o.added));
      return absl::OkStatus();
    }();
  };
  std::vector<std::thread> threads;
  int last = -1;
  for (int a = 0; a < 3; ++a)
    if (m.HasData(0, a) || m.HasData(1, a)) last = a;
  for (int a = 0; a < 3; ++a) {
    if (!m.opt.parallel || a == last)
      write_algo(a);
    else if (m.HasData(0, a) || m.HasData(1, a))
      threads.emplace_back(write_algo, a);
  }
  for (auto& t : threads) t.join();
  ImportResult& res = m.result;
  for (int a = 0; a < 3; ++a) CUSTOS_RETURN_IF_ERROR(outs[a].st);
  for (int a = 0; a < 3; ++a) {
    res.add_entries += m.entries[0][a];
    res.remove_entries += m.entries[1][a];
    if (outs[a].tomb) set.runs.push_back(*outs[a].tomb);
    if (outs[a].add) set.runs.push_back(*outs[a].add);
    set.counts[a] = set.counts[a] - outs[a].removed + outs[a].added;
    res.added += outs[a].added;
    res.removed += outs[a].removed;
  }
  CUSTOS_RETURN_IF_ERROR(PosixFileSystem().SyncDir(s.dir() + "/runs"));
  res.set = set;
  m.prepared = true;
  return res;
}

absl::Status Import::Publish() {
  Impl& m = *impl_;
  if (!m.prepared) return absl::FailedPreconditionError("Prepare() first");
  if (m.published) return absl::OkStatus();
  Store& s = *m.store;
  std::vector<SetInfo> sets;
  bool replaced = false;
  for (const auto& x : s.sets_) {
    if (x.name == m.opt.name) {
      sets.push_back(m.result.set);
      replaced = true;
    } else {
      sets.push_back(x);
    }
  }
  if (!replaced) sets.push_back(m.result.set);
  CUSTOS_RETURN_IF_ERROR(s.WriteManifest(sets, s.next_run_));
  m.published = true;
  return s.Load();
}

absl::StatusOr<std::unique_ptr<Import>> Store::BeginImport(
    const ImportOptions& options) {
  CUSTOS_RETURN_IF_ERROR(CheckSetName(options.name));
  CUSTOS_RETURN_IF_ERROR(LockWriter());
  const SetInfo* existing = FindSet(options.name);
  absl::Status st;
  if (existing && !options.delta)
    st = absl::AlreadyExistsError(
        absl::StrCat("hash set \"", options.name,
                     "\" already exists (remove it first, or add a --delta)"));
  else if (!existing && options.delta)
    st = absl::NotFoundError(
        absl::StrCat("no hash set \"", options.name, "\" to apply a delta to"));
  if (!st.ok()) {
    UnlockWriter();
    return st;
  }
  auto impl = std::make_unique<Import::Impl>();
  impl->store = this;
  impl->opt = options;
  if (impl->opt.memory_budget < (size_t{1} << 16))
    impl->opt.memory_budget = size_t{1} << 16;
  // Parallel: two generations of buffers, half the budget each.
  impl->limit = impl->opt.parallel ? impl->opt.memory_budget / 2
                                   : impl->opt.memory_budget;
  return std::unique_ptr<Import>(new Import(std::move(impl)));
}

// ---------------------------------------------------------------------------
// Live iteration and compaction.

namespace {

// Calls fn(digest_ptr, run, index) for each live entry of `runs` (newest
// first), in digest order.
absl::Status ForEachLive(
    const std::vector<const Store::MappedRun*>& runs, size_t len,
    const std::function<absl::Status(const uint8_t*, const Store::MappedRun*,
                                     uint64_t)>& fn) {
  std::vector<uint64_t> pos(runs.size(), 0);
  while (true) {
    const uint8_t* min = nullptr;
    for (size_t i = 0; i < runs.size(); ++i) {
      if (pos[i] >= runs[i]->n) continue;
      const uint8_t* d = runs[i]->records + pos[i] * len;
      if (!min || std::memcmp(d, min, len) < 0) min = d;
    }
    if (!min) return absl::OkStatus();
    std::vector<uint8_t> cur(min, min + len);
    bool decided = false;
    for (size_t i = 0; i < runs.size(); ++i) {
      if (pos[i] >= runs[i]->n) continue;
      const uint8_t* d = runs[i]->records + pos[i] * len;
      if (std::memcmp(d, cur.data(), len) != 0) continue;
      if (!decided) {
        decided = true;
        if (!runs[i]->info.tombstone)
          CUSTOS_RETURN_IF_ERROR(fn(d, runs[i], pos[i]));
      }
      ++pos[i];
    }
  }
}

}  // namespace

absl::Status Store::ForEachEntry(
    const std::string& name, Algorithm algo,
    const std::function<absl::Status(std::string_view, std::string_view)>& fn)
    const {
  for (size_t si = 0; si < sets_.size(); ++si) {
    if (sets_[si].name != name) continue;
    size_t len = DigestLength(algo);
    return ForEachLive(
        by_set_[si][AlgoIndex(algo)], len,
        [&](const uint8_t* d, const MappedRun* r, uint64_t i) {
          uint16_t t = r->Tag(i);
          std::string_view tag =
              t < r->info.tags.size() ? r->info.tags[t] : std::string_view();
          return fn(std::string_view(reinterpret_cast<const char*>(d), len),
                    tag);
        });
  }
  return absl::NotFoundError(absl::StrCat("no hash set \"", name, "\""));
}

absl::StatusOr<std::vector<std::string>> Store::Compact(
    const std::string& name, const std::string& now) {
  CUSTOS_RETURN_IF_ERROR(LockWriter());
  struct Unlock {
    Store* s;
    ~Unlock() { s->UnlockWriter(); }
  } unlock{this};
  if (!name.empty() && !FindSet(name))
    return absl::NotFoundError(absl::StrCat("no hash set \"", name, "\""));
  std::vector<SetInfo> sets = sets_;
  std::vector<std::string> done, written;
  FileSystem& fs = PosixFileSystem();
  absl::Status st = [&]() -> absl::Status {
    for (size_t si = 0; si < sets.size(); ++si) {
      SetInfo& set = sets[si];
      if (!name.empty() && set.name != name) continue;
      bool needed = false;
      std::array<int, 3> per{};
      for (const auto& r : set.runs) {
        if (r.tombstone) needed = true;
        if (++per[AlgoIndex(r.algo)] > 1) needed = true;
      }
      if (!needed) continue;
      std::vector<RunInfo> runs;
      for (int a = 0; a < 3; ++a) {
        const auto& src = by_set_[si][a];
        if (src.empty()) continue;
        Algorithm algo = kAlgorithms[a];
        size_t len = DigestLength(algo);
        // A merged tag table: the union of the source runs' tags.
        std::vector<std::string> tags{""};
        std::map<std::string, uint16_t> ids{{"", 0}};
        bool with_tags = false;
        uint64_t upper = 0;
        for (const MappedRun* r : src) {
          upper += r->n;
          if (r->tags) with_tags = true;
          for (const auto& t : r->info.tags)
            if (!ids.count(t)) {
              if (tags.size() >= 65535)
                return absl::ResourceExhaustedError("too many tags");
              ids[t] = static_cast<uint16_t>(tags.size());
              tags.push_back(t);
            }
        }
        uint64_t id = next_run_++;
        std::string rel =
            absl::StrFormat("runs/%06d-%s.run", id, Sv(AlgorithmName(algo)));
        std::string tmp =
            absl::StrCat(dir_, "/tmp/", ::getpid(), "-compact-", id, ".run");
        CUSTOS_ASSIGN_OR_RETURN(
            auto w, RunWriter::Create(tmp, algo, false, upper, with_tags));
        CUSTOS_RETURN_IF_ERROR(ForEachLive(
            src, len, [&](const uint8_t* d, const MappedRun* r, uint64_t i) {
              uint16_t t = r->Tag(i);
              const std::string& tag =
                  t < r->info.tags.size() ? r->info.tags[t] : tags[0];
              return w->Add(d, ids[tag]);
            }));
        CUSTOS_ASSIGN_OR_RETURN(uint64_t size, w->Finish());
        CUSTOS_RETURN_IF_ERROR(fs.Rename(tmp, dir_ + "/" + rel));
        written.push_back(dir_ + "/" + rel);
        RunInfo ri;
        ri.id = id;
        ri.algo = algo;
        ri.count = w->count();
        ri.bytes = size;
        ri.file = rel;
        ri.tags = tags;
        set.counts[a] = w->count();
        runs.push_back(std::move(ri));
      }
      set.runs = std::move(runs);
      set.updated = now;
      done.push_back(set.name);
    }
    if (done.empty()) return absl::OkStatus();
    CUSTOS_RETURN_IF_ERROR(fs.SyncDir(dir_ + "/runs"));
    return WriteManifest(sets, next_run_);
  }();
  if (!st.ok()) {
    for (const auto& f : written) (void)fs.Remove(f);
    (void)Load();
    return st;
  }
  CUSTOS_RETURN_IF_ERROR(Load());
  RemoveUnreferenced();
  return done;
}

}  // namespace custos::hashset
