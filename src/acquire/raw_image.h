// File: raw_image.h
//
// Raw (dd) images and split raw images: IMAGE.001, IMAGE.002, ... (or
// .000, .001, ...) are the pieces of one media stream, in numeric order.
// Acquisition stores the concatenated stream as one blob, so the item's
// SHA-256 is what an examiner computes with `cat IMAGE.* | sha256sum`
// (docs/formats/images.md).
//
// Thread-safety: functions are pure; a MediaReader from OpenRawMedia is
// used by one thread at a time.
//
// Example:
//   if (IsSplitRawName(path)) {
//     CUSTOS_ASSIGN_OR_RETURN(auto segs, FindSplitRawSegments(path));
//   }
#ifndef CUSTOS_SRC_ACQUIRE_RAW_IMAGE_H_
#define CUSTOS_SRC_ACQUIRE_RAW_IMAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/acquire/media_reader.h"

namespace custos::acquire {

struct RawSegmentFile {
  std::string path;
  std::string name;  // base name
  uint64_t size = 0;
};

// True if the file name ends in "." and three or more digits whose value is
// 0 or 1 ("disk.001", "disk.000"): the first piece of a split raw image.
bool IsSplitRawName(const std::string& path);

// The pieces of the split raw image whose first piece is `first`, numbered
// consecutively with the same digit count. kNotFound if a piece is missing
// while later ones exist ("disk.003 is missing; disk.004 exists"), or if
// `first` does not exist; kInvalidArgument if a piece is not a regular file.
absl::StatusOr<std::vector<RawSegmentFile>> FindSplitRawSegments(
    const std::string& first);

}  // namespace custos::acquire

#endif  // CUSTOS_SRC_ACQUIRE_RAW_IMAGE_H_
