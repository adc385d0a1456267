// Shared body of the hash-set source fuzzers (vics, hashdeep, rds2,
// hashlist): runs one parser of src/hashset/parsers.h over the input and
// checks, beyond "no crash", that every digest handed to the sink has its
// algorithm's length, that the sink sees exactly the number of entries the
// parser reports, and that a refusal is kInvalidArgument naming the file.
#ifndef CUSTOS_FUZZ_HASHSET_FUZZ_COMMON_H_
#define CUSTOS_FUZZ_HASHSET_FUZZ_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "src/hashset/parsers.h"

namespace custos::hashset::fuzz {

class CheckingSink final : public EntrySink {
 public:
  absl::Status Add(Algorithm algo, std::string_view digest,
                   std::string_view tag) override {
    if (digest.size() != DigestLength(algo)) std::abort();
    if (tag.size() > 4096) std::abort();
    ++count;
    return absl::OkStatus();
  }
  uint64_t count = 0;
};

// `parse` is one of ParseVics, ParseHashdeep, ParseRds2, ParsePlain.
template <typename Parser>
int FuzzParser(const uint8_t* data, size_t size, Parser parse) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  StringSource src(in);
  CheckingSink sink;
  ParseStats stats;
  absl::Status st = parse(src, "fuzz.in", sink, &stats);
  if (st.ok() && sink.count != stats.entries) std::abort();
  if (!st.ok()) {
    if (st.code() != absl::StatusCode::kInvalidArgument) std::abort();
    if (st.message().find("fuzz.in") == absl::string_view::npos) std::abort();
  }
  return 0;
}

}  // namespace custos::hashset::fuzz

#endif  // CUSTOS_FUZZ_HASHSET_FUZZ_COMMON_H_
