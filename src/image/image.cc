#include "src/image/image.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "src/base/absl_compat.h"

// C libraries. jpeglib.h needs <cstdio> first.
#include <gif_lib.h>
#include <jpeglib.h>
// jerror.h after jpeglib.h: the message codes (JWRN_JPEG_EOF).
#include <jerror.h>
#include <png.h>
#include <tiffio.h>
#include <webp/decode.h>

namespace custos::image {
namespace {

// ---------------------------------------------------------------------------
// Shared helpers.

// Buffer handed to the C-style decoders: they may call Allocate() (which
// never longjmps) but hold no non-trivial object in their own frames.
struct PixelSink {
  std::vector<uint8_t>* buffer;
  static uint8_t* Allocate(void* self, size_t bytes) {
    auto* sink = static_cast<PixelSink*>(self);
    sink->buffer->assign(bytes, 0);
    return sink->buffer->data();
  }
};
using AllocFn = uint8_t* (*)(void*, size_t);

absl::Status CheckDims(const char* fmt, uint64_t width, uint64_t height,
                       const DecodeLimits& limits) {
  if (width == 0 || height == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(fmt, ": image has zero width or height"));
  }
  if (width > limits.max_side || height > limits.max_side ||
      width * height > limits.max_pixels) {
    return absl::ResourceExhaustedError(absl::StrCat(
        fmt, ": ", width, "x", height, " exceeds the decode limit (",
        limits.max_pixels, " pixels, side ", limits.max_side, ")"));
  }
  return absl::OkStatus();
}

// Drops channel `drop_from`.. of each pixel in place: `in_ch` -> `out_ch`.
void CompactChannels(std::vector<uint8_t>& px, size_t n_pixels, int in_ch,
                     int out_ch) {
  if (in_ch == out_ch) return;
  uint8_t* p = px.data();
  for (size_t i = 0; i < n_pixels; ++i) {
    for (int c = 0; c < out_ch; ++c) p[i * out_ch + c] = p[i * in_ch + c];
  }
  px.resize(n_pixels * out_ch);
}

// ---------------------------------------------------------------------------
// JPEG (libjpeg-turbo). The setjmp frame (RunJpegDecode) holds only
// trivially destructible objects.

struct JpegErrorMgr {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int eof_warnings;
};

void JpegErrorExit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorMgr*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

void JpegEmitMessage(j_common_ptr cinfo, int msg_level) {
  if (msg_level >= 0) return;  // trace messages
  auto* err = reinterpret_cast<JpegErrorMgr*>(cinfo->err);
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) ++err->eof_warnings;
  cinfo->err->num_warnings++;
}

enum JpegResult { kJpegOk, kJpegError, kJpegTooLarge, kJpegTruncated };

struct JpegJob {
  const uint8_t* data;
  size_t size;
  uint64_t max_pixels;
  uint32_t max_side;
  bool allow_truncated;
  void* sink;
  AllocFn alloc;
  // Results.
  uint32_t width, height;
  int components;  // 1, 3 or 4 (CMYK)
  bool adobe_inverted;
  char message[JMSG_LENGTH_MAX];
};

int RunJpegDecode(JpegJob* job) {
  jpeg_decompress_struct cinfo;
  JpegErrorMgr jerr;
  cinfo.err = jpeg_std_error(&jerr.pub);
  jerr.pub.error_exit = JpegErrorExit;
  jerr.pub.emit_message = JpegEmitMessage;
  jerr.eof_warnings = 0;
  jerr.message[0] = '\0';
  if (setjmp(jerr.jump)) {
    std::memcpy(job->message, jerr.message, sizeof(job->message));
    jpeg_destroy_decompress(&cinfo);
    return kJpegError;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, job->data, job->size);
  jpeg_read_header(&cinfo, TRUE);
  job->width = cinfo.image_width;
  job->height = cinfo.image_height;
  if (cinfo.image_width > job->max_side || cinfo.image_height > job->max_side ||
      static_cast<uint64_t>(cinfo.image_width) * cinfo.image_height >
          job->max_pixels) {
    jpeg_destroy_decompress(&cinfo);
    return kJpegTooLarge;
  }
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo.out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo.out_color_space = JCS_CMYK;
      break;
    default:
      cinfo.out_color_space = JCS_RGB;
      break;
  }
  cinfo.dct_method = JDCT_ISLOW;
  job->adobe_inverted = cinfo.saw_Adobe_marker;
  jpeg_start_decompress(&cinfo);
  job->components = cinfo.output_components;
  const size_t stride =
      static_cast<size_t>(cinfo.output_width) * cinfo.output_components;
  uint8_t* out = job->alloc(job->sink, stride * cinfo.output_height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out + stride * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
    if (jerr.eof_warnings > 0 && !job->allow_truncated) {
      jpeg_destroy_decompress(&cinfo);
      return kJpegTruncated;
    }
  }
  jpeg_finish_decompress(&cinfo);
  const bool truncated = jerr.eof_warnings > 0;
  jpeg_destroy_decompress(&cinfo);
  if (truncated && !job->allow_truncated) return kJpegTruncated;
  return kJpegOk;
}

