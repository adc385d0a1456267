// Acquisition of disk images (docs/formats/images.md): E01/EWF sets through
// libewf, raw/dd and split raw images; and OpenMedia (media_reader.h), the
// reading side for code that analyses an acquired image.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "src/acquire/ewf_image.h"
#include "src/acquire/media_reader.h"
#include "src/acquire/raw_image.h"
#include "src/base/absl_compat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "src/base/thread_priority.h"
#include "src/crypto/hash.h"
#include "src/filetype/filetype.h"
#include "src/repo/canonical_json.h"
#include "src/repo/repository.h"
#include "src/repo/repository_internal.h"

namespace custos::repo {
namespace {

using nlohmann::json;

constexpr uint64_t kProgressEvery = uint64_t{16} << 20;
// Longest header value copied into the signed event (the manifest has all).
constexpr size_t kMaxEventValue = 1024;
constexpr size_t kMaxListedErrors = 100;
constexpr uint64_t kUnknownSize = ~uint64_t{0};

enum class ImageKind { kNone, kEwf, kRaw, kSplit };

absl::StatusOr<std::string> ReadHead(const std::string& path, size_t n) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    return ErrnoToStatus(err, path);
  }
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, out.data() + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = errno;
      ::close(fd);
      return ErrnoToStatus(err, path);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

// Which image handling `source` gets: by --format, else by signature (EWF)
// or name (NAME.001).
absl::StatusOr<ImageKind> Classify(const std::string& source,
                                   const std::string& format) {
  if (format == "file" || format == "dir") return ImageKind::kNone;
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) {
    if (format.empty() || format == "auto") return ImageKind::kNone;
    int err = errno;
    return ErrnoToStatus(err, source);
  }
  const bool regular = S_ISREG(st.st_mode);
  std::string head;
  if (regular) {
    CUSTOS_ASSIGN_OR_RETURN(head, ReadHead(source, 16));
  }
  const bool ewf = acquire::LooksLikeEwf(head);
  if (format.empty() || format == "auto") {
    if (!regular) return ImageKind::kNone;
    if (ewf) return ImageKind::kEwf;
    if (acquire::IsSplitRawName(source)) return ImageKind::kSplit;
    return ImageKind::kNone;
  }
  if (format == "ewf") {
    if (!ewf)
      return absl::InvalidArgumentError(absl::StrCat(
          EscapeBytes(source),
          ": --format ewf, but the file has no EWF (E01) signature"));
    return ImageKind::kEwf;
  }
  if (format == "split") {
    if (!acquire::IsSplitRawName(source))
      return absl::InvalidArgumentError(absl::StrCat(
          EscapeBytes(source),
          ": --format split needs the first piece, named NAME.001 (or .000)"));
    return ImageKind::kSplit;
  }
  if (format == "raw") {
    if (!regular && !S_ISBLK(st.st_mode))
      return absl::InvalidArgumentError(absl::StrCat(
          EscapeBytes(source),
          ": --format raw needs a raw image file or a block device"));
    return ImageKind::kRaw;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown --format \"", format, "\" (auto, ewf, raw, split, file)"));
}

