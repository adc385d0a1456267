// Fuzzes the custody-event codec (docs/formats/event.md): canonical JSON
// parsing and event decoding of untrusted leaf bytes (receipts' extra lines,
// --event-bytes files, database rows). Whatever decodes must re-encode to
// the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "src/repo/canonical_json.h"
#include "src/repo/event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto j = custos::repo::ParseCanonicalJson(input);
  if (j.ok()) {
    auto again = custos::repo::CanonicalJson(*j);
    if (!again.ok() || *again != input) std::abort();
  }
  auto e = custos::repo::DecodeEvent(input);
  if (e.ok()) {
    auto bytes = custos::repo::EncodeEvent(*e);
    if (!bytes.ok() || *bytes != input) std::abort();
    (void)custos::repo::SigningMessage(*e);
  }
  return 0;
}
