#include "src/acquire/raw_image.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/base/status_macros.h"

namespace custos::acquire {
namespace {

// How far past the last consecutive piece to look for a gap.
constexpr int kGapProbe = 16;

// Splits "dir/disk.002" into ("dir/disk.", 2, 3 digits).
bool SplitName(const std::string& path, std::string* stem, uint64_t* number,
               size_t* digits) {
  size_t dot = path.rfind('.');
  if (dot == std::string::npos || path.find('/', dot) != std::string::npos)
    return false;
  std::string num = path.substr(dot + 1);
  if (num.size() < 3 || num.size() > 6) return false;
  uint64_t v = 0;
  for (char c : num) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *stem = path.substr(0, dot + 1);
  *number = v;
  *digits = num.size();
  return true;
}

std::string PieceName(const std::string& stem, uint64_t n, size_t digits) {
  std::string num = absl::StrFormat("%0*d", static_cast<int>(digits), n);
  return stem + num;
}

std::string BaseName(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

class RawReader final : public MediaReader {
 public:
  RawReader(std::unique_ptr<RandomAccessFile> f, uint64_t size)
      : file_(std::move(f)), size_(size) {}
  uint64_t size() const override { return size_; }
  uint32_t sector_size() const override { return 512; }
  const char* format() const override { return "raw"; }
  absl::StatusOr<size_t> Read(uint64_t offset, char* buf, size_t len) override {
    if (offset >= size_) return 0;
    if (len > size_ - offset) len = static_cast<size_t>(size_ - offset);
    size_t got = 0;
    while (got < len) {
      CUSTOS_ASSIGN_OR_RETURN(size_t n,
                              file_->Read(offset + got, len - got, buf + got));
      if (n == 0) break;
      got += n;
    }
    return got;
  }

 private:
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t size_;
};

}  // namespace

bool IsSplitRawName(const std::string& path) {
  std::string stem;
  uint64_t n = 0;
  size_t digits = 0;
  return SplitName(path, &stem, &n, &digits) && n <= 1;
}

absl::StatusOr<std::vector<RawSegmentFile>> FindSplitRawSegments(
    const std::string& first) {
  std::string stem;
  uint64_t n = 0;
  size_t digits = 0;
  if (!SplitName(first, &stem, &n, &digits) || n > 1)
    return absl::InvalidArgumentError(absl::StrCat(
        first, ": not the first piece of a split raw image (NAME.001)"));
  std::vector<RawSegmentFile> out;
  for (;; ++n) {
    std::string p = out.empty() ? first : PieceName(stem, n, digits);
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) {
      int err = errno;
      if (err == ENOENT && !out.empty()) break;
      return ErrnoToStatus(err, p);
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
      return absl::InvalidArgumentError(
          absl::StrCat(p, ": a piece of a split raw image must be a file"));
    out.push_back({p, BaseName(p), static_cast<uint64_t>(st.st_size)});
  }
  for (int k = 1; k <= kGapProbe; ++k) {
    std::string later = PieceName(stem, n + static_cast<uint64_t>(k), digits);
    struct stat st;
    if (::stat(later.c_str(), &st) == 0)
      return absl::NotFoundError(
          absl::StrCat("split raw image is incomplete: ",
                       BaseName(PieceName(stem, n, digits)), " is missing but ",
                       BaseName(later), " exists"));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<MediaReader>> OpenRawMedia(
    std::unique_ptr<RandomAccessFile> file) {
  if (!file) return absl::InvalidArgumentError("no file");
  CUSTOS_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  return std::unique_ptr<MediaReader>(new RawReader(std::move(file), size));
}

}  // namespace custos::acquire
