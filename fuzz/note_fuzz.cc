// libFuzzer target for the signed-note parsers: ParseNote, OpenNote and
// ParseVkey (src/crypto/note.h). Properties checked beyond "no crash":
//   * a note that parses re-formats to the same bytes (strict = canonical);
//   * a vkey that parses re-formats to the same text;
//   * any well-formed note text, once signed, opens to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/bytes.h"
#include "src/crypto/ed25519.h"
#include "src/crypto/note.h"

namespace {

using custos::crypto::Vkey;

// Public vkeys of the seed corpus (shared/vectors/tlog), so that mutated
// notes reach signature verification.
const std::vector<Vkey>& KnownKeys() {
  static const std::vector<Vkey>* keys = [] {
    auto* out = new std::vector<Vkey>;
    for (const char* text : {
             "example.com/foo+530d903a+"
             "AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
             "PeterNeumann+c74f20a3+"
             "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
             "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop",
             "custody.example/ledger-1+183d11a9+"
             "AY61YpMR/B5rL8ciTetr9UOqyXK6V/SekKEJ1sE2JbCt",
             "witness.example/w1+38ba1f33+"
             "BOIgHbhL3B5BXbQBo5X0WRaqg2tgyd8qwTbHMuSHusaI",
             "witness.example/w2+bf51db4a+"
             "BLzsVpcuOf8APRMtsxGf95d0iHBnjwW6sALJwGW3bfMV",
         }) {
      auto v = custos::crypto::ParseVkey(text);
      if (!v.ok()) std::abort();
      out->push_back(*v);
    }
    return out;
  }();
  return *keys;
}

const custos::crypto::NoteSigner& Signer() {
  static const custos::crypto::NoteSigner* signer = [] {
    auto key = custos::crypto::Ed25519PrivateKey::FromSeed(
        std::string(custos::crypto::kEd25519SeedSize, '\x42'));
    if (!key.ok()) std::abort();
    return new custos::crypto::NoteSigner("fuzz.example/log", *std::move(key));
  }();
  return *signer;
}

// The text rules of a signed note: non-empty, ends in '\n', valid UTF-8, no
// control character but '\n'.
bool IsWellFormedText(std::string_view text) {
  if (text.empty() || text.back() != '\n') return false;
  if (!custos::IsValidUtf8(text)) return false;
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto note = custos::crypto::ParseNote(input);
  if (note.ok() && custos::crypto::FormatNote(*note) != input) std::abort();

  auto opened = custos::crypto::OpenNote(input, KnownKeys());
  if (opened.ok()) {
    if (!note.ok() || opened->text != note->text) std::abort();
    if (opened->verified.empty()) std::abort();
  }

  auto vkey = custos::crypto::ParseVkey(input);
  if (vkey.ok() && custos::crypto::FormatVkey(*vkey) != input) std::abort();

  if (size <= 4096 && IsWellFormedText(input)) {
    const custos::crypto::NoteSigner* signers[] = {&Signer()};
    std::string signed_note = custos::crypto::SignNote(input, signers);
    auto v = custos::crypto::ParseVkey(Signer().Vkey());
    if (!v.ok()) std::abort();
    std::vector<Vkey> keys = {*v};
    auto back = custos::crypto::OpenNote(signed_note, keys);
    if (!back.ok() || back->text != input) std::abort();
  }
  return 0;
}
