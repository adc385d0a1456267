#include "src/crypto/hash.h"

#include <openssl/evp.h>

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "src/base/status_macros.h"

namespace custos::crypto {
namespace {

// Algorithms are fetched once per process: EVP_MD_fetch takes a global lock
// and a lookup, which would dominate hashing many small files.
const EVP_MD* FetchedMd(int index) {
  static const EVP_MD* const mds[3] = {
      EVP_MD_fetch(nullptr, "SHA256", nullptr),
      EVP_MD_fetch(nullptr, "MD5", nullptr),
      EVP_MD_fetch(nullptr, "SHA1", nullptr),
  };
  CUSTOS_CHECK(mds[index] != nullptr);
  return mds[index];
}

constexpr int kSha256Index = 0;
constexpr int kMd5Index = 1;
constexpr int kSha1Index = 2;

// Updates smaller than this are hashed inline: handing them to the helper
// thread costs more than it saves.
constexpr size_t kMinParallelUpdate = 64 * 1024;

void MustUpdate(EVP_MD_CTX* ctx, std::string_view data) {
  CUSTOS_CHECK(EVP_DigestUpdate(ctx, data.data(), data.size()) == 1);
}

}  // namespace

Hash32 Sha256(std::string_view data) { return Sha256(data, {}); }

Hash32 Sha256(std::string_view a, std::string_view b) {
  // One context per thread, freed when the thread exits.
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> owned(EVP_MD_CTX_new());
  EVP_MD_CTX* ctx = owned.get();
  Hash32 out;
  unsigned int len = 0;
  CUSTOS_CHECK(EVP_DigestInit_ex2(ctx, FetchedMd(kSha256Index), nullptr) == 1);
  MustUpdate(ctx, a);
  if (!b.empty()) MustUpdate(ctx, b);
  CUSTOS_CHECK(EVP_DigestFinal_ex(ctx, out.data(), &len) == 1);
  return out;
}

bool ToHash32(std::string_view bytes, Hash32* out) {
  if (bytes.size() != 32) return false;
  std::memcpy(out->data(), bytes.data(), 32);
  return true;
}

// The digests are split between the calling thread and, when more than one
// is requested and `parallel` is set, one helper thread. The helper gets the
// slowest digest (MD5 at ~0.7 GB/s, otherwise SHA-1); the caller keeps
// SHA-256 and the rest, so with MD5+SHA-1+SHA-256 both sides do about the
// same work. Update(N) waits for the helper to finish chunk N-1, posts chunk
// N to it and hashes chunk N itself: the helper runs one chunk behind at
// most, which is why the caller's buffer must stay valid until the next
// Update()/Finish() returns.
struct MultiHasher::Impl {
  EVP_MD_CTX* ctx[3] = {nullptr, nullptr, nullptr};
  int helper_index = -1;  // digest hashed on the helper thread, if any
  uint64_t size = 0;

  std::thread helper;
  std::mutex mu;
  std::condition_variable cv;
  std::string_view pending;  // guarded by mu
  bool busy = false;         // guarded by mu: helper has `pending` to hash
  bool stop = false;         // guarded by mu

  void HelperLoop() {
    std::unique_lock<std::mutex> l(mu);
    while (true) {
      cv.wait(l, [&] { return busy || stop; });
      if (busy) {
        std::string_view data = pending;
        l.unlock();
        MustUpdate(ctx[helper_index], data);
        l.lock();
        busy = false;
        cv.notify_all();
        continue;
      }
      return;  // stop and nothing pending
    }
  }

  // Blocks until the helper holds no reference to earlier data.
  void WaitIdle() {
    if (!helper.joinable()) return;
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return !busy; });
  }

  void Post(std::string_view data) {
    if (!helper.joinable()) helper = std::thread([this] { HelperLoop(); });
    std::lock_guard<std::mutex> l(mu);
    pending = data;
    busy = true;
    cv.notify_all();
  }

  ~Impl() {
    if (helper.joinable()) {
      {
        std::lock_guard<std::mutex> l(mu);
        stop = true;
        cv.notify_all();
      }
      helper.join();
    }
    for (auto* c : ctx) EVP_MD_CTX_free(c);
  }
};

MultiHasher::MultiHasher(unsigned which, bool parallel)
    : impl_(std::make_unique<Impl>()) {
  which |= kSha256;
  int count = 0;
  for (int i = 0; i < 3; ++i) {
    if (!(which & (1u << i))) continue;
    impl_->ctx[i] = EVP_MD_CTX_new();
    CUSTOS_CHECK(impl_->ctx[i] != nullptr);
    CUSTOS_CHECK(EVP_DigestInit_ex2(impl_->ctx[i], FetchedMd(i), nullptr) == 1);
    ++count;
  }
  if (parallel && count > 1) {
    impl_->helper_index = impl_->ctx[kMd5Index] ? kMd5Index : kSha1Index;
  }
}

MultiHasher::~MultiHasher() = default;

void MultiHasher::Update(std::string_view data) {
  Impl& m = *impl_;
  m.size += data.size();
  m.WaitIdle();
  bool offload = m.helper_index >= 0 && data.size() >= kMinParallelUpdate;
  if (offload) m.Post(data);
  for (int i = 0; i < 3; ++i) {
    if (m.ctx[i] == nullptr || (offload && i == m.helper_index)) continue;
    MustUpdate(m.ctx[i], data);
  }
}

Digests MultiHasher::Finish() {
  Impl& m = *impl_;
  m.WaitIdle();
  Digests d;
  d.size = m.size;
  std::string* outs[3] = {&d.sha256, &d.md5, &d.sha1};
  for (int i = 0; i < 3; ++i) {
    if (m.ctx[i] == nullptr) continue;
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    CUSTOS_CHECK(EVP_DigestFinal_ex(m.ctx[i], buf, &len) == 1);
    outs[i]->assign(reinterpret_cast<char*>(buf), len);
  }
  return d;
}

struct SingleHasher::Ctx {
  EVP_MD_CTX* ctx = nullptr;
  ~Ctx() { EVP_MD_CTX_free(ctx); }
};

SingleHasher::SingleHasher(DigestSet which) : ctx_(std::make_unique<Ctx>()) {
  int index = which == kMd5    ? kMd5Index
              : which == kSha1 ? kSha1Index
                               : kSha256Index;
  ctx_->ctx = EVP_MD_CTX_new();
  CUSTOS_CHECK(ctx_->ctx != nullptr);
  CUSTOS_CHECK(EVP_DigestInit_ex2(ctx_->ctx, FetchedMd(index), nullptr) == 1);
}

SingleHasher::~SingleHasher() = default;

void SingleHasher::Update(std::string_view data) {
  MustUpdate(ctx_->ctx, data);
}

std::string SingleHasher::Finish() {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  CUSTOS_CHECK(EVP_DigestFinal_ex(ctx_->ctx, buf, &len) == 1);
  return std::string(reinterpret_cast<char*>(buf), len);
}

}  // namespace custos::crypto