std::string Clip(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n;
  // Do not cut a UTF-8 sequence in half.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

// Only printable ASCII/UTF-8 text goes into JSON strings; anything else is
// escaped the way path names are.
std::string TextOf(const std::string& s) { return EscapeBytes(s); }

// Copies files into the blob store on a thread of its own, so that storing
// the evidence containers overlaps with decompressing and hashing them.
class SegmentCopier {
 public:
  SegmentCopier(store::BlobStore& blobs, std::vector<std::string> paths)
      : blobs_(blobs), paths_(std::move(paths)), infos_(paths_.size()) {
    thread_ = std::thread([this] { status_ = Run(); });
  }
  ~SegmentCopier() {
    cancel_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  // Waits for the copies; their digests in path order.
  absl::StatusOr<std::vector<store::BlobInfo>> Finish() {
    if (thread_.joinable()) thread_.join();
    CUSTOS_RETURN_IF_ERROR(status_);
    return infos_;
  }
  void Cancel() { cancel_.store(true); }

 private:
  absl::Status Run() {
    // Storing the containers is background work: the media pass (libewf's
    // decompression feeding the MD5 lane) is the longest chain, and on two
    // cores it must not wait behind this thread or the blob writer thread
    // it starts (which inherits this priority).
    LowerThisThreadPriority(10);
    for (size_t i = 0; i < paths_.size(); ++i) {
      if (cancel_.load()) return absl::CancelledError("cancelled");
      int fd = ::open(paths_[i].c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        int err = errno;
        return ErrnoToStatus(err, paths_[i]);
      }
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
      absl::Status st = CopyOne(fd, paths_[i], &infos_[i]);
      ::close(fd);
      CUSTOS_RETURN_IF_ERROR(st);
    }
    return absl::OkStatus();
  }
  absl::Status CopyOne(int fd, const std::string& path, store::BlobInfo* out) {
    CUSTOS_ASSIGN_OR_RETURN(auto w, blobs_.NewWriter(crypto::kSha256));
    while (true) {
      if (cancel_.load()) {
        w->Abort();
        return absl::CancelledError("cancelled");
      }
      CUSTOS_ASSIGN_OR_RETURN(std::span<char> buf, w->NextBuffer());
      size_t fill = 0;
      bool eof = false;
      while (fill < buf.size()) {
        ssize_t n = ::read(fd, buf.data() + fill, buf.size() - fill);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          int err = errno;
          w->Abort();
          return absl::DataLossError(absl::StrCat(
              EscapeBytes(path), ": read error: ", std::strerror(err)));
        }
        if (n == 0) {
          eof = true;
          break;
        }
        fill += static_cast<size_t>(n);
      }
      CUSTOS_RETURN_IF_ERROR(w->AppendBuffer(fill));
      if (eof) break;
    }
    CUSTOS_ASSIGN_OR_RETURN(*out, w->Commit());
    return absl::OkStatus();
  }

  store::BlobStore& blobs_;
  std::vector<std::string> paths_;
  std::vector<store::BlobInfo> infos_;
  absl::Status status_;
  std::atomic<bool> cancel_{false};
  std::thread thread_;
};

// Properties from libmagic over the first bytes of a media stream.
void MediaHeadProperties(std::string_view head, filetype::Properties* props) {
  filetype::FileType t = filetype::Identify(head, true);
  if (!t.description.empty())
    props->emplace_back("image.media_description", Clip(t.description, 256));
}

}  // namespace

