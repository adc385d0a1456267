// File: ewf_image.h
//
// EWF (E01) images through libewf: finding every segment file of a set
// from the first one, checking the set is complete (ewf_segments.h), the
// image's header metadata and stored hashes, and reading the media stream.
// Item representation and the verification policy: docs/formats/images.md.
//
// Debian's libewf 20140813 opens images by file name only; to read an
// image already in the vault, OpenMedia (media_reader.h) makes a private
// directory of symlinks with the original segment names.
//
// Thread-safety: an EwfImage is used by one thread at a time.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(auto segs, FindEwfSegments("/ev/disk.E01"));
//   CUSTOS_ASSIGN_OR_RETURN(auto img, EwfImage::Open(SegmentPaths(segs)));
//   EwfInfo info = img->info();   // info.stored_md5, info.header ...
#ifndef CUSTOS_SRC_ACQUIRE_EWF_IMAGE_H_
#define CUSTOS_SRC_ACQUIRE_EWF_IMAGE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "src/acquire/media_reader.h"
#include "src/crypto/hash.h"

namespace custos::acquire {

struct EwfSegmentFile {
  std::string path;  // as found (the first one as given)
  std::string name;  // base name, e.g. "disk.E02"
  uint64_t size = 0;
  uint16_t number = 0;  // 1-based, from the segment file header
};

// True if `head` starts with an EWF signature (E01, Ex01, L01, Lx01).
bool LooksLikeEwf(std::string_view head);

// All segment files of the set whose first segment is `first` (libewf_glob:
// E01..E99, EAA.., e01, s01, Ex01), in order, checked to be complete:
// kNotFound naming a missing segment; kDataLoss for a truncated or damaged
// segment (which one, at what offset); kInvalidArgument for a logical
// evidence file (L01) or a file that is not EWF. EWF2 (Ex01) sets are not
// walked by custos (only libewf checks them).
absl::StatusOr<std::vector<EwfSegmentFile>> FindEwfSegments(
    const std::string& first);
std::vector<std::string> SegmentPaths(const std::vector<EwfSegmentFile>& s);

struct EwfChecksumError {
  uint64_t first_sector = 0, sectors = 0;
};

struct EwfInfo {
  uint64_t media_size = 0;
  uint32_t bytes_per_sector = 0;
  uint64_t sectors = 0;
  uint32_t chunk_size = 0;
  std::string format;       // "encase6", "ewfx", "smart", ...
  std::string compression;  // "none", "fast", "best", "empty-block"
  std::string media_type;   // "fixed", "removable", "optical", "memory"
  bool physical = true;
  // Header values libewf reports, in its order, with keys as libewf names
  // them: case_number, description, examiner_name, evidence_number, notes,
  // acquiry_date, system_date, acquiry_operating_system,
  // acquiry_software_version, model, serial_number, ... Dates are ISO 8601
  // as libewf renders them (local time of the imager, no zone).
  std::vector<std::pair<std::string, std::string>> header;
  // Hash values stored in the image, lowercase hex; "" if absent.
  std::string stored_md5, stored_sha1, stored_sha256;
};

class EwfImage final : public MediaReader {
 public:
  // Opens the set (all segment paths). kDataLoss with libewf's message if
  // it cannot be opened.
  static absl::StatusOr<std::unique_ptr<EwfImage>> Open(
      const std::vector<std::string>& segment_paths);
  ~EwfImage() override;

  uint64_t size() const override { return info_.media_size; }
  uint32_t sector_size() const override { return info_.bytes_per_sector; }
  const char* format() const override { return "ewf"; }
  // Random access. A chunk whose checksum does not match is kDataLoss.
  absl::StatusOr<size_t> Read(uint64_t offset, char* buf, size_t len) override;

  // Sequential read from the current position (libewf_handle_read_buffer)
  // for whole-image passes. Damaged chunks are NOT an error here: libewf
  // returns their bytes as it can and records them, see ChecksumErrors().
  // Returns 0 at the end of the media; kDataLoss on a read failure.
  absl::StatusOr<size_t> ReadNext(char* buf, size_t len);
  // Sector ranges whose chunks failed their checksum so far.
  absl::StatusOr<std::vector<EwfChecksumError>> ChecksumErrors();

  const EwfInfo& info() const { return info_; }

 private:
  EwfImage() = default;
  struct Handle;
  std::unique_ptr<Handle> h_;
  EwfInfo info_;
  uint32_t errors_seen_ = 0;  // checksum errors already reported by Read
};

// ---- The whole-media pass of an acquisition ----

// The digests computed over the media stream: SHA-256 always (custos's
// identity of the media), MD5 and SHA-1 only when the image stores them
// (to verify them) or `asked` (crypto::DigestSet: --md5, --sha1) requests
// them. MD5 is the slowest digest (~0.7 GB/s), so an image without a
// stored MD5 is not made to pay for it.
unsigned MediaDigestsFor(const EwfInfo& info, unsigned asked);

struct EwfMediaPass {
  crypto::Digests digests;  // md5 / sha1 empty where not computed
  std::string head;         // the first `head_bytes` of the media
  std::vector<EwfChecksumError> checksum_errors;
};

struct EwfMediaPassOptions {
  unsigned digests = crypto::kSha256;  // crypto::DigestSet
  size_t head_bytes = 0;
  // Called from the calling thread with the media bytes read so far, about
  // every 16 MiB.
  std::function<void(uint64_t)> progress;
};

// Reads the media stream once from the start to its end with
// libewf_handle_read_buffer and hashes it. Decompression runs on the
// calling thread, which fills a ring of 4 MiB buffers; a hashing thread
// consumes them (SHA-256 and SHA-1 there, MD5 on the MultiHasher's helper
// thread), so decompression, SHA-256 and MD5 each have a thread and wait
// for each other only when the ring is full or empty. Damaged chunks are
// not an error (see ReadNext); a read failure is kDataLoss naming the
// media offset.
absl::StatusOr<EwfMediaPass> ReadAndHashMedia(EwfImage& img,
                                              const EwfMediaPassOptions& o);

// The stored hashes compared with the computed ones: names "md5", "sha1",
// "sha256" of the hashes stored in the image that equal (verified) or
// differ from (mismatched) the media's. A stored hash that was not
// computed (not possible with MediaDigestsFor) counts as mismatched.
struct EwfHashCheck {
  std::vector<std::string> verified, mismatched;
};
EwfHashCheck CheckStoredHashes(const EwfInfo& info, const crypto::Digests& d);

// "20140813": the libewf version linked.
std::string LibewfVersion();

}  // namespace custos::acquire

#endif  // CUSTOS_SRC_ACQUIRE_EWF_IMAGE_H_
