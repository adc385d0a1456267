#include "src/crypto/hash.h"

#include <openssl/evp.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

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

// With `parallel` and more than one digest, each digest other than SHA-256
// has a lane: a thread that hashes the posted chunks in order. Posted chunks
// sit in `posted` (a window starting at sequence number `base`) until every
// lane has hashed them. Update() posts a large chunk once the oldest lane is
// fewer than `max_pending` chunks behind, then hashes SHA-256 itself; lanes
// and caller never wait for each other chunk by chunk, so a lane preempted
// for a moment (two cores, a writer thread) catches up later instead of
// stalling the caller. Small updates are hashed inline on the caller after
// the lanes have drained (order matters).
struct MultiHasher::Impl {
  struct Posted {
    uint64_t update;  // Update() call number
    std::string_view data;
  };
  struct Lane {
    int index = -1;     // digest this lane hashes
    uint64_t next = 0;  // guarded by mu: sequence number of the next chunk
    std::thread thread;
  };

  EVP_MD_CTX* ctx[3] = {nullptr, nullptr, nullptr};
  bool on_lane[3] = {false, false, false};
  size_t max_pending = 1;
  uint64_t size = 0;
  uint64_t updates = 0;  // Update() calls so far

  std::vector<std::unique_ptr<Lane>> lanes;
  bool started = false;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Posted> posted;  // guarded by mu
  uint64_t base = 0;          // guarded by mu: sequence number of posted[0]
  bool stop = false;          // guarded by mu

  uint64_t End() const { return base + posted.size(); }  // requires mu
  uint64_t MinNext() const {                             // requires mu
    uint64_t m = End();
    for (const auto& l : lanes) m = std::min(m, l->next);
    return m;
  }
  // Drops chunks every lane has hashed; requires mu.
  void Trim() {
    uint64_t m = MinNext();
    while (base < m) {
      posted.pop_front();
      ++base;
    }
  }

  void LaneLoop(Lane* lane) {
    std::unique_lock<std::mutex> l(mu);
    while (true) {
      cv.wait(l, [&] { return lane->next < End() || stop; });
      if (lane->next >= End()) return;  // stop and nothing pending
      std::string_view data = posted[lane->next - base].data;
      l.unlock();
      MustUpdate(ctx[lane->index], data);
      l.lock();
      ++lane->next;
      Trim();
      cv.notify_all();
    }
  }

  void Start() {
    started = true;
    for (auto& lane : lanes) {
      Lane* p = lane.get();
      p->thread = std::thread([this, p] { LaneLoop(p); });
    }
  }

  // Blocks until at most `behind` posted chunks are still referenced.
  void WaitBehind(uint64_t behind) {
    if (!started) return;
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return End() - MinNext() <= behind; });
  }

  void WaitReleased(uint64_t n) {
    if (!started) return;
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] {
      uint64_t m = MinNext();
      return m == End() || posted[m - base].update >= n;
    });
  }

  void Post(std::string_view data, uint64_t update) {
    if (!started) Start();
    std::lock_guard<std::mutex> l(mu);
    posted.push_back({update, data});
    cv.notify_all();
  }

  ~Impl() {
    if (started) {
      {
        std::lock_guard<std::mutex> l(mu);
        stop = true;
        cv.notify_all();
      }
      for (auto& lane : lanes) lane->thread.join();
    }
    for (auto* c : ctx) EVP_MD_CTX_free(c);
  }
};

MultiHasher::MultiHasher(unsigned which, bool parallel, size_t max_pending)
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
  impl_->max_pending = std::max<size_t>(max_pending, 1);
  if (parallel && count > 1) {
    for (int i : {kMd5Index, kSha1Index}) {
      if (impl_->ctx[i] == nullptr) continue;
      auto lane = std::make_unique<Impl::Lane>();
      lane->index = i;
      impl_->on_lane[i] = true;
      impl_->lanes.push_back(std::move(lane));
    }
  }
}

MultiHasher::~MultiHasher() = default;

void MultiHasher::Update(std::string_view data) {
  Impl& m = *impl_;
  m.size += data.size();
  uint64_t update = m.updates++;
  bool offload = !m.lanes.empty() && data.size() >= kMinParallelUpdate;
  if (offload) {
    m.WaitBehind(m.max_pending - 1);
    m.Post(data, update);
  } else {
    m.WaitBehind(0);
  }
  for (int i = 0; i < 3; ++i) {
    if (m.ctx[i] == nullptr || (offload && m.on_lane[i])) continue;
    MustUpdate(m.ctx[i], data);
  }
}

void MultiHasher::WaitReleased(uint64_t updates) {
  impl_->WaitReleased(updates);
}

Digests MultiHasher::Finish() {
  Impl& m = *impl_;
  m.WaitBehind(0);
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
