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
