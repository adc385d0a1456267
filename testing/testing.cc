#include "testing/testing.h"

#include <cstdlib>
#include <filesystem>

#include "src/base/status_macros.h"

namespace custos::testing {

void SeededRandom::Fill(uint8_t* out, size_t n) {
  std::lock_guard<std::mutex> l(mu_);
  for (size_t i = 0; i < n; ++i) {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    out[i] = static_cast<uint8_t>(state_ >> 24);
  }
}

class FaultyFile final : public WritableFile {
 public:
  FaultyFile(FaultInjectionFileSystem& fs, std::unique_ptr<WritableFile> f)
      : fs_(fs), f_(std::move(f)) {}
  absl::Status Append(std::string_view data) override {
    int64_t left = fs_.budget_.fetch_sub(static_cast<int64_t>(data.size()));
    if (left < static_cast<int64_t>(data.size())) {
      if (left > 0) (void)f_->Append(data.substr(0, static_cast<size_t>(left)));
      return absl::ResourceExhaustedError(
          "injected fault: disk full (No space left on device)");
    }
    return f_->Append(data);
  }
  absl::Status Sync() override {
    if (fs_.fail_syncs_)
      return absl::InternalError("injected fault: fsync failed");
    return f_->Sync();
  }
  absl::Status Close() override { return f_->Close(); }

 private:
  FaultInjectionFileSystem& fs_;
  std::unique_ptr<WritableFile> f_;
};

absl::StatusOr<std::unique_ptr<WritableFile>>
FaultInjectionFileSystem::NewWritableFile(const std::string& path,
                                          bool exclusive, int mode) {
  CUSTOS_ASSIGN_OR_RETURN(auto f, base_.NewWritableFile(path, exclusive, mode));
  return std::make_unique<FaultyFile>(*this, std::move(f));
}

absl::StatusOr<std::unique_ptr<WritableFile>>
FaultInjectionFileSystem::NewAppendableFile(const std::string& path) {
  CUSTOS_ASSIGN_OR_RETURN(auto f, base_.NewAppendableFile(path));
  return std::make_unique<FaultyFile>(*this, std::move(f));
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base && *base ? base : "/tmp") + "/custos-test-XXXXXX";
  char* p = ::mkdtemp(tmpl.data());
  CUSTOS_CHECK(p != nullptr);
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests may leave read-only directories behind; make them writable first.
  for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec))
      std::filesystem::permissions(it->path(),
                                   std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::add, ec);
  }
  std::filesystem::remove_all(path_, ec);
}

std::string SharedDir() {
  const char* d = std::getenv("CUSTOS_SHARED_DIR");
  return d && *d ? d : "../shared";
}

}  // namespace custos::testing
