// File: ewf_segments.h
//
// Structural check of EWF (E01) segment files, done by custos itself
// before libewf reads the set. libewf 20140813 opens an incomplete set
// (a middle segment missing or cut short) without complaint and returns
// zeros for the media it cannot reach; this check turns that into a clear
// error naming the segment. It parses only the EWF1 segment-file header
// and walks the chain of section descriptors (EWF specification by Joachim
// Metz, "Expert Witness Compression Format", sections 2 and 3): every
// segment must be numbered in order, its sections must chain forward within
// the file, every descriptor checksum (Adler-32) must match, and the chain
// must end with a "next" section (more segments follow) or a "done" section
// (last segment). Chunk data itself is checked by libewf while reading.
//
// Thread-safety: pure functions.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(SegmentChain c, ScanEwfSegment(bytes));
//   if (c.last_section == "next") { /* another segment must follow */ }
#ifndef CUSTOS_SRC_ACQUIRE_EWF_SEGMENTS_H_
#define CUSTOS_SRC_ACQUIRE_EWF_SEGMENTS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace custos::acquire {

enum class EwfSignature {
  kNone,     // not an EWF file
  kEwf1,     // "EVF\t\r\n\xff\0": E01/e01/s01 media segment (EWF1)
  kLogical,  // "LVF\t\r\n\xff\0": L01 logical evidence file
  kEwf2,     // "EVF2\r\n\x81\0": Ex01 (EWF2)
  kLogical2  // "LEF2\r\n\x81\0": Lx01
};
// Classifies the first bytes of a file (at least 8 are needed).
EwfSignature EwfSignatureOf(std::string_view head);

struct SegmentChain {
  uint16_t number = 0;       // segment number from the file header (1-based)
  uint32_t sections = 0;     // section descriptors walked
  std::string last_section;  // "next" or "done"
  // Offset just past the final section descriptor; bytes after it (if any)
  // are not part of the chain and are ignored.
  uint64_t end = 0;
};

// Reads `n` bytes at `offset` of the segment file; returns fewer only at
// the end of the file.
using ReadAt =
    std::function<absl::StatusOr<std::string>(uint64_t offset, size_t n)>;

// Walks the section chain of one EWF1 segment file of `size` bytes.
// kDataLoss, with the offset and what is wrong, for a truncated or damaged
// file; kInvalidArgument if it is not an EWF1 media segment.
absl::StatusOr<SegmentChain> ScanEwfSegment(const ReadAt& read, uint64_t size);
// The same over bytes in memory (used by the fuzz target and tests).
absl::StatusOr<SegmentChain> ScanEwfSegment(std::string_view file);

// The file-name extension of the segment after `ext` in the EWF naming
// scheme: E01..E99, EAA..EZZ, FAA..ZZZ (the case of `ext` is kept; s01 and
// e01 work alike). "" after ZZZ or if `ext` is not a segment extension.
std::string NextEwfExtension(std::string_view ext);

}  // namespace custos::acquire

#endif  // CUSTOS_SRC_ACQUIRE_EWF_SEGMENTS_H_
