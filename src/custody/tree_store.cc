#include "src/custody/tree_store.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/base/absl_compat.h"
#include "src/base/status_macros.h"

namespace custos::custody {
namespace {

constexpr size_t kRecordSize = 32;
constexpr unsigned kMaxLevels = 63;  // sizes are < 2^63
// Levels with at most this many records are also kept in memory (at most
// 2 * kCacheRecords * 32 bytes over all levels), so the top of every proof
// is served without I/O.
constexpr uint64_t kCacheRecords = 32768;
// Append() flushes by itself once this many bytes are buffered, so memory
// stays bounded whatever the caller does.
constexpr size_t kMaxPendingBytes = size_t{4} << 20;
// Leaves fetched per callback call in Repair().
constexpr uint64_t kRepairChunk = 65536;

std::string LevelFileName(unsigned level) {
  char name[32];
  std::snprintf(name, sizeof(name), "level-%02u.hashes", level);
  return name;
}

}  // namespace

struct TreeStore::Level {
  std::string path;
  std::unique_ptr<RandomAccessFile> reader;  // null until the file exists
  std::unique_ptr<WritableFile> writer;      // opened on first flush
  uint64_t flushed = 0;  // records in the file (and readable)
  std::string pending;   // records appended but not yet written
  bool created = false;  // file created since the last SyncDir
  bool cached = false;   // `cache` holds records [0, flushed)
  std::string cache;

  uint64_t count() const { return flushed + pending.size() / kRecordSize; }

