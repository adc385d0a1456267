#include "src/phash/pdq.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/testing.h"

namespace custos::phash {
namespace {

std::string VectorsDir() {
  return custos::testing::SharedDir() + "/vectors/pdq";
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(ReadAll(path));
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string> cols;
    std::stringstream ls(line);
    std::string c;
    while (std::getline(ls, c, ',')) cols.push_back(c);
    rows.push_back(cols);
  }
  return rows;
}

TEST(PdqVectors, EveryPublicHashAndQualityBitForBit) {
  const auto rows = ReadCsv(VectorsDir() + "/public_pdq.csv");
  ASSERT_EQ(rows.size(), 49u);
  int matched = 0;
  PdqHasher hasher;
  for (const auto& r : rows) {
    ASSERT_EQ(r.size(), 3u);
    const std::string bytes = ReadAll(VectorsDir() + "/images/" + r[0]);
    ASSERT_FALSE(bytes.empty()) << r[0];
    auto img = image::DecodeImage(bytes);
    ASSERT_TRUE(img.ok()) << r[0] << ": " << img.status();
    const PdqResult got = hasher.Hash(*img);
    auto want = PdqHash::FromHex(r[1]);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(got.hash.ToHex(), r[1])
        << r[0] << " distance " << HammingDistance(got.hash, *want);
    EXPECT_EQ(got.quality, std::atoi(r[2].c_str())) << r[0];
    if (got.hash == *want && got.quality == std::atoi(r[2].c_str())) {
      ++matched;
    }
  }
  EXPECT_EQ(matched, 49);
}

TEST(PdqVectors, EveryDihedralHashBitForBit) {
  const auto rows = ReadCsv(VectorsDir() + "/public_pdq_dihedral.csv");
  ASSERT_EQ(rows.size(), 49u);
  PdqHasher hasher;
  int matched = 0;
  for (const auto& r : rows) {
    ASSERT_EQ(r.size(), 10u);
    const std::string bytes = ReadAll(VectorsDir() + "/images/" + r[0]);
    auto img = image::DecodeImage(bytes);
    ASSERT_TRUE(img.ok()) << r[0] << ": " << img.status();
    const PdqDihedralResult got = hasher.HashDihedral(*img);
    for (int d = 0; d < kNumDihedral; ++d) {
      EXPECT_EQ(got.hashes[d].ToHex(), r[1 + d])
          << r[0] << " " << DihedralName(static_cast<Dihedral>(d));
      if (got.hashes[d].ToHex() == r[1 + d]) ++matched;
    }
    EXPECT_EQ(got.quality, std::atoi(r[9].c_str())) << r[0];
  }
  EXPECT_EQ(matched, 49 * 8);
}

TEST(PdqVectors, PlainEqualsDihedralOriginal) {
  const std::string bytes = ReadAll(VectorsDir() + "/images/misc-images/c.png");
  auto plain = PdqHashBytes(bytes);
  auto dih = PdqHashBytesDihedral(bytes);
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(dih.ok());
  EXPECT_EQ(plain->hash, dih->hashes[0]);
  EXPECT_EQ(plain->quality, dih->quality);
}

// The fast downsampler against a direct transcription of the reference's
// loop order (one scalar running sum per row/column, all four passes
// computed in full) on awkward sizes.
void NaiveBox1D(const float* in, float* out, int n, int stride, int window) {
  const int half = (window + 2) / 2;
  const int p1 = half - 1, p2 = window - half + 1, p3 = n - window,
            p4 = half - 1;
  int li = 0, ri = 0, oi = 0, count = 0;
  float sum = 0.0f;
  for (int i = 0; i < p1; ++i) {
    sum += in[ri];
    ++count;
    ri += stride;
  }
  for (int i = 0; i < p2; ++i) {
    sum += in[ri];
    ++count;
    out[oi] = sum / count;
    ri += stride;
    oi += stride;
  }
  for (int i = 0; i < p3; ++i) {
    sum += in[ri];
    sum -= in[li];
    out[oi] = sum / count;
    li += stride;
    ri += stride;
    oi += stride;
  }
  for (int i = 0; i < p4; ++i) {
    sum -= in[li];
    --count;
    out[oi] = sum / count;
    li += stride;
    oi += stride;
  }
}

void NaiveDownsample(std::vector<float> a, int rows, int cols, float* out64) {
  std::vector<float> b(a.size());
  const int wr = (cols + 127) / 128, wc = (rows + 127) / 128;
  for (int rep = 0; rep < 2; ++rep) {
    for (int i = 0; i < rows; ++i) {
      NaiveBox1D(&a[i * cols], &b[i * cols], cols, 1, wr);
    }
    for (int j = 0; j < cols; ++j) {
      NaiveBox1D(&b[j], &a[j], rows, cols, wc);
    }
  }
  for (int i = 0; i < 64; ++i) {
    const int ii = static_cast<int>(((i + 0.5) * rows) / 64);
    for (int j = 0; j < 64; ++j) {
      const int jj = static_cast<int>(((j + 0.5) * cols) / 64);
      out64[i * 64 + j] = a[ii * cols + jj];
    }
  }
}

TEST(PdqInternal, FastDownsampleMatchesReferenceOrder) {
  const int sizes[][2] = {{5, 5},     {7, 300},   {64, 64},   {127, 129},
                          {128, 257}, {333, 512}, {512, 512}, {40, 9}};
  uint32_t state = 12345;
  for (const auto& s : sizes) {
    const int rows = s[0], cols = s[1];
    std::vector<float> luma(static_cast<size_t>(rows) * cols);
    for (float& v : luma) {
      state = state * 1664525u + 1013904223u;
      v = static_cast<float>(state >> 24) * 0.9876f;
    }
    float want[64 * 64], got[64 * 64];
    NaiveDownsample(luma, rows, cols, want);
    internal::Downsample64(luma.data(), rows, cols, got);
    for (int k = 0; k < 64 * 64; ++k) {
      ASSERT_EQ(std::memcmp(&want[k], &got[k], sizeof(float)), 0)
          << rows << "x" << cols << " at " << k;
    }
  }
}

image::Image Solid(int w, int h, uint8_t v) {
  image::Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.pixels.assign(static_cast<size_t>(w) * h * 3, v);
  return img;
}

TEST(PdqHasher, TinyImagesHashToZeroWithQualityZero) {
  PdqHasher h;
  for (auto [w, ht] : {std::pair{4, 100}, std::pair{100, 4}, std::pair{1, 1}}) {
    image::Image img = Solid(w, ht, 0);
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = i * 37;
    const PdqResult r = h.Hash(img);
    EXPECT_EQ(r.quality, 0);
    EXPECT_EQ(r.hash.PopCount(), 0);
  }
  // 5x5 is hashable.
  image::Image img = Solid(5, 5, 0);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = i * 37;
  EXPECT_GT(h.Hash(img).hash.PopCount(), 0);
}

TEST(PdqHasher, FlatImageHasQualityZero) {
  PdqHasher h;
  EXPECT_EQ(h.Hash(Solid(300, 200, 128)).quality, 0);
}

TEST(PdqHasher, HasherIsReusableAcrossSizes) {
  const std::string big = ReadAll(VectorsDir() + "/images/misc-images/c.png");
  const std::string small =
      ReadAll(VectorsDir() + "/images/misc-images/wee.jpg");
  auto a = image::DecodeImage(big), b = image::DecodeImage(small);
  ASSERT_TRUE(a.ok() && b.ok());
  PdqHasher h;
  const PdqResult first = h.Hash(*a);
  h.Hash(*b);
  EXPECT_EQ(h.Hash(*a).hash, first.hash);
}

TEST(PdqHash, HexRoundTrip) {
  const std::string hex =
      "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
  auto h = PdqHash::FromHex(hex);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->ToHex(), hex);
  // words[15] is printed first.
  EXPECT_EQ(h->words[15], 0xd8f8);
  EXPECT_EQ(h->words[0], 0x9b22);
  auto upper = PdqHash::FromHex(
      "D8F8F0CEE0F4A84F0637022A078F67F0B36E2ED596621E1D33E6339C4E9C9B22");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(*upper, *h);
}