absl::StatusOr<Image> DecodeJpeg(std::string_view bytes,
                                 const DecodeLimits& limits) {
  Image img;
  PixelSink sink{&img.pixels};
  JpegJob job{};
  job.data = reinterpret_cast<const uint8_t*>(bytes.data());
  job.size = bytes.size();
  job.max_pixels = limits.max_pixels;
  job.max_side = limits.max_side;
  job.allow_truncated = limits.allow_truncated;
  job.sink = &sink;
  job.alloc = &PixelSink::Allocate;
  switch (RunJpegDecode(&job)) {
    case kJpegOk:
      break;
    case kJpegTooLarge:
      return CheckDims("jpeg", job.width, job.height, limits);
    case kJpegTruncated:
      return absl::InvalidArgumentError("jpeg: truncated data");
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("jpeg: corrupt data: ", job.message));
  }
  img.width = static_cast<int>(job.width);
  img.height = static_cast<int>(job.height);
  const size_t n = static_cast<size_t>(img.width) * img.height;
  if (job.components == 4) {
    // CMYK -> RGB as ImageMagick does: R = (255-C)(255-K)/255, with
    // Adobe-marked (Photoshop) data stored inverted.
    uint8_t* p = img.pixels.data();
    for (size_t i = 0; i < n; ++i) {
      unsigned c = p[4 * i], m = p[4 * i + 1], y = p[4 * i + 2],
               k = p[4 * i + 3];
      if (!job.adobe_inverted) {
        c = 255 - c;
        m = 255 - m;
        y = 255 - y;
        k = 255 - k;
      }
      p[3 * i] = static_cast<uint8_t>((c * k + 127) / 255);
      p[3 * i + 1] = static_cast<uint8_t>((m * k + 127) / 255);
      p[3 * i + 2] = static_cast<uint8_t>((y * k + 127) / 255);
    }
    img.pixels.resize(n * 3);
    img.channels = 3;
  } else {
    img.channels = job.components;
  }
  return img;
}

// ---------------------------------------------------------------------------
// PNG (libpng). RunPngDecode is the setjmp frame; trivially destructible
// locals only.

struct PngJob {
  const uint8_t* data;
  size_t size;
  size_t pos;
  uint64_t max_pixels;
  uint32_t max_side;
  void* sink;
  AllocFn alloc;
  uint32_t width, height;
  int channels;  // after transforms: 1..4
  char message[256];
};

void PngError(png_structp png, png_const_charp msg) {
  auto* job = static_cast<PngJob*>(png_get_error_ptr(png));
  std::snprintf(job->message, sizeof(job->message), "%s", msg);
  png_longjmp(png, 1);
}

void PngWarning(png_structp, png_const_charp) {}

void PngRead(png_structp png, png_bytep out, png_size_t len) {
  auto* job = static_cast<PngJob*>(png_get_io_ptr(png));
  if (len > job->size - job->pos) {
    png_error(png, "truncated data");
  }
  std::memcpy(out, job->data + job->pos, len);
  job->pos += len;
}

