#include "src/acquire/ewf_image.h"

#include <fcntl.h>
#include <libewf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <span>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "src/acquire/ewf_segments.h"
#include "src/base/absl_compat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "src/base/thread_priority.h"

namespace custos::acquire {
namespace {

// Takes libewf's error text (its backtrace, one function per line, joined
// with "; ") and frees the error.
std::string TakeError(libewf_error_t** error) {
  if (error == nullptr || *error == nullptr) return "unknown libewf error";
  char buf[2048] = {0};
  libewf_error_sprint(*error, buf, sizeof buf - 1);
  libewf_error_free(error);
  std::string s(buf);
  for (char& c : s)
    if (c == '\n') c = ';';
  while (!s.empty() && (s.back() == ';' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string BaseName(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

absl::StatusOr<std::string> ReadRange(int fd, uint64_t offset, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, out.data() + got, n - got,
                        static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return absl::DataLossError(absl::StrCat("read at offset ", offset + got,
                                              ": ", std::strerror(errno)));
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

// Checks one segment file's structure; returns its chain.
absl::StatusOr<SegmentChain> ScanFile(const std::string& path, uint64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return ErrnoToStatus(err, path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoToStatus(err, path);
  }
  *size = static_cast<uint64_t>(st.st_size);
  auto chain = ScanEwfSegment(
      [fd](uint64_t off, size_t n) { return ReadRange(fd, off, n); }, *size);
  ::close(fd);
  return chain;
}

const char* FormatName(uint8_t f) {
  switch (f) {
    case LIBEWF_FORMAT_ENCASE1:
      return "encase1";
    case LIBEWF_FORMAT_ENCASE2:
      return "encase2";
    case LIBEWF_FORMAT_ENCASE3:
      return "encase3";
    case LIBEWF_FORMAT_ENCASE4:
      return "encase4";
    case LIBEWF_FORMAT_ENCASE5:
      return "encase5";
    case LIBEWF_FORMAT_ENCASE6:
      return "encase6";
    case LIBEWF_FORMAT_ENCASE7:
      return "encase7";
    case LIBEWF_FORMAT_SMART:
      return "smart";
    case LIBEWF_FORMAT_FTK_IMAGER:
      return "ftk";
    case LIBEWF_FORMAT_LINEN5:
      return "linen5";
    case LIBEWF_FORMAT_LINEN6:
      return "linen6";
    case LIBEWF_FORMAT_LINEN7:
      return "linen7";
    case LIBEWF_FORMAT_EWF:
      return "ewf";
    case LIBEWF_FORMAT_EWFX:
      return "ewfx";
    default:
      return "unknown";
  }
}

}  // namespace

struct EwfImage::Handle {
  libewf_handle_t* h = nullptr;
  ~Handle() {
    if (h != nullptr) {
      libewf_handle_close(h, nullptr);
      libewf_handle_free(&h, nullptr);
    }
  }
};

bool LooksLikeEwf(std::string_view head) {
  return EwfSignatureOf(head) != EwfSignature::kNone;
}

std::string LibewfVersion() { return libewf_get_version(); }

std::vector<std::string> SegmentPaths(const std::vector<EwfSegmentFile>& s) {
  std::vector<std::string> out;
  for (const auto& f : s) out.push_back(f.path);
  return out;
}

absl::StatusOr<std::vector<EwfSegmentFile>> FindEwfSegments(
    const std::string& first) {
  int fd = ::open(first.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return ErrnoToStatus(err, first);
  }
  auto head = ReadRange(fd, 0, 16);
  ::close(fd);
  CUSTOS_RETURN_IF_ERROR(head.status());
  EwfSignature sig = EwfSignatureOf(*head);
  if (sig == EwfSignature::kNone)
    return absl::InvalidArgumentError(
        absl::StrCat(first, ": not an EWF (E01) image: no EWF signature"));
  if (sig == EwfSignature::kLogical || sig == EwfSignature::kLogical2)
    return absl::InvalidArgumentError(absl::StrCat(
        first,
        ": an EWF logical evidence file (L01/Lx01), not a media image; "
        "custos acquires E01/Ex01 media images"));
  char** names = nullptr;
  int count = 0;
  libewf_error_t* error = nullptr;
  std::vector<EwfSegmentFile> out;
  if (libewf_glob(first.c_str(), first.size(), LIBEWF_FORMAT_UNKNOWN, &names,
                  &count, &error) != 1) {
    // A name outside the EWF scheme (an E01 renamed "evidence.bin"): a
    // single segment; the chain check below says if more were expected.
    libewf_error_free(&error);
    out.push_back({first, BaseName(first), 0, 0});
  } else {
    for (int i = 0; i < count; ++i) {
      EwfSegmentFile f;
      f.path = i == 0 ? first : std::string(names[i]);
      f.name = BaseName(f.path);
      out.push_back(std::move(f));
    }
    libewf_glob_free(names, count, nullptr);
  }
  if (out.empty())
    return absl::NotFoundError(absl::StrCat(first, ": no segment files"));
  if (sig == EwfSignature::kEwf2) {
    for (auto& f : out) {
      struct stat st;
      if (::stat(f.path.c_str(), &st) != 0) {
        int err = errno;
        return ErrnoToStatus(err, f.path);
      }
      f.size = static_cast<uint64_t>(st.st_size);
      f.number = static_cast<uint16_t>(&f - out.data() + 1);
    }
    return out;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    EwfSegmentFile& f = out[i];
    auto chain = ScanFile(f.path, &f.size);
    if (!chain.ok())
      return absl::Status(
          chain.status().code(),
          absl::StrCat("EWF segment ", f.name, " (segment ", i + 1, " of ",
                       out.size(), " found): ", chain.status().message()));
    f.number = chain->number;
    if (chain->number != i + 1)
      return absl::DataLossError(
          absl::StrCat("EWF segment ", f.name, " says it is segment ",
                       chain->number, ", expected segment ", i + 1,
                       " (segment files renamed or from another set?)"));
    const bool last = i + 1 == out.size();
    if (!last && chain->last_section != "next")
      return absl::DataLossError(absl::StrCat(
          "EWF segment ", f.name, " ends the set (\"done\" section) but ",
          out[i + 1].name, " follows"));
    if (last && chain->last_section != "done") {
      std::string ext;
      size_t dot = f.name.rfind('.');
      if (dot != std::string::npos) ext = f.name.substr(dot + 1);
      std::string next = NextEwfExtension(ext);
      std::string missing = next.empty()
                                ? "the next segment"
                                : absl::StrCat(f.name.substr(0, dot + 1), next);
      return absl::NotFoundError(absl::StrCat(
          "EWF image set is incomplete: segment ", i + 2, " (", missing,
          ") is missing; ", f.name,
          " ends with a \"next\" section. Give all segment files of the set "
          "in one directory."));
    }
  }
  return out;
}

EwfImage::~EwfImage() = default;

absl::StatusOr<std::unique_ptr<EwfImage>> EwfImage::Open(
    const std::vector<std::string>& segment_paths) {
  if (segment_paths.empty())
    return absl::InvalidArgumentError("no EWF segment files given");
  std::unique_ptr<EwfImage> img(new EwfImage());
  img->h_ = std::make_unique<Handle>();
  libewf_error_t* error = nullptr;
  if (libewf_handle_initialize(&img->h_->h, &error) != 1)
    return absl::InternalError(TakeError(&error));
  std::vector<char*> names;
  for (const auto& p : segment_paths)
    names.push_back(const_cast<char*>(p.c_str()));
  if (libewf_handle_open(img->h_->h, names.data(),
                         static_cast<int>(names.size()), LIBEWF_OPEN_READ,
                         &error) != 1) {
    std::string why = TakeError(&error);
    libewf_handle_free(&img->h_->h, nullptr);
    img->h_->h = nullptr;
    return absl::DataLossError(
        absl::StrCat("libewf cannot open the EWF image (", why, ")"));
  }
  libewf_handle_t* h = img->h_->h;
  EwfInfo& info = img->info_;
  auto fail = [&](const char* what) {
    return absl::DataLossError(absl::StrCat("EWF image: cannot read the ", what,
                                            " (", TakeError(&error), ")"));
  };
  size64_t media_size = 0;
  if (libewf_handle_get_media_size(h, &media_size, &error) != 1)
    return fail("media size");
  info.media_size = media_size;
  if (libewf_handle_get_bytes_per_sector(h, &info.bytes_per_sector, &error) !=
      1)
    return fail("bytes per sector");
  if (libewf_handle_get_number_of_sectors(h, &info.sectors, &error) != 1)
    return fail("number of sectors");
  size32_t chunk = 0;
  if (libewf_handle_get_chunk_size(h, &chunk, &error) != 1)
    return fail("chunk size");
  info.chunk_size = chunk;
  uint8_t format = 0;
  if (libewf_handle_get_format(h, &format, &error) != 1) return fail("format");
  info.format = FormatName(format);
  int8_t level = 0;
  uint8_t flags = 0;
  if (libewf_handle_get_compression_values(h, &level, &flags, &error) != 1)
    return fail("compression values");
  info.compression =
      level == LIBEWF_COMPRESSION_NONE
          ? ((flags & LIBEWF_COMPRESS_FLAG_USE_EMPTY_BLOCK_COMPRESSION)
                 ? "empty-block"
                 : "none")
      : level == LIBEWF_COMPRESSION_FAST ? "fast"
      : level == LIBEWF_COMPRESSION_BEST ? "best"
                                         : "unknown";
  uint8_t mt = 0, mf = 0;
  if (libewf_handle_get_media_type(h, &mt, &error) != 1)
    return fail("media type");
  if (libewf_handle_get_media_flags(h, &mf, &error) != 1)
    return fail("media flags");
  info.media_type = mt == LIBEWF_MEDIA_TYPE_REMOVABLE ? "removable"
                    : mt == LIBEWF_MEDIA_TYPE_FIXED   ? "fixed"
                    : mt == LIBEWF_MEDIA_TYPE_OPTICAL ? "optical"
                    : mt == LIBEWF_MEDIA_TYPE_MEMORY  ? "memory"
                                                      : "unknown";
  info.physical = (mf & LIBEWF_MEDIA_FLAG_PHYSICAL) != 0;
  // Header values, dates in ISO 8601.
  libewf_handle_set_header_values_date_format(h, LIBEWF_DATE_FORMAT_ISO8601,
                                              nullptr);
  uint32_t nvalues = 0;
  if (libewf_handle_get_number_of_header_values(h, &nvalues, &error) == -1)
    return fail("header values");
  for (uint32_t i = 0; i < nvalues; ++i) {
    uint8_t id[64] = {0};
    if (libewf_handle_get_header_value_identifier(h, i, id, sizeof id,
                                                  &error) != 1) {
      libewf_error_free(&error);
      continue;
    }
    std::string key(reinterpret_cast<char*>(id));
    size_t vsize = 0;
    if (libewf_handle_get_utf8_header_value_size(h, id, key.size(), &vsize,
                                                 &error) != 1 ||
        vsize == 0) {
      libewf_error_free(&error);
      continue;
    }
    std::string v(vsize, '\0');
    if (libewf_handle_get_utf8_header_value(
            h, id, key.size(), reinterpret_cast<uint8_t*>(v.data()), vsize,
            &error) != 1) {
      libewf_error_free(&error);
      continue;
    }
    v.resize(strnlen(v.data(), v.size()));
    if (!v.empty()) info.header.emplace_back(key, v);
  }
  auto hash = [&](const char* id) -> std::string {
    size_t n = std::strlen(id);
    size_t vsize = 0;
    if (libewf_handle_get_utf8_hash_value_size(
            h, reinterpret_cast<const uint8_t*>(id), n, &vsize, &error) != 1 ||
        vsize == 0) {
      libewf_error_free(&error);
      return "";
    }
    std::string v(vsize, '\0');
    if (libewf_handle_get_utf8_hash_value(
            h, reinterpret_cast<const uint8_t*>(id), n,
            reinterpret_cast<uint8_t*>(v.data()), vsize, &error) != 1) {
      libewf_error_free(&error);
      return "";
    }
    v.resize(strnlen(v.data(), v.size()));
    return absl::AsciiStrToLower(v);
  };
  info.stored_md5 = hash("MD5");
  info.stored_sha1 = hash("SHA1");
  info.stored_sha256 = hash("SHA256");
  // A stored hash of all zeros means "not computed" in EWF1.
  for (std::string* s :
       {&info.stored_md5, &info.stored_sha1, &info.stored_sha256})
    if (s->find_first_not_of('0') == std::string::npos) s->clear();
  return img;
}

absl::StatusOr<size_t> EwfImage::ReadNext(char* buf, size_t len) {
  libewf_error_t* error = nullptr;
  ssize_t n = libewf_handle_read_buffer(h_->h, buf, len, &error);
  if (n < 0)
    return absl::DataLossError(
        absl::StrCat("EWF image: read failed (", TakeError(&error), ")"));
  return static_cast<size_t>(n);
}

absl::StatusOr<size_t> EwfImage::Read(uint64_t offset, char* buf, size_t len) {
  if (offset >= info_.media_size) return 0;
  if (len > info_.media_size - offset)
    len = static_cast<size_t>(info_.media_size - offset);
  libewf_error_t* error = nullptr;
  size_t got = 0;
  while (got < len) {
    ssize_t n =
        libewf_handle_read_random(h_->h, buf + got, len - got,
                                  static_cast<off64_t>(offset + got), &error);
    if (n < 0)
      return absl::DataLossError(absl::StrCat("EWF image: read at offset ",
                                              offset + got, " failed (",
                                              TakeError(&error), ")"));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  uint32_t nerr = 0;
  if (libewf_handle_get_number_of_checksum_errors(h_->h, &nerr, &error) == 1 &&
      nerr > errors_seen_) {
    errors_seen_ = nerr;
    return absl::DataLossError(absl::StrCat(
        "EWF image: damaged chunk (checksum mismatch) in the range at offset ",
        offset, " (", len, " bytes)"));
  }
  libewf_error_free(&error);
  return got;
}

absl::StatusOr<std::vector<EwfChecksumError>> EwfImage::ChecksumErrors() {
  libewf_error_t* error = nullptr;
  uint32_t n = 0;
  if (libewf_handle_get_number_of_checksum_errors(h_->h, &n, &error) != 1)
    return absl::InternalError(TakeError(&error));
  std::vector<EwfChecksumError> out;
  for (uint32_t i = 0; i < n; ++i) {
    EwfChecksumError e;
    if (libewf_handle_get_checksum_error(h_->h, i, &e.first_sector, &e.sectors,
                                         &error) != 1)
      return absl::InternalError(TakeError(&error));
    out.push_back(e);
  }
  return out;
}

namespace {

constexpr size_t kMediaBuffer = size_t{4} << 20;
constexpr size_t kMediaBuffers = 6;
constexpr uint64_t kProgressEvery = uint64_t{16} << 20;

// A ring of buffers between one producer (the decompressing thread) and
// one hashing thread per digest. The producer fills Next() and Publish()es
// it; each hashing thread hashes every buffer in order, on its own, so
// MD5 (the slowest) never waits for SHA-256 or for a hand-over; a buffer is
// refilled once every digest has hashed it.
class HashRing {
 public:
  explicit HashRing(unsigned digests) : len_(kMediaBuffers, 0) {
    for (size_t i = 0; i < kMediaBuffers; ++i)
      bufs_.push_back(std::make_unique<char[]>(kMediaBuffer));
    for (crypto::DigestSet d : {crypto::kMd5, crypto::kSha256, crypto::kSha1})
      if ((digests & d) || d == crypto::kSha256)
        lanes_.push_back(std::make_unique<Lane>(d));
    has_md5_ = (digests & crypto::kMd5) != 0;
    for (auto& lane : lanes_) {
      Lane* l = lane.get();
      l->thread = std::thread([this, l] { Consume(*l); });
    }
  }
  ~HashRing() { Close(); }
  HashRing(const HashRing&) = delete;
  HashRing& operator=(const HashRing&) = delete;

  // Waits for a free buffer.
  std::span<char> Next() {
    std::unique_lock<std::mutex> l(mu_);
    free_cv_.wait(l, [&] { return produced_ - Slowest() < kMediaBuffers; });
    return {bufs_[produced_ % kMediaBuffers].get(), kMediaBuffer};
  }
  // Hands the first `n` bytes of the buffer from Next() to the hashers.
  void Publish(size_t n) {
    std::lock_guard<std::mutex> l(mu_);
    len_[produced_ % kMediaBuffers] = n;
    ++produced_;
    data_cv_.notify_all();
  }
  // Hashes what was published and returns the digests.
  crypto::Digests Finish() {
    Close();
    crypto::Digests d;
    for (auto& lane : lanes_) {
      std::string* out = lane->which == crypto::kMd5    ? &d.md5
                         : lane->which == crypto::kSha1 ? &d.sha1
                                                        : &d.sha256;
      *out = std::move(lane->digest);
    }
    d.size = bytes_;
    return d;
  }

 private:
  struct Lane {
    explicit Lane(crypto::DigestSet d) : which(d), hasher(d) {}
    crypto::DigestSet which;
    crypto::SingleHasher hasher;
    std::string digest;  // set by the lane's thread before it ends
    uint64_t done = 0;   // guarded by mu_: buffers hashed
    std::thread thread;
  };

  uint64_t Slowest() const {
    uint64_t m = produced_;
    for (const auto& lane : lanes_) m = std::min(m, lane->done);
    return m;
  }

  void Close() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (closing_) return;
      closing_ = true;
      data_cv_.notify_all();
    }
    for (auto& lane : lanes_) lane->thread.join();
  }

  void Consume(Lane& lane) {
    // With MD5 asked, its lane is the slowest (about half SHA-256's speed
    // with SHA-NI): SHA-256 and SHA-1 give way to it.
    if (lane.which != crypto::kMd5 && has_md5_) LowerThisThreadPriority(5);
    uint64_t i = 0;
    while (true) {
      std::string_view data;
      {
        std::unique_lock<std::mutex> l(mu_);
        lane.done = i;
        free_cv_.notify_one();
        data_cv_.wait(l, [&] { return produced_ > i || closing_; });
        if (produced_ == i) break;  // closing, and everything hashed
        data = std::string_view(bufs_[i % kMediaBuffers].get(),
                                len_[i % kMediaBuffers]);
      }
      lane.hasher.Update(data);
      if (lane.which == crypto::kSha256) bytes_ += data.size();
      ++i;
    }
    lane.digest = lane.hasher.Finish();
  }

  std::vector<std::unique_ptr<char[]>> bufs_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  bool has_md5_ = false;
  uint64_t bytes_ = 0;  // written by the SHA-256 lane, read after Close
  std::mutex mu_;
  std::condition_variable data_cv_, free_cv_;
  std::vector<size_t> len_;  // guarded by mu_
  uint64_t produced_ = 0;    // guarded by mu_: buffers published
  bool closing_ = false;     // guarded by mu_
};

}  // namespace

unsigned MediaDigestsFor(const EwfInfo& info, unsigned asked) {
  unsigned d = crypto::kSha256;
  if (!info.stored_md5.empty() || (asked & crypto::kMd5)) d |= crypto::kMd5;
  if (!info.stored_sha1.empty() || (asked & crypto::kSha1)) d |= crypto::kSha1;
  return d;
}

absl::StatusOr<EwfMediaPass> ReadAndHashMedia(EwfImage& img,
                                              const EwfMediaPassOptions& o) {
  EwfMediaPass out;
  HashRing ring(o.digests);
  uint64_t done = 0, last_progress = 0;
  absl::Status read_status;
  while (true) {
    std::span<char> b = ring.Next();
    auto n = img.ReadNext(b.data(), b.size());
    if (!n.ok()) {
      read_status = n.status();
      break;
    }
    if (*n == 0) break;
    if (out.head.size() < o.head_bytes)
      out.head.append(b.data(), std::min(*n, o.head_bytes - out.head.size()));
    ring.Publish(*n);
    done += *n;
    if (o.progress && done - last_progress >= kProgressEvery) {
      last_progress = done;
      o.progress(done);
    }
  }
  out.digests = ring.Finish();
  if (!read_status.ok())
    return absl::Status(
        read_status.code(),
        absl::StrCat(read_status.message(), " at media offset ", done));
  if (o.progress) o.progress(done);
  CUSTOS_ASSIGN_OR_RETURN(out.checksum_errors, img.ChecksumErrors());
  return out;
}

EwfHashCheck CheckStoredHashes(const EwfInfo& info, const crypto::Digests& d) {
  EwfHashCheck c;
  auto check = [&](const char* name, const std::string& stored,
                   const std::string& computed) {
    if (stored.empty()) return;
    (!computed.empty() && stored == HexEncode(computed) ? c.verified
                                                        : c.mismatched)
        .push_back(name);
  };
  check("md5", info.stored_md5, d.md5);
  check("sha1", info.stored_sha1, d.sha1);
  check("sha256", info.stored_sha256, d.sha256);
  return c;
}

absl::StatusOr<std::unique_ptr<MediaReader>> OpenEwfMedia(
    const std::vector<std::string>& segment_paths) {
  CUSTOS_ASSIGN_OR_RETURN(auto img, EwfImage::Open(segment_paths));
  return std::unique_ptr<MediaReader>(std::move(img));
}

}  // namespace custos::acquire
