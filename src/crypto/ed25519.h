// File: ed25519.h
//
// Ed25519 keys (RFC 8032): signing and verification with libsodium (fast,
// lock-free across threads), key files with OpenSSL 3. Private keys are PKCS#8
// PEM, encrypted (AES-256-CBC, PBKDF2 via PKCS#5 v2) when a passphrase is
// given. This is the only module besides hash.cc that includes OpenSSL.
//
// Thread-safety: const methods may be called concurrently.
//
// Example:
//   auto key = Ed25519PrivateKey::Generate(RealRandom());
//   std::string sig = key.Sign("message");
//   bool ok = Ed25519Verify(key.PublicKey(), "message", sig);
#ifndef CUSTOS_SRC_CRYPTO_ED25519_H_
#define CUSTOS_SRC_CRYPTO_ED25519_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "src/base/random.h"

namespace custos::crypto {

inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;
inline constexpr size_t kEd25519SeedSize = 32;

class Ed25519PrivateKey {
 public:
  struct Impl;
  // A new key from 32 bytes of `random`.
  static Ed25519PrivateKey Generate(Random& random);
  // kInvalidArgument unless `seed` is 32 bytes.
  static absl::StatusOr<Ed25519PrivateKey> FromSeed(std::string_view seed);
  // Parses PKCS#8 PEM ("PRIVATE KEY" or "ENCRYPTED PRIVATE KEY").
  // An encrypted key without passphrase, or a wrong passphrase, is
  // kPermissionDenied ("wrong passphrase"); anything else malformed is
  // kInvalidArgument; a non-Ed25519 key is kInvalidArgument.
  static absl::StatusOr<Ed25519PrivateKey> FromPkcs8Pem(
      std::string_view pem, std::optional<std::string_view> passphrase);

  Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept;
  Ed25519PrivateKey& operator=(Ed25519PrivateKey&&) noexcept;
  ~Ed25519PrivateKey();

  // PKCS#8 PEM; encrypted with `passphrase` when it is set and non-empty.
  absl::StatusOr<std::string> ToPkcs8Pem(
      std::optional<std::string_view> passphrase) const;
  // The 32-byte raw public key.
  const std::string& PublicKey() const { return public_key_; }
  // The 64-byte signature of `message`.
  std::string Sign(std::string_view message) const;

 private:
  Ed25519PrivateKey() = default;
  std::unique_ptr<Impl> impl_;
  std::string public_key_;
};

// True only if `signature` (64 bytes) is a valid signature of `message` under
// `public_key` (32 bytes). Malformed sizes give false.
bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature);

}  // namespace custos::crypto

#endif  // CUSTOS_SRC_CRYPTO_ED25519_H_
