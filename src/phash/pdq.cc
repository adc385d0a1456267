// PDQ as docs/formats/pdq.md describes it. Bit-exactness with the reference
// rests on doing every float operation of the reference, in its order and
// precision, for every value that reaches the hash; this file only changes
// which independent values are computed together (SIMD lanes) and skips
// values that never reach the output. Compiled with -ffp-contract=off so no
// multiply-add is fused.
#include "src/phash/pdq.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <numbers>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "src/base/absl_compat.h"
#include "src/base/status_macros.h"

namespace custos::phash {
namespace {

constexpr int kResizeOver = 512;  // sides above this: resize to 512x512
constexpr int kMinSide = 5;       // sides below this: zero hash
constexpr int kDown = 64;         // downsampled image side

// The reference's luma weights, as floats.
constexpr float kLumaR = 0.299f;
constexpr float kLumaG = 0.587f;
constexpr float kLumaB = 0.114f;

struct LumaTables {
  float r[256], g[256], b[256];
  LumaTables() {
    for (int v = 0; v < 256; ++v) {
      r[v] = kLumaR * static_cast<float>(v);
      g[v] = kLumaG * static_cast<float>(v);
      b[v] = kLumaB * static_cast<float>(v);
    }
  }
};
const LumaTables& Luma() {
  static const LumaTables t;
  return t;
}

// DCT-II rows 1..16 of a 64-point transform, scaled by sqrt(2/64), computed
// in double and rounded to float. dct[i][k], and transposed dct_t[k][i].
struct DctMatrix {
  float m[16][64];
  float t[64][16];
  DctMatrix() {
    const double scale = std::sqrt(2.0 / 64.0);
    for (int i = 0; i < 16; ++i) {
      for (int k = 0; k < 64; ++k) {
        m[i][k] =
            static_cast<float>(scale * std::cos((std::numbers::pi / 2 / 64.0) *
                                                (i + 1) * (2 * k + 1)));
        t[k][i] = m[i][k];
      }
    }
  }
};
const DctMatrix& Dct() {
  static const DctMatrix d;
  return d;
}

// Window of the box filter taking `old_dim` samples towards 64.
int JaroszWindow(int old_dim) {
  return (old_dim + 2 * kDown - 1) / (2 * kDown);
}

// Output sample index k (0..63) of a side of `n` samples.
int DecimateIndex(int k, int n) {
  return static_cast<int>(((k + 0.5) * n) / kDown);
}

// One-dimensional box filter along the `steps` axis of a steps x lanes
// row-major array, every lane independently, in the reference's order:
// the window grows from half size, slides (add the new sample, then
// subtract the old one) and shrinks; each output is sum / samples in the
// window. Writes all output rows when `sel` is null, else only rows sel[k]
// (sorted ascending) into out row k.
void BoxAlongSteps(const float* __restrict in, int steps, int lanes, int window,
                   float* __restrict out, const int* sel, int n_sel,
                   float* __restrict sum) {
  const int half = (window + 2) / 2;
  const int p1 = half - 1;
  const int p2 = window - half + 1;
  const int p3 = steps - window;
  std::fill(sum, sum + lanes, 0.0f);
  int ri = 0, li = 0, count = 0, k = 0;
  auto add = [&](int r) {
    const float* __restrict src = in + static_cast<size_t>(r) * lanes;
    for (int l = 0; l < lanes; ++l) sum[l] += src[l];
  };
  auto sub = [&](int r) {
    const float* __restrict src = in + static_cast<size_t>(r) * lanes;
    for (int l = 0; l < lanes; ++l) sum[l] -= src[l];
  };
  for (int i = 0; i < p1; ++i) {
    add(ri++);
    ++count;
  }
  for (int o = 0; o < steps; ++o) {
    if (o < p2) {
      add(ri++);
      ++count;
    } else if (o < p2 + p3) {
      add(ri++);
      sub(li++);
    } else {
      sub(li++);
      --count;
    }
    if (sel == nullptr) {
      float* __restrict dst = out + static_cast<size_t>(o) * lanes;
      const float c = static_cast<float>(count);
      for (int l = 0; l < lanes; ++l) dst[l] = sum[l] / c;
    } else {
      while (k < n_sel && sel[k] == o) {
        float* __restrict dst = out + static_cast<size_t>(k) * lanes;
        const float c = static_cast<float>(count);
        for (int l = 0; l < lanes; ++l) dst[l] = sum[l] / c;
        ++k;
      }
      if (k == n_sel) return;
    }
  }
}

// out (cols x rows) = transpose of in (rows x cols).
void Transpose(const float* __restrict in, int rows, int cols,
               float* __restrict out) {
  constexpr int kB = 16;
  for (int i0 = 0; i0 < rows; i0 += kB) {
    const int i1 = std::min(rows, i0 + kB);
    for (int j0 = 0; j0 < cols; j0 += kB) {
      const int j1 = std::min(cols, j0 + kB);
      for (int i = i0; i < i1; ++i) {
        for (int j = j0; j < j1; ++j) {
          out[static_cast<size_t>(j) * rows + i] =
              in[static_cast<size_t>(i) * cols + j];
        }
      }
    }
  }
}

size_t ScratchFloats(int rows, int cols) {
  return static_cast<size_t>(std::max(rows, kDown)) * std::max(cols, kDown);
}

// Two passes of (box along rows, then box along columns) over the
// rows x cols image in `a`, then the 64x64 decimation, into out64. `a` and
// `b` are scratch of ScratchFloats(rows, cols) floats each; `a` holds the
// luma on entry.
void JaroszDownsample(float* a, float* b, int rows, int cols, float* out64) {
  const int wr = JaroszWindow(cols);  // window along each row
  const int wc = JaroszWindow(rows);  // window along each column
  int row_sel[kDown], col_sel[kDown];
  for (int k = 0; k < kDown; ++k) {
    row_sel[k] = DecimateIndex(k, rows);
    col_sel[k] = DecimateIndex(k, cols);
  }
  std::vector<float> sum(std::max({rows, cols, kDown}));
  // Pass 1, along rows: work on the transpose so lanes are contiguous.
  Transpose(a, rows, cols, b);  // b: cols x rows
  BoxAlongSteps(b, cols, rows, wr, a, nullptr, 0,
                sum.data());    // a: cols x rows
  Transpose(a, cols, rows, b);  // b: rows x cols
  // Pass 1, along columns.
  BoxAlongSteps(b, rows, cols, wc, a, nullptr, 0,
                sum.data());  // a: rows x cols
  // Pass 2, along rows: only the 64 decimated columns are ever read.
  Transpose(a, rows, cols, b);  // b: cols x rows
  BoxAlongSteps(b, cols, rows, wr, a, col_sel, kDown,
                sum.data());     // a: 64 x rows
  Transpose(a, kDown, rows, b);  // b: rows x 64
  // Pass 2, along columns, only at the 64 decimated rows.
  BoxAlongSteps(b, rows, kDown, wc, out64, row_sel, kDown, sum.data());
}

// 16x16 = D (16x64) * A (64x64) * D^T, sums in the reference's k order.
void Dct64To16(const float* a, float* out) {
  const DctMatrix& d = Dct();
  float t[16][64];
  for (int i = 0; i < 16; ++i) {
    float acc[64] = {};
    for (int k = 0; k < 64; ++k) {
      const float dik = d.m[i][k];
      const float* row = a + k * 64;
      for (int j = 0; j < 64; ++j) acc[j] += dik * row[j];
    }
    std::copy(acc, acc + 64, t[i]);
  }
  for (int i = 0; i < 16; ++i) {
    float acc[16] = {};
    for (int k = 0; k < 64; ++k) {
      const float tik = t[i][k];
      for (int j = 0; j < 16; ++j) acc[j] += tik * d.t[k][j];
    }
    std::copy(acc, acc + 16, out + i * 16);
  }
}

// Bits set where the coefficient exceeds the median (the 128th smallest of
// the 256, as the reference's Torben median returns).
PdqHash HashFromDct(const float* dct) {
  float sorted[256];
  std::copy(dct, dct + 256, sorted);
  std::nth_element(sorted, sorted + 127, sorted + 256);
  const float median = sorted[127];
  PdqHash h;
  for (int k = 0; k < 256; ++k) {
    if (dct[k] > median) h.SetBit(k);
  }
  return h;
}

// The DCT of a dihedral transform of the 64x64 image, from the DCT of the
// original (row i = vertical frequency i+1, column j = horizontal frequency
// j+1). Mirroring a coordinate maps basis u to (-1)^(u+1) times itself, so
// mirroring left-right negates the columns j with j even, mirroring
// top-bottom the rows i with i even; transposing the image transposes the
// block. Rotations are a transpose and one mirror.
void DihedralDct(const float* in, Dihedral d, float* out) {
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 16; ++j) {
      const float v = in[i * 16 + j];
      const float vt = in[j * 16 + i];
      const bool ei = (i & 1) == 0, ej = (j & 1) == 0;
      float r = v;
      switch (d) {
        case Dihedral::kOriginal:
          r = v;
          break;
        case Dihedral::kRotate90:
          r = ei ? -vt : vt;
          break;
        case Dihedral::kRotate180:
          r = (ei != ej) ? -v : v;
          break;
        case Dihedral::kRotate270:
          r = ej ? -vt : vt;
          break;
        case Dihedral::kFlipX:  // top-bottom: vertical frequencies
          r = ei ? -v : v;
          break;
        case Dihedral::kFlipY:  // left-right: horizontal frequencies
          r = ej ? -v : v;
          break;
        case Dihedral::kFlipPlus1:
          r = vt;
          break;
        case Dihedral::kFlipMinus1:
          r = (ei != ej) ? -vt : vt;
          break;
      }
      out[i * 16 + j] = r;
    }
  }
}

