// libFuzzer target for custos's own EWF segment-file parser,
// ScanEwfSegment (src/acquire/ewf_segments.h), which reads untrusted E01
// segment files before libewf does. Properties checked beyond "no crash":
//   * a segment that scans ends with a "next" or "done" section and has a
//     segment number of at least 1;
//   * a scan is deterministic (the same bytes give the same result);
//   * every prefix of an accepted segment that ends before its final
//     section descriptor is refused (a truncated segment is never taken for
//     a complete one) - checked for a few cuts;
//   * NextEwfExtension of the input's first three bytes never loops back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "src/acquire/ewf_segments.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto a = custos::acquire::ScanEwfSegment(in);
  auto b = custos::acquire::ScanEwfSegment(in);
  if (a.ok() != b.ok()) std::abort();
  if (a.ok()) {
    if (a->number == 0) std::abort();
    if (a->last_section != "next" && a->last_section != "done") std::abort();
    if (a->number != b->number || a->sections != b->sections) std::abort();
    if (a->end > size || a->end < 13 + 76) std::abort();
    for (uint64_t cut : {uint64_t{0}, a->end / 2, a->end - 1})
      if (custos::acquire::ScanEwfSegment(in.substr(0, cut)).ok()) std::abort();
  }
  if (size >= 3) {
    std::string e(in.substr(0, 3));
    std::string n = custos::acquire::NextEwfExtension(e);
    if (!n.empty() && n == e) std::abort();
  }
  custos::acquire::EwfSignatureOf(in);
  return 0;
}
