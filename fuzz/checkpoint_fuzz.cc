// libFuzzer target for the checkpoint and tlog-proof parsers
// (src/custody/checkpoint.h). Properties checked beyond "no crash": when
// parsing succeeds, formatting the result gives back the input byte for
// byte (the parsers accept only the canonical encoding), and verification
// never accepts what the parsers reject.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "src/crypto/note.h"
#include "src/custody/checkpoint.h"

namespace {

using custos::custody::CheckpointPolicy;

// The policy of the seed corpus's ledger (shared/vectors/tlog/generated), so
// that mutated inputs reach signature and inclusion checks.
const CheckpointPolicy& Policy() {
  static const CheckpointPolicy* policy = [] {
    auto* p = new CheckpointPolicy;
    p->origin = "custody.example/ledger-1";
    auto key = [](const char* text) {
      auto v = custos::crypto::ParseVkey(text);
      if (!v.ok()) std::abort();
      return *v;
    };
    p->log_keys = {
        key("custody.example/ledger-1+183d11a9+"
            "AY61YpMR/B5rL8ciTetr9UOqyXK6V/SekKEJ1sE2JbCt")};
    p->witness_keys = {key("witness.example/w1+38ba1f33+"
                           "BOIgHbhL3B5BXbQBo5X0WRaqg2tgyd8qwTbHMuSHusaI"),
                       key("witness.example/w2+bf51db4a+"
                           "BLzsVpcuOf8APRMtsxGf95d0iHBnjwW6sALJwGW3bfMV")};
    p->min_witnesses = 1;
    return p;
  }();
  return *policy;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto cp = custos::custody::ParseCheckpoint(input);
  if (cp.ok() && custos::custody::FormatCheckpoint(*cp) != input) {
    std::abort();
  }

  auto vc = custos::custody::VerifyCheckpointNote(input, Policy());
  if (vc.ok()) {
    auto note = custos::crypto::ParseNote(input);
    if (!note.ok() || note->text != vc->note.text) std::abort();
    if (!custos::custody::ParseCheckpoint(note->text).ok()) std::abort();
  }

  auto proof = custos::custody::ParseTlogProof(input);
  if (proof.ok()) {
    if (custos::custody::FormatTlogProof(*proof) != input) std::abort();
    // Any leaf: exercises VerifyInclusion with the parsed proof.
    (void)custos::custody::VerifyTlogProof(
        *proof, custos::custody::LeafHash(input.substr(0, 64)), Policy());
  }
  return 0;
}
