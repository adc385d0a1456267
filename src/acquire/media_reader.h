// File: media_reader.h
//
// Random-access reading of the *media stream* of a disk image: the bytes
// of the imaged device, whatever container holds them. Raw/dd and split raw
// images are stored in the vault as one blob holding the media stream, so a
// reader over them is a plain blob reader; an E01 (EWF) set is stored as its
// original segment files, and its reader decompresses through libewf.
// Image item representation: docs/formats/images.md.
//
// Code that analyses an image (file-system extraction with libtsk, audit,
// carving) reads it only through this interface, so it never needs to know
// which container the examiner brought.
//
// Thread-safety: a MediaReader is used by one thread at a time (libewf
// handles keep a chunk cache). Open one reader per thread for parallel work.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(auto item, repo.meta().FindItem("EXH-001"));
//   CUSTOS_ASSIGN_OR_RETURN(auto media, repo::OpenMedia(repo, *item));
//   std::string sector(media->sector_size(), '\0');
//   CUSTOS_ASSIGN_OR_RETURN(size_t n, media->Read(0, sector.data(),
//                                                 sector.size()));
#ifndef CUSTOS_SRC_ACQUIRE_MEDIA_READER_H_
#define CUSTOS_SRC_ACQUIRE_MEDIA_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/base/file_system.h"

namespace custos::acquire {

class MediaReader {
 public:
  virtual ~MediaReader() = default;
  // Size of the media stream in bytes.
  virtual uint64_t size() const = 0;
  // Bytes per sector as recorded by the image (512 for raw images).
  virtual uint32_t sector_size() const = 0;
  // "raw" (raw/dd, split raw, plain files and devices) or "ewf".
  virtual const char* format() const = 0;
  // Reads up to `len` bytes at `offset` into `buf`. Returns the number of
  // bytes read: less than `len` only when the media ends before offset+len
  // (0 at or past the end). A damaged image (corrupt or missing chunk) is
  // kDataLoss naming the offset; never silently zero-filled.
  virtual absl::StatusOr<size_t> Read(uint64_t offset, char* buf,
                                      size_t len) = 0;
};

// A reader over a random-access file holding the media stream (a raw image
// blob). Takes ownership of `file`.
absl::StatusOr<std::unique_ptr<MediaReader>> OpenRawMedia(
    std::unique_ptr<RandomAccessFile> file);

// A reader over an EWF (E01/Ex01) segment set given by the paths of all its
// segment files, in any order (libewf orders them). kDataLoss if libewf
// cannot open the set (missing or damaged segment).
absl::StatusOr<std::unique_ptr<MediaReader>> OpenEwfMedia(
    const std::vector<std::string>& segment_paths);

}  // namespace custos::acquire

namespace custos::repo {

class Repository;
struct ItemRecord;

// Opens the media stream of an acquired item. Implemented in the repo
// library (src/repo/image_acquire.cc). Supported kinds:
//   raw_image, file, block_device  -> the item's content blob;
//   ewf_image                      -> the stored segment blobs through libewf
//                                     (opened from a private temporary
//                                     directory of symlinks carrying the
//                                     original segment names, removed when the
//                                     reader is destroyed).
// kFailedPrecondition for other kinds (directories, ...); kNotFound if a
// blob is missing; kDataLoss if the stored image cannot be opened.
// The reader must not outlive `repo`.
absl::StatusOr<std::unique_ptr<acquire::MediaReader>> OpenMedia(
    Repository& repo, const ItemRecord& item);

}  // namespace custos::repo

#endif  // CUSTOS_SRC_ACQUIRE_MEDIA_READER_H_
