// libFuzzer target for the hashdeep known-file lists parser, ParseHashdeep
// (src/hashset/parsers.h). Properties checked beyond "no crash": every
// digest handed to the sink has its algorithm's length; the sink sees
// exactly the number of entries the parser reports; a refusal is
// kInvalidArgument naming the file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "src/hashset/parsers.h"

namespace {

using custos::hashset::Algorithm;

class CheckingSink final : public custos::hashset::EntrySink {
 public:
  absl::Status Add(Algorithm algo, std::string_view digest,
                   std::string_view tag) override {
    if (digest.size() != custos::hashset::DigestLength(algo)) std::abort();
    if (tag.size() > 4096) std::abort();
    ++count;
    return absl::OkStatus();
  }
  uint64_t count = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  custos::hashset::StringSource src(in);
  CheckingSink sink;
  custos::hashset::ParseStats stats;
  absl::Status st =
      custos::hashset::ParseHashdeep(src, "fuzz.in", sink, &stats);
  if (st.ok() && sink.count != stats.entries) std::abort();
  if (!st.ok()) {
    if (st.code() != absl::StatusCode::kInvalidArgument) std::abort();
    if (st.message().find("fuzz.in") == absl::string_view::npos) std::abort();
  }
  return 0;
}
