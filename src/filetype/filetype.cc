#include "src/filetype/filetype.h"

#include <libexif/exif-data.h>
#include <libexif/exif-tag.h>
#include <libexif/exif-utils.h>
#include <magic.h>

#include <cmath>
#include <cstdio>
#include <cstring>

namespace custos::filetype {
namespace {

// One pair of libmagic cookies per thread: MIME type and description.
class Magic {
 public:
  Magic() {
    const int common = MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ENCODING |
                       MAGIC_ERROR | MAGIC_NO_CHECK_CDF;
    mime_ = Load(MAGIC_MIME_TYPE | common);
    desc_ = Load(common);
  }
  ~Magic() {
    if (mime_ != nullptr) magic_close(mime_);
    if (desc_ != nullptr) magic_close(desc_);
  }
  Magic(const Magic&) = delete;
  Magic& operator=(const Magic&) = delete;

  std::string Run(bool mime, std::string_view data) {
    magic_t m = mime ? mime_ : desc_;
    if (m == nullptr) return "";
    const char* r = magic_buffer(m, data.data(), data.size());
    return r == nullptr ? "" : std::string(r);
  }

 private:
  static magic_t Load(int flags) {
    magic_t m = magic_open(flags);
    if (m == nullptr) return nullptr;
    if (magic_load(m, nullptr) != 0) {
      magic_close(m);
      return nullptr;
    }
    return m;
  }
  magic_t mime_ = nullptr;
  magic_t desc_ = nullptr;
};

Magic& ThreadMagic() {
  thread_local Magic magic;
  return magic;
}

std::string Trim(std::string s) {
  size_t e = s.find_last_not_of(" \t\r\n");
  s.erase(e == std::string::npos ? 0 : e + 1);
  size_t b = s.find_first_not_of(" \t\r\n");
  s.erase(0, b == std::string::npos ? s.size() : b);
  return s;
}

bool Printable(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

// Degrees from a GPS rational triple (degrees, minutes, seconds).
bool GpsDegrees(ExifEntry* e, ExifByteOrder order, double* out) {
  if (e == nullptr || e->format != EXIF_FORMAT_RATIONAL || e->components < 3 ||
      e->data == nullptr || e->size < 24)
    return false;
  double parts[3];
  for (int i = 0; i < 3; ++i) {
    ExifRational r = exif_get_rational(e->data + 8 * i, order);
    if (r.denominator == 0) return false;
    parts[i] = static_cast<double>(r.numerator) / r.denominator;
  }
  *out = parts[0] + parts[1] / 60.0 + parts[2] / 3600.0;
  return std::isfinite(*out);
}

std::string RefOf(ExifEntry* e) {
  if (e == nullptr || e->data == nullptr || e->size < 1) return "";
  return std::string(1, static_cast<char>(e->data[0]));
}

}  // namespace

FileType Identify(std::string_view head, bool describe) {
  if (head.size() > kIdentifyBytes) head = head.substr(0, kIdentifyBytes);
  FileType t;
  Magic& m = ThreadMagic();
  if (describe) {
    t.description = m.Run(false, head);
    // libmagic prints "data" only when no test matched (file_default() in
    // its funcs.c), and its MIME cookie then prints
    // application/octet-stream: the second pass over the database (about
    // 180 us for data that matches nothing) is skipped. The filetype test
    // MimeOfUnidentifiedDataMatchesTheMimeCookie holds libmagic to it.
    if (t.description == kUnidentifiedDescription) {
      t.mime = kUnidentifiedMime;
      return t;
    }
  }
  t.mime = m.Run(true, head);
  return t;
}

std::string MagicVersion() {
  int v = magic_version();
  char buf[16];
  std::snprintf(buf, sizeof buf, "%d.%02d", v / 100, v % 100);
  return buf;
}

Properties ExifProperties(std::string_view data) {
  Properties out;
  if (data.size() < 8) return out;
  ExifData* ed = exif_data_new_from_data(
      reinterpret_cast<const unsigned char*>(data.data()),
      static_cast<unsigned int>(data.size()));
  if (ed == nullptr) return out;
  const ExifIfd order[] = {EXIF_IFD_0, EXIF_IFD_EXIF, EXIF_IFD_GPS, EXIF_IFD_1};
  char buf[1024];
  for (ExifIfd ifd : order) {
    ExifContent* c = ed->ifd[ifd];
    if (c == nullptr) continue;
    for (unsigned i = 0; i < c->count; ++i) {
      ExifEntry* e = c->entries[i];
      if (e == nullptr) continue;
      if (e->tag == EXIF_TAG_MAKER_NOTE || e->format == EXIF_FORMAT_UNDEFINED)
        continue;
      const char* name = exif_tag_get_name_in_ifd(e->tag, ifd);
      if (name == nullptr || *name == '\0') continue;
      std::memset(buf, 0, sizeof buf);
      if (exif_entry_get_value(e, buf, sizeof buf - 1) == nullptr) continue;
      std::string v = Trim(buf);
      if (v.empty() || !Printable(v)) continue;
      if (v.size() > 256) v.resize(256);
      std::string key = std::string("exif.") + name;
      if (ifd == EXIF_IFD_1) key = std::string("exif.thumbnail.") + name;
      out.emplace_back(std::move(key), std::move(v));
    }
  }
  ExifContent* gps = ed->ifd[EXIF_IFD_GPS];
  if (gps != nullptr) {
    ExifByteOrder bo = exif_data_get_byte_order(ed);
    auto entry = [&](int tag) {
      return exif_content_get_entry(gps, static_cast<ExifTag>(tag));
    };
    double lat, lon;
    if (GpsDegrees(entry(EXIF_TAG_GPS_LATITUDE), bo, &lat) &&
        GpsDegrees(entry(EXIF_TAG_GPS_LONGITUDE), bo, &lon)) {
      if (RefOf(entry(EXIF_TAG_GPS_LATITUDE_REF)) == "S") lat = -lat;
      if (RefOf(entry(EXIF_TAG_GPS_LONGITUDE_REF)) == "W") lon = -lon;
      char v[32];
      std::snprintf(v, sizeof v, "%.6f", lat);
      out.emplace_back("exif.gps.latitude", v);
      std::snprintf(v, sizeof v, "%.6f", lon);
      out.emplace_back("exif.gps.longitude", v);
    }
  }
  exif_data_unref(ed);
  return out;
}

Properties Describe(std::string_view head, std::string* mime, bool describe) {
  FileType t = Identify(head, describe);
  if (mime != nullptr) *mime = t.mime;
  Properties out;
  if (!t.description.empty()) {
    std::string d = t.description;
    if (d.size() > 256) d.resize(256);
    out.emplace_back("file.description", std::move(d));
  }
  if (t.mime == "image/jpeg" || t.mime == "image/tiff" ||
      t.mime == "image/x-canon-cr2" || t.mime == "image/heic") {
    Properties exif = ExifProperties(head);
    out.insert(out.end(), exif.begin(), exif.end());
  }
  return out;
}

}  // namespace custos::filetype
