// File: hash.h
//
// Message digests over OpenSSL 3 EVP (SHA-NI accelerated SHA-256 and SHA-1
// where the CPU has them). `Sha256` for one-shot hashing; `MultiHasher`
// computes SHA-256 and, when asked, MD5 and SHA-1 in the same single pass
// over a stream.
//
// Thread-safety: a MultiHasher object is single-threaded; separate objects
// may be used concurrently.
//
// Example:
//   MultiHasher h(kSha256 | kMd5);
//   while (...) h.Update(chunk);
//   Digests d = h.Finish();   // d.sha256, d.md5 (raw bytes)
#ifndef CUSTOS_SRC_CRYPTO_HASH_H_
#define CUSTOS_SRC_CRYPTO_HASH_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace custos::crypto {

using Hash32 = std::array<uint8_t, 32>;

Hash32 Sha256(std::string_view data);
// SHA-256 of the concatenation a || b (no copy).
Hash32 Sha256(std::string_view a, std::string_view b);

inline std::string_view AsView(const Hash32& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}
inline std::string ToString(const Hash32& h) { return std::string(AsView(h)); }
// `bytes` must be exactly 32 bytes; returns false otherwise.
bool ToHash32(std::string_view bytes, Hash32* out);

enum DigestSet : unsigned {
  kSha256 = 1,
  kMd5 = 2,
  kSha1 = 4,
};

struct Digests {
  std::string sha256;  // raw 32 bytes; empty if not requested
  std::string md5;     // raw 16 bytes; empty if not requested
  std::string sha1;    // raw 20 bytes; empty if not requested
  uint64_t size = 0;   // bytes hashed
};

// Streaming multi-digest. When more than one digest is requested and the
// input is large, Update() hands MD5/SHA-1 to a helper thread so that the
// digests run in parallel on two cores (the caller's buffer must stay valid
// and unchanged until the next Update() or Finish() returns).
class MultiHasher {
 public:
  explicit MultiHasher(unsigned which = kSha256, bool parallel = true);
  ~MultiHasher();
  MultiHasher(const MultiHasher&) = delete;
  MultiHasher& operator=(const MultiHasher&) = delete;

  void Update(std::string_view data);
  Digests Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Exactly one digest (kSha256, kMd5 or kSha1) over a stream, on the calling
// thread: for pipelines that give each digest a thread of its own.
class SingleHasher {
 public:
  explicit SingleHasher(DigestSet which);
  ~SingleHasher();
  SingleHasher(const SingleHasher&) = delete;
  SingleHasher& operator=(const SingleHasher&) = delete;

  void Update(std::string_view data);
  std::string Finish();  // raw digest bytes

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace custos::crypto

#endif  // CUSTOS_SRC_CRYPTO_HASH_H_