// 0 on success, 1 on error (job->message), 2 when over the limits.
int RunPngDecode(PngJob* job) {
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, job, PngError, PngWarning);
  if (png == nullptr) return 1;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return 1;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return 1;
  }
  png_set_read_fn(png, job, PngRead);
  // Sizes are checked here, not through png_set_user_limits (whose
  // overrun reads as a generic "Invalid IHDR data").
  png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
  png_read_info(png, info);
  job->width = png_get_image_width(png, info);
  job->height = png_get_image_height(png, info);
  if (job->width > job->max_side || job->height > job->max_side ||
      static_cast<uint64_t>(job->width) * job->height > job->max_pixels) {
    png_destroy_read_struct(&png, &info, nullptr);
    return 2;
  }
  const int color_type = png_get_color_type(png, info);
  const int bit_depth = png_get_bit_depth(png, info);
  if (bit_depth == 16) png_set_strip_16(png);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
    png_set_expand_gray_1_2_4_to_8(png);
  }
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  job->channels = png_get_channels(png, info);
  const size_t rowbytes = png_get_rowbytes(png, info);
  if (png_get_bit_depth(png, info) != 8 ||
      rowbytes != static_cast<size_t>(job->width) * job->channels) {
    std::snprintf(job->message, sizeof(job->message),
                  "unexpected sample layout");
    png_destroy_read_struct(&png, &info, nullptr);
    return 1;
  }
  uint8_t* out = job->alloc(job->sink, rowbytes * job->height);
  for (int pass = 0; pass < passes; ++pass) {
    for (uint32_t y = 0; y < job->height; ++y) {
      png_read_row(png, out + rowbytes * y, nullptr);
    }
  }
  png_destroy_read_struct(&png, &info, nullptr);
  return 0;
}

absl::StatusOr<Image> DecodePng(std::string_view bytes,
                                const DecodeLimits& limits) {
  Image img;
  PixelSink sink{&img.pixels};
  PngJob job{};
  job.data = reinterpret_cast<const uint8_t*>(bytes.data());
  job.size = bytes.size();
  job.max_pixels = limits.max_pixels;
  job.max_side = limits.max_side;
  job.sink = &sink;
  job.alloc = &PixelSink::Allocate;
  const int rc = RunPngDecode(&job);
  if (rc == 2) return CheckDims("png", job.width, job.height, limits);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("png: corrupt data: ", Sv(job.message)));
  }
  img.width = static_cast<int>(job.width);
  img.height = static_cast<int>(job.height);
  const size_t n = static_cast<size_t>(img.width) * img.height;
  const int out_ch = job.channels <= 2 ? 1 : 3;
  CompactChannels(img.pixels, n, job.channels, out_ch);
  img.channels = out_ch;
  return img;
}

// ---------------------------------------------------------------------------
// WebP (libwebp): no longjmp, plain return codes.

absl::StatusOr<Image> DecodeWebp(std::string_view bytes,
                                 const DecodeLimits& limits) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  WebPBitstreamFeatures features;
  const VP8StatusCode st = WebPGetFeatures(data, bytes.size(), &features);
  if (st == VP8_STATUS_NOT_ENOUGH_DATA) {
    return absl::InvalidArgumentError("webp: truncated data");
  }
  if (st != VP8_STATUS_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("webp: corrupt header (status ", st, ")"));
  }
  if (features.has_animation) {
    return absl::UnimplementedError("webp: animated WebP is not supported");
  }
  auto dims = CheckDims("webp", static_cast<uint64_t>(features.width),
                        static_cast<uint64_t>(features.height), limits);
  if (!dims.ok()) return dims;
  Image img;
  img.width = features.width;
  img.height = features.height;
  img.channels = 3;
  const size_t stride = static_cast<size_t>(img.width) * 3;
  img.pixels.assign(stride * img.height, 0);
  if (WebPDecodeRGBInto(data, bytes.size(), img.pixels.data(),
                        img.pixels.size(),
                        static_cast<int>(stride)) == nullptr) {
    return absl::InvalidArgumentError("webp: corrupt or truncated data");
  }
  return img;
}

// ---------------------------------------------------------------------------
// GIF (giflib): first frame only, colour-mapped to RGB; transparency is
// ignored (the colour-map entry is used).

struct GifReader {
  const uint8_t* data;
  size_t size;
  size_t pos;
};

