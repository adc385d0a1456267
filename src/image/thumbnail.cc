#include "src/image/thumbnail.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace custos::image {
namespace {

// One horizontal + one vertical box pass of radius r over a w x h plane.
void BoxBlur(std::vector<float>& p, int w, int h, int r) {
  if (r <= 0) return;
  std::vector<float> tmp(p.size());
  for (int y = 0; y < h; ++y) {
    const float* row = &p[static_cast<size_t>(y) * w];
    float* out = &tmp[static_cast<size_t>(y) * w];
    for (int x = 0; x < w; ++x) {
      int lo = std::max(0, x - r), hi = std::min(w - 1, x + r);
      float s = 0;
      for (int k = lo; k <= hi; ++k) s += row[k];
      out[x] = s / static_cast<float>(hi - lo + 1);
    }
  }
  for (int x = 0; x < w; ++x) {
    for (int y = 0; y < h; ++y) {
      int lo = std::max(0, y - r), hi = std::min(h - 1, y + r);
      float s = 0;
      for (int k = lo; k <= hi; ++k) s += tmp[static_cast<size_t>(k) * w + x];
      p[static_cast<size_t>(y) * w + x] = s / static_cast<float>(hi - lo + 1);
    }
  }
}

}  // namespace

Image MakeThumbnail(const Image& img, const ThumbnailOptions& options) {
  Image out;
  if (img.width <= 0 || img.height <= 0 || img.channels <= 0) return out;
  int side = std::max(img.width, img.height);
  double scale = side > options.max_side
                     ? static_cast<double>(options.max_side) / side
                     : 1.0;
  int w = std::max(1, static_cast<int>(std::lround(img.width * scale)));
  int h = std::max(1, static_cast<int>(std::lround(img.height * scale)));
  int in_ch = img.channels;
  int out_ch = options.grey || in_ch == 1 ? 1 : 3;
  std::vector<std::vector<float>> planes(out_ch,
                                         std::vector<float>(size_t(w) * h));
  // Area average: each output pixel averages the input pixels whose
  // centres fall in its footprint.
  for (int oy = 0; oy < h; ++oy) {
    int y0 = static_cast<int>(static_cast<int64_t>(oy) * img.height / h);
    int y1 = std::max(y0 + 1, static_cast<int>(static_cast<int64_t>(oy + 1) *
                                               img.height / h));
    for (int ox = 0; ox < w; ++ox) {
      int x0 = static_cast<int>(static_cast<int64_t>(ox) * img.width / w);
      int x1 = std::max(x0 + 1, static_cast<int>(static_cast<int64_t>(ox + 1) *
                                                 img.width / w));
      double sum[3] = {0, 0, 0};
      for (int y = y0; y < y1; ++y) {
        const uint8_t* row = img.Row(y);
        for (int x = x0; x < x1; ++x) {
          const uint8_t* px = row + static_cast<size_t>(x) * in_ch;
          if (out_ch == 1) {
            sum[0] += in_ch >= 3 ? 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]
                                 : px[0];
          } else {
            for (int c = 0; c < 3; ++c) sum[c] += px[c];
          }
        }
      }
      double n = static_cast<double>(y1 - y0) * (x1 - x0);
      for (int c = 0; c < out_ch; ++c)
        planes[c][static_cast<size_t>(oy) * w + ox] =
            static_cast<float>(sum[c] / n);
    }
  }
  int r = static_cast<int>(std::lround(options.blur * std::max(w, h)));
  for (auto& p : planes)
    for (int pass = 0; pass < 3; ++pass) BoxBlur(p, w, h, r);
  out.width = w;
  out.height = h;
  out.channels = out_ch;
  out.pixels.resize(static_cast<size_t>(w) * h * out_ch);
  for (size_t i = 0; i < static_cast<size_t>(w) * h; ++i)
    for (int c = 0; c < out_ch; ++c)
      out.pixels[i * out_ch + c] =
          static_cast<uint8_t>(std::clamp(std::lround(planes[c][i]), 0L, 255L));
  return out;
}

absl::StatusOr<std::string> EncodePng(const Image& img) {
  if (img.width <= 0 || img.height <= 0 ||
      (img.channels != 1 && img.channels != 3) ||
      img.pixels.size() !=
          static_cast<size_t>(img.width) * img.height * img.channels)
    return absl::InvalidArgumentError("cannot encode an empty image as PNG");
  png_image pi;
  std::memset(&pi, 0, sizeof pi);
  pi.version = PNG_IMAGE_VERSION;
  pi.width = static_cast<png_uint_32>(img.width);
  pi.height = static_cast<png_uint_32>(img.height);
  pi.format = img.channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&pi, nullptr, &size, 0, img.pixels.data(), 0,
                                 nullptr))
    return absl::InternalError(
        absl::StrCat("PNG encoding failed: ", pi.message));
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&pi, out.data(), &size, 0, img.pixels.data(),
                                 0, nullptr))
    return absl::InternalError(
        absl::StrCat("PNG encoding failed: ", pi.message));
  out.resize(size);
  return out;
}

}  // namespace custos::image
