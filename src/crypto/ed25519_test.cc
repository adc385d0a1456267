#include "src/crypto/ed25519.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/bytes.h"
#include "testing/testing.h"

namespace custos::crypto {
namespace {

using ::testing::HasSubstr;

std::string Unhex(std::string_view hex) {
  std::optional<std::string> raw = HexDecode(hex);
  EXPECT_TRUE(raw.has_value()) << hex;
  return raw.value_or("");
}

std::string FlipBit(std::string s, size_t byte, int bit = 0) {
  s[byte] = static_cast<char>(s[byte] ^ (1 << bit));
  return s;
}

Ed25519PrivateKey TestKey(uint64_t seed = 1) {
  custos::testing::SeededRandom random(seed);
  return Ed25519PrivateKey::Generate(random);
}

// RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte).
TEST(Ed25519Test, Rfc8032Vectors) {
  struct Case {
    const char* seed;
    const char* pub;
    const char* msg;
    const char* sig;
  } cases[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
       "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
       "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  };
  for (const Case& c : cases) {
    auto key = Ed25519PrivateKey::FromSeed(Unhex(c.seed));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(HexEncode(key->PublicKey()), c.pub);
    std::string msg = Unhex(c.msg);
    std::string sig = key->Sign(msg);
    EXPECT_EQ(HexEncode(sig), c.sig);
    EXPECT_TRUE(Ed25519Verify(Unhex(c.pub), msg, Unhex(c.sig)));
  }
}

TEST(Ed25519Test, FromSeedRejectsWrongSize) {
  EXPECT_EQ(Ed25519PrivateKey::FromSeed(std::string(31, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519PrivateKey::FromSeed(std::string(33, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519PrivateKey::FromSeed("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, GenerateIsDeterministicForASeededRandom) {
  EXPECT_EQ(TestKey(7).PublicKey(), TestKey(7).PublicKey());
  EXPECT_NE(TestKey(7).PublicKey(), TestKey(8).PublicKey());
  EXPECT_EQ(TestKey(7).PublicKey().size(), kEd25519PublicKeySize);
}

TEST(Ed25519Test, SignIsDeterministicAndVerifies) {
  Ed25519PrivateKey key = TestKey();
  std::string sig = key.Sign("message");
  EXPECT_EQ(sig.size(), kEd25519SignatureSize);
  EXPECT_EQ(sig, key.Sign("message"));
  EXPECT_NE(sig, key.Sign("messagf"));
  EXPECT_TRUE(Ed25519Verify(key.PublicKey(), "message", sig));
}

TEST(Ed25519Test, RejectsForgedSignature) {
  Ed25519PrivateKey key = TestKey();
  std::string sig = key.Sign("message");
  for (size_t i = 0; i < sig.size(); i += 7) {
    EXPECT_FALSE(Ed25519Verify(key.PublicKey(), "message", FlipBit(sig, i)))
        << "byte " << i;
  }
  EXPECT_FALSE(Ed25519Verify(key.PublicKey(), "messagE", sig));
  EXPECT_FALSE(Ed25519Verify(key.PublicKey(), "", sig));
}

TEST(Ed25519Test, RejectsWrongKey) {
  Ed25519PrivateKey key = TestKey(1);
  Ed25519PrivateKey other = TestKey(2);
  std::string sig = key.Sign("message");
  EXPECT_FALSE(Ed25519Verify(other.PublicKey(), "message", sig));
  EXPECT_FALSE(Ed25519Verify(FlipBit(key.PublicKey(), 3), "message", sig));
}

TEST(Ed25519Test, MalformedSizesAreFalse) {
  Ed25519PrivateKey key = TestKey();
  std::string sig = key.Sign("m");
  EXPECT_FALSE(Ed25519Verify(key.PublicKey().substr(1), "m", sig));
  EXPECT_FALSE(Ed25519Verify(key.PublicKey() + "x", "m", sig));
  EXPECT_FALSE(Ed25519Verify(key.PublicKey(), "m", sig.substr(1)));
  EXPECT_FALSE(Ed25519Verify(key.PublicKey(), "m", sig + "x"));
  EXPECT_FALSE(Ed25519Verify("", "m", ""));
}

TEST(Ed25519Test, PlainPemRoundTrip) {
  Ed25519PrivateKey key = TestKey();
  auto pem = key.ToPkcs8Pem(std::nullopt);
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_THAT(*pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  auto back = Ed25519PrivateKey::FromPkcs8Pem(*pem, std::nullopt);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->PublicKey(), key.PublicKey());
  EXPECT_EQ(back->Sign("x"), key.Sign("x"));
  // An empty passphrase means "not encrypted".
  auto empty = key.ToPkcs8Pem(std::string_view());
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(*empty, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  // A passphrase given for a plain key is not needed and is ignored.
  EXPECT_TRUE(Ed25519PrivateKey::FromPkcs8Pem(*pem, "unused").ok());
}

TEST(Ed25519Test, EncryptedPemRoundTrip) {
  Ed25519PrivateKey key = TestKey();
  auto pem = key.ToPkcs8Pem("correct horse");
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_THAT(*pem, HasSubstr("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  // The seed must not appear in clear.
  auto plain = key.ToPkcs8Pem(std::nullopt);
  ASSERT_TRUE(plain.ok());
  EXPECT_NE(*pem, *plain);
  auto back = Ed25519PrivateKey::FromPkcs8Pem(*pem, "correct horse");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->PublicKey(), key.PublicKey());
  EXPECT_EQ(back->Sign("x"), key.Sign("x"));
}

TEST(Ed25519Test, WrongOrMissingPassphraseIsPermissionDenied) {
  Ed25519PrivateKey key = TestKey();
  auto pem = key.ToPkcs8Pem("correct horse");
  ASSERT_TRUE(pem.ok());
  for (std::optional<std::string_view> pass :
       {std::optional<std::string_view>("wrong horse"),
        std::optional<std::string_view>(std::nullopt),
        std::optional<std::string_view>("")}) {
    auto back = Ed25519PrivateKey::FromPkcs8Pem(*pem, pass);
    ASSERT_FALSE(back.ok());
    EXPECT_EQ(back.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(std::string(back.status().message()),
                HasSubstr("wrong passphrase"));
  }
}

TEST(Ed25519Test, MalformedPemIsInvalidArgument) {
  EXPECT_EQ(Ed25519PrivateKey::FromPkcs8Pem("not a pem", std::nullopt)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519PrivateKey::FromPkcs8Pem("", std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto pem = TestKey().ToPkcs8Pem(std::nullopt);
  ASSERT_TRUE(pem.ok());
  std::string truncated = pem->substr(0, pem->size() / 2);
  EXPECT_EQ(
      Ed25519PrivateKey::FromPkcs8Pem(truncated, std::nullopt).status().code(),
      absl::StatusCode::kInvalidArgument);
  std::string body = *pem;
  body[40] = body[40] == 'A' ? 'B' : 'A';  // corrupt the DER
  EXPECT_FALSE(Ed25519PrivateKey::FromPkcs8Pem(body, std::nullopt).ok());
}

TEST(Ed25519Test, NonEd25519KeyIsInvalidArgument) {
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(ec, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio, ec, nullptr, nullptr, 0, nullptr,
                                          nullptr),
            1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  auto key = Ed25519PrivateKey::FromPkcs8Pem(pem, std::nullopt);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, MoveKeepsTheKey) {
  Ed25519PrivateKey key = TestKey();
  std::string pub = key.PublicKey();
  Ed25519PrivateKey moved = std::move(key);
  EXPECT_EQ(moved.PublicKey(), pub);
  EXPECT_TRUE(Ed25519Verify(pub, "m", moved.Sign("m")));
  Ed25519PrivateKey other = TestKey(9);
  other = std::move(moved);
  EXPECT_EQ(other.PublicKey(), pub);
}

TEST(Ed25519Test, ConcurrentSignAndVerify) {
  Ed25519PrivateKey key = TestKey();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string msg = "msg " + std::to_string(t) + "/" + std::to_string(i);
        std::string sig = key.Sign(msg);
        if (!Ed25519Verify(key.PublicKey(), msg, sig)) ++failures[t];
        if (Ed25519Verify(key.PublicKey(), msg + "!", sig)) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

}  // namespace
}  // namespace custos::crypto