absl::StatusOr<bool> Repository::AcquireImageSource(
    const std::string& source, const std::string& exhibit,
    const AcquireRequest& req, const ActorRecord& actor,
    const crypto::Ed25519PrivateKey* key, Batch& batch, AcquiredSource& res,
    std::vector<ItemRecord>& children, ItemPropertyList& props) {
  CUSTOS_ASSIGN_OR_RETURN(ImageKind kind, Classify(source, req.format));
  if (kind == ImageKind::kNone) return false;
  const std::string host = HostName();
  ItemRecord top;
  top.id = env_.random->Uuid4();
  top.case_id = req.case_id;
  top.exhibit = exhibit;
  top.description = req.description;
  top.source = source;
  top.tool = kToolName;
  top.tool_version = kToolVersion;
  top.host = host;
  json details = {{"tool", top.tool},
                  {"tool_version", top.tool_version},
                  {"host", host},
                  {"source_b64", Base64Encode(source)},
                  {"source", EscapeBytes(source)},
                  {"unreadable", 0}};
  filetype::Properties top_props;
  acquire::Progress progress;

  if (kind == ImageKind::kRaw || kind == ImageKind::kSplit) {
    std::vector<acquire::RawSegmentFile> segs;
    if (kind == ImageKind::kSplit) {
      CUSTOS_ASSIGN_OR_RETURN(segs, acquire::FindSplitRawSegments(source));
    } else {
      struct stat st;
      if (::stat(source.c_str(), &st) != 0) {
        int err = errno;
        return ErrnoToStatus(err, source);
      }
      std::string name = source.substr(source.rfind('/') + 1);
      // A block device's size is what reading it gives (st_size is 0).
      segs.push_back({source, name,
                      S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size)
                                          : kUnknownSize});
    }
    for (const auto& s : segs)
      if (s.size != kUnknownSize) progress.bytes_total += s.size;
    CUSTOS_ASSIGN_OR_RETURN(auto w, blobs_->NewWriter(req.digests));
    std::string head;
    uint64_t last_progress = 0;
    json seg_list = json::array();
    for (const auto& s : segs) {
      int fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        int err = errno;
        return ErrnoToStatus(err, s.path);
      }
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
      uint64_t got_here = 0;
      absl::Status st;
      while (st.ok()) {
        auto buf = w->NextBuffer();
        if (!buf.ok()) {
          st = buf.status();
          break;
        }
        size_t fill = 0;
        bool eof = false;
        while (fill < buf->size()) {
          ssize_t n = ::read(fd, buf->data() + fill, buf->size() - fill);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) {
            st = absl::DataLossError(
                absl::StrCat(EscapeBytes(s.path), ": read error at offset ",
                             got_here + fill, ": ", std::strerror(errno)));
            break;
          }
          if (n == 0) {
            eof = true;
            break;
          }
          fill += static_cast<size_t>(n);
        }
        if (!st.ok()) break;
        if (head.size() < filetype::kIdentifyBytes)
          head.append(buf->data(),
                      std::min(fill, filetype::kIdentifyBytes - head.size()));
        st = w->AppendBuffer(fill);
        got_here += fill;
        progress.bytes_done += fill;
        if (req.progress &&
            progress.bytes_done - last_progress >= kProgressEvery) {
          last_progress = progress.bytes_done;
          req.progress(progress);
        }
        if (eof) break;
      }
      ::close(fd);
      if (!st.ok()) {
        w->Abort();
        return st;
      }
      if (s.size != kUnknownSize && got_here != s.size) {
        w->Abort();
        return absl::DataLossError(
            absl::StrCat(EscapeBytes(s.path),
                         ": size changed during acquisition (stat said ",
                         s.size, " bytes, read ", got_here, ")"));
      }
      seg_list.push_back({{"name_b64", Base64Encode(s.name)},
                          {"name", EscapeBytes(s.name)},
                          {"size", got_here}});
    }
    CUSTOS_ASSIGN_OR_RETURN(store::BlobInfo info, w->Commit());
    if (req.progress) req.progress(progress);
    top.kind = "raw_image";
    top.sha256 = info.digests.sha256;
    top.md5 = info.digests.md5;
    top.sha1 = info.digests.sha1;
    top.size = info.digests.size;
    top.media_type = filetype::Identify(head, false).mime;
    top.method = kind == ImageKind::kSplit
                     ? "copy of a split raw image (pieces concatenated)"
                     : "copy of a raw (dd) image";
    const char* fmt = kind == ImageKind::kSplit ? "split_raw" : "raw";
    details["method"] = top.method;
    details["kind"] = top.kind;
    details["image_format"] = fmt;
    details["segments"] = std::move(seg_list);
    details["entries"] = 1;
    details["files"] = 1;
    details["bytes"] = top.size;
    if (!top.media_type.empty()) details["media_type"] = top.media_type;
    if (!top.md5.empty()) details["md5"] = HexEncode(top.md5);
    if (!top.sha1.empty()) details["sha1"] = HexEncode(top.sha1);
    top_props.emplace_back("image.format", fmt);
    top_props.emplace_back("image.segments", std::to_string(segs.size()));
    top_props.emplace_back("image.media_size", std::to_string(top.size));
    MediaHeadProperties(head, &top_props);
    res.image_format = fmt;
    res.files = 1;
    res.bytes = top.size;
    res.entries = 1;
    if (info.already_present)
      ++res.deduplicated;
    else
      ++res.new_blobs;
  } else {
    // ---- EWF (E01) ----
    CUSTOS_ASSIGN_OR_RETURN(auto segs, acquire::FindEwfSegments(source));
    std::vector<std::string> paths = acquire::SegmentPaths(segs);
    // Store the containers on one thread while libewf opens the set and
    // this thread decompresses the media (hashed on threads of their own).
    SegmentCopier copier(*blobs_, paths);
    auto opened = acquire::EwfImage::Open(paths);
    if (!opened.ok()) {
      copier.Cancel();
      (void)copier.Finish();
      return opened.status();
    }
    std::unique_ptr<acquire::EwfImage> img = std::move(*opened);
    const acquire::EwfInfo& info = img->info();
    progress.bytes_total = info.media_size;
    acquire::EwfMediaPassOptions pass_opts;
    pass_opts.digests = acquire::MediaDigestsFor(info, req.digests);
    pass_opts.head_bytes = filetype::kIdentifyBytes;
    if (req.progress)
      pass_opts.progress = [&](uint64_t done) {
        progress.bytes_done = done;
        req.progress(progress);
      };
    auto pass = acquire::ReadAndHashMedia(*img, pass_opts);
    if (!pass.ok()) {
      copier.Cancel();
      (void)copier.Finish();
      return absl::Status(
          pass.status().code(),
          absl::StrCat(EscapeBytes(source), ": ", pass.status().message(),
                       "; nothing was recorded"));
    }
    CUSTOS_ASSIGN_OR_RETURN(auto seg_infos, copier.Finish());
    const crypto::Digests& media = pass->digests;
    const std::string& head = pass->head;
    const std::vector<acquire::EwfChecksumError>& errors =
        pass->checksum_errors;
    if (media.size != info.media_size)
      return absl::DataLossError(
          absl::StrCat(EscapeBytes(source), ": libewf returned ", media.size,
                       " bytes of media, the image declares ", info.media_size,
                       "; nothing was recorded"));

    // Hex digests; "" for a digest not computed.
    const std::string md5 = HexEncode(media.md5);
    const std::string sha1 = HexEncode(media.sha1);
    const std::string sha256 = HexEncode(media.sha256);
    json computed = json::array();
    if (!md5.empty()) computed.push_back("md5");
    if (!sha1.empty()) computed.push_back("sha1");
    computed.push_back("sha256");
    // Verification against the hashes stored in the image.
    acquire::EwfHashCheck hash_check = acquire::CheckStoredHashes(info, media);
    const std::vector<std::string>& mismatched = hash_check.mismatched;
    const std::vector<std::string>& matched = hash_check.verified;
    std::string verification = !mismatched.empty() ? "mismatch"
                               : !matched.empty()  ? "verified"
                                                   : "no_stored_hash";
    if (!errors.empty() && verification != "mismatch")
      verification = "chunk_errors";
    if (verification == "mismatch") {
      static const std::pair<const char*, const char*> kNames[] = {
          {"md5", "MD5"}, {"sha1", "SHA-1"}, {"sha256", "SHA-256"}};
      std::string which_hashes, values;
      for (const auto& m : mismatched) {
        const char* label = m.c_str();
        for (const auto& [k, v] : kNames)
          if (m == k) label = v;
        const std::string& stored = m == "md5"    ? info.stored_md5
                                    : m == "sha1" ? info.stored_sha1
                                                  : info.stored_sha256;
        const std::string& mine = m == "md5"    ? md5
                                  : m == "sha1" ? sha1
                                                : sha256;
        absl::StrAppend(&which_hashes, which_hashes.empty() ? "" : ", ", label);
        absl::StrAppend(&values, values.empty() ? "" : "; ", "stored ", label,
                        " ", stored, ", computed ", mine);
      }
      res.warnings.push_back(absl::StrCat(
          "HASH MISMATCH: the ", which_hashes,
          " stored in the image differ(s) from the media data read (", values,
          "). The image is recorded and flagged; do not rely on it "
          "without further examination."));
    }
    if (!errors.empty()) {
      uint64_t sectors = 0;
      for (const auto& e : errors) sectors += e.sectors;
      res.warnings.push_back(absl::StrCat(
          "DAMAGED CHUNKS: ", errors.size(), " range(s), ", sectors,
          " sector(s) failed their chunk checksum (first at sector ",
          errors[0].first_sector,
          "); the media hashes cover the bytes as libewf returned them."));
    }
    if (verification == "no_stored_hash")
      res.warnings.push_back(
          "the image stores no MD5/SHA-1/SHA-256: the media data could not "
          "be verified against the imager's hash");

    // Header metadata.
    json header = json::object();
    json header_event = json::object();
    for (const auto& [k, v] : info.header) {
      header[k] = TextOf(v);
      header_event[k] = TextOf(Clip(v, kMaxEventValue));
    }
    json err_list = json::array();
    for (size_t i = 0; i < errors.size() && i < kMaxListedErrors; ++i)
      err_list.push_back({{"first_sector", errors[i].first_sector},
                          {"sectors", errors[i].sectors}});
    json media_obj = {{"size", info.media_size},
                      {"bytes_per_sector", info.bytes_per_sector},
                      {"sectors", info.sectors},
                      {"sha256", sha256}};
    if (!md5.empty()) media_obj["md5"] = md5;
    if (!sha1.empty()) media_obj["sha1"] = sha1;
    json stored = json::object();
    if (!info.stored_md5.empty()) stored["md5"] = info.stored_md5;
    if (!info.stored_sha1.empty()) stored["sha1"] = info.stored_sha1;
    if (!info.stored_sha256.empty()) stored["sha256"] = info.stored_sha256;

    // The manifest: one line for the image, one per segment.
    json first = {{"type", "ewf_image"},
                  {"format", info.format},
                  {"compression", info.compression},
                  {"media_type", info.media_type},
                  {"physical", info.physical},
                  {"chunk_size", info.chunk_size},
                  {"media", media_obj},
                  {"stored_hashes", stored},
                  {"media_hashes", computed},
                  {"verified_hashes", matched},
                  {"mismatched_hashes", mismatched},
                  {"verification", verification},
                  {"checksum_errors", err_list},
                  {"checksum_error_ranges", errors.size()},
                  {"header", header},
                  {"segment_count", segs.size()},
                  {"libewf_version", acquire::LibewfVersion()}};
    CUSTOS_ASSIGN_OR_RETURN(std::string manifest, CanonicalJson(first));
    manifest += "\n";
    json seg_event = json::array();
    uint64_t stored_bytes = 0;
    for (size_t i = 0; i < segs.size(); ++i) {
      ItemRecord ch;
      ch.id = env_.random->Uuid4();
      ch.case_id = req.case_id;
      ch.exhibit = exhibit;
      ch.parent_id = top.id;
      ch.kind = "ewf_segment";
      ch.source = segs[i].path;
      ch.rel_path = segs[i].name;
      ch.size = seg_infos[i].digests.size;
      ch.sha256 = seg_infos[i].digests.sha256;
      ch.media_type = "application/x-ewf";
      ch.method = "copy of an EWF segment file";
      ch.tool = kToolName;
      ch.tool_version = kToolVersion;
      ch.host = host;
      if (ch.size != segs[i].size)
        return absl::DataLossError(absl::StrCat(
            EscapeBytes(segs[i].path), ": size changed during acquisition"));
      json line = {{"type", "ewf_segment"},
                   {"segment", segs[i].number},
                   {"name_b64", Base64Encode(segs[i].name)},
                   {"name", EscapeBytes(segs[i].name)},
                   {"size", ch.size},
                   {"sha256", HexEncode(ch.sha256)},
                   {"item", ch.id}};
      CUSTOS_ASSIGN_OR_RETURN(std::string l, CanonicalJson(line));
      manifest += l + "\n";
      seg_event.push_back({{"name", EscapeBytes(segs[i].name)},
                           {"size", ch.size},
                           {"sha256", HexEncode(ch.sha256)}});
      stored_bytes += ch.size;
      if (seg_infos[i].already_present)
        ++res.deduplicated;
      else
        ++res.new_blobs;
      props.push_back({ch.id,
                       {{"ewf.segment", std::to_string(segs[i].number)},
                        {"ewf.segment_name", EscapeBytes(segs[i].name)}}});
      children.push_back(std::move(ch));
    }
    CUSTOS_ASSIGN_OR_RETURN(store::BlobInfo minfo, blobs_->Put(manifest));
    top.kind = "ewf_image";
    top.sha256 = minfo.digests.sha256;
    top.size = minfo.digests.size;
    top.media_type = "application/x-ewf";
    top.method = "copy of an EWF (E01) image set with stored-hash verification";
    details["method"] = top.method;
    details["kind"] = top.kind;
    details["image_format"] = "ewf";
    details["manifest"] = HexEncode(top.sha256);
    details["entries"] = segs.size() + 1;
    details["files"] = segs.size();
    details["bytes"] = stored_bytes;
    details["segments"] = std::move(seg_event);
    details["ewf_format"] = info.format;
    details["compression"] = info.compression;
    details["media"] = media_obj;
    details["stored_hashes"] = stored;
    details["media_hashes"] = computed;
    details["verified_hashes"] = matched;
    details["mismatched_hashes"] = mismatched;
    details["verification"] = verification;
    details["checksum_error_ranges"] = errors.size();
    if (!err_list.empty()) details["checksum_errors"] = err_list;
    details["header"] = header_event;
    details["libewf_version"] = acquire::LibewfVersion();
    if (!md5.empty()) details["md5"] = md5;
    if (!sha1.empty()) details["sha1"] = sha1;

    static const std::pair<const char*, const char*> kHeaderKeys[] = {
        {"case_number", "ewf.case_number"},
        {"evidence_number", "ewf.evidence_number"},
        {"examiner_name", "ewf.examiner"},
        {"description", "ewf.description"},
        {"notes", "ewf.notes"},
        {"acquiry_date", "ewf.acquisition_date"},
        {"system_date", "ewf.system_date"},
        {"acquiry_software", "ewf.acquisition_software"},
        {"acquiry_software_version", "ewf.acquisition_software_version"},
        {"acquiry_operating_system", "ewf.acquisition_os"},
        {"model", "ewf.model"},
        {"serial_number", "ewf.serial_number"}};
    for (const auto& [k, v] : info.header) {
      std::string key = absl::StrCat("ewf.header.", k);
      for (const auto& [from, to] : kHeaderKeys)
        if (k == from) key = to;
      top_props.emplace_back(key, Clip(v, 1024));
    }
    top_props.emplace_back("ewf.verification", verification == "mismatch"
                                                   ? "MISMATCH"
                                                   : verification);
    top_props.emplace_back("ewf.media_size", std::to_string(info.media_size));
    top_props.emplace_back("ewf.bytes_per_sector",
                           std::to_string(info.bytes_per_sector));
    top_props.emplace_back("ewf.compression", info.compression);
    top_props.emplace_back("ewf.format", info.format);
    top_props.emplace_back("ewf.segment_count", std::to_string(segs.size()));
    if (!md5.empty()) top_props.emplace_back("ewf.media_md5", md5);
    if (!sha1.empty()) top_props.emplace_back("ewf.media_sha1", sha1);
    top_props.emplace_back("ewf.media_sha256", sha256);
    std::string verified_list;
    for (const auto& v : matched)
      absl::StrAppend(&verified_list, verified_list.empty() ? "" : ",", v);
    if (!verified_list.empty())
      top_props.emplace_back("ewf.verified_hashes", verified_list);
    if (!info.stored_md5.empty())
      top_props.emplace_back("ewf.stored_md5", info.stored_md5);
    if (!info.stored_sha1.empty())
      top_props.emplace_back("ewf.stored_sha1", info.stored_sha1);
    if (!info.stored_sha256.empty())
      top_props.emplace_back("ewf.stored_sha256", info.stored_sha256);
    if (!errors.empty())
      top_props.emplace_back("ewf.checksum_errors",
                             std::to_string(errors.size()));
    top_props.emplace_back("image.format", "ewf");
    top_props.emplace_back("image.media_size", std::to_string(info.media_size));
    MediaHeadProperties(head, &top_props);
    res.image_format = "ewf";
    res.verification = verification;
    res.files = segs.size();
    res.bytes = stored_bytes;
    res.entries = segs.size() + 1;
  }
  details["media_type"] = top.media_type;
  top_props.emplace_back("file.mime", top.media_type);

  batch.events.push_back(
      AcquiredEvent(req, actor, top, children, key, std::move(details)));
  props.push_back({top.id, std::move(top_props)});
  res.item = std::move(top);
  return true;
}

