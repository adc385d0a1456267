// Fuzzes the image hash-list parsers (src/lists/list_format.h;
// docs/formats/hash-lists.md): ThreatExchange dataset CSV and state file,
// plain lists and custos CSV, all untrusted files. The first byte picks the
// format. Whatever parses must be re-exported as custos CSV and parse back
// to the same entries.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "src/lists/list_format.h"

using custos::lists::ListEntry;
using custos::lists::ListFormat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr ListFormat kFormats[] = {
      ListFormat::kTeDataset, ListFormat::kTeState, ListFormat::kPlain,
      ListFormat::kCustos};
  custos::lists::ParseOptions o;
  o.format = kFormats[data[0] % 4];
  if (data[0] & 4) o.plain_kind = custos::lists::HashKind::kPdq;
  std::istringstream in(
      std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  std::vector<ListEntry> got;
  auto st = custos::lists::ParseList(in, o, [&](const ListEntry& e) {
    got.push_back(e);
    return absl::OkStatus();
  });
  if (!st.ok()) return 0;
  std::string csv = custos::lists::CustosCsvHeader();
  for (const auto& e : got) {
    if (e.category.find_first_of("\r\n") != std::string::npos ||
        e.source.find_first_of("\r\n") != std::string::npos ||
        e.added.find_first_of("\r\n") != std::string::npos)
      return 0;  // single-line records only: cannot come from a line parser
    csv += custos::lists::CustosCsvLine(e);
  }
  std::istringstream again(csv);
  std::vector<ListEntry> back;
  auto st2 = custos::lists::ParseList(again, {ListFormat::kCustos, {}},
                                      [&](const ListEntry& e) {
                                        back.push_back(e);
                                        return absl::OkStatus();
                                      });
  if (!st2.ok() || back.size() != got.size()) std::abort();
  for (size_t i = 0; i < got.size(); ++i) {
    const ListEntry &a = got[i], &b = back[i];
    if (a.kind != b.kind || a.hash != b.hash || a.quality != b.quality ||
        a.category != b.category || a.source != b.source ||
        a.confidence != b.confidence || a.added != b.added)
      std::abort();
  }
  return 0;
}