bool AllGray(const image::Image& img) {
  if (img.channels == 1) return true;
  const uint8_t* p = img.pixels.data();
  const size_t n = static_cast<size_t>(img.width) * img.height;
  for (size_t i = 0; i < n; ++i, p += 3) {
    if (p[0] != p[1] || p[1] != p[2]) return false;
  }
  return true;
}

}  // namespace

int PdqHash::PopCount() const {
  int n = 0;
  for (uint16_t w : words) n += std::popcount(w);
  return n;
}

std::string PdqHash::ToHex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(64, '0');
  for (int w = 0; w < 16; ++w) {
    const uint16_t v = words[15 - w];
    for (int d = 0; d < 4; ++d) s[w * 4 + d] = kHex[(v >> (12 - 4 * d)) & 15];
  }
  return s;
}

absl::StatusOr<PdqHash> PdqHash::FromHex(std::string_view hex) {
  if (hex.size() != 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("pdq: hex hash must be 64 digits, got ", hex.size()));
  }
  PdqHash h;
  for (int w = 0; w < 16; ++w) {
    uint16_t v = 0;
    for (int d = 0; d < 4; ++d) {
      const char c = hex[w * 4 + d];
      int x;
      if (c >= '0' && c <= '9') {
        x = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        x = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        x = c - 'A' + 10;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("pdq: not a hex digit at ", w * 4 + d));
      }
      v = static_cast<uint16_t>((v << 4) | x);
    }
    h.words[15 - w] = v;
  }
  return h;
}

