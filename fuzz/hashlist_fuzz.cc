// libFuzzer target for the plain hash lists (one MD5/SHA-1/SHA-256 per line)
// parser, ParsePlain (src/hashset/parsers.h); the checks are in
// fuzz/hashset_fuzz_common.h.
#include "fuzz/hashset_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return custos::hashset::fuzz::FuzzParser(data, size,
                                           custos::hashset::ParsePlain);
}
