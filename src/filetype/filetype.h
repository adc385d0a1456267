// File: filetype.h
//
// What a file is, by content: the MIME type and a one-line description from
// libmagic (the `file` command's database), and the embedded EXIF metadata
// of photographs from libexif. Acquisition calls these on the first bytes of
// every file it reads (only the first kIdentifyBytes go to libmagic, so the
// cost does not grow with the file), and the results become the item's
// media_type and searchable item properties (docs/formats/event.md).
//
// Thread-safety: all functions may be called from any thread; each thread
// gets its own libmagic cookie (magic_t is not thread-safe), created on
// first use and freed when the thread exits.
//
// Example:
//   FileType t = filetype::Identify(head);   // t.mime == "image/jpeg"
//   for (auto& [k, v] : filetype::ExifProperties(head))
//     props.emplace_back(k, v);               // "exif.Make" = "Canon"
#ifndef CUSTOS_SRC_FILETYPE_FILETYPE_H_
#define CUSTOS_SRC_FILETYPE_FILETYPE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace custos::filetype {

// Bytes of a file's beginning that are enough for libmagic and for an EXIF
// APP1 segment (at most 64 KiB by the JPEG format).
inline constexpr size_t kIdentifyBytes = 64 * 1024;

// What libmagic says of data it cannot identify.
inline constexpr char kUnidentifiedDescription[] = "data";
inline constexpr char kUnidentifiedMime[] = "application/octet-stream";

struct FileType {
  std::string mime;         // "image/jpeg"; "application/octet-stream" if
                            // unknown; "" if libmagic failed to load
  std::string description;  // "JPEG image data, Exif standard: ..."; may be ""
};

// Identifies `head` (the first bytes of a file; at most kIdentifyBytes are
// looked at). With `describe` false only the MIME type is computed (about
// half the cost); with `describe`, data the description pass cannot
// identify ("data") costs one pass too. Never fails: an unusable magic
// database gives "".
FileType Identify(std::string_view head, bool describe = true);

// The version of the magic library ("5.44").
std::string MagicVersion();

using Properties = std::vector<std::pair<std::string, std::string>>;

// EXIF tags found in `data` (a JPEG's first bytes, or a raw EXIF block
// starting with "Exif\0\0"), as ("exif.<TagName>", value) pairs in IFD order
// (IFD0, EXIF, GPS, then IFD1), values as libexif formats them, trimmed, at
// most 256 bytes each. Binary tags (MakerNote, thumbnails) are left out.
// GPS positions are also given in signed decimal degrees as
// "exif.gps.latitude" / "exif.gps.longitude" ("52.370216"). Empty when
// there is no EXIF data; malformed data yields what could be parsed.
Properties ExifProperties(std::string_view data);

// Identify plus, for images, ExifProperties: the properties acquisition
// records for one file ("file.description" when `describe`, and the exif.*
// keys); sets `*mime` to the MIME type. libmagic costs about 1-3 ms per call
// on this project's machine (its soft-magic database is walked entry by
// entry), and the description is a second call, so directory walks ask for
// the MIME type only.
Properties Describe(std::string_view head, std::string* mime,
                    bool describe = true);

}  // namespace custos::filetype

#endif  // CUSTOS_SRC_FILETYPE_FILETYPE_H_