int GifReadFn(GifFileType* gif, GifByteType* out, int len) {
  auto* r = static_cast<GifReader*>(gif->UserData);
  size_t n = static_cast<size_t>(len < 0 ? 0 : len);
  if (n > r->size - r->pos) n = r->size - r->pos;
  std::memcpy(out, r->data + r->pos, n);
  r->pos += n;
  return static_cast<int>(n);
}

absl::StatusOr<Image> DecodeGifFrame(GifFileType* gif,
                                     const DecodeLimits& limits) {
  auto gif_error = [&](const char* what) {
    const char* reason = GifErrorString(gif->Error);
    return absl::InvalidArgumentError(absl::StrCat(
        "gif: ", what, ": ", reason != nullptr ? reason : "unknown error"));
  };
  for (;;) {
    GifRecordType type;
    if (DGifGetRecordType(gif, &type) == GIF_ERROR) {
      return gif_error("corrupt or truncated data");
    }
    if (type == TERMINATE_RECORD_TYPE) {
      return absl::InvalidArgumentError("gif: no image frame");
    }
    if (type == EXTENSION_RECORD_TYPE) {
      int code;
      GifByteType* ext;
      if (DGifGetExtension(gif, &code, &ext) == GIF_ERROR) {
        return gif_error("corrupt extension");
      }
      while (ext != nullptr) {
        if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR) {
          return gif_error("corrupt extension");
        }
      }
      continue;
    }
    if (type != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif) == GIF_ERROR) {
      return gif_error("corrupt image descriptor");
    }
    const GifImageDesc& desc = gif->Image;
    auto dims = CheckDims("gif", static_cast<uint64_t>(desc.Width),
                          static_cast<uint64_t>(desc.Height), limits);
    if (!dims.ok()) return dims;
    const ColorMapObject* cmap =
        desc.ColorMap != nullptr ? desc.ColorMap : gif->SColorMap;
    if (cmap == nullptr) {
      return absl::InvalidArgumentError("gif: frame has no colour map");
    }
    const int w = desc.Width, h = desc.Height;
    std::vector<GifPixelType> index(static_cast<size_t>(w) * h);
    if (desc.Interlace) {
      static constexpr int kOffset[] = {0, 4, 2, 1};
      static constexpr int kStep[] = {8, 8, 4, 2};
      for (int pass = 0; pass < 4; ++pass) {
        for (int y = kOffset[pass]; y < h; y += kStep[pass]) {
          if (DGifGetLine(gif, &index[static_cast<size_t>(y) * w], w) ==
              GIF_ERROR) {
            return gif_error("corrupt or truncated pixel data");
          }
        }
      }
    } else {
      for (int y = 0; y < h; ++y) {
        if (DGifGetLine(gif, &index[static_cast<size_t>(y) * w], w) ==
            GIF_ERROR) {
          return gif_error("corrupt or truncated pixel data");
        }
      }
    }
    Image img;
    img.width = w;
    img.height = h;
    img.channels = 3;
    img.pixels.resize(index.size() * 3);
    for (size_t i = 0; i < index.size(); ++i) {
      const int k = index[i] < cmap->ColorCount ? index[i] : 0;
      img.pixels[3 * i] = cmap->Colors[k].Red;
      img.pixels[3 * i + 1] = cmap->Colors[k].Green;
      img.pixels[3 * i + 2] = cmap->Colors[k].Blue;
    }
    return img;
  }
}

absl::StatusOr<Image> DecodeGif(std::string_view bytes,
                                const DecodeLimits& limits) {
  GifReader reader{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                   0};
  int err = 0;
  GifFileType* gif = DGifOpen(&reader, GifReadFn, &err);
  if (gif == nullptr) {
    const char* reason = GifErrorString(err);
    return absl::InvalidArgumentError(
        absl::StrCat("gif: corrupt header: ", reason ? reason : "unknown"));
  }
  absl::StatusOr<Image> result = DecodeGifFrame(gif, limits);
  DGifCloseFile(gif, &err);
  return result;
}

// ---------------------------------------------------------------------------
// BMP: strict parser for uncompressed (BI_RGB) and BI_BITFIELDS bitmaps of
// 1, 4, 8, 16, 24 and 32 bits per pixel. RLE and embedded JPEG/PNG are
// kUnimplemented.

