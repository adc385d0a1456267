// libFuzzer target for the NSRL RDS 2.x NSRLFile.txt (quoted CSV) parser,
// ParseRds2 (src/hashset/parsers.h); the checks are in
// fuzz/hashset_fuzz_common.h.
#include "fuzz/hashset_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return custos::hashset::fuzz::FuzzParser(data, size,
                                           custos::hashset::ParseRds2);
}
