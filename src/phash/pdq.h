// File: pdq.h
//
// PDQ, Meta's 256-bit perceptual image hash, computed bit for bit as the
// reference C++ implementation (facebook/ThreatExchange pdq/cpp) computes
// it: same pre-resize, same float arithmetic in the same order, same median
// and the same hex form. docs/formats/pdq.md specifies the steps and the
// reference's quirks; the public vectors in shared/vectors/pdq are the
// acceptance test.
//
// A hash whose quality is below 50 should not be used for matching; two
// hashes match when their Hamming distance is at most 31.
//
// Thread-safety: PdqHash is a value. PdqHasher holds scratch buffers: one
// hasher per thread. The free functions are reentrant.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(phash::PdqResult r, phash::PdqHashBytes(bytes));
//   if (r.quality >= 50) Index(r.hash.ToHex());
#ifndef CUSTOS_SRC_PHASH_PDQ_H_
#define CUSTOS_SRC_PHASH_PDQ_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "src/image/image.h"

namespace custos::phash {

// 256 bits. Bit k (0..255) is DCT coefficient (row k/16, column k%16) of the
// 16x16 block; it lives in words[k >> 4], bit (k & 15).
struct PdqHash {
  std::array<uint16_t, 16> words{};

  bool Bit(int k) const { return (words[k >> 4] >> (k & 15)) & 1; }
  void SetBit(int k) { words[k >> 4] |= static_cast<uint16_t>(1u << (k & 15)); }
  int PopCount() const;

  // 64 lowercase hex digits: words[15] first, each as 4 digits (the
  // reference's "%04hx" per word).
  std::string ToHex() const;
  // Inverse of ToHex; accepts upper or lower case. kInvalidArgument unless
  // exactly 64 hex digits.
  static absl::StatusOr<PdqHash> FromHex(std::string_view hex);

  friend bool operator==(const PdqHash&, const PdqHash&) = default;
};

// Number of differing bits, 0..256.
int HammingDistance(const PdqHash& a, const PdqHash& b);

struct PdqResult {
  PdqHash hash;
  int quality = 0;  // 0..100
};

// The eight dihedral images, in the reference's --pdqdih order.
enum class Dihedral {
  kOriginal = 0,
  kRotate90,
  kRotate180,
  kRotate270,
  kFlipX,      // reflected about the x axis: mirrored top-bottom
  kFlipY,      // reflected about the y axis: mirrored left-right
  kFlipPlus1,  // transposed about the main diagonal
  kFlipMinus1  // transposed about the anti-diagonal
};
inline constexpr int kNumDihedral = 8;
// "orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1",
// "flipminus1".
const char* DihedralName(Dihedral d);

struct PdqDihedralResult {
  std::array<PdqHash, kNumDihedral> hashes;  // indexed by Dihedral
  int quality = 0;
};

// Reusable hasher; keeps its float scratch buffers between calls (about
// 2 MiB for a 512x512 working image).
class PdqHasher {
 public:
  PdqHasher() = default;

  // Hashes a decoded image (1 or 3 channels). Images with a side over 512
  // are first resized nearest-neighbour to 512x512; images with a side
  // under 5 hash to all zeros with quality 0.
  PdqResult Hash(const image::Image& img);
  PdqDihedralResult HashDihedral(const image::Image& img);

 private:
  // Fills dct_ (16x16) and returns the quality.
  int Compute(const image::Image& img);

  std::vector<float> a_, b_;
  float dct_[16 * 16];
};

// Decodes `bytes` (image::DecodeImage) and hashes the result.
absl::StatusOr<PdqResult> PdqHashBytes(
    std::string_view bytes,
    const image::DecodeLimits& limits = image::DecodeLimits());
absl::StatusOr<PdqDihedralResult> PdqHashBytesDihedral(
    std::string_view bytes,
    const image::DecodeLimits& limits = image::DecodeLimits());

namespace internal {
// Steps after luma, exposed for tests: `luma` is rows x cols, row-major.
// Writes the 64x64 downsampled image (row-major) to out64 using the fast
// path.
void Downsample64(const float* luma, int rows, int cols, float* out64);
// Reference-order quality metric of a 64x64 image.
int Quality64(const float* in64);
}  // namespace internal

}  // namespace custos::phash

#endif  // CUSTOS_SRC_PHASH_PDQ_H_
