#include "src/crypto/hash.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "src/base/bytes.h"

namespace custos::crypto {
namespace {

constexpr unsigned kAll = kSha256 | kMd5 | kSha1;

struct Hex {
  std::string md5, sha1, sha256;
};

Hex ToHex(const Digests& d) {
  return {HexEncode(d.md5), HexEncode(d.sha1), HexEncode(d.sha256)};
}

// Feeds `data` in pieces of `chunk` bytes, keeping every piece in its own
// buffer that stays alive until Finish (as the contract with a large
// max_pending requires), then overwrites them to catch late reads.
Digests HashInPieces(const std::string& data, size_t chunk, bool parallel,
                     size_t max_pending) {
  MultiHasher h(kAll, parallel, max_pending);
  std::vector<std::string> pieces;
  for (size_t off = 0; off < data.size(); off += chunk)
    pieces.push_back(data.substr(off, chunk));
  for (const std::string& p : pieces) h.Update(p);
  Digests d = h.Finish();
  for (std::string& p : pieces) p.assign(p.size(), 'x');
  return d;
}

TEST(MultiHasherTest, EmptyInput) {
  for (bool parallel : {false, true}) {
    MultiHasher h(kAll, parallel, 4);
    Digests d = h.Finish();
    Hex x = ToHex(d);
    EXPECT_EQ(d.size, 0u);
    EXPECT_EQ(x.md5, "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(x.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    EXPECT_EQ(
        x.sha256,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }
}

TEST(MultiHasherTest, Abc) {
  MultiHasher h(kAll);
  h.Update("abc");
  Hex x = ToHex(h.Finish());
  EXPECT_EQ(x.md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(x.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(x.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// One million 'a' (FIPS 180 / RFC 1321 test suite), in chunk sizes that
// straddle the 64 KiB offload threshold, odd sizes, and a lag of 1..16.
TEST(MultiHasherTest, MillionAOddChunksAndLanes) {
  const std::string data(1000000, 'a');
  for (size_t chunk : {size_t{1000000}, size_t{65535}, size_t{65536},
                       size_t{100003}, size_t{777}, size_t{262144}}) {
    for (size_t pending : {size_t{1}, size_t{3}, size_t{16}}) {
      for (bool parallel : {false, true}) {
        Digests d = HashInPieces(data, chunk, parallel, pending);
        Hex x = ToHex(d);
        SCOPED_TRACE(testing::Message() << "chunk " << chunk << " pending "
                                        << pending << " parallel " << parallel);
        EXPECT_EQ(d.size, data.size());
        EXPECT_EQ(x.md5, "7707d6ae4e027c70eea2a935c2296f21");
        EXPECT_EQ(x.sha1, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
        EXPECT_EQ(x.sha256,
                  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc71"
                  "12cd0");
      }
    }
  }
}

// Mixed large and small updates: small ones are hashed inline only after the
// lanes have drained, so the order is kept.
TEST(MultiHasherTest, MixedSizesMatchSerial) {
  std::string data;
  for (int i = 0; i < (5 << 20); ++i) data.push_back(static_cast<char>(i * 7));
  std::vector<size_t> sizes = {1 << 20, 10, 70000, 1, 1 << 20, 5, 200000};
  MultiHasher ref(kAll, /*parallel=*/false);
  ref.Update(data);
  Hex want = ToHex(ref.Finish());
  MultiHasher h(kAll, /*parallel=*/true, /*max_pending=*/8);
  size_t off = 0, k = 0;
  while (off < data.size()) {
    size_t n = std::min(sizes[k++ % sizes.size()], data.size() - off);
    h.Update(std::string_view(data).substr(off, n));
    off += n;
  }
  Hex got = ToHex(h.Finish());
  EXPECT_EQ(got.md5, want.md5);
  EXPECT_EQ(got.sha1, want.sha1);
  EXPECT_EQ(got.sha256, want.sha256);
}

// WaitReleased(k) returns only once the lanes are done with the first k
// updates: overwriting those buffers afterwards must not change the result.
TEST(MultiHasherTest, WaitReleasedAllowsReuse) {
  std::string data;
  for (int i = 0; i < (4 << 20); ++i) data.push_back(static_cast<char>(i * 13));
  MultiHasher ref(kAll, /*parallel=*/false);
  ref.Update(data);
  Hex want = ToHex(ref.Finish());

  constexpr size_t kChunk = 128 << 10;
  constexpr size_t kSlots = 4;
  std::vector<std::string> ring(kSlots, std::string(kChunk, '\0'));
  MultiHasher h(kAll, /*parallel=*/true, /*max_pending=*/kSlots);
  uint64_t n = 0;
  for (size_t off = 0; off < data.size(); off += kChunk, ++n) {
    if (n >= kSlots) h.WaitReleased(n - kSlots + 1);
    std::string& slot = ring[n % kSlots];
    slot.assign(data, off, kChunk);
    h.Update(slot);
  }
  Hex got = ToHex(h.Finish());
  EXPECT_EQ(got.md5, want.md5);
  EXPECT_EQ(got.sha1, want.sha1);
  EXPECT_EQ(got.sha256, want.sha256);
}

TEST(MultiHasherTest, DestroyWithoutFinish) {
  std::string data(1 << 20, 'q');
  MultiHasher h(kAll, /*parallel=*/true, /*max_pending=*/4);
  h.Update(data);
  h.Update(data);
  // Destructor joins the lanes; nothing to check beyond not crashing (ASan).
}

}  // namespace
}  // namespace custos::crypto