int HammingDistance(const PdqHash& a, const PdqHash& b) {
  int n = 0;
  for (int i = 0; i < 16; ++i)
    n += std::popcount<uint16_t>(a.words[i] ^ b.words[i]);
  return n;
}

const char* DihedralName(Dihedral d) {
  static constexpr const char* kNames[] = {"orig",      "rot90",     "rot180",
                                           "rot270",    "flipx",     "flipy",
                                           "flipplus1", "flipminus1"};
  return kNames[static_cast<int>(d)];
}

int PdqHasher::Compute(const image::Image& img) {
  int rows = img.height, cols = img.width;
  if (rows > kResizeOver || cols > kResizeOver) rows = cols = kResizeOver;
  if (rows < kMinSide || cols < kMinSide) return -1;
  const size_t n = ScratchFloats(rows, cols);
  if (a_.size() < n) {
    a_.resize(n);
    b_.resize(n);
  }
  // Nearest-neighbour source indices: floor(x * old / new) (identity when
  // not resized).
  std::vector<int> src_x(cols);
  for (int x = 0; x < cols; ++x) {
    src_x[x] = static_cast<int>(static_cast<double>(x) * img.width / cols);
  }
  float* luma = a_.data();
  if (AllGray(img)) {
    // The reference reads grey images as one channel and uses the sample
    // itself as the luma.
    const int ch = img.channels;
    for (int y = 0; y < rows; ++y) {
      const int sy =
          static_cast<int>(static_cast<double>(y) * img.height / rows);
      const uint8_t* row = img.Row(sy);
      float* out = luma + static_cast<size_t>(y) * cols;
      for (int x = 0; x < cols; ++x) {
        out[x] = static_cast<float>(row[static_cast<size_t>(src_x[x]) * ch]);
      }
    }
  } else {
    const LumaTables& t = Luma();
    for (int y = 0; y < rows; ++y) {
      const int sy =
          static_cast<int>(static_cast<double>(y) * img.height / rows);
      const uint8_t* row = img.Row(sy);
      float* out = luma + static_cast<size_t>(y) * cols;
      for (int x = 0; x < cols; ++x) {
        const uint8_t* p = row + static_cast<size_t>(src_x[x]) * 3;
        out[x] = t.r[p[0]] + t.g[p[1]] + t.b[p[2]];
      }
    }
  }
  float down[kDown * kDown];
  JaroszDownsample(a_.data(), b_.data(), rows, cols, down);
  Dct64To16(down, dct_);
  return internal::Quality64(down);
}

