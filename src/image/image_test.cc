#include "src/image/image.h"

#include <gif_lib.h>
#include <tiffio.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/testing.h"

namespace custos::image {
namespace {

using ::testing::HasSubstr;

std::string Images() {
  return custos::testing::SharedDir() + "/vectors/pdq/images/";
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void Put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
void Put32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}

// A 24-bit bottom-up BMP of w x h, pixel (x, y) = (x, y, x + y).
std::string MakeBmp24(int w, int h, int32_t header_height) {
  const int stride = ((w * 3 + 3) / 4) * 4;
  std::string s = "BM";
  Put32(s, 54 + stride * h);
  Put32(s, 0);
  Put32(s, 54);
  Put32(s, 40);
  Put32(s, w);
  Put32(s, static_cast<uint32_t>(header_height));
  Put16(s, 1);
  Put16(s, 24);
  Put32(s, 0);
  Put32(s, stride * h);
  Put32(s, 2835);
  Put32(s, 2835);
  Put32(s, 0);
  Put32(s, 0);
  for (int row = 0; row < h; ++row) {
    const int y = header_height > 0 ? h - 1 - row : row;
    std::string line;
    for (int x = 0; x < w; ++x) {
      line.push_back(static_cast<char>(x + y));  // B
      line.push_back(static_cast<char>(y));      // G
      line.push_back(static_cast<char>(x));      // R
    }
    line.resize(stride, '\0');
    s += line;
  }
  return s;
}

TEST(SniffImageFormat, RecognisesMagic) {
  EXPECT_EQ(SniffImageFormat("\xff\xd8\xff\xe0"), ImageFormat::kJpeg);
  EXPECT_EQ(SniffImageFormat("\x89PNG\r\n\x1a\n...."), ImageFormat::kPng);
  EXPECT_EQ(SniffImageFormat("RIFF\0\0\0\0WEBPVP8 "), ImageFormat::kUnknown);
  EXPECT_EQ(SniffImageFormat(std::string("RIFF\0\0\0\0WEBPVP8 ", 16)),
            ImageFormat::kWebp);
  EXPECT_EQ(SniffImageFormat("GIF89a"), ImageFormat::kGif);
  EXPECT_EQ(SniffImageFormat("BM"), ImageFormat::kBmp);
  EXPECT_EQ(SniffImageFormat(std::string("II*\0", 4)), ImageFormat::kTiff);
  EXPECT_EQ(SniffImageFormat(std::string("MM\0*", 4)), ImageFormat::kTiff);
  EXPECT_EQ(SniffImageFormat("hello"), ImageFormat::kUnknown);
  EXPECT_STREQ(ImageFormatName(ImageFormat::kWebp), "webp");
}

TEST(DecodeImage, EmptyAndUnknownInput) {
  EXPECT_EQ(DecodeImage("").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto st = DecodeImage("plain text").status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("unrecognised"));
}

TEST(DecodeImage, MaxBytes) {
  DecodeLimits lim;
  lim.max_bytes = 10;
  EXPECT_EQ(DecodeImage(std::string(11, 'x'), lim).status().code(),
            absl::StatusCode::kResourceExhausted);
}

struct FormatCase {
  const char* file;
  int width, height, channels;
};

TEST(DecodeImage, VectorFormatsAndModes) {
  const FormatCase cases[] = {
      {"misc-images/modes/RGB.jpg", 1600, 1004, 3},
      {"misc-images/modes/CMYK.jpg", 1600, 1004, 3},
      {"misc-images/modes/L.png", 1600, 1004, 1},
      {"misc-images/modes/LA.png", 1600, 1004, 1},
      {"misc-images/modes/1.png", 1600, 1004, 1},
      {"misc-images/modes/P.png", 1600, 1004, 3},
      {"misc-images/modes/RGBA.png", 1600, 1004, 3},
      {"misc-images/modes/PA.webp", 1600, 1004, 3},
      {"misc-images/wee.jpg", 34, 42, 3},
  };
  for (const auto& c : cases) {
    auto img = DecodeImage(ReadAll(Images() + c.file));
    ASSERT_TRUE(img.ok()) << c.file << ": " << img.status();
    EXPECT_EQ(img->width, c.width) << c.file;
    EXPECT_EQ(img->height, c.height) << c.file;
    EXPECT_EQ(img->channels, c.channels) << c.file;
    EXPECT_EQ(img->pixels.size(),
              static_cast<size_t>(c.width) * c.height * c.channels);
  }
}

TEST(DecodeImage, OneBitPngExpandsToFullRange) {
  auto img = DecodeImage(ReadAll(Images() + "misc-images/modes/1.png"));
  ASSERT_TRUE(img.ok());
  for (uint8_t v : img->pixels) ASSERT_TRUE(v == 0 || v == 255);
}

TEST(DecodeImage, CmykMatchesRgbClosely) {
  auto rgb = DecodeImage(ReadAll(Images() + "misc-images/modes/original.jpg"));
  auto cmyk = DecodeImage(ReadAll(Images() + "misc-images/modes/CMYK.jpg"));
  ASSERT_TRUE(rgb.ok() && cmyk.ok());
  ASSERT_EQ(rgb->pixels.size(), cmyk->pixels.size());
  double diff = 0;
  for (size_t i = 0; i < rgb->pixels.size(); ++i) {
    diff += std::abs(int{rgb->pixels[i]} - int{cmyk->pixels[i]});
  }
  EXPECT_LT(diff / rgb->pixels.size(), 4.0);
}

TEST(DecodeImage, TruncatedFilesOfEveryFormatFail) {
  for (const char* f : {"bridge-mods/square-256x256.jpg", "misc-images/c.png",
                        "misc-images/modes/PA.webp"}) {
    const std::string bytes = ReadAll(Images() + f);
    for (size_t cut : {size_t{1}, size_t{8}, size_t{40}, bytes.size() / 2,
                       bytes.size() - 20}) {
      auto img = DecodeImage(bytes.substr(0, cut));
      EXPECT_FALSE(img.ok()) << f << " cut at " << cut;
    }
  }
}

TEST(DecodeImage, TruncatedJpegAllowedWhenAsked) {
  const std::string bytes =
      ReadAll(Images() + "bridge-mods/square-256x256.jpg");
  DecodeLimits lim;
  lim.allow_truncated = true;
  auto img = DecodeImage(bytes.substr(0, bytes.size() / 2), lim);
  ASSERT_TRUE(img.ok()) << img.status();
  EXPECT_EQ(img->width, 256);
}

TEST(DecodeImage, JpegBombRejectedBeforeDecoding) {
  // A valid JPEG header claiming 60000x60000: patch the SOF0 dimensions.
  std::string bytes = ReadAll(Images() + "bridge-mods/square-128x128.jpg");
  size_t sof = bytes.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  bytes[sof + 5] = static_cast<char>(0xea);  // height 60000
  bytes[sof + 6] = static_cast<char>(0x60);
  bytes[sof + 7] = static_cast<char>(0xea);  // width 60000
  bytes[sof + 8] = static_cast<char>(0x60);
  auto st = DecodeImage(bytes).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr("60000x60000"));
}

TEST(DecodeImage, PngBombRejected) {
  std::string bytes = ReadAll(Images() + "misc-images/c.png");
  // IHDR width/height at offsets 16 and 20 (CRC now wrong, but the size
  // check must come first or the CRC check must fail: either is an error).
  DecodeLimits lim;
  lim.max_pixels = 1000;
  EXPECT_EQ(DecodeImage(bytes, lim).status().code(),
            absl::StatusCode::kResourceExhausted);
  lim = DecodeLimits();
  lim.max_side = 1000;
  EXPECT_EQ(DecodeImage(bytes, lim).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(DecodeImage, CorruptPngCrc) {
  std::string bytes = ReadAll(Images() + "misc-images/c.png");
  bytes[20] ^= 1;  // inside IHDR: CRC mismatch
  auto st = DecodeImage(bytes).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(st.message()), HasSubstr("png"));
}

TEST(DecodeImage, Bmp24BottomUpAndTopDown) {
  for (int32_t hh : {3, -3}) {
    auto img = DecodeImage(MakeBmp24(5, 3, hh));
    ASSERT_TRUE(img.ok()) << img.status();
    EXPECT_EQ(img->width, 5);
    EXPECT_EQ(img->height, 3);
    EXPECT_EQ(img->channels, 3);
    for (int y = 0; y < 3; ++y) {
      for (int x = 0; x < 5; ++x) {
        const uint8_t* p = img->Row(y) + 3 * x;
        EXPECT_EQ(p[0], x);
        EXPECT_EQ(p[1], y);
        EXPECT_EQ(p[2], x + y);
      }
    }
  }
}

TEST(DecodeImage, BmpErrors) {
  std::string bmp = MakeBmp24(5, 3, 3);
  EXPECT_EQ(DecodeImage(bmp.substr(0, bmp.size() - 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeImage(bmp.substr(0, 20)).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string rle = bmp;
  rle[30] = 1;  // BI_RLE8
  EXPECT_EQ(DecodeImage(rle).status().code(), absl::StatusCode::kUnimplemented);
  std::string huge = MakeBmp24(5, 3, 3);
  huge[18] = 0;
  huge[19] = 0;
  huge[20] = 0;
  huge[21] = 0x10;  // width 2^28
  EXPECT_EQ(DecodeImage(huge).status().code(),
            absl::StatusCode::kResourceExhausted);
}

// Encodes a w x h GIF (colour index = (x + y) % 4, palette of 4 colours)
// into a string with giflib, optionally interlaced.
int GifWrite(GifFileType* gif, const GifByteType* data, int len) {
  static_cast<std::string*>(gif->UserData)
      ->append(reinterpret_cast<const char*>(data), len);
  return len;
}
std::string MakeGif(int w, int h, bool interlace) {
  std::string out;
  int err = 0;
  GifFileType* gif = EGifOpen(&out, GifWrite, &err);
  EXPECT_NE(gif, nullptr);
  GifColorType colors[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
  ColorMapObject* cmap = GifMakeMapObject(4, colors);
  EGifPutScreenDesc(gif, w, h, 2, 0, cmap);
  EGifPutImageDesc(gif, 0, 0, w, h, interlace, nullptr);
  std::vector<GifPixelType> line(w);
  if (interlace) {
    const int offset[] = {0, 4, 2, 1}, step[] = {8, 8, 4, 2};
    for (int pass = 0; pass < 4; ++pass) {
      for (int y = offset[pass]; y < h; y += step[pass]) {
        for (int x = 0; x < w; ++x) line[x] = (x + y) % 4;
        EGifPutLine(gif, line.data(), w);
      }
    }
  } else {
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) line[x] = (x + y) % 4;
      EGifPutLine(gif, line.data(), w);
    }
  }
  EGifCloseFile(gif, &err);
  GifFreeMapObject(cmap);
  return out;
}

TEST(DecodeImage, GifFirstFrame) {
  static const uint8_t kRgb[4][3] = {
      {0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
  for (bool interlace : {false, true}) {
    auto img = DecodeImage(MakeGif(13, 11, interlace));
    ASSERT_TRUE(img.ok()) << img.status();
    EXPECT_EQ(img->width, 13);
    EXPECT_EQ(img->height, 11);
    for (int y = 0; y < 11; ++y) {
      for (int x = 0; x < 13; ++x) {
        const uint8_t* p = img->Row(y) + 3 * x;
        ASSERT_EQ(std::memcmp(p, kRgb[(x + y) % 4], 3), 0)
            << interlace << " " << x << "," << y;
      }
    }
  }
  const std::string gif = MakeGif(13, 11, false);
  EXPECT_EQ(DecodeImage(gif.substr(0, gif.size() / 2)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DecodeImage, TiffRgbAndGray) {
  custos::testing::TempDir dir;
  for (int spp : {1, 3}) {
    const std::string path = dir.Join(spp == 1 ? "gray.tif" : "rgb.tif");
    TIFF* t = TIFFOpen(path.c_str(), "w");
    ASSERT_NE(t, nullptr);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 7);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 5);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
                 spp == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 5);
    for (uint32_t y = 0; y < 5; ++y) {
      std::vector<uint8_t> row(7 * spp);
      for (size_t i = 0; i < row.size(); ++i) row[i] = y * 40 + i;
      TIFFWriteScanline(t, row.data(), y, 0);
    }
    TIFFClose(t);
    auto img = DecodeImage(ReadAll(path));
    ASSERT_TRUE(img.ok()) << img.status();
    EXPECT_EQ(img->width, 7);
    EXPECT_EQ(img->height, 5);
    EXPECT_EQ(img->channels, 3);
    const uint8_t* p = img->Row(2) + 3 * 4;  // (4, 2)
    if (spp == 3) {
      EXPECT_EQ(p[0], 80 + 12);
      EXPECT_EQ(p[1], 80 + 13);
      EXPECT_EQ(p[2], 80 + 14);
    } else {
      EXPECT_EQ(p[0], 84);
      EXPECT_EQ(p[1], 84);
      EXPECT_EQ(p[2], 84);
    }
    const std::string bytes = ReadAll(path);
    EXPECT_FALSE(DecodeImage(bytes.substr(0, 60)).ok());
  }
}

// Deterministic byte corruption: every outcome is fine except a crash (the
// sanitizer build turns memory errors into failures).
TEST(DecodeImage, CorruptedBytesNeverCrash) {
  std::vector<std::string> seeds = {
      ReadAll(Images() + "misc-images/wee.jpg"),
      ReadAll(Images() + "bridge-mods/square-128x128.jpg"),
      ReadAll(Images() + "misc-images/c.png"), MakeGif(17, 9, true),
      MakeBmp24(9, 7, 7)};
  uint32_t state = 7;
  for (const std::string& seed : seeds) {
    ASSERT_FALSE(seed.empty());
    for (int round = 0; round < 24; ++round) {
      std::string b = seed;
      for (int k = 0; k < 1 + round % 4; ++k) {
        state = state * 1664525u + 1013904223u;
        const size_t pos = 2 + (state >> 8) % (b.size() - 2);
        b[pos] = static_cast<char>(b[pos] ^ (1 + (state & 0x7f)));
      }
      auto img = DecodeImage(b);
      if (img.ok()) {
        EXPECT_EQ(img->pixels.size(), static_cast<size_t>(img->width) *
                                          img->height * img->channels);
      }
    }
  }
}

TEST(DecodeImage, GifAndTiffGarbage) {
  auto gif = DecodeImage("GIF89a\x01\x00\x01\x00");
  EXPECT_EQ(gif.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(gif.status().message()), HasSubstr("gif"));
  auto tif = DecodeImage(std::string("II*\0\x08\0\0\0\0\0", 10));
  EXPECT_EQ(tif.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tif.status().message()), HasSubstr("tiff"));
}

}  // namespace
}  // namespace custos::image
