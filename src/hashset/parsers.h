// File: parsers.h
//
// Streaming readers of known-file hash-set sources (docs/formats/hashset.md
// "Source formats"): NSRL RDSv3 SQLite, NSRL RDS 2.x NSRLFile.txt, hashdeep
// known-file lists, Project VIC VICS JSON (v1.3 and v2.0) and plain hash
// lists. Each hands every digest to an EntrySink as it reads; none holds
// the whole source in memory. Malformed input fails the whole parse with
// kInvalidArgument naming the file and the line (row, byte offset); a
// corrupt SQLite database is kDataLoss.
//
// Thread-safety: the functions are re-entrant; a ByteSource is used by one
// thread.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(auto src, FileSource::Open("NSRLFile.txt"));
//   ParseStats stats;
//   CUSTOS_RETURN_IF_ERROR(ParseRds2(*src, "NSRLFile.txt", sink, &stats));
#ifndef CUSTOS_SRC_HASHSET_PARSERS_H_
#define CUSTOS_SRC_HASHSET_PARSERS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/hashset/hashset.h"

namespace custos::hashset {

enum class Format { kAuto, kNsrlRds3, kRds2, kHashdeep, kVics, kPlain };
std::string_view FormatName(Format f);  // "nsrl-rds3", "rds2", ...
std::optional<Format> ParseFormat(std::string_view name);

// Bytes read sequentially.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes; 0 at the end.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
};

class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override;

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// A file read with read(2); an optional observer sees every byte (for
// hashing the source as it is imported) and the running byte count.
class FileSource final : public ByteSource {
 public:
  static absl::StatusOr<std::unique_ptr<FileSource>> Open(
      const std::string& path);
  ~FileSource() override;
  absl::StatusOr<size_t> Read(char* buf, size_t n) override;
  void set_observer(std::function<void(std::string_view)> fn) {
    observer_ = std::move(fn);
  }
  uint64_t size() const { return size_; }

 private:
  FileSource(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  std::string path_;
  int fd_;
  uint64_t size_;
  std::function<void(std::string_view)> observer_;
};

struct ParseStats {
  uint64_t records = 0;  // lines, rows or media objects read
  uint64_t entries = 0;  // digests given to the sink
  uint64_t skipped = 0;  // records without any usable digest
  std::string version;   // RDSv3 VERSION table, when present
};

// `name` is the file name used in error messages.
absl::Status ParsePlain(ByteSource& in, std::string_view name, EntrySink& sink,
                        ParseStats* stats);
absl::Status ParseHashdeep(ByteSource& in, std::string_view name,
                           EntrySink& sink, ParseStats* stats);
absl::Status ParseRds2(ByteSource& in, std::string_view name, EntrySink& sink,
                       ParseStats* stats);
absl::Status ParseVics(ByteSource& in, std::string_view name, EntrySink& sink,
                       ParseStats* stats);
// Opens `path` read-only with SQLite and streams the hash columns.
// `progress(rows)` is called every 1M rows (may be empty).
absl::Status ImportRds3(const std::string& path, EntrySink& sink,
                        ParseStats* stats,
                        const std::function<void(uint64_t)>& progress = {});

// Sniffs a file's format (docs/formats/hashset.md, `auto`).
absl::StatusOr<Format> DetectFormat(const std::string& path);

// Parses `path` in `format` (kAuto: detected). For the text formats the
// observer of the FileSource (if given) sees every byte.
absl::Status ParseFile(
    const std::string& path, Format format, EntrySink& sink, ParseStats* stats,
    const std::function<void(std::string_view)>& observer = {},
    const std::function<void(uint64_t)>& progress = {});

// Decodes a hex digest (either case) of 32, 40 or 64 digits. False if not.
bool DecodeHexDigest(std::string_view hex, std::string* raw);

}  // namespace custos::hashset

#endif  // CUSTOS_SRC_HASHSET_PARSERS_H_