// ---- OpenMedia ----

namespace {

// A temporary directory of symlinks, removed (links and directory) when
// destroyed.
class LinkDir {
 public:
  ~LinkDir() {
    for (const auto& l : links_) ::unlink(l.c_str());
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  absl::Status Create() {
    const char* t = ::getenv("TMPDIR");
    std::string tmpl =
        absl::StrCat((t && *t) ? t : "/tmp", "/custos-ewf-XXXXXX");
    if (::mkdtemp(tmpl.data()) == nullptr) {
      int err = errno;
      return ErrnoToStatus(err, "mkdtemp");
    }
    dir_ = tmpl;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Link(const std::string& name,
                                   const std::string& target) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." ||
        name == "..")
      return absl::DataLossError(
          absl::StrCat("bad segment name in manifest: ", EscapeBytes(name)));
    std::string p = absl::StrCat(dir_, "/", name);
    if (::symlink(target.c_str(), p.c_str()) != 0) {
      int err = errno;
      return ErrnoToStatus(err, p);
    }
    links_.push_back(p);
    return p;
  }

 private:
  std::string dir_;
  std::vector<std::string> links_;
};

class StoredEwfReader final : public acquire::MediaReader {
 public:
  StoredEwfReader(std::unique_ptr<LinkDir> links,
                  std::unique_ptr<acquire::EwfImage> img)
      : links_(std::move(links)), img_(std::move(img)) {}
  ~StoredEwfReader() override {
    img_.reset();  // closes the files before the links go
  }
  uint64_t size() const override { return img_->size(); }
  uint32_t sector_size() const override { return img_->sector_size(); }
  const char* format() const override { return "ewf"; }
  absl::StatusOr<size_t> Read(uint64_t offset, char* buf, size_t len) override {
    return img_->Read(offset, buf, len);
  }

