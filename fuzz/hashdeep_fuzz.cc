// libFuzzer target for the hashdeep known-file lists parser, ParseHashdeep
// (src/hashset/parsers.h); the checks are in fuzz/hashset_fuzz_common.h.
#include "fuzz/hashset_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return custos::hashset::fuzz::FuzzParser(data, size,
                                           custos::hashset::ParseHashdeep);
}