PdqResult PdqHasher::Hash(const image::Image& img) {
  PdqResult r;
  const int q = Compute(img);
  if (q < 0) return r;
  r.quality = q;
  r.hash = HashFromDct(dct_);
  return r;
}

PdqDihedralResult PdqHasher::HashDihedral(const image::Image& img) {
  PdqDihedralResult r;
  const int q = Compute(img);
  if (q < 0) return r;
  r.quality = q;
  float t[256];
  for (int d = 0; d < kNumDihedral; ++d) {
    DihedralDct(dct_, static_cast<Dihedral>(d), t);
    r.hashes[d] = HashFromDct(t);
  }
  return r;
}

absl::StatusOr<PdqResult> PdqHashBytes(std::string_view bytes,
                                       const image::DecodeLimits& limits) {
  CUSTOS_ASSIGN_OR_RETURN(image::Image img, image::DecodeImage(bytes, limits));
  PdqHasher hasher;
  return hasher.Hash(img);
}

absl::StatusOr<PdqDihedralResult> PdqHashBytesDihedral(
    std::string_view bytes, const image::DecodeLimits& limits) {
  CUSTOS_ASSIGN_OR_RETURN(image::Image img, image::DecodeImage(bytes, limits));
  PdqHasher hasher;
  return hasher.HashDihedral(img);
}

namespace internal {

void Downsample64(const float* luma, int rows, int cols, float* out64) {
  std::vector<float> a(ScratchFloats(rows, cols));
  std::vector<float> b(a.size());
  std::copy(luma, luma + static_cast<size_t>(rows) * cols, a.begin());
  JaroszDownsample(a.data(), b.data(), rows, cols, out64);
}

int Quality64(const float* in) {
  int gradient_sum = 0;
  for (int i = 0; i < kDown - 1; ++i) {
    for (int j = 0; j < kDown; ++j) {
      const float u = in[i * kDown + j], v = in[(i + 1) * kDown + j];
      const int d = static_cast<int>(((u - v) * 100) / 255);
      gradient_sum += std::abs(d);
    }
  }
  for (int i = 0; i < kDown; ++i) {
    for (int j = 0; j < kDown - 1; ++j) {
      const float u = in[i * kDown + j], v = in[i * kDown + j + 1];
      const int d = static_cast<int>(((u - v) * 100) / 255);
      gradient_sum += std::abs(d);
    }
  }
  return std::min(100, gradient_sum / 90);
}

}  // namespace internal

}  // namespace custos::phash