uint32_t Le32(const uint8_t* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint16_t Le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

// Extracts the field selected by `mask` from `v`, scaled to 0..255.
uint8_t MaskedChannel(uint32_t v, uint32_t mask) {
  if (mask == 0) return 0;
  int shift = 0;
  while (((mask >> shift) & 1) == 0) ++shift;
  const uint32_t m = mask >> shift;
  int bits = 0;
  while (bits < 32 && ((m >> bits) & 1)) ++bits;
  const uint32_t x = (v & mask) >> shift;
  const uint32_t max = bits >= 32 ? 0xffffffffu : ((1u << bits) - 1);
  return static_cast<uint8_t>((static_cast<uint64_t>(x) * 255 + max / 2) / max);
}

absl::StatusOr<Image> DecodeBmp(std::string_view bytes,
                                const DecodeLimits& limits) {
  const auto* d = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t size = bytes.size();
  if (size < 14 + 12)
    return absl::InvalidArgumentError("bmp: truncated header");
  const uint32_t data_offset = Le32(d + 10);
  const uint32_t hdr = Le32(d + 14);
  if (hdr != 12 && hdr != 40 && hdr != 52 && hdr != 56 && hdr != 108 &&
      hdr != 124) {
    return absl::InvalidArgumentError(
        absl::StrCat("bmp: unsupported header size ", hdr));
  }
  if (size < 14 + static_cast<size_t>(hdr)) {
    return absl::InvalidArgumentError("bmp: truncated header");
  }
  int64_t width, height;
  uint32_t bpp, compression = 0, colors_used = 0;
  uint32_t masks[3] = {0, 0, 0};
  size_t palette_entry = 4;
  if (hdr == 12) {
    width = Le16(d + 18);
    height = static_cast<int16_t>(Le16(d + 20));
    if (Le16(d + 22) != 1)
      return absl::InvalidArgumentError("bmp: planes != 1");
    bpp = Le16(d + 24);
    palette_entry = 3;
  } else {
    width = static_cast<int32_t>(Le32(d + 18));
    height = static_cast<int32_t>(Le32(d + 22));
    if (Le16(d + 26) != 1)
      return absl::InvalidArgumentError("bmp: planes != 1");
    bpp = Le16(d + 28);
    compression = Le32(d + 30);
    colors_used = Le32(d + 46);
    if (hdr >= 52) {
      masks[0] = Le32(d + 54);
      masks[1] = Le32(d + 58);
      masks[2] = Le32(d + 62);
    }
  }
  const bool top_down = height < 0;
  if (height < 0) height = -height;
  if (width <= 0 || height <= 0) {
    return absl::InvalidArgumentError("bmp: image has zero or negative width");
  }
  auto dims = CheckDims("bmp", static_cast<uint64_t>(width),
                        static_cast<uint64_t>(height), limits);
  if (!dims.ok()) return dims;
  if (compression == 1 || compression == 2 || compression == 4 ||
      compression == 5) {
    return absl::UnimplementedError(
        absl::StrCat("bmp: compression ", compression, " is not supported"));
  }
  if (compression == 3 || compression == 6) {  // BI_BITFIELDS
    if (bpp != 16 && bpp != 32) {
      return absl::InvalidArgumentError("bmp: bitfields need 16 or 32 bpp");
    }
    if (hdr == 40) {
      if (size < 14 + 40 + 12)
        return absl::InvalidArgumentError("bmp: truncated masks");
      masks[0] = Le32(d + 54);
      masks[1] = Le32(d + 58);
      masks[2] = Le32(d + 62);
    }
  } else if (compression != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bmp: unknown compression ", compression));
  } else if (bpp == 16) {
    masks[0] = 0x7c00;
    masks[1] = 0x03e0;
    masks[2] = 0x001f;
  } else if (bpp == 32) {
    masks[0] = 0x00ff0000;
    masks[1] = 0x0000ff00;
    masks[2] = 0x000000ff;
  }
  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("bmp: unsupported bit depth ", bpp));
  }
  // Palette.
  std::vector<uint8_t> palette;  // RGB triples
  if (bpp <= 8) {
    size_t n = colors_used != 0 ? colors_used : (1u << bpp);
    if (n > 256) return absl::InvalidArgumentError("bmp: palette too large");
    size_t start = 14 + static_cast<size_t>(hdr);
    if (compression == 3 && hdr == 40) start += 12;
    if (start + n * palette_entry > size) {
      return absl::InvalidArgumentError("bmp: truncated palette");
    }
    palette.resize(n * 3);
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* e = d + start + i * palette_entry;
      palette[3 * i] = e[2];
      palette[3 * i + 1] = e[1];
      palette[3 * i + 2] = e[0];
    }
  }
  const uint64_t stride = ((static_cast<uint64_t>(width) * bpp + 31) / 32) * 4;
  if (data_offset > size ||
      stride * static_cast<uint64_t>(height) > size - data_offset) {
    return absl::InvalidArgumentError("bmp: truncated pixel data");
  }
  Image img;
  img.width = static_cast<int>(width);
  img.height = static_cast<int>(height);
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(width) * height * 3);
  for (int64_t y = 0; y < height; ++y) {
    const int64_t src_y = top_down ? y : height - 1 - y;
    const uint8_t* row = d + data_offset + stride * src_y;
    uint8_t* out = img.pixels.data() + static_cast<size_t>(y) * width * 3;
    for (int64_t x = 0; x < width; ++x) {
      uint8_t* o = out + 3 * x;
      if (bpp <= 8) {
        const uint64_t bit = static_cast<uint64_t>(x) * bpp;
        const uint8_t byte = row[bit / 8];
        const int shift = 8 - bpp - static_cast<int>(bit % 8);
        const unsigned idx = (byte >> shift) & ((1u << bpp) - 1);
        if (idx * 3 >= palette.size()) {
          return absl::InvalidArgumentError("bmp: palette index out of range");
        }
        std::memcpy(o, &palette[idx * 3], 3);
      } else if (bpp == 24) {
        o[0] = row[3 * x + 2];
        o[1] = row[3 * x + 1];
        o[2] = row[3 * x];
      } else {
        const uint32_t v = bpp == 16 ? Le16(row + 2 * x) : Le32(row + 4 * x);
        for (int c = 0; c < 3; ++c) o[c] = MaskedChannel(v, masks[c]);
      }
    }
  }
  return img;
}

