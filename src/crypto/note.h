// File: note.h
//
// C2SP signed notes (c2sp.org/signed-note v1.0.0), verifier keys ("vkeys"),
// Ed25519 note signatures (type 0x01) and Ed25519 cosignature/v1 witness
// signatures (type 0x04, c2sp.org/tlog-cosignature). See
// ../shared/specs/tlog-formats.md sections 4 and 6.
//
// Parsing is strict: the whole note must be valid UTF-8 with no control
// character other than '\n'; the separator is the last blank line; every
// signature line is "\u2014 <name> <base64(keyid||sig)>\n"; at most 100
// signature lines.
//
// Thread-safety: pure functions and immutable objects.
//
// Example:
//   NoteSigner signer("example.org/log", std::move(key));
//   std::string note = SignNote("hello\n", {&signer});
//   auto v = ParseVkey(signer.Vkey());
//   auto opened = OpenNote(note, {*v});   // opened->text == "hello\n"
#ifndef CUSTOS_SRC_CRYPTO_NOTE_H_
#define CUSTOS_SRC_CRYPTO_NOTE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "src/crypto/ed25519.h"

namespace custos::crypto {

inline constexpr uint8_t kSigTypeEd25519 = 0x01;
inline constexpr uint8_t kSigTypeCosignatureV1 = 0x04;

// A verifier key: <name>+<hex8 key id>+<base64(type || public key)>.
struct Vkey {
  std::string name;
  uint32_t key_id = 0;
  uint8_t type = 0;        // kSigTypeEd25519 or kSigTypeCosignatureV1
  std::string public_key;  // 32 bytes
};

// Key ID = SHA-256(name || '\n' || type || public_key)[0:4], big-endian.
uint32_t ComputeKeyId(std::string_view name, uint8_t type,
                      std::string_view public_key);
// Validates name (non-empty, no whitespace, no '+'), key id (must match the
// computed one), type (0x01 or 0x04) and key length. kInvalidArgument with
// the reason otherwise.
absl::StatusOr<Vkey> ParseVkey(std::string_view text);
std::string FormatVkey(const Vkey& vkey);
// True if `name` is a valid key name (non-empty, no Unicode whitespace, no
// '+').
bool IsValidKeyName(std::string_view name);

struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // the bytes after the 4-byte key id
};

struct Note {
  std::string text;  // includes the final '\n' before the separator
  std::vector<NoteSignature> signatures;
};

// Strict parse (see file comment). kInvalidArgument on malformed input.
absl::StatusOr<Note> ParseNote(std::string_view note);
std::string FormatNote(const Note& note);

// Signs note text with an Ed25519 log key (type 0x01).
class NoteSigner {
 public:
  NoteSigner(std::string name, Ed25519PrivateKey key);
  const std::string& name() const { return name_; }
  uint32_t key_id() const { return key_id_; }
  // The vkey text for this signer.
  std::string Vkey() const;
  NoteSignature Sign(std::string_view text) const;

 private:
  std::string name_;
  Ed25519PrivateKey key_;
  uint32_t key_id_;
};

// Signs a checkpoint as a cosignature/v1 witness (type 0x04).
class CosignatureSigner {
 public:
  CosignatureSigner(std::string name, Ed25519PrivateKey key);
  std::string Vkey() const;
  NoteSignature Sign(std::string_view checkpoint_text,
                     uint64_t timestamp) const;

 private:
  std::string name_;
  Ed25519PrivateKey key_;
  uint32_t key_id_;
};

// Text of a note with the given signatures, in order.
std::string SignNote(std::string_view text,
                     absl::Span<const NoteSigner* const> signers);

struct VerifiedSignature {
  std::string name;
  uint8_t type = 0;
  uint64_t timestamp = 0;  // cosignatures only
  uint32_t key_id = 0;     // of the key that verified it
};

struct OpenedNote {
  std::string text;
  std::vector<VerifiedSignature> verified;  // in note order
  std::vector<NoteSignature> unverified;    // lines from unknown keys
};

// Parses `note` and verifies its signatures against `keys`: a line is
// matched to a key on both name and key id; unknown lines are kept in
// `unverified`; a known key whose signature fails rejects the whole note
// (kPermissionDenied, naming the key); no verified signature at all is
// kPermissionDenied ("no known key"). Malformed notes are kInvalidArgument.
absl::StatusOr<OpenedNote> OpenNote(std::string_view note,
                                    absl::Span<const Vkey> keys);

}  // namespace custos::crypto

#endif  // CUSTOS_SRC_CRYPTO_NOTE_H_
