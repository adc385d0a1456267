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

// Streaming multi-digest. When more than one digest is requested and
// `parallel` is set, every digest other than SHA-256 gets a helper thread of
// its own (a lane) for updates of 64 KiB and more, so that MD5, SHA-1 and
// SHA-256 run on separate cores; SHA-256 stays on the caller.
//
// Buffer lifetime: lanes may lag behind the caller by up to `max_pending`
// updates. With the default (1), the caller's buffer must stay valid and
// unchanged until the next Update() or Finish() returns. With a larger
// `max_pending`, the buffer of update number k (counting from 0) must stay
// valid until WaitReleased(k + 1) or Finish() returns, or until Update()
// number k + max_pending returns.
class MultiHasher {
 public:
  explicit MultiHasher(unsigned which = kSha256, bool parallel = true,
                       size_t max_pending = 1);
  ~MultiHasher();
  MultiHasher(const MultiHasher&) = delete;
  MultiHasher& operator=(const MultiHasher&) = delete;

  void Update(std::string_view data);
  // Blocks until no lane references the data of the first `updates` Update()
  // calls any more.
  void WaitReleased(uint64_t updates);
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