TEST(PdqHash, BitLayout) {
  PdqHash h;
  h.SetBit(0);
  EXPECT_EQ(h.ToHex(), std::string(63, '0') + "1");
  PdqHash g;
  g.SetBit(255);
  EXPECT_EQ(g.ToHex(), "8" + std::string(63, '0'));
  EXPECT_TRUE(g.Bit(255));
  EXPECT_FALSE(g.Bit(254));
}

TEST(PdqHash, FromHexRejectsBadInput) {
  EXPECT_EQ(PdqHash::FromHex("abc").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PdqHash::FromHex(std::string(63, '0') + "g").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PdqHash::FromHex(std::string(65, '0')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PdqHash, HammingDistance) {
  PdqHash a, b;
  EXPECT_EQ(HammingDistance(a, b), 0);
  for (int k = 0; k < 256; k += 3) b.SetBit(k);
  EXPECT_EQ(HammingDistance(a, b), 86);
  EXPECT_EQ(HammingDistance(b, a), 86);
  for (auto& w : a.words) w = 0xffff;
  EXPECT_EQ(HammingDistance(a, PdqHash()), 256);
  // Vectors: the two bridge variants that differ.
  auto x = PdqHash::FromHex(
      "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22");
  auto y = PdqHash::FromHex(
      "d8f8f0cee0f4a84f0637022a038f67f0b36e2ed596631e1d33e6339c4e9c9b22");
  EXPECT_EQ(HammingDistance(*x, *y), 2);
}

TEST(PdqBytes, ErrorsAreClear) {
  EXPECT_EQ(PdqHashBytes("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PdqHashBytes("not an image at all").status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string jpg =
      ReadAll(VectorsDir() + "/images/bridge-mods/square-256x256.jpg");
  auto truncated = PdqHashBytes(jpg.substr(0, jpg.size() / 2));
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(truncated.status().message()),
              ::testing::HasSubstr("jpeg"));
  std::string corrupt = jpg;
  for (size_t i = 20; i < 400 && i < corrupt.size(); ++i) corrupt[i] = '\x5a';
  EXPECT_FALSE(PdqHashBytes(corrupt).ok());
  image::DecodeLimits small;
  small.max_pixels = 1000;
  EXPECT_EQ(PdqHashBytes(jpg, small).status().code(),
            absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace custos::phash
