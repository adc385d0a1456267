#include "src/crypto/ed25519.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "src/base/status_macros.h"

namespace custos::crypto {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// State for the PEM passphrase callback.
struct PassphraseState {
  std::optional<std::string_view> passphrase;
  bool asked = false;
};

int PassphraseCallback(char* buf, int size, int /*rwflag*/, void* u) {
  auto* state = static_cast<PassphraseState*>(u);
  state->asked = true;
  if (!state->passphrase.has_value() || state->passphrase->empty()) return -1;
  if (state->passphrase->size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, state->passphrase->data(), state->passphrase->size());
  return static_cast<int>(state->passphrase->size());
}

// Reads the raw public key of an Ed25519 EVP_PKEY.
bool RawPublicKey(EVP_PKEY* pkey, std::string* out) {
  size_t len = kEd25519PublicKeySize;
  out->assign(kEd25519PublicKeySize, '\0');
  if (EVP_PKEY_get_raw_public_key(
          pkey, reinterpret_cast<unsigned char*>(out->data()), &len) != 1 ||
      len != kEd25519PublicKeySize) {
    return false;
  }
  return true;
}

}  // namespace

// Signing and verification use libsodium: OpenSSL 3.0's Ed25519 fetches its
// SHA-512 implementation through the global provider store on every call,
// which makes two threads barely faster than one (measured: 1.1-1.35x),
// while libsodium is both faster per call and scales across cores. OpenSSL
// still handles PKCS#8 key files. Ed25519 (RFC 8032) is deterministic, so
// both produce the same signatures.
void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  CUSTOS_CHECK(ok);
}

struct Ed25519PrivateKey::Impl {
  PkeyPtr pkey;
  unsigned char sk[crypto_sign_ed25519_SECRETKEYBYTES];  // seed || public key
  ~Impl() { sodium_memzero(sk, sizeof sk); }
};

namespace {
// Derives libsodium's expanded secret key from the key's seed; checks that
// both libraries agree on the public key.
bool FillSodiumKey(Ed25519PrivateKey::Impl& impl,
                   const std::string& public_key);
}  // namespace

Ed25519PrivateKey::Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept = default;
Ed25519PrivateKey& Ed25519PrivateKey::operator=(Ed25519PrivateKey&&) noexcept =
    default;
Ed25519PrivateKey::~Ed25519PrivateKey() = default;

Ed25519PrivateKey Ed25519PrivateKey::Generate(Random& random) {
  std::string seed(kEd25519SeedSize, '\0');
  random.Fill(reinterpret_cast<uint8_t*>(seed.data()), seed.size());
  auto key = FromSeed(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  CUSTOS_CHECK(key.ok());
  return *std::move(key);
}

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromSeed(
    std::string_view seed) {
  if (seed.size() != kEd25519SeedSize) {
    return absl::InvalidArgumentError("Ed25519 seed must be 32 bytes");
  }
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const unsigned char*>(seed.data()), seed.size()));
  if (pkey == nullptr) {
    ERR_clear_error();
    return absl::InternalError("EVP_PKEY_new_raw_private_key failed");
  }
  Ed25519PrivateKey key;
  if (!RawPublicKey(pkey.get(), &key.public_key_)) {
    ERR_clear_error();
    return absl::InternalError("cannot derive the Ed25519 public key");
  }
  key.impl_ = std::make_unique<Impl>();
  key.impl_->pkey = std::move(pkey);
  if (!FillSodiumKey(*key.impl_, key.public_key_))
    return absl::InternalError(
        "Ed25519 key derivation disagrees between libraries");
  return key;
}

absl::StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromPkcs8Pem(
    std::string_view pem, std::optional<std::string_view> passphrase) {
  if (pem.size() > (1u << 20)) {
    return absl::InvalidArgumentError("PEM key too large");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  PassphraseState state{passphrase, false};
  PkeyPtr pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, &PassphraseCallback, &state));
  ERR_clear_error();
  if (pkey == nullptr) {
    if (state.asked) return absl::PermissionDeniedError("wrong passphrase");
    return absl::InvalidArgumentError("malformed PKCS#8 PEM private key");
  }
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("PEM private key is not Ed25519");
  }
  Ed25519PrivateKey key;
  if (!RawPublicKey(pkey.get(), &key.public_key_)) {
    ERR_clear_error();
    return absl::InvalidArgumentError("cannot read the Ed25519 public key");
  }
  key.impl_ = std::make_unique<Impl>();
  key.impl_->pkey = std::move(pkey);
  if (!FillSodiumKey(*key.impl_, key.public_key_))
    return absl::InvalidArgumentError("inconsistent Ed25519 private key");
  return key;
}

absl::StatusOr<std::string> Ed25519PrivateKey::ToPkcs8Pem(
    std::optional<std::string_view> passphrase) const {
  CUSTOS_CHECK(impl_ != nullptr);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return absl::InternalError("BIO_new failed");
  const bool encrypt = passphrase.has_value() && !passphrase->empty();
  if (encrypt && passphrase->size() > 1024) {
    return absl::InvalidArgumentError("passphrase too long");
  }
  int rc = PEM_write_bio_PKCS8PrivateKey(
      bio.get(), impl_->pkey.get(), encrypt ? EVP_aes_256_cbc() : nullptr,
      encrypt ? passphrase->data() : nullptr,
      encrypt ? static_cast<int>(passphrase->size()) : 0, nullptr, nullptr);
  if (rc != 1) {
    ERR_clear_error();
    return absl::InternalError("PEM_write_bio_PKCS8PrivateKey failed");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) {
    return absl::InternalError("empty PEM output");
  }
  return std::string(data, static_cast<size_t>(len));
}

namespace {
bool FillSodiumKey(Ed25519PrivateKey::Impl& impl,
                   const std::string& public_key) {
  InitSodium();
  unsigned char seed[kEd25519SeedSize];
  size_t len = sizeof seed;
  if (EVP_PKEY_get_raw_private_key(impl.pkey.get(), seed, &len) != 1 ||
      len != sizeof seed) {
    ERR_clear_error();
    return false;
  }
  unsigned char pk[crypto_sign_ed25519_PUBLICKEYBYTES];
  int rc = crypto_sign_ed25519_seed_keypair(pk, impl.sk, seed);
  sodium_memzero(seed, sizeof seed);
  return rc == 0 && public_key.size() == sizeof pk &&
         std::memcmp(pk, public_key.data(), sizeof pk) == 0;
}
}  // namespace

std::string Ed25519PrivateKey::Sign(std::string_view message) const {
  CUSTOS_CHECK(impl_ != nullptr);
  std::string sig(kEd25519SignatureSize, '\0');
  unsigned long long len = 0;
  CUSTOS_CHECK(crypto_sign_ed25519_detached(
                   reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(message.data()),
                   message.size(), impl_->sk) == 0);
  CUSTOS_CHECK(len == kEd25519SignatureSize);
  return sig;
}

bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature) {
  if (public_key.size() != kEd25519PublicKeySize ||
      signature.size() != kEd25519SignatureSize) {
    return false;
  }
  InitSodium();
  return crypto_sign_ed25519_verify_detached(
             reinterpret_cast<const unsigned char*>(signature.data()),
             reinterpret_cast<const unsigned char*>(message.data()),
             message.size(),
             reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

}  // namespace custos::crypto
