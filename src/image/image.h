// File: image.h
//
// In-process decoding of still images to 8-bit pixels, for perceptual
// hashing. Formats: JPEG (libjpeg-turbo), PNG (libpng), WebP (libwebp), GIF
// (giflib, first frame), BMP (own strict parser) and TIFF (libtiff, first
// directory). The format is sniffed from the magic bytes, never from a name.
//
// Output is gray (1 channel) when the file stores gray samples (gray JPEG,
// gray or gray+alpha PNG) and RGB (3 channels) otherwise. Conventions follow
// what the PDQ reference sees through ImageMagick: alpha is dropped (the
// stored colour is kept, nothing is composited), palettes are expanded,
// 16-bit samples keep their high byte, EXIF orientation is ignored, CMYK
// JPEG becomes RGB as R = (255-C)(255-K)/255 (Adobe-inverted data is
// un-inverted first).
//
// Untrusted input: every size is checked against DecodeLimits before any
// pixel buffer is allocated (decompression bombs), and corrupt or truncated
// data is an error naming the format and the reason, never a crash. The
// libjpeg/libpng longjmp error paths run in frames holding only trivially
// destructible objects.
//
// Thread-safety: DecodeImage is reentrant; it keeps no global state.
//
// Example:
//   CUSTOS_ASSIGN_OR_RETURN(image::Image img, image::DecodeImage(bytes));
//   // img.width, img.height, img.channels (1 or 3), img.pixels
#ifndef CUSTOS_SRC_IMAGE_IMAGE_H_
#define CUSTOS_SRC_IMAGE_IMAGE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace custos::image {

enum class ImageFormat { kUnknown, kJpeg, kPng, kWebp, kGif, kBmp, kTiff };

// "jpeg", "png", "webp", "gif", "bmp", "tiff" or "unknown".
const char* ImageFormatName(ImageFormat f);

// Recognises the format by its leading magic bytes; kUnknown otherwise.
ImageFormat SniffImageFormat(std::string_view bytes);

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;             // 1 (gray) or 3 (RGB)
  std::vector<uint8_t> pixels;  // rows top to bottom, width*channels bytes
                                // each, no padding
  const uint8_t* Row(int y) const {
    return pixels.data() + static_cast<size_t>(y) * width * channels;
  }
};

struct DecodeLimits {
  // Largest accepted width*height (checked from the header, before
  // decoding). 100 megapixels by default.
  uint64_t max_pixels = 100'000'000;
  // Largest accepted width or height.
  uint32_t max_side = 65'535;
  // Largest accepted encoded input.
  uint64_t max_bytes = 512ull << 20;
  // A JPEG whose data ends early decodes (libjpeg pads with grey) only when
  // this is true; otherwise it is an error.
  bool allow_truncated = false;
};

// Decodes `bytes` (the whole file). On success the image has width, height
// >= 1 and channels 1 or 3.
// Errors: kInvalidArgument for an unrecognised format, corrupt or truncated
// data, or zero-size input; kResourceExhausted when a limit is exceeded;
// kUnimplemented for valid but unsupported variants (RLE BMP, animated
// WebP, ...). The message starts with the format name.
absl::StatusOr<Image> DecodeImage(std::string_view bytes,
                                  const DecodeLimits& limits = DecodeLimits());

}  // namespace custos::image

#endif  // CUSTOS_SRC_IMAGE_IMAGE_H_
