#include "src/filetype/filetype.h"

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "src/filetype/test_jpeg.h"

namespace custos::filetype {
namespace {

std::map<std::string, std::string> AsMap(const Properties& p) {
  return std::map<std::string, std::string>(p.begin(), p.end());
}

testing::ExifFields Amsterdam() {
  testing::ExifFields f;
  f.make = "Canon";
  f.model = "Canon EOS 5D Mark IV";
  f.date_time_original = "2024:05:01 10:20:30";
  f.lat_deg = 52, f.lat_min = 22, f.lat_sec = 12;  // 52.370000 N
  f.lon_deg = 4, f.lon_min = 53, f.lon_sec = 24;   // 4.890000 E
  return f;
}

TEST(Identify, KnownTypes) {
  EXPECT_EQ(Identify(testing::JpegWithExif(Amsterdam())).mime, "image/jpeg");
  EXPECT_EQ(
      Identify("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n").mime,
      "application/pdf");
  const std::string png = std::string(
      "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x10\0\0\0\x10\x08\x02", 26);
  EXPECT_EQ(Identify(png).mime, "image/png");
  EXPECT_EQ(Identify("hello, plain text\n").mime, "text/plain");
  EXPECT_EQ(Identify(std::string("PK\x03\x04", 4) + std::string(60, '\0')).mime,
            "application/zip");
  EXPECT_EQ(Identify("").mime, "application/x-empty");
  // Negative control: random-looking bytes are not a JPEG.
  std::string noise;
  for (int i = 0; i < 4096; ++i)
    noise.push_back(static_cast<char>(i * 131 + 7));
  EXPECT_NE(Identify(noise).mime, "image/jpeg");
}

TEST(Identify, DescriptionOnlyWhenAsked) {
  FileType t = Identify("hello, plain text\n", false);
  EXPECT_EQ(t.description, "");
  t = Identify("hello, plain text\n", true);
  EXPECT_EQ(t.description, "ASCII text");
}

// Identify(describe) skips libmagic's MIME pass when the description is
// "data" and answers application/octet-stream. Held against the MIME cookie
// itself over data libmagic half-recognises: the first 2 to 40 bytes of
// real formats' headers, then pseudo-random bytes (the header of a JPEG,
// PNG, ZIP, PDF, ELF, MZ, gzip, ... with a body that does not fit), and
// pure noise.
TEST(Identify, MimeOfUnidentifiedDataMatchesTheMimeCookie) {
  const std::string heads[] = {
      testing::JpegWithExif(Amsterdam()).substr(0, 40),
      std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16),
      std::string("PK\x03\x04\x14\0\0\0\x08\0", 10),
      "%PDF-1.7\n",
      std::string("\x7f"
                  "ELF\x02\x01\x01\0",
                  8),
      "MZ\x90\0\x03\0\0\0",
      std::string("\x1f\x8b\x08\0", 4),
      std::string("BZh91AY&SY", 10),
      std::string("\xfd"
                  "7zXZ\0",
                  6),
      "GIF89a",
      std::string("RIFF\0\0\0\0WAVE", 12),
      std::string("\0\0\0\x18"
                  "ftypheic",
                  12),
      "SQLite format 3",
      std::string("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8),
      "",
  };
  uint32_t x = 12345;
  int unidentified = 0;
  for (const std::string& h : heads) {
    for (size_t cut = 0; cut <= h.size(); cut += (h.size() < 8 ? 1 : 3)) {
      for (int rep = 0; rep < 6; ++rep) {
        std::string data = h.substr(0, cut);
        size_t len = 64 + (x % 4000);
        while (data.size() < len) {
          x = x * 1103515245u + 12345u;
          data.push_back(static_cast<char>(x >> 23));
        }
        FileType both = Identify(data, true);
        FileType mime_only = Identify(data, false);
        EXPECT_EQ(both.mime, mime_only.mime)
            << both.description << " (" << cut << " header bytes)";
        unidentified += both.description == kUnidentifiedDescription;
      }
    }
  }
  // The shortcut was exercised, and not only by noise.
  EXPECT_GT(unidentified, 100);
}

TEST(Identify, OnlyTheHeadIsLookedAt) {
  // A text file whose 65th KiB starts with a JPEG marker stays text.
  std::string s(kIdentifyBytes, 'a');
  s += "\xff\xd8\xff\xe0";
  EXPECT_EQ(Identify(s).mime, "text/plain");
}

TEST(Identify, ThreadsHaveTheirOwnCookies) {
  std::string jpeg = testing::JpegWithExif(Amsterdam());
  std::vector<std::thread> threads;
  std::vector<std::string> got(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < 50; ++k) got[i] = Identify(jpeg).mime;
    });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, "image/jpeg");
}

TEST(Exif, ExactValuesFromAHandWrittenJpeg) {
  auto p = AsMap(ExifProperties(testing::JpegWithExif(Amsterdam())));
  EXPECT_EQ(p["exif.Make"], "Canon");
  EXPECT_EQ(p["exif.Model"], "Canon EOS 5D Mark IV");
  EXPECT_EQ(p["exif.DateTimeOriginal"], "2024:05:01 10:20:30");
  EXPECT_EQ(p["exif.GPSLatitudeRef"], "N");
  EXPECT_EQ(p["exif.GPSLongitudeRef"], "E");
  EXPECT_EQ(p["exif.gps.latitude"], "52.370000");
  EXPECT_EQ(p["exif.gps.longitude"], "4.890000");
}

TEST(Exif, SouthAndWestAreNegative) {
  testing::ExifFields f = Amsterdam();
  f.south = f.west = true;
  auto p = AsMap(ExifProperties(testing::JpegWithExif(f)));
  EXPECT_EQ(p["exif.gps.latitude"], "-52.370000");
  EXPECT_EQ(p["exif.gps.longitude"], "-4.890000");
}

TEST(Exif, NoneInOtherData) {
  EXPECT_TRUE(ExifProperties("hello, plain text\n").empty());
  EXPECT_TRUE(ExifProperties("").empty());
  // A JPEG without APP1.
  EXPECT_TRUE(ExifProperties(std::string("\xff\xd8\xff\xd9", 4)).empty());
}

TEST(Exif, TruncatedDataDoesNotCrash) {
  std::string jpeg = testing::JpegWithExif(Amsterdam());
  for (size_t n = 0; n < jpeg.size(); n += 7) ExifProperties(jpeg.substr(0, n));
  // Damaged offsets: flip every byte in turn.
  for (size_t i = 0; i < jpeg.size(); ++i) {
    std::string d = jpeg;
    d[i] = static_cast<char>(d[i] ^ 0xff);
    ExifProperties(d);
  }
  SUCCEED();
}

TEST(Describe, JpegGetsTypeAndExif) {
  std::string mime;
  auto p = AsMap(Describe(testing::JpegWithExif(Amsterdam()), &mime));
  EXPECT_EQ(mime, "image/jpeg");
  EXPECT_EQ(p["exif.Make"], "Canon");
  EXPECT_NE(p["file.description"].find("JPEG image data"), std::string::npos)
      << p["file.description"];
  // Text: no exif keys.
  auto t = Describe("hello\n", &mime);
  EXPECT_EQ(mime, "text/plain");
  for (const auto& [k, v] : t)
    EXPECT_EQ(k.rfind("exif.", 0), std::string::npos);
}

}  // namespace
}  // namespace custos::filetype
