#include "src/crypto/hash.h"

#include <openssl/evp.h>

#include <cstring>

#include "src/base/status_macros.h"

namespace custos::crypto {
namespace {

const EVP_MD* FetchedSha256() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  CUSTOS_CHECK(md != nullptr);
  return md;
}

}  // namespace

Hash32 Sha256(std::string_view data) { return Sha256(data, {}); }

Hash32 Sha256(std::string_view a, std::string_view b) {
  thread_local EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Hash32 out;
  unsigned int len = 0;
  CUSTOS_CHECK(EVP_DigestInit_ex2(ctx, FetchedSha256(), nullptr) == 1);
  CUSTOS_CHECK(EVP_DigestUpdate(ctx, a.data(), a.size()) == 1);
  if (!b.empty()) CUSTOS_CHECK(EVP_DigestUpdate(ctx, b.data(), b.size()) == 1);
  CUSTOS_CHECK(EVP_DigestFinal_ex(ctx, out.data(), &len) == 1);
  return out;
}

bool ToHash32(std::string_view bytes, Hash32* out) {
  if (bytes.size() != 32) return false;
  std::memcpy(out->data(), bytes.data(), 32);
  return true;
}

// Simple single-threaded implementation; see MultiHasher in hash.h.
struct MultiHasher::Impl {
  EVP_MD_CTX* ctx[3] = {nullptr, nullptr, nullptr};
  uint64_t size = 0;
};

MultiHasher::MultiHasher(unsigned which, bool /*parallel*/)
    : impl_(std::make_unique<Impl>()) {
  const char* names[3] = {"SHA256", "MD5", "SHA1"};
  which |= kSha256;
  for (int i = 0; i < 3; ++i) {
    if (!(which & (1u << i))) continue;
    EVP_MD* md = EVP_MD_fetch(nullptr, names[i], nullptr);
    CUSTOS_CHECK(md != nullptr);
    impl_->ctx[i] = EVP_MD_CTX_new();
    CUSTOS_CHECK(EVP_DigestInit_ex2(impl_->ctx[i], md, nullptr) == 1);
    EVP_MD_free(md);
  }
}

MultiHasher::~MultiHasher() {
  for (auto* c : impl_->ctx) EVP_MD_CTX_free(c);
}

void MultiHasher::Update(std::string_view data) {
  impl_->size += data.size();
  for (auto* c : impl_->ctx)
    if (c) CUSTOS_CHECK(EVP_DigestUpdate(c, data.data(), data.size()) == 1);
}

Digests MultiHasher::Finish() {
  Digests d;
  d.size = impl_->size;
  std::string* outs[3] = {&d.sha256, &d.md5, &d.sha1};
  for (int i = 0; i < 3; ++i) {
    if (!impl_->ctx[i]) continue;
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    CUSTOS_CHECK(EVP_DigestFinal_ex(impl_->ctx[i], buf, &len) == 1);
    outs[i]->assign(reinterpret_cast<char*>(buf), len);
  }
  return d;
}

}  // namespace custos::crypto
