// Fuzzes the XML naming rule of DFXML export (docs/formats/exports.md
// "Names") with arbitrary file-name bytes, which come from evidence and are
// untrusted. Properties: the text is always valid XML 1.0 character data
// with no raw markup characters, and either it is the exact name or
// raw_b64 gives the exact bytes back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "src/base/bytes.h"
#include "src/export/util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string raw(reinterpret_cast<const char*>(data), size);
  custos::export_::XmlName n = custos::export_::XmlNameOf(raw);
  if (!custos::export_::IsXmlText(n.text)) std::abort();
  for (char c : n.text)
    if (c == '<' || c == '>' || c == '"' || c == '\t' || c == '\n' || c == '\r')
      std::abort();
  if (n.raw_b64.empty()) {
    if (!custos::export_::IsXmlText(raw)) std::abort();
    if (n.text != custos::export_::XmlEscape(raw)) std::abort();
  } else {
    auto back = custos::Base64Decode(n.raw_b64);
    if (!back || *back != raw) std::abort();
  }
  (void)custos::export_::BaseName(raw);
  return 0;
}
