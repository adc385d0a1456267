// Fuzzes custos's image decoding entry point (JPEG, PNG, WebP, GIF, BMP,
// TIFF through src/image) and PDQ hashing of whatever decodes. Untrusted
// input: seized or reported images. Limits keep each input small and fast.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "src/image/image.h"
#include "src/phash/pdq.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  custos::image::DecodeLimits limits;
  limits.max_pixels = 4'000'000;
  auto img = custos::image::DecodeImage(
      std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!img.ok()) return 0;
  if (img->width == 0 || img->height == 0) std::abort();
  custos::phash::PdqHasher hasher;
  auto result = hasher.Hash(*img);
  if (result.quality < 0 || result.quality > 100) std::abort();
  return 0;
}
