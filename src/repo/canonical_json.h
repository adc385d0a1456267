// File: canonical_json.h
//
// The canonical JSON of docs/formats/event.md (a subset of RFC 8785):
// sorted keys, no whitespace, minimal escaping, non-negative integers below
// 2^53, no null or floats. Used for custody events and manifest lines.
//
// Thread-safety: pure functions.
//
// Example:
//   nlohmann::json j = {{"b", 1}, {"a", "x"}};
//   std::string text = *CanonicalJson(j);   // {"a":"x","b":1}
//   auto back = ParseCanonicalJson(text);   // ok; non-canonical text fails
#ifndef CUSTOS_SRC_REPO_CANONICAL_JSON_H_
#define CUSTOS_SRC_REPO_CANONICAL_JSON_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace custos::repo {

inline constexpr uint64_t kMaxCanonicalInt = (uint64_t{1} << 53) - 1;

// kInvalidArgument if `j` holds null, a float, a negative or too large
// integer, or a string that is not valid UTF-8.
absl::StatusOr<std::string> CanonicalJson(const nlohmann::json& j);

// Appends `s` as a canonical JSON string (quotes, `\"`, `\\`, the short
// escapes, `\u00xx` for other control bytes, every other byte as is). The
// caller checks that `s` is UTF-8.
void AppendCanonicalJsonString(std::string& out, std::string_view s);

// Parses `text` and requires that it is exactly canonical (re-encodes to the
// same bytes). kInvalidArgument naming the problem otherwise.
absl::StatusOr<nlohmann::json> ParseCanonicalJson(std::string_view text);

}  // namespace custos::repo

#endif  // CUSTOS_SRC_REPO_CANONICAL_JSON_H_
