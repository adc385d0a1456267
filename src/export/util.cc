#include "src/export/util.h"

#include <cstdint>

#include "src/base/bytes.h"
#include "src/crypto/hash.h"

namespace custos::export_ {

std::string Uuid5Url(std::string_view name) {
  static constexpr uint8_t kUrlNamespace[16] = {
      0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
      0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  crypto::MultiHasher h(crypto::kSha1, /*parallel=*/false);
  h.Update(std::string_view(reinterpret_cast<const char*>(kUrlNamespace),
                            sizeof kUrlNamespace));
  h.Update(name);
  std::string d = h.Finish().sha1;
  d.resize(16);
  d[6] = static_cast<char>((static_cast<uint8_t>(d[6]) & 0x0f) | 0x50);
  d[8] = static_cast<char>((static_cast<uint8_t>(d[8]) & 0x3f) | 0x80);
  std::string hex = HexEncode(d);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) +
         "-" + hex.substr(16, 4) + "-" + hex.substr(20);
}

bool IsXmlText(std::string_view s) {
  if (!IsValidUtf8(s)) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return false;
    // U+FFFE and U+FFFF are EF BF BE / EF BF BF in UTF-8. (Surrogates are
    // already rejected by IsValidUtf8.)
    if (c == 0xef && i + 2 < s.size() &&
        static_cast<uint8_t>(s[i + 1]) == 0xbf &&
        (static_cast<uint8_t>(s[i + 2]) == 0xbe ||
         static_cast<uint8_t>(s[i + 2]) == 0xbf))
      return false;
  }
  return true;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\t':
        out += "&#9;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

XmlName XmlNameOf(std::string_view raw) {
  if (IsXmlText(raw)) return {XmlEscape(raw), ""};
  // EscapeBytes output is printable ASCII plus valid UTF-8 kept as is; the
  // kept UTF-8 may still hold U+FFFE/U+FFFF, which are escaped once more.
  std::string shown = EscapeBytes(raw);
  for (const char* nc : {"\xef\xbf\xbe", "\xef\xbf\xbf"}) {
    std::string bad(nc), shown_nc = "\\xef\\xbf\\x" + HexEncode(bad.substr(2));
    for (size_t at; (at = shown.find(bad)) != std::string::npos;)
      shown.replace(at, bad.size(), shown_nc);
  }
  return {XmlEscape(shown), Base64Encode(raw)};
}

std::string_view BaseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || path.size() == 1) return path;
  return path.substr(slash + 1);
}

}  // namespace custos::export_