// ---------------------------------------------------------------------------
// TIFF (libtiff): first directory through TIFFReadRGBAImageOriented, with
// per-handle error handlers (no global state).

struct TiffMem {
  const uint8_t* data;
  uint64_t size;
  uint64_t pos;
  std::string error;
};

tmsize_t TiffRead(thandle_t h, void* buf, tmsize_t n) {
  auto* m = static_cast<TiffMem*>(h);
  if (n < 0) return 0;
  uint64_t k = static_cast<uint64_t>(n);
  if (m->pos >= m->size) return 0;
  if (k > m->size - m->pos) k = m->size - m->pos;
  std::memcpy(buf, m->data + m->pos, k);
  m->pos += k;
  return static_cast<tmsize_t>(k);
}
tmsize_t TiffWrite(thandle_t, void*, tmsize_t) { return -1; }
toff_t TiffSeek(thandle_t h, toff_t off, int whence) {
  auto* m = static_cast<TiffMem*>(h);
  uint64_t base = whence == SEEK_SET   ? 0
                  : whence == SEEK_CUR ? m->pos
                                       : m->size;
  m->pos = base + off;
  return m->pos;
}
int TiffClose(thandle_t) { return 0; }
toff_t TiffSize(thandle_t h) { return static_cast<TiffMem*>(h)->size; }
int TiffMap(thandle_t, void**, toff_t*) { return 0; }
void TiffUnmap(thandle_t, void*, toff_t) {}
int TiffErrorHandler(TIFF*, void* user, const char* module, const char* fmt,
                     va_list ap) {
  auto* m = static_cast<TiffMem*>(user);
  if (m->error.empty()) {
    char buf[256];
    std::vsnprintf(buf, sizeof(buf), fmt, ap);
    m->error = absl::StrCat(module != nullptr ? module : "", ": ", buf);
  }
  return 1;
}
int TiffWarningHandler(TIFF*, void*, const char*, const char*, va_list) {
  return 1;
}