  // Cuts `store` back to `size` leaves: buffered and written records beyond
  // floor(size / 2^L) on every level L are dropped. With `drop_torn`, also
  // removes a partial record at the end of a file. (A static member so that
  // it can reach TreeStore's private state.)
  static absl::Status TruncateStore(TreeStore& store, uint64_t size,
                                    bool drop_torn);
};

TreeStore::TreeStore(FileSystem& fs, std::string dir)
    : fs_(fs), dir_(std::move(dir)) {}

TreeStore::~TreeStore() {
  // Best effort: buffered records are derived data, and Repair() restores
  // anything lost. Callers that care call Flush()/Sync() and check.
  (void)Flush();
  for (auto& level : levels_) {
    if (level->writer != nullptr) (void)level->writer->Close();
  }
}

absl::StatusOr<std::unique_ptr<TreeStore>> TreeStore::Open(FileSystem& fs,
                                                           std::string dir) {
  CUSTOS_RETURN_IF_ERROR(CreateDirs(fs, dir));
  std::unique_ptr<TreeStore> store(new TreeStore(fs, std::move(dir)));
  // The largest size every level can support: level L needs
  // floor(size / 2^L) records, i.e. size < (records_L + 1) * 2^L.
  uint64_t size = kMaxTreeSize - 1;
  for (unsigned l = 0; l < kMaxLevels; ++l) {
    auto level = std::make_unique<Level>();
    level->path = store->dir_ + "/" + LevelFileName(l);
    uint64_t records = 0;
    if (fs.Exists(level->path)) {
      CUSTOS_ASSIGN_OR_RETURN(level->reader,
                              fs.NewRandomAccessFile(level->path));
      CUSTOS_ASSIGN_OR_RETURN(uint64_t bytes, level->reader->Size());
      records = bytes / kRecordSize;
    }
    level->flushed = records;
    uint64_t limit = records + 1 > (kMaxTreeSize >> l)
                         ? kMaxTreeSize - 1
                         : ((records + 1) << l) - 1;
    if (l == 0) limit = records;
    size = std::min(size, limit);
    store->levels_.push_back(std::move(level));
  }
  // Drop torn or uncommitted tails so that every level agrees with `size`.
  CUSTOS_RETURN_IF_ERROR(
      Level::TruncateStore(*store, size, /*drop_torn=*/true));
  return store;
}

absl::StatusOr<Hash32> TreeStore::Node(unsigned level, uint64_t index) const {
  if (level >= levels_.size() || index >= (size_ >> level)) {
    return absl::OutOfRangeError(
        absl::StrCat("tree store has no node at level ", level, " index ",
                     index, " (size ", size_, ")"));
  }
  const Level& l = *levels_[level];
  Hash32 h;
  if (index >= l.flushed) {
    std::memcpy(h.data(), l.pending.data() + (index - l.flushed) * kRecordSize,
                kRecordSize);
  } else if (l.cached) {
    std::memcpy(h.data(), l.cache.data() + index * kRecordSize, kRecordSize);
  } else {
    CUSTOS_ASSIGN_OR_RETURN(size_t n,
                            l.reader->Read(index * kRecordSize, kRecordSize,
                                           reinterpret_cast<char*>(h.data())));
    if (n != kRecordSize) {
      return absl::DataLossError(absl::StrCat(l.path, ": short read of record ",
                                              index, " (file truncated?)"));
    }
  }
  return h;
}

absl::Status TreeStore::Append(absl::Span<const Hash32> leaves) {
  if (leaves.size() >= kMaxTreeSize - size_) {
    return absl::OutOfRangeError("tree store would reach 2^63 leaves");
  }
  size_t pending_bytes = 0;
  for (const auto& level : levels_) pending_bytes += level->pending.size();
  for (const Hash32& leaf : leaves) {
    range_.Append(leaf,
                  [&](unsigned level, uint64_t /*index*/, const Hash32& h) {
                    levels_[level]->pending.append(crypto::AsView(h));
                    pending_bytes += kRecordSize;
                  });
    ++size_;
    if (pending_bytes >= kMaxPendingBytes) {
      CUSTOS_RETURN_IF_ERROR(Flush());
      pending_bytes = 0;
    }
  }
  return absl::OkStatus();
}

absl::Status TreeStore::Flush() {
  for (auto& level : levels_) {
    Level& l = *level;
    if (l.pending.empty()) continue;
    if (l.writer == nullptr) {
      CUSTOS_ASSIGN_OR_RETURN(l.writer, fs_.NewAppendableFile(l.path));
      l.created = true;
    }
    if (l.reader == nullptr) {
      CUSTOS_ASSIGN_OR_RETURN(l.reader, fs_.NewRandomAccessFile(l.path));
    }
    absl::Status s = l.writer->Append(l.pending);
    if (!s.ok()) {
      // The file may hold part of `pending`; cut it back so that a retry
      // appends at the right offset. The writer's error is sticky, so a
      // new one is opened next time.
      l.writer.reset();
      absl::Status t = fs_.Truncate(l.path, l.flushed * kRecordSize);
      if (!t.ok()) {
        return absl::DataLossError(
            absl::StrCat(l.path, ": write failed (", Sv(s.ToString()),
                         ") and could not be rolled back (", Sv(t.ToString()),
                         "); reopen the store and Repair()"));
      }
      return s;
    }
    uint64_t added = l.pending.size() / kRecordSize;
    if (l.cached) {
      if (l.flushed + added <= kCacheRecords) {
        l.cache.append(l.pending);
      } else {
        l.cached = false;
        std::string().swap(l.cache);
      }
    }
    l.flushed += added;
    l.pending.clear();
    if (l.pending.capacity() > kMaxPendingBytes) {
      std::string().swap(l.pending);
    }
  }
  return absl::OkStatus();
}

absl::Status TreeStore::Sync() {
  CUSTOS_RETURN_IF_ERROR(Flush());
  for (auto& level : levels_) {
    if (level->writer != nullptr) CUSTOS_RETURN_IF_ERROR(level->writer->Sync());
  }
  bool created = false;
  for (auto& level : levels_) created = created || level->created;
  if (created) {
    CUSTOS_RETURN_IF_ERROR(fs_.SyncDir(dir_));
    for (auto& level : levels_) level->created = false;
  }
  return absl::OkStatus();
}

absl::StatusOr<Hash32> TreeStore::Root() const { return range_.Root(); }

absl::Status TreeStore::Repair(
    uint64_t committed_size,
    const std::function<absl::StatusOr<std::vector<Hash32>>(
        uint64_t begin, uint64_t end)>& leaf_hashes) {
  if (committed_size >= kMaxTreeSize) {
    return absl::InvalidArgumentError("committed size is not below 2^63");
  }
  if (committed_size < size_) {
    CUSTOS_RETURN_IF_ERROR(
        Level::TruncateStore(*this, committed_size, /*drop_torn=*/false));
  }
  while (size_ < committed_size) {
    uint64_t begin = size_;
    uint64_t end = std::min(committed_size, begin + kRepairChunk);
    CUSTOS_ASSIGN_OR_RETURN(std::vector<Hash32> chunk, leaf_hashes(begin, end));
    if (chunk.size() != end - begin) {
      return absl::DataLossError(absl::StrCat("leaf source returned ",
                                              chunk.size(), " hashes for [",
                                              begin, ", ", end, ")"));
    }
    CUSTOS_RETURN_IF_ERROR(Append(chunk));
    CUSTOS_RETURN_IF_ERROR(Flush());
  }
  return Flush();
}

absl::Status TreeStore::Level::TruncateStore(TreeStore& store, uint64_t size,
                                             bool drop_torn) {
  for (unsigned l = 0; l < store.levels_.size(); ++l) {
    Level& level = *store.levels_[l];
    uint64_t want = size >> l;
    uint64_t keep = level.flushed;
    if (want < level.flushed) {
      keep = want;
      level.pending.clear();
    } else if (want < level.count()) {
      level.pending.resize((want - level.flushed) * kRecordSize);
    }
    bool cut_file = keep < level.flushed;
    if (drop_torn && level.reader != nullptr) {
      CUSTOS_ASSIGN_OR_RETURN(uint64_t bytes, level.reader->Size());
      cut_file = cut_file || bytes != level.flushed * kRecordSize;
    }
    if (cut_file) {
      level.writer.reset();  // reopened at the new end on the next Flush
      CUSTOS_RETURN_IF_ERROR(
          store.fs_.Truncate(level.path, keep * kRecordSize));
      level.flushed = keep;
      if (level.cached) level.cache.resize(keep * kRecordSize);
    }
    // A level that is (now) small is served from memory.
    if (!level.cached && level.flushed <= kCacheRecords) {
      level.cache.assign(level.flushed * kRecordSize, '\0');
      if (level.flushed > 0) {
        CUSTOS_ASSIGN_OR_RETURN(
            size_t n,
            level.reader->Read(0, level.cache.size(), level.cache.data()));
        if (n != level.cache.size()) {
          return absl::DataLossError(
              absl::StrCat(level.path, ": short read while caching"));
        }
      }
      level.cached = true;
    }
  }
  store.size_ = size;
  CUSTOS_ASSIGN_OR_RETURN(store.range_, CompactRange::FromSource(store, size));
  return absl::OkStatus();
}

}  // namespace custos::custody
