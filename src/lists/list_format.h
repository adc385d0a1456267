// File: list_format.h
//
// Image hash lists: the entry model and the parsers/writers of the list file
// formats custos imports and exports (docs/formats/hash-lists.md): the
// python-threatexchange dataset CSV and state file, plain one-hash-per-line
// lists, and custos's own full-fidelity CSV. Parsers stream: one line in
// memory at a time, each entry handed to a callback.
//
// Thread-safety: stateless functions; safe from any thread.
//
// Example:
//   std::ifstream in(path);
//   CUSTOS_ASSIGN_OR_RETURN(auto stats, ParseList(in, {ListFormat::kTeState},
//       [&](const ListEntry& e) { return store.Add(e); }));
#ifndef CUSTOS_SRC_LISTS_LIST_FORMAT_H_
#define CUSTOS_SRC_LISTS_LIST_FORMAT_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace custos::lists {

enum class HashKind { kPdq, kSha256, kMd5, kSha1 };
const char* HashKindName(HashKind k);  // "pdq", "sha256", "md5", "sha1"
std::optional<HashKind> ParseHashKind(std::string_view name);
size_t HashKindBytes(HashKind k);  // 32, 32, 16, 20

struct ListEntry {
  HashKind kind = HashKind::kPdq;
  std::string hash;  // raw bytes (PDQ: the 32 bytes of its hex form)
  int quality = -1;  // PDQ quality 0..100 if known
  std::string category, source;
  int confidence = -1;  // 0..100, -1 unknown
  std::string added;    // date added as given ("" = unknown)
};

enum class ListFormat { kTeDataset, kTeState, kPlain, kCustos };
const char* ListFormatName(
    ListFormat f);  // te-dataset, te-state, plain, custos
absl::StatusOr<ListFormat> ParseListFormat(std::string_view name);

struct ParseOptions {
  ListFormat format = ListFormat::kCustos;
  // For plain lists: the kind of 64-hex-digit lines (pdq or sha256).
  std::optional<HashKind> plain_kind;
};

struct ParseStats {
  uint64_t lines = 0;    // lines read, header and comments included
  uint64_t entries = 0;  // entries handed to the callback
  uint64_t skipped = 0;  // well-formed lines of signal types custos ignores
};

// Reads `in` to the end. A malformed line stops the parse with
// kInvalidArgument "line N: reason"; an error from `fn` is returned as is.
absl::StatusOr<ParseStats> ParseList(
    std::istream& in, const ParseOptions& options,
    const std::function<absl::Status(const ListEntry&)>& fn);

// Splits one RFC 4180 CSV record (no embedded newlines).
absl::StatusOr<std::vector<std::string>> SplitCsvLine(std::string_view line);

// The custos CSV: header line, then one line per entry (each ends in "\n").
std::string CustosCsvHeader();
std::string CustosCsvLine(const ListEntry& e);

}  // namespace custos::lists

#endif  // CUSTOS_SRC_LISTS_LIST_FORMAT_H_