absl::StatusOr<Image> DecodeTiff(std::string_view bytes,
                                 const DecodeLimits& limits) {
  TiffMem mem{
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 0, {}};
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(opts, TiffErrorHandler, &mem);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, TiffWarningHandler, &mem);
  TIFFOpenOptionsSetMaxSingleMemAlloc(
      opts, static_cast<tmsize_t>(
                std::min<uint64_t>(limits.max_pixels * 8 + (64 << 20),
                                   std::numeric_limits<tmsize_t>::max())));
  TIFF* tif =
      TIFFClientOpenExt("memory", "rm", &mem, TiffRead, TiffWrite, TiffSeek,
                        TiffClose, TiffSize, TiffMap, TiffUnmap, opts);
  TIFFOpenOptionsFree(opts);
  if (tif == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("tiff: corrupt header: ", mem.error));
  }
  uint32_t w = 0, h = 0;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
  auto dims = CheckDims("tiff", w, h, limits);
  if (!dims.ok()) {
    TIFFClose(tif);
    return dims;
  }
  std::vector<uint32_t> raster(static_cast<size_t>(w) * h);
  const int ok = TIFFReadRGBAImageOriented(tif, w, h, raster.data(),
                                           ORIENTATION_TOPLEFT, 0);
  TIFFClose(tif);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tiff: corrupt, truncated or unsupported data: ", mem.error));
  }
  Image img;
  img.width = static_cast<int>(w);
  img.height = static_cast<int>(h);
  img.channels = 3;
  img.pixels.resize(raster.size() * 3);
  for (size_t i = 0; i < raster.size(); ++i) {
    img.pixels[3 * i] = static_cast<uint8_t>(TIFFGetR(raster[i]));
    img.pixels[3 * i + 1] = static_cast<uint8_t>(TIFFGetG(raster[i]));
    img.pixels[3 * i + 2] = static_cast<uint8_t>(TIFFGetB(raster[i]));
  }
  return img;
}

}  // namespace

const char* ImageFormatName(ImageFormat f) {
  switch (f) {
    case ImageFormat::kJpeg:
      return "jpeg";
    case ImageFormat::kPng:
      return "png";
    case ImageFormat::kWebp:
      return "webp";
    case ImageFormat::kGif:
      return "gif";
    case ImageFormat::kBmp:
      return "bmp";
    case ImageFormat::kTiff:
      return "tiff";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

ImageFormat SniffImageFormat(std::string_view b) {
  auto starts = [&](std::string_view magic) {
    return b.size() >= magic.size() && b.substr(0, magic.size()) == magic;
  };
  if (starts("\xff\xd8\xff")) return ImageFormat::kJpeg;
  if (starts("\x89PNG\r\n\x1a\n")) return ImageFormat::kPng;
  if (b.size() >= 12 && starts("RIFF") && b.substr(8, 4) == "WEBP") {
    return ImageFormat::kWebp;
  }
  if (starts("GIF87a") || starts("GIF89a")) return ImageFormat::kGif;
  if (starts("BM")) return ImageFormat::kBmp;
  if (starts(std::string_view("II*\0", 4)) ||
      starts(std::string_view("MM\0*", 4))) {
    return ImageFormat::kTiff;
  }
  return ImageFormat::kUnknown;
}

absl::StatusOr<Image> DecodeImage(std::string_view bytes,
                                  const DecodeLimits& limits) {
  if (bytes.empty()) {
    return absl::InvalidArgumentError("image: empty input");
  }
  if (bytes.size() > limits.max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("image: input of ", bytes.size(),
                     " bytes exceeds the limit of ", limits.max_bytes));
  }
  switch (SniffImageFormat(bytes)) {
    case ImageFormat::kJpeg:
      return DecodeJpeg(bytes, limits);
    case ImageFormat::kPng:
      return DecodePng(bytes, limits);
    case ImageFormat::kWebp:
      return DecodeWebp(bytes, limits);
    case ImageFormat::kGif:
      return DecodeGif(bytes, limits);
    case ImageFormat::kBmp:
      return DecodeBmp(bytes, limits);
    case ImageFormat::kTiff:
      return DecodeTiff(bytes, limits);
    case ImageFormat::kUnknown:
      break;
  }
  return absl::InvalidArgumentError(
      "image: unrecognised format (not JPEG, PNG, WebP, GIF, BMP or TIFF)");
}

}  // namespace custos::image
