#include "src/crypto/note.h"

#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "src/base/absl_compat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "src/crypto/hash.h"

namespace custos::crypto {
namespace {

constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // U+2014 + space
constexpr size_t kMaxSignatures = 100;
constexpr uint64_t kMaxTimestamp = (uint64_t{1} << 63) - 1;
constexpr size_t kCosigTimestampSize = 8;

void PutUint32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

void PutUint64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint64_t GetBigEndian(std::string_view b) {
  uint64_t v = 0;
  for (char c : b) v = v << 8 | static_cast<uint8_t>(c);
  return v;
}

std::string Hex8(uint32_t id) {
  std::string raw;
  PutUint32(&raw, id);
  return HexEncode(raw);
}

// Decodes one UTF-8 code point at s[i] (s is known to be valid UTF-8).
uint32_t DecodeRune(std::string_view s, size_t i, size_t* len) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t c = b(i);
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
  uint32_t cp = c & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
  for (size_t k = 1; k < n && i + k < s.size(); ++k) {
    cp = cp << 6 | (b(i + k) & 0x3f);
  }
  *len = n;
  return cp;
}

// Unicode White_Space (the set Go's unicode.IsSpace uses).
bool IsUnicodeSpace(uint32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

std::string CosignatureMessage(std::string_view text, uint64_t timestamp) {
  return absl::StrCat("cosignature/v1\ntime ", timestamp, "\n", Sv(text));
}

const Vkey* FindKey(absl::Span<const Vkey> keys, std::string_view name,
                    uint32_t key_id) {
  for (const Vkey& k : keys) {
    if (k.key_id == key_id && k.name == name) return &k;
  }
  return nullptr;
}

}  // namespace

uint32_t ComputeKeyId(std::string_view name, uint8_t type,
                      std::string_view public_key) {
  std::string prefix(name);
  prefix.push_back('\n');
  prefix.push_back(static_cast<char>(type));
  Hash32 h = Sha256(prefix, public_key);
  return static_cast<uint32_t>(h[0]) << 24 | static_cast<uint32_t>(h[1]) << 16 |
         static_cast<uint32_t>(h[2]) << 8 | static_cast<uint32_t>(h[3]);
}

bool IsValidKeyName(std::string_view name) {
  if (name.empty() || !IsValidUtf8(name)) return false;
  for (size_t i = 0; i < name.size();) {
    size_t len = 1;
    uint32_t r = DecodeRune(name, i, &len);
    if (r == '+' || IsUnicodeSpace(r)) return false;
    i += len;
  }
  return true;
}

absl::StatusOr<Vkey> ParseVkey(std::string_view text) {
  // The base64 key may contain '+': split on the first two only.
  size_t p1 = text.find('+');
  if (p1 == std::string_view::npos) {
    return absl::InvalidArgumentError("vkey: want <name>+<id>+<key>");
  }
  size_t p2 = text.find('+', p1 + 1);
  if (p2 == std::string_view::npos) {
    return absl::InvalidArgumentError("vkey: want <name>+<id>+<key>");
  }
  std::string_view name = text.substr(0, p1);
  std::string_view id_hex = text.substr(p1 + 1, p2 - p1 - 1);
  std::string_view key_b64 = text.substr(p2 + 1);
  if (!IsValidKeyName(name)) {
    return absl::InvalidArgumentError("vkey: invalid key name");
  }
  std::optional<std::string> id_raw;
  if (id_hex.size() != 8 || !(id_raw = HexDecode(id_hex))) {
    return absl::InvalidArgumentError(
        "vkey: key id must be 8 lowercase hex digits");
  }
  std::optional<std::string> key = Base64Decode(key_b64);
  if (!key.has_value() || key->empty()) {
    return absl::InvalidArgumentError("vkey: key is not canonical base64");
  }
  Vkey v;
  v.name = std::string(name);
  v.key_id = static_cast<uint32_t>(GetBigEndian(*id_raw));
  v.type = static_cast<uint8_t>((*key)[0]);
  if (v.type != kSigTypeEd25519 && v.type != kSigTypeCosignatureV1) {
    return absl::InvalidArgumentError(
        absl::StrCat("vkey: unsupported signature type 0x",
                     Sv(HexEncode(key->substr(0, 1)))));
  }
  v.public_key = key->substr(1);
  if (v.public_key.size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError("vkey: Ed25519 key must be 32 bytes");
  }
  if (ComputeKeyId(v.name, v.type, v.public_key) != v.key_id) {
    return absl::InvalidArgumentError(
        "vkey: key id does not match SHA-256(name||0x0A||type||key)[:4]");
  }
  return v;
}

std::string FormatVkey(const Vkey& vkey) {
  std::string key(1, static_cast<char>(vkey.type));
  key += vkey.public_key;
  return absl::StrCat(Sv(vkey.name), "+", Sv(Hex8(vkey.key_id)), "+",
                      Sv(Base64Encode(key)));
}

absl::StatusOr<Note> ParseNote(std::string_view note) {
  if (!IsValidUtf8(note)) {
    return absl::InvalidArgumentError("note: not valid UTF-8");
  }
  for (char c : note) {
    if (static_cast<uint8_t>(c) < 0x20 && c != '\n') {
      return absl::InvalidArgumentError(
          "note: control character other than newline");
    }
  }
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return absl::InvalidArgumentError("note: no signature separator");
  }
  Note out;
  out.text = std::string(note.substr(0, split + 1));
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) {
    return absl::InvalidArgumentError("note: no signature lines");
  }
  if (sigs.back() != '\n') {
    return absl::InvalidArgumentError("note: missing final newline");
  }
  while (!sigs.empty()) {
    size_t eol = sigs.find('\n');  // always found: sigs ends in '\n'
    std::string_view line = sigs.substr(0, eol);
    sigs.remove_prefix(eol + 1);
    if (out.signatures.size() >= kMaxSignatures) {
      return absl::InvalidArgumentError("note: too many signatures");
    }
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) {
      return absl::InvalidArgumentError(
          "note: signature line must start with U+2014 and a space");
    }
    line.remove_prefix(kSigPrefix.size());
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) {
      return absl::InvalidArgumentError("note: signature line lacks a space");
    }
    std::string_view name = line.substr(0, sp);
    std::string_view b64 = line.substr(sp + 1);
    if (!IsValidKeyName(name)) {
      return absl::InvalidArgumentError("note: invalid key name");
    }
    std::optional<std::string> blob = Base64Decode(b64);
    if (!blob.has_value()) {
      return absl::InvalidArgumentError(
          "note: signature is not canonical base64");
    }
    if (blob->size() < 5) {
      return absl::InvalidArgumentError("note: signature too short");
    }
    NoteSignature sig;
    sig.name = std::string(name);
    sig.key_id = static_cast<uint32_t>(GetBigEndian(blob->substr(0, 4)));
    sig.signature = blob->substr(4);
    out.signatures.push_back(std::move(sig));
  }
  return out;
}

