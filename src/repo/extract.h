// File: extract.h
//
// Request and result of Repository::Extract(): `custos extract ITEM` walks
// the volume system and file systems of an acquired disk image with libtsk
// (src/extract/fs_walk.h), stores every regular file's content in the vault
// (deduplicated), creates one derived item per file (allocated, deleted or
// orphan; parent = the image item) and records the run as ONE signed
// `extracted` custody event committing to a manifest blob. Format:
// docs/formats/extraction.md.
//
// Memory does not grow with the number of files: manifest lines are spilled
// to a blob writer during the walk, content is streamed in 1 MiB chunks
// (only the first 64 KiB are kept, for file-type identification on helper
// threads, a bounded window of files at a time), and the derived item rows,
// their properties and event_items rows are spilled to a temporary file and
// streamed back inside the commit.
//
// Thread-safety: like every Repository call, one thread per Repository.
//
// Example:
//   ExtractRequest req;
//   req.item = "EXH-001";
//   req.actor = "A. de Vries";
//   CUSTOS_ASSIGN_OR_RETURN(ExtractResult r, repo->Extract(req));
//   if (r.partial) ...;  // some volume could not be read: say so loudly
#ifndef CUSTOS_SRC_REPO_EXTRACT_H_
#define CUSTOS_SRC_REPO_EXTRACT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/crypto/hash.h"
#include "src/extract/fs_walk.h"
#include "src/repo/meta_store.h"

namespace custos::repo {

struct ExtractProgress {
  uint64_t entries = 0;     // file-system entries seen
  uint64_t bytes = 0;       // content bytes read
  uint64_t media_size = 0;  // size of the image's media stream
};

struct ExtractRequest {
  std::string item;     // id, id prefix or exhibit of the image item
  std::string actor;    // id or name; required
  std::string case_id;  // optional; must be the item's case when given
  int partition = 0;    // 0 = all volumes; N = only p<N>
  bool content = true;  // false: hash but do not store content
  bool include_deleted = true;
  // File type by content (libmagic MIME type, EXIF properties) of every
  // file read completely; `describe` adds file.description (a second
  // libmagic call per file).
  bool identify = true;
  bool describe = false;
  unsigned digests = crypto::kSha256 | crypto::kMd5 | crypto::kSha1;
  std::string note, place, purpose;
  std::function<void(const ExtractProgress&)> progress;
};

struct ExtractResult {
  ItemRecord source;
  uint64_t event_seq = 0;
  std::string manifest_hex;
  std::string libtsk_version;
  std::string volume_system;
  std::vector<extract::VolumeInfo> volumes;
  uint64_t entries = 0, files = 0, directories = 0;
  uint64_t allocated = 0, deleted = 0, orphan = 0;
  uint64_t bytes = 0, stored_bytes = 0, new_blobs = 0, deduplicated = 0;
  uint64_t unreadable = 0;
  uint64_t identified = 0;          // files given a media type
  std::vector<std::string> errors;  // first 100, escaped
  bool partial = false;
  // Known-file hash-set check of the image's files after the commit
  // (Repository::CheckKnownFiles): hits, or why the check failed.
  uint64_t known_bad = 0, known_good = 0;
  std::string known_files_error;
};

// The run's counts, errors and partial flag as JSON: the part of the
// signed `extracted` event's details that `custos extract --json` also
// reports (docs/formats/extraction.md).
nlohmann::json ExtractCountsJson(const ExtractResult& res);

}  // namespace custos::repo

#endif  // CUSTOS_SRC_REPO_EXTRACT_H_
