// File: testing.h
//
// Deterministic fakes for tests: SimulatedClock, SeededRandom,
// FaultInjectionFileSystem (a wrapper that fails writes after a byte budget,
// like a full disk), and TempDir (a fresh directory removed at destruction).
//
// Thread-safety: SimulatedClock and SeededRandom are internally locked.
#ifndef CUSTOS_TESTING_TESTING_H_
#define CUSTOS_TESTING_TESTING_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "src/base/clock.h"
#include "src/base/file_system.h"
#include "src/base/random.h"

namespace custos::testing {

class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(absl::Time start = absl::FromUnixSeconds(1767225600))
      : now_(start) {}
  absl::Time Now() override {
    std::lock_guard<std::mutex> l(mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> l(mu_);
    now_ += d;
  }

 private:
  std::mutex mu_;
  absl::Time now_;
};

// xorshift-based, reproducible for a given seed. Not for production keys.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed * 2654435761u + 1) {}
  void Fill(uint8_t* out, size_t n) override;

 private:
  std::mutex mu_;
  uint64_t state_;
};

// Passes every call to `base`; tests derive from it to watch or break one
// kind of call.
class ForwardingFileSystem : public FileSystem {
 public:
  explicit ForwardingFileSystem(FileSystem& base) : base_(base) {}

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, bool exclusive, int mode) override {
    return base_.NewWritableFile(path, exclusive, mode);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    return base_.NewAppendableFile(path);
  }
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    return base_.NewRandomAccessFile(path);
  }
  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    return base_.ReadFile(path);
  }
  absl::Status Rename(const std::string& f, const std::string& t) override {
    return base_.Rename(f, t);
  }
  absl::Status Remove(const std::string& p) override { return base_.Remove(p); }
  absl::Status Truncate(const std::string& p, uint64_t s) override {
    return base_.Truncate(p, s);
  }
  absl::Status CreateDir(const std::string& p, int mode) override {
    return base_.CreateDir(p, mode);
  }
  absl::Status SyncDir(const std::string& p) override {
    return base_.SyncDir(p);
  }
  absl::StatusOr<uint64_t> FileSize(const std::string& p) override {
    return base_.FileSize(p);
  }
  bool Exists(const std::string& p) override { return base_.Exists(p); }
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& d) override {
    return base_.ListDir(d);
  }

 protected:
  FileSystem& base_;
};

// Wraps `base`. Once `budget` bytes have been appended in total through this
// filesystem, further appends fail with ENOSPC semantics (kResourceExhausted);
// with FailSyncs(true), Sync() fails with an I/O error.
class FaultInjectionFileSystem final : public ForwardingFileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem& base)
      : ForwardingFileSystem(base) {}
  void SetWriteBudget(int64_t bytes) { budget_ = bytes; }
  void FailSyncs(bool fail) { fail_syncs_ = fail; }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, bool exclusive, int mode) override;
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override;

 private:
  friend class FaultyFile;
  std::atomic<int64_t> budget_{INT64_MAX};
  std::atomic<bool> fail_syncs_{false};
};

// A fresh directory under $TMPDIR (or /tmp); removed recursively when
// destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Directory of the read-only shared material (../shared): $CUSTOS_SHARED_DIR.
std::string SharedDir();

}  // namespace custos::testing

#endif  // CUSTOS_TESTING_TESTING_H_
