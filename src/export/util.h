// File: util.h
//
// Small helpers shared by the exporters (docs/formats/exports.md): name-based
// UUIDs (RFC 4122 version 5) for stable CASE/UCO identifiers, and the XML
// text rule for byte strings that may not be valid XML characters.
//
// Thread-safety: pure functions.
//
// Example:
//   std::string id = Uuid5Url("custos:example.org/nl-om:action:12");
//   XmlName n = XmlNameOf(raw_path);  // n.text (escaped), n.raw_b64 ("" if
//                                     // the text is exact)
#ifndef CUSTOS_SRC_EXPORT_UTIL_H_
#define CUSTOS_SRC_EXPORT_UTIL_H_

#include <string>
#include <string_view>

namespace custos::export_ {

// The version-5 UUID of `name` in the RFC 4122 URL namespace
// (6ba7b811-9dad-11d1-80b4-00c04fd430c8), lowercase.
std::string Uuid5Url(std::string_view name);

// True if `s` is valid UTF-8 and every character is allowed by XML 1.0's
// Char production (#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
// [#x10000-#x10FFFF]).
bool IsXmlText(std::string_view s);

// `s` escaped for XML character data and attribute values: & < > " and
// tab, LF, CR as character references. `s` must satisfy IsXmlText.
std::string XmlEscape(std::string_view s);

struct XmlName {
  std::string text;     // escaped, ready to write
  std::string raw_b64;  // "" when `text` is exact, else base64 of the bytes
};
// The naming rule of docs/formats/exports.md "Names".
XmlName XmlNameOf(std::string_view raw);

// Last '/'-separated component of a path (the path itself if it has none).
std::string_view BaseName(std::string_view path);

}  // namespace custos::export_

#endif  // CUSTOS_SRC_EXPORT_UTIL_H_