 private:
  std::unique_ptr<LinkDir> links_;
  std::unique_ptr<acquire::EwfImage> img_;
};

// Absolute: the links live in another directory, so a repository given as a
// relative path (`--repo r`) must not become a link relative to that
// directory.
std::string BlobPath(const std::string& repo_dir, const std::string& hex) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(repo_dir, ec);
  return absl::StrCat(ec ? repo_dir : dir.string(), "/blobs/sha256/",
                      hex.substr(0, 2), "/", hex.substr(2, 2), "/", hex);
}

}  // namespace

absl::StatusOr<std::unique_ptr<acquire::MediaReader>> OpenMedia(
    Repository& repo, const ItemRecord& item) {
  if (item.kind == "raw_image" || item.kind == "file" ||
      item.kind == "block_device") {
    if (item.sha256.empty())
      return absl::FailedPreconditionError(absl::StrCat(
          "item ", item.id, " has no stored content (", item.error, ")"));
    CUSTOS_ASSIGN_OR_RETURN(auto f, repo.blobs().Open(item.sha256));
    return acquire::OpenRawMedia(std::move(f));
  }
  if (item.kind != "ewf_image")
    return absl::FailedPreconditionError(absl::StrCat(
        "item ", item.id, " is a ", item.kind,
        ", not a disk image (raw_image, ewf_image, file or block_device)"));
  CUSTOS_ASSIGN_OR_RETURN(std::string manifest,
                          repo.blobs().ReadVerified(item.sha256));
  auto links = std::make_unique<LinkDir>();
  CUSTOS_RETURN_IF_ERROR(links->Create());
  std::vector<std::string> paths;
  size_t pos = 0;
  while (pos < manifest.size()) {
    size_t nl = manifest.find('\n', pos);
    if (nl == std::string::npos) nl = manifest.size();
    json line = json::parse(manifest.substr(pos, nl - pos), nullptr, false);
    pos = nl + 1;
    if (line.is_discarded() || !line.is_object())
      return absl::DataLossError("malformed EWF manifest line");
    if (line.value("type", "") != "ewf_segment") continue;
    std::string hex = line.value("sha256", "");
    auto raw_name = Base64Decode(line.value("name_b64", ""));
    auto raw = HexDecode(hex);
    if (!raw_name || !raw || raw->size() != 32)
      return absl::DataLossError("malformed EWF manifest segment line");
    if (!repo.blobs().Contains(*raw))
      return absl::NotFoundError(
          absl::StrCat("segment blob ", hex, " is missing from the vault"));
    CUSTOS_ASSIGN_OR_RETURN(std::string p,
                            links->Link(*raw_name, BlobPath(repo.dir(), hex)));
    paths.push_back(p);
  }
  if (paths.empty())
    return absl::DataLossError("EWF manifest lists no segments");
  CUSTOS_ASSIGN_OR_RETURN(auto img, acquire::EwfImage::Open(paths));
  return std::unique_ptr<acquire::MediaReader>(
      new StoredEwfReader(std::move(links), std::move(img)));
}

}  // namespace custos::repo
