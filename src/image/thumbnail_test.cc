#include "src/image/thumbnail.h"

#include "gtest/gtest.h"

namespace custos::image {
namespace {

// A colour checkerboard of 8x8-pixel squares: maximal local detail.
Image Checkerboard(int w, int h) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      bool on = ((x / 8) + (y / 8)) % 2 == 0;
      uint8_t* p = &img.pixels[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = on ? 255 : 0;
      p[1] = on ? 0 : 255;
      p[2] = 0;
    }
  return img;
}

// Mean absolute difference between horizontal neighbours: how sharp it is.
double Sharpness(const Image& img) {
  double s = 0;
  int n = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 1; x < img.width; ++x) {
      s += std::abs(int(img.Row(y)[x * img.channels]) -
                    int(img.Row(y)[(x - 1) * img.channels]));
      ++n;
    }
  return s / n;
}

TEST(ThumbnailTest, DefaultIsGreyBlurredAndBounded) {
  Image img = Checkerboard(640, 320);
  ThumbnailOptions sharp;
  sharp.blur = 0;
  sharp.max_side = 640;
  Image t = MakeThumbnail(img, {});
  EXPECT_EQ(t.channels, 1);
  EXPECT_EQ(t.width, 160);
  EXPECT_EQ(t.height, 80);
  Image unblurred = MakeThumbnail(img, sharp);
  EXPECT_EQ(unblurred.width, 640);
  // Green (0.587) and red (0.299) squares differ by 73 grey levels.
  EXPECT_GT(Sharpness(unblurred), 5.0);
  EXPECT_LT(Sharpness(t), Sharpness(unblurred) / 4);
  // Blurring keeps the mean brightness.
  double mean = 0;
  for (uint8_t v : t.pixels) mean += v;
  mean /= t.pixels.size();
  EXPECT_NEAR(mean, (0.299 * 255 + 0.587 * 255) / 2, 3.0);
}

TEST(ThumbnailTest, ColourWhenAskedAndNeverEnlarged) {
  Image img = Checkerboard(40, 20);
  ThumbnailOptions o;
  o.grey = false;
  o.blur = 0;
  Image t = MakeThumbnail(img, o);
  EXPECT_EQ(t.width, 40);
  EXPECT_EQ(t.height, 20);
  EXPECT_EQ(t.channels, 3);
  EXPECT_EQ(t.pixels, img.pixels);
}

TEST(ThumbnailTest, PngRoundTripsThroughTheDecoder) {
  Image t = MakeThumbnail(Checkerboard(300, 200), {});
  auto png = EncodePng(t);
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(png->substr(1, 3), "PNG");
  auto back = DecodeImage(*png);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->width, t.width);
  EXPECT_EQ(back->height, t.height);
  // The decoder gives grey PNGs one channel.
  ASSERT_EQ(back->channels, 1);
  EXPECT_EQ(back->pixels, t.pixels);
  EXPECT_FALSE(EncodePng(Image{}).ok());
}

}  // namespace
}  // namespace custos::image
