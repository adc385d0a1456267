// File: test_jpeg.h
//
// Test helper: builds a small JPEG file whose APP1 segment carries EXIF
// tags written byte by byte after the EXIF 2.3 / TIFF 6.0 layout, so tests
// know the exact values independently of libexif. Not for production use.
//
// Thread-safety: pure functions.
//
// Example:
//   std::string jpeg = filetype::testing::JpegWithExif(
//       {"Canon", "EOS 5D", "2024:05:01 10:20:30", 52, 22, 12, 4, 53, 24});
#ifndef CUSTOS_SRC_FILETYPE_TEST_JPEG_H_
#define CUSTOS_SRC_FILETYPE_TEST_JPEG_H_

#include <cstdint>
#include <string>
#include <vector>

namespace custos::filetype::testing {

struct ExifFields {
  std::string make, model, date_time_original;
  // GPS position: degrees, minutes, seconds (whole numbers); north/east.
  uint32_t lat_deg = 0, lat_min = 0, lat_sec = 0;
  uint32_t lon_deg = 0, lon_min = 0, lon_sec = 0;
  bool south = false, west = false;
};

namespace internal {
inline void Put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
inline void Put32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}
struct Tag {
  uint16_t tag, type;
  uint32_t count;
  std::string data;  // value bytes (little endian)
};
// Size of an IFD with these tags including its out-of-line data.
inline uint32_t IfdSize(const std::vector<Tag>& tags) {
  uint32_t n = 2 + 12 * static_cast<uint32_t>(tags.size()) + 4;
  for (const auto& t : tags)
    if (t.data.size() > 4)
      n += static_cast<uint32_t>((t.data.size() + 1) & ~1u);
  return n;
}
// Appends the IFD at offset `at` (relative to the TIFF header).
inline void PutIfd(std::string& out, uint32_t at,
                   const std::vector<Tag>& tags) {
  uint32_t data_at = at + 2 + 12 * static_cast<uint32_t>(tags.size()) + 4;
  std::string data;
  Put16(out, static_cast<uint16_t>(tags.size()));
  for (const auto& t : tags) {
    Put16(out, t.tag);
    Put16(out, t.type);
    Put32(out, t.count);
    if (t.data.size() <= 4) {
      std::string v = t.data;
      v.resize(4, '\0');
      out += v;
    } else {
      Put32(out, data_at + static_cast<uint32_t>(data.size()));
      data += t.data;
      if (data.size() % 2) data.push_back('\0');
    }
  }
  Put32(out, 0);  // no next IFD
  out += data;
}
inline Tag Ascii(uint16_t tag, const std::string& v) {
  return {tag, 2, static_cast<uint32_t>(v.size() + 1),
          v + std::string(1, '\0')};
}
inline Tag Long(uint16_t tag, uint32_t v) {
  std::string d;
  Put32(d, v);
  return {tag, 4, 1, d};
}
inline Tag Rationals(uint16_t tag, uint32_t a, uint32_t b, uint32_t c) {
  std::string d;
  for (uint32_t x : {a, b, c}) Put32(d, x), Put32(d, 1);
  return {tag, 5, 3, d};
}
}  // namespace internal

inline std::string JpegWithExif(const ExifFields& f) {
  using namespace internal;
  std::vector<Tag> exif = {Ascii(0x9003, f.date_time_original)};
  std::vector<Tag> gps = {
      {0x0000, 1, 4, std::string("\x02\x03\x00\x00", 4)},  // GPSVersionID
      Ascii(0x0001, f.south ? "S" : "N"),
      Rationals(0x0002, f.lat_deg, f.lat_min, f.lat_sec),
      Ascii(0x0003, f.west ? "W" : "E"),
      Rationals(0x0004, f.lon_deg, f.lon_min, f.lon_sec)};
  std::vector<Tag> ifd0 = {Ascii(0x010f, f.make), Ascii(0x0110, f.model),
                           Long(0x8769, 0), Long(0x8825, 0)};
  const uint32_t ifd0_at = 8;
  const uint32_t exif_at = ifd0_at + IfdSize(ifd0);
  const uint32_t gps_at = exif_at + IfdSize(exif);
  ifd0[2] = Long(0x8769, exif_at);
  ifd0[3] = Long(0x8825, gps_at);
  std::string tiff = std::string("II*\0", 4);
  Put32(tiff, ifd0_at);
  PutIfd(tiff, ifd0_at, ifd0);
  PutIfd(tiff, exif_at, exif);
  PutIfd(tiff, gps_at, gps);
  std::string app1 = std::string("Exif\0\0", 6) + tiff;
  std::string jpeg = "\xff\xd8";
  jpeg += "\xff\xe1";
  uint16_t len = static_cast<uint16_t>(app1.size() + 2);
  jpeg.push_back(static_cast<char>(len >> 8));
  jpeg.push_back(static_cast<char>(len & 0xff));
  jpeg += app1;
  // A minimal rest: comment segment and end of image (enough for libmagic).
  jpeg += std::string("\xff\xfe\x00\x06test", 8);
  jpeg += "\xff\xd9";
  return jpeg;
}

}  // namespace custos::filetype::testing

#endif  // CUSTOS_SRC_FILETYPE_TEST_JPEG_H_