std::string FormatNote(const Note& note) {
  std::string out = note.text;
  out.push_back('\n');
  for (const NoteSignature& s : note.signatures) {
    std::string blob;
    PutUint32(&blob, s.key_id);
    blob += s.signature;
    absl::StrAppend(&out, Sv(kSigPrefix), Sv(s.name), " ",
                    Sv(Base64Encode(blob)), "\n");
  }
  return out;
}

NoteSigner::NoteSigner(std::string name, Ed25519PrivateKey key)
    : name_(std::move(name)), key_(std::move(key)) {
  key_id_ = ComputeKeyId(name_, kSigTypeEd25519, key_.PublicKey());
}

std::string NoteSigner::Vkey() const {
  return FormatVkey(
      crypto::Vkey{name_, key_id_, kSigTypeEd25519, key_.PublicKey()});
}

NoteSignature NoteSigner::Sign(std::string_view text) const {
  return NoteSignature{name_, key_id_, key_.Sign(text)};
}

CosignatureSigner::CosignatureSigner(std::string name, Ed25519PrivateKey key)
    : name_(std::move(name)), key_(std::move(key)) {
  key_id_ = ComputeKeyId(name_, kSigTypeCosignatureV1, key_.PublicKey());
}

std::string CosignatureSigner::Vkey() const {
  return FormatVkey(
      crypto::Vkey{name_, key_id_, kSigTypeCosignatureV1, key_.PublicKey()});
}

NoteSignature CosignatureSigner::Sign(std::string_view checkpoint_text,
                                      uint64_t timestamp) const {
  CUSTOS_CHECK(timestamp <= kMaxTimestamp);
  std::string sig;
  PutUint64(&sig, timestamp);
  sig += key_.Sign(CosignatureMessage(checkpoint_text, timestamp));
  return NoteSignature{name_, key_id_, std::move(sig)};
}

std::string SignNote(std::string_view text,
                     absl::Span<const NoteSigner* const> signers) {
  Note note;
  note.text = std::string(text);
  for (const NoteSigner* s : signers) note.signatures.push_back(s->Sign(text));
  return FormatNote(note);
}

absl::StatusOr<OpenedNote> OpenNote(std::string_view note,
                                    absl::Span<const Vkey> keys) {
  CUSTOS_ASSIGN_OR_RETURN(Note parsed, ParseNote(note));
  OpenedNote out;
  out.text = std::move(parsed.text);
  std::set<std::pair<std::string, uint32_t>> seen_verified;
  std::set<std::pair<std::string, std::string>> seen_unverified;
  for (NoteSignature& sig : parsed.signatures) {
    const Vkey* key = FindKey(keys, sig.name, sig.key_id);
    if (key == nullptr) {
      // Repeated identical unknown lines are reported once.
      if (seen_unverified.emplace(sig.name, sig.signature).second) {
        out.unverified.push_back(std::move(sig));
      }
      continue;
    }
    VerifiedSignature v{sig.name, key->type, 0, sig.key_id};
    bool ok = false;
    if (key->type == kSigTypeEd25519) {
      ok = Ed25519Verify(key->public_key, out.text, sig.signature);
    } else if (key->type == kSigTypeCosignatureV1) {
      if (sig.signature.size() == kCosigTimestampSize + kEd25519SignatureSize) {
        v.timestamp = GetBigEndian(sig.signature.substr(0, 8));
        ok = v.timestamp <= kMaxTimestamp &&
             Ed25519Verify(key->public_key,
                           CosignatureMessage(out.text, v.timestamp),
                           std::string_view(sig.signature).substr(8));
      }
    }
    // Every signature by a known key must verify, repeats included.
    if (!ok) {
      return absl::PermissionDeniedError(
          absl::StrCat("note: invalid signature by known key ", Sv(sig.name),
                       "+", Sv(Hex8(sig.key_id))));
    }
    if (seen_verified.emplace(sig.name, sig.key_id).second) {
      out.verified.push_back(std::move(v));
    }
  }
  if (out.verified.empty()) {
    return absl::PermissionDeniedError(
        "note: no known key signed the note (no known key)");
  }
  return out;
}

}  // namespace custos::crypto
