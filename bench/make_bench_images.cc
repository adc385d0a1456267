// make_bench_images DIR N: writes N 1024x768 JPEGs (quality 90) and N
// 256x256 PNGs (8-bit RGB) of seeded synthetic photographs (gradients,
// ellipses, texture and noise) into DIR, for the PDQ hashing benchmark
// (bench/pdq_vs_reference.sh). Deterministic: the same N gives the same
// files.
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

#include "src/image/image.h"
#include "src/image/thumbnail.h"

namespace {

custos::image::Image Synthetic(int w, int h, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  custos::image::Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  double base[3] = {u(rng) * 255, u(rng) * 255, u(rng) * 255};
  double gx[3], gy[3];
  for (int c = 0; c < 3; ++c)
    gx[c] = (u(rng) - 0.5) * 200, gy[c] = (u(rng) - 0.5) * 200;
  struct Blob {
    double x, y, rx, ry, col[3];
  };
  std::vector<Blob> blobs(12);
  for (auto& b : blobs) {
    b = {u(rng) * w,
         u(rng) * h,
         20 + u(rng) * w / 4,
         20 + u(rng) * h / 4,
         {u(rng) * 255, u(rng) * 255, u(rng) * 255}};
  }
  double freq = 0.02 + u(rng) * 0.1;
  std::normal_distribution<double> noise(0, 6);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double v[3];
      for (int c = 0; c < 3; ++c)
        v[c] = base[c] + gx[c] * x / w + gy[c] * y / h +
               20 * std::sin(freq * x + c) * std::cos(freq * y);
      for (const auto& b : blobs) {
        double dx = (x - b.x) / b.rx, dy = (y - b.y) / b.ry;
        if (dx * dx + dy * dy < 1)
          for (int c = 0; c < 3; ++c) v[c] = 0.3 * v[c] + 0.7 * b.col[c];
      }
      uint8_t* p = &img.pixels[(static_cast<size_t>(y) * w + x) * 3];
      for (int c = 0; c < 3; ++c)
        p[c] = static_cast<uint8_t>(
            std::lround(std::fmin(255, std::fmax(0, v[c] + noise(rng)))));
    }
  return img;
}

bool WriteJpeg(const custos::image::Image& img, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = static_cast<JDIMENSION>(img.width);
  c.image_height = static_cast<JDIMENSION>(img.height);
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row =
        const_cast<JSAMPROW>(img.Row(static_cast<int>(c.next_scanline)));
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return std::fclose(f) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_bench_images DIR N\n");
    return 2;
  }
  std::string dir = argv[1];
  int n = std::atoi(argv[2]);
  for (int i = 0; i < n; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "/jpeg-%04d.jpg", i);
    if (!WriteJpeg(Synthetic(1024, 768, 1000 + i), dir + name)) return 1;
    auto png = custos::image::EncodePng(Synthetic(256, 256, 5000 + i));
    std::snprintf(name, sizeof name, "/png-%04d.png", i);
    FILE* f = std::fopen((dir + name).c_str(), "wb");
    if (!f || !png.ok() ||
        std::fwrite(png->data(), 1, png->size(), f) != png->size() ||
        std::fclose(f) != 0)
      return 1;
  }
  return 0;
}
