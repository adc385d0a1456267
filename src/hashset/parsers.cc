#include "src/hashset/parsers.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <istream>
#include <streambuf>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "src/base/absl_compat.h"
#include "src/base/file_system.h"
#include "src/base/status_macros.h"

namespace custos::hashset {

std::string_view FormatName(Format f) {
  switch (f) {
    case Format::kAuto:
      return "auto";
    case Format::kNsrlRds3:
      return "nsrl-rds3";
    case Format::kRds2:
      return "rds2";
    case Format::kHashdeep:
      return "hashdeep";
    case Format::kVics:
      return "vics";
    case Format::kPlain:
      return "plain";
  }
  return "?";
}

std::optional<Format> ParseFormat(std::string_view name) {
  for (Format f : {Format::kAuto, Format::kNsrlRds3, Format::kRds2,
                   Format::kHashdeep, Format::kVics, Format::kPlain})
    if (FormatName(f) == name) return f;
  return std::nullopt;
}

absl::StatusOr<size_t> StringSource::Read(char* buf, size_t n) {
  size_t k = std::min(n, data_.size() - pos_);
  std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

absl::StatusOr<std::unique_ptr<FileSource>> FileSource::Open(
    const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    absl::Status s = ErrnoToStatus(errno, path);
    ::close(fd);
    return s;
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is a directory"));
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<FileSource>(
      new FileSource(path, fd, static_cast<uint64_t>(st.st_size)));
}

FileSource::~FileSource() { ::close(fd_); }

absl::StatusOr<size_t> FileSource::Read(char* buf, size_t n) {
  while (true) {
    ssize_t got = ::read(fd_, buf, n);
    if (got < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, path_);
    }
    if (observer_ && got > 0)
      observer_(std::string_view(buf, static_cast<size_t>(got)));
    return static_cast<size_t>(got);
  }
}

namespace {

struct HexTable {
  int8_t v[256];
  constexpr HexTable() : v() {
    for (int i = 0; i < 256; ++i) v[i] = -1;
    for (int i = 0; i < 10; ++i) v['0' + i] = static_cast<int8_t>(i);
    for (int i = 0; i < 6; ++i) {
      v['a' + i] = static_cast<int8_t>(10 + i);
      v['A' + i] = static_cast<int8_t>(10 + i);
    }
  }
};
constexpr HexTable kHex;

// Decodes exactly `out_len` bytes from 2*out_len hex digits.
inline bool HexInto(std::string_view hex, uint8_t* out, size_t out_len) {
  if (hex.size() != 2 * out_len) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(hex.data());
  for (size_t i = 0; i < out_len; ++i) {
    int hi = kHex.v[p[2 * i]], lo = kHex.v[p[2 * i + 1]];
    if ((hi | lo) < 0) return false;
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return true;
}

bool IsHex(std::string_view s) {
  for (unsigned char c : s)
    if (kHex.v[c] < 0) return false;
  return true;
}

std::string Trunc(std::string_view s) {
  if (s.size() <= 80) return std::string(s);
  return absl::StrCat(Sv(s.substr(0, 77)), "...");
}

// Splits a ByteSource into lines (without "\n" and a trailing "\r").
class LineReader {
 public:
  explicit LineReader(ByteSource& in) : in_(in), buf_(kInitial) {}
  // False at the end.
  absl::StatusOr<bool> Next(std::string_view* line) {
    while (true) {
      const char* start = buf_.data() + pos_;
      const char* nl =
          static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
      if (nl) {
        size_t n = static_cast<size_t>(nl - start);
        pos_ += n + 1;
        ++line_no_;
        *line = Strip(std::string_view(start, n));
        return true;
      }
      if (eof_) {
        if (pos_ == len_) return false;
        ++line_no_;
        *line = Strip(std::string_view(start, len_ - pos_));
        pos_ = len_;
        return true;
      }
      // Compact and read more.
      size_t keep = len_ - pos_;
      if (keep >= kMaxLine)
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line_no_ + 1, " is longer than 1 MiB"));
      std::memmove(buf_.data(), buf_.data() + pos_, keep);
      pos_ = 0;
      len_ = keep;
      if (buf_.size() - len_ < buf_.size() / 4 || buf_.size() < kChunk)
        buf_.resize(buf_.size() * 2);
      CUSTOS_ASSIGN_OR_RETURN(size_t got,
                              in_.Read(buf_.data() + len_, buf_.size() - len_));
      if (got == 0) eof_ = true;
      len_ += got;
    }
  }
  uint64_t line_no() const { return line_no_; }

 private:
  static constexpr size_t kInitial = size_t{1} << 12;
  static constexpr size_t kChunk = size_t{1} << 20;
  static constexpr size_t kMaxLine = size_t{1} << 20;
  static std::string_view Strip(std::string_view s) {
    if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
    return s;
  }
  ByteSource& in_;
  std::vector<char> buf_;
  size_t len_ = 0, pos_ = 0;
  bool eof_ = false;
  uint64_t line_no_ = 0;
};

absl::Status LineError(std::string_view name, uint64_t line,
                       std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(Sv(name), ":", line, ": ", Sv(what)));
}

std::string_view LStrip(std::string_view s) {
  while (!s.empty() && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' ||
                        s[0] == '\n' || s[0] == '\f' || s[0] == '\v'))
    s.remove_prefix(1);
  return s;
}

std::string_view StripBom(std::string_view s) {
  if (s.size() >= 3 && s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
  return s;
}

// Adds a hex digest of a known algorithm. Returns false if malformed.
absl::Status AddHex(EntrySink& sink, Algorithm algo, std::string_view hex,
                    std::string_view tag, bool* ok) {
  uint8_t raw[32];
  size_t len = DigestLength(algo);
  if (!HexInto(hex, raw, len)) {
    *ok = false;
    return absl::OkStatus();
  }
  *ok = true;
  return sink.Add(
      algo, std::string_view(reinterpret_cast<const char*>(raw), len), tag);
}

}  // namespace

bool DecodeHexDigest(std::string_view hex, std::string* raw) {
  size_t n = hex.size() / 2;
  if (hex.size() % 2 || !AlgorithmForLength(n)) return false;
  raw->resize(n);
  return HexInto(hex, reinterpret_cast<uint8_t*>(raw->data()), n);
}

// ---------------------------------------------------------------------------
// Plain lists.

absl::Status ParsePlain(ByteSource& in, std::string_view name, EntrySink& sink,
                        ParseStats* stats) {
  LineReader r(in);
  std::string_view line;
  while (true) {
    CUSTOS_ASSIGN_OR_RETURN(bool more, r.Next(&line));
    if (!more) break;
    if (r.line_no() == 1) line = StripBom(line);
    std::string_view t = LStrip(line);
    if (t.empty() || t[0] == '#') continue;
    ++stats->records;
    size_t end = t.find_first_of(" \t");
    std::string_view hex = t.substr(0, end);
    auto algo = AlgorithmForLength(hex.size() / 2);
    if (hex.size() % 2 || !algo)
      return LineError(name, r.line_no(),
                       absl::StrCat("\"", Trunc(hex),
                                    "\" is not an MD5, SHA-1 or SHA-256 hex "
                                    "digest (32, 40 or 64 hex digits)"));
    bool ok;
    CUSTOS_RETURN_IF_ERROR(AddHex(sink, *algo, hex, "", &ok));
    if (!ok)
      return LineError(name, r.line_no(),
                       absl::StrCat("\"", Trunc(hex), "\" is not hexadecimal"));
    ++stats->entries;
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// hashdeep.

namespace {
enum class HdCol { kSize, kMd5, kSha1, kSha256, kOtherHash, kFilename };
}

absl::Status ParseHashdeep(ByteSource& in, std::string_view name,
                           EntrySink& sink, ParseStats* stats) {
  LineReader r(in);
  std::string_view line;
  std::vector<HdCol> cols;
  std::vector<size_t> other_len;  // hex digits for kOtherHash columns
  bool header = false;
  while (true) {
    CUSTOS_ASSIGN_OR_RETURN(bool more, r.Next(&line));
    if (!more) break;
    if (r.line_no() == 1) {
      line = StripBom(line);
      if (line != "%%%% HASHDEEP-1.0")
        return LineError(
            name, 1, "not a hashdeep file (expected \"%%%% HASHDEEP-1.0\")");
      header = true;
      continue;
    }
    if (line.empty()) continue;
    if (line.substr(0, 2) == "##") continue;
    if (line.substr(0, 5) == "%%%% ") {
      std::string_view spec = line.substr(5);
      if (spec == "HASHDEEP-1.0") continue;  // concatenated files
      cols.clear();
      other_len.clear();
      std::vector<std::string> names = absl::StrSplit(Sv(spec), ',');
      for (size_t i = 0; i < names.size(); ++i) {
        const std::string& c = names[i];
        size_t ol = 0;
        HdCol k;
        if (c == "size")
          k = HdCol::kSize;
        else if (c == "md5")
          k = HdCol::kMd5;
        else if (c == "sha1")
          k = HdCol::kSha1;
        else if (c == "sha256")
          k = HdCol::kSha256;
        else if (c == "tiger")
          k = HdCol::kOtherHash, ol = 48;
        else if (c == "whirlpool")
          k = HdCol::kOtherHash, ol = 128;
        else if (c == "filename")
          k = HdCol::kFilename;
        else
          return LineError(
              name, r.line_no(),
              absl::StrCat("unknown hashdeep column \"", Trunc(c), "\""));
        if (k == HdCol::kFilename && i + 1 != names.size())
          return LineError(name, r.line_no(),
                           "\"filename\" must be the last column");
        cols.push_back(k);
        other_len.push_back(ol);
      }
      if (cols.empty() || cols.back() != HdCol::kFilename)
        return LineError(name, r.line_no(),
                         "the column line must end with \"filename\"");
      continue;
    }
    if (!header || cols.empty())
      return LineError(name, r.line_no(),
                       "a file line before the \"%%%% size,...,filename\" "
                       "column line");
    ++stats->records;
    // The last column (filename) takes the rest of the line.
    size_t pos = 0;
    bool any = false;
    for (size_t c = 0; c + 1 < cols.size(); ++c) {
      size_t comma = line.find(',', pos);
      if (comma == std::string_view::npos)
        return LineError(
            name, r.line_no(),
            absl::StrCat("expected ", cols.size(), " comma-separated fields"));
      std::string_view f = line.substr(pos, comma - pos);
      pos = comma + 1;
      if (f.empty()) continue;
      switch (cols[c]) {
        case HdCol::kSize:
          if (f.find_first_not_of("0123456789") != std::string_view::npos)
            return LineError(
                name, r.line_no(),
                absl::StrCat("size \"", Trunc(f), "\" is not a number"));
          break;
        case HdCol::kOtherHash:
          if (f.size() != other_len[c] || !IsHex(f))
            return LineError(
                name, r.line_no(),
                absl::StrCat("\"", Trunc(f), "\" is not a valid hash"));
          break;
        case HdCol::kMd5:
        case HdCol::kSha1:
        case HdCol::kSha256: {
          Algorithm a = cols[c] == HdCol::kMd5    ? Algorithm::kMd5
                        : cols[c] == HdCol::kSha1 ? Algorithm::kSha1
                                                  : Algorithm::kSha256;
          bool ok;
          CUSTOS_RETURN_IF_ERROR(AddHex(sink, a, f, "", &ok));
          if (!ok)
            return LineError(name, r.line_no(),
                             absl::StrCat("\"", Trunc(f), "\" is not a valid ",
                                          Sv(AlgorithmName(a)), " hex digest"));
          ++stats->entries;
          any = true;
          break;
        }
        case HdCol::kFilename:
          break;
      }
    }
    if (!any) ++stats->skipped;
  }
  if (!header) return LineError(name, 1, "empty file (not a hashdeep list)");
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// NSRL RDS 2.x NSRLFile.txt.

namespace {
// Splits one CSV line (fields optionally quoted with ", "" = a quote).
absl::Status SplitCsv(std::string_view line, std::vector<std::string>* out) {
  out->clear();
  size_t i = 0;
  while (true) {
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size())
          return absl::InvalidArgumentError("unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(line[i++]);
      }
      if (i < line.size() && line[i] != ',')
        return absl::InvalidArgumentError(
            "characters after the closing quote of a field");
    } else {
      size_t comma = line.find(',', i);
      size_t end = comma == std::string_view::npos ? line.size() : comma;
      field = std::string(line.substr(i, end - i));
      i = end;
    }
    out->push_back(std::move(field));
    if (i >= line.size()) return absl::OkStatus();
    ++i;  // the comma
    if (i == line.size()) {
      out->emplace_back();
      return absl::OkStatus();
    }
  }
}
}  // namespace

absl::Status ParseRds2(ByteSource& in, std::string_view name, EntrySink& sink,
                       ParseStats* stats) {
  LineReader r(in);
  std::string_view line;
  std::vector<std::string> fields;
  int sha1_col = -1, md5_col = -1;
  size_t ncols = 0;
  while (true) {
    CUSTOS_ASSIGN_OR_RETURN(bool more, r.Next(&line));
    if (!more) break;
    if (r.line_no() == 1) {
      line = StripBom(line);
      absl::Status st = SplitCsv(line, &fields);
      if (!st.ok()) return LineError(name, 1, std::string(st.message()));
      for (size_t i = 0; i < fields.size(); ++i) {
        if (fields[i] == "SHA-1") sha1_col = static_cast<int>(i);
        if (fields[i] == "MD5") md5_col = static_cast<int>(i);
      }
      if (sha1_col < 0 && md5_col < 0)
        return LineError(name, 1,
                         "not an NSRL RDS 2.x file (no \"SHA-1\" or \"MD5\" "
                         "column in the header)");
      ncols = fields.size();
      continue;
    }
    if (line.empty()) continue;
    ++stats->records;
    absl::Status st = SplitCsv(line, &fields);
    if (!st.ok())
      return LineError(name, r.line_no(), std::string(st.message()));
    if (fields.size() < ncols)
      return LineError(
          name, r.line_no(),
          absl::StrCat("expected ", ncols, " fields, found ", fields.size()));
    bool any = false;
    for (auto [col, algo] : {std::pair{sha1_col, Algorithm::kSha1},
                             std::pair{md5_col, Algorithm::kMd5}}) {
      if (col < 0 || fields[col].empty()) continue;
      bool ok;
      CUSTOS_RETURN_IF_ERROR(AddHex(sink, algo, fields[col], "", &ok));
      if (!ok)
        return LineError(
            name, r.line_no(),
            absl::StrCat("\"", Trunc(fields[col]), "\" is not a valid ",
                         Sv(AlgorithmName(algo)), " hex digest"));
      ++stats->entries;
      any = true;
    }
    if (!any) ++stats->skipped;
  }
  if (r.line_no() == 0)
    return LineError(name, 1, "empty file (not an NSRL RDS 2.x file)");
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// VICS JSON.

namespace {

// std::streambuf over a ByteSource, counting bytes for error positions.
class SourceBuf final : public std::streambuf {
 public:
  explicit SourceBuf(ByteSource& in) : in_(in), buf_(1 << 16) {}
  absl::Status status() const { return status_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    auto got = in_.Read(buf_.data(), buf_.size());
    if (!got.ok()) {
      status_ = got.status();
      return traits_type::eof();
    }
    if (*got == 0) return traits_type::eof();
    setg(buf_.data(), buf_.data(), buf_.data() + *got);
    return traits_type::to_int_type(*gptr());
  }

 private:
  ByteSource& in_;
  std::vector<char> buf_;
  absl::Status status_;
};

class VicsHandler {
 public:
  VicsHandler(std::string_view name, EntrySink& sink, ParseStats* stats)
      : name_(name), sink_(sink), stats_(stats) {}

  absl::Status status() const { return status_; }
  bool saw_value() const { return saw_value_; }
  bool saw_envelope() const { return saw_envelope_; }

  // SAX interface of nlohmann::json.
  bool null() { return Scalar(Val{}); }
  bool boolean(bool v) {
    Val x;
    x.kind = Val::kBool;
    x.b = v;
    return Scalar(x);
  }
  bool number_integer(int64_t v) {
    Val x;
    x.kind = Val::kNum;
    x.s = std::to_string(v);
    return Scalar(x);
  }
  bool number_unsigned(uint64_t v) {
    Val x;
    x.kind = Val::kNum;
    x.s = std::to_string(v);
    return Scalar(x);
  }
  bool number_float(double, const std::string& s) {
    Val x;
    x.kind = Val::kFloat;
    x.s = s;
    return Scalar(x);
  }
  bool string(std::string& v) {
    Val x;
    x.kind = Val::kStr;
    x.s = std::move(v);
    return Scalar(x);
  }
  bool binary(nlohmann::json::binary_t&) { return Scalar(Val{}); }
  bool start_object(size_t) { return Push(true); }
  bool end_object() { return Pop(); }
  bool start_array(size_t) { return Push(false); }
  bool end_array() { return Pop(); }
  bool key(std::string& k) {
    key_ = std::move(k);
    return true;
  }
  bool parse_error(size_t pos, const std::string&,
                   const nlohmann::detail::exception& ex) {
    status_ = absl::InvalidArgumentError(absl::StrCat(
        Sv(name_), ": byte ", pos, ": malformed JSON (", ex.what(), ")"));
    return false;
  }

 private:
  struct Val {
    enum Kind { kNull, kBool, kNum, kFloat, kStr } kind = kNull;
    bool b = false;
    std::string s;
  };
  enum Role { kOther, kTop, kValueArray, kValueElem, kMediaArray, kMedia };
  struct Frame {
    bool object;
    Role role;
  };
  struct MediaState {
    std::string md5, sha1, sha256, category, media_id;
    std::vector<std::string> flags;
    bool has_media_array = false;
    bool present[3] = {false, false, false};
  };

  Role ChildRole(bool object) const {
    if (stack_.empty()) return object ? kTop : kOther;
    const Frame& p = stack_.back();
    if (p.role == kTop && !object && key_ == "value") return kValueArray;
    if (p.role == kValueArray && object) return kValueElem;
    if (p.role == kValueElem && !object && key_ == "Media") return kMediaArray;
    if (p.role == kMediaArray && object) return kMedia;
    return kOther;
  }

  bool Push(bool object) {
    if (stack_.size() >= 512) {
      status_ = absl::InvalidArgumentError(
          absl::StrCat(Sv(name_), ": JSON nested too deeply"));
      return false;
    }
    Role role = ChildRole(object);
    if (stack_.empty() && !object) {
      status_ = absl::InvalidArgumentError(absl::StrCat(
          Sv(name_), ": not a VICS file (the top level is not an object)"));
      return false;
    }
    if (role == kValueArray) saw_value_ = true;
    if (role == kMediaArray) media_.back().has_media_array = true;
    if (role == kValueElem || role == kMedia) media_.emplace_back();
    stack_.push_back({object, role});
    return true;
  }

  bool Pop() {
    Role role = stack_.back().role;
    stack_.pop_back();
    if (role == kValueElem || role == kMedia) {
      MediaState m = std::move(media_.back());
      media_.pop_back();
      // A v1.3 case (holding a Media array) is not a medium itself.
      if (role == kValueElem && m.has_media_array && m.md5.empty() &&
          m.sha1.empty() && m.sha256.empty())
        return true;
      status_ = Emit(m);
      return status_.ok();
    }
    return true;
  }

  bool Scalar(const Val& v) {
    if (stack_.empty()) return true;
    const Frame& f = stack_.back();
    if (f.role == kTop &&
        (key_ == "odata.metadata" || key_ == "@odata.context"))
      saw_envelope_ = true;
    if (f.role != kValueElem && f.role != kMedia) return true;
    MediaState& m = media_.back();
    auto hash = [&](std::string* out, int i) -> bool {
      if (v.kind == Val::kNull) return true;
      if (v.kind != Val::kStr) {
        status_ = Bad(m, absl::StrCat(key_, " is not a string"));
        return false;
      }
      *out = v.s;
      m.present[i] = true;
      return true;
    };
    if (key_ == "MD5") return hash(&m.md5, 0);
    if (key_ == "SHA1") return hash(&m.sha1, 1);
    if (key_ == "SHA256") return hash(&m.sha256, 2);
    if (key_ == "Category") {
      if (v.kind == Val::kNull) return true;
      if ((v.kind != Val::kNum && v.kind != Val::kStr) || v.s.empty() ||
          v.s.size() > 9 ||
          v.s.find_first_not_of("0123456789") != std::string::npos) {
        status_ = Bad(m, "Category is not a whole number");
        return false;
      }
      m.category = v.s;
      while (m.category.size() > 1 && m.category[0] == '0')
        m.category.erase(0, 1);
      return true;
    }
    if (key_ == "MediaID") {
      if (v.kind == Val::kNum || v.kind == Val::kStr) m.media_id = v.s;
      return true;
    }
    if (v.kind == Val::kBool && v.b &&
        (key_ == "IsPrecategorized" || key_ == "IsDistributed" ||
         key_ == "VictimIdentified" || key_ == "OffenderIdentified"))
      m.flags.push_back(key_);
    return true;
  }

  absl::Status Bad(const MediaState& m, std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        Sv(name_), ": media #", stats_->records + 1,
        m.media_id.empty() ? "" : absl::StrCat(" (MediaID ", m.media_id, ")"),
        ": ", Sv(what)));
  }

  absl::Status Emit(MediaState& m) {
    std::sort(m.flags.begin(), m.flags.end());
    std::string tag = m.category;
    if (!m.flags.empty())
      absl::StrAppend(&tag, ";", absl::StrJoin(m.flags, ","));
    bool any = false;
    struct H {
      const std::string* hex;
      Algorithm algo;
      const char* key;
    };
    for (const H& h : {H{&m.md5, Algorithm::kMd5, "MD5"},
                       H{&m.sha1, Algorithm::kSha1, "SHA1"},
                       H{&m.sha256, Algorithm::kSha256, "SHA256"}}) {
      if (h.hex->empty()) continue;
      bool ok;
      CUSTOS_RETURN_IF_ERROR(AddHex(sink_, h.algo, *h.hex, tag, &ok));
      if (!ok)
        return Bad(
            m, absl::StrCat(h.key, " \"", Trunc(*h.hex), "\" is not a valid ",
                            Sv(AlgorithmName(h.algo)), " hex digest"));
      ++stats_->entries;
      any = true;
    }
    ++stats_->records;
    if (!any) ++stats_->skipped;
    return absl::OkStatus();
  }

  std::string_view name_;
  EntrySink& sink_;
  ParseStats* stats_;
  absl::Status status_;
  std::vector<Frame> stack_;
  std::vector<MediaState> media_;
  std::string key_;
  bool saw_value_ = false, saw_envelope_ = false;
};

}  // namespace

absl::Status ParseVics(ByteSource& in, std::string_view name, EntrySink& sink,
                       ParseStats* stats) {
  SourceBuf sb(in);
  std::istream is(&sb);
  VicsHandler h(name, sink, stats);
  bool ok = nlohmann::json::sax_parse(is, &h);
  CUSTOS_RETURN_IF_ERROR(sb.status());
  if (!ok) {
    if (!h.status().ok()) return h.status();
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(name), ": malformed JSON"));
  }
  if (!h.status().ok()) return h.status();
  if (!h.saw_envelope())
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(name),
                     ": not a VICS file (no \"odata.metadata\" or "
                     "\"@odata.context\" member)"));
  if (!h.saw_value())
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(name), ": not a VICS file (no \"value\" array)"));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// NSRL RDSv3 (SQLite).

namespace {

struct Db {
  sqlite3* db = nullptr;
  ~Db() {
    if (db) sqlite3_close(db);
  }
};
struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() {
    if (s) sqlite3_finalize(s);
  }
};

absl::Status SqlError(const std::string& path, sqlite3* db, int rc,
                      std::string_view where) {
  std::string msg = absl::StrCat(path, ": ", Sv(where), ": ",
                                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ||
      primary == SQLITE_IOERR)
    return absl::DataLossError(msg);
  if (primary == SQLITE_CANTOPEN) return absl::NotFoundError(msg);
  return absl::InvalidArgumentError(msg);
}

}  // namespace

absl::Status ImportRds3(const std::string& path, EntrySink& sink,
                        ParseStats* stats,
                        const std::function<void(uint64_t)>& progress) {
  if (!PosixFileSystem().Exists(path))
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  Db db;
  int rc = sqlite3_open_v2(path.c_str(), &db.db,
                           SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return SqlError(path, db.db, rc, "open");
  // One sequential scan: a small page cache is recycled instead of growing
  // (a larger one only costs allocations).
  sqlite3_exec(db.db, "PRAGMA cache_size=-2048", nullptr, nullptr, nullptr);
  // Which table or view, and which hash columns.
  std::string table;
  std::vector<std::string> names;
  {
    Stmt st;
    rc = sqlite3_prepare_v2(db.db,
                            "SELECT name FROM sqlite_master WHERE type IN "
                            "('table','view')",
                            -1, &st.s, nullptr);
    if (rc != SQLITE_OK) return SqlError(path, db.db, rc, "reading the schema");
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW)
      names.emplace_back(
          reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0)));
    if (rc != SQLITE_DONE)
      return SqlError(path, db.db, rc, "reading the schema");
  }
  auto has = [&](std::string_view want) -> std::string {
    for (const auto& n : names)
      if (absl::AsciiStrToUpper(n) == want) return n;
    return "";
  };
  for (std::string_view want : {"FILE", "DISTINCT_HASH", "METADATA"}) {
    table = has(want);
    if (!table.empty()) break;
  }
  if (table.empty())
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": not an NSRL RDSv3 database (no FILE, DISTINCT_HASH or METADATA "
        "table or view)"));
  std::vector<std::pair<std::string, Algorithm>> cols;
  {
    Stmt st;
    std::string q = absl::StrCat("PRAGMA table_info(\"", table, "\")");
    rc = sqlite3_prepare_v2(db.db, q.c_str(), -1, &st.s, nullptr);
    if (rc != SQLITE_OK) return SqlError(path, db.db, rc, "reading the schema");
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
      std::string c = absl::AsciiStrToLower(
          reinterpret_cast<const char*>(sqlite3_column_text(st.s, 1)));
      if (c == "sha256") cols.emplace_back(c, Algorithm::kSha256);
      if (c == "sha1") cols.emplace_back(c, Algorithm::kSha1);
      if (c == "md5") cols.emplace_back(c, Algorithm::kMd5);
    }
    if (rc != SQLITE_DONE)
      return SqlError(path, db.db, rc, "reading the schema");
  }
  if (cols.empty())
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": table ", table, " has no sha256, sha1 or md5 column"));
  if (std::string v = has("VERSION"); !v.empty()) {
    Stmt st;
    std::string q = absl::StrCat("SELECT version FROM \"", v, "\" LIMIT 1");
    if (sqlite3_prepare_v2(db.db, q.c_str(), -1, &st.s, nullptr) == SQLITE_OK &&
        sqlite3_step(st.s) == SQLITE_ROW && sqlite3_column_text(st.s, 0))
      stats->version =
          reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
  }
  std::string q = "SELECT ";
  for (size_t i = 0; i < cols.size(); ++i)
    absl::StrAppend(&q, i ? ", " : "", "\"", cols[i].first, "\"");
  absl::StrAppend(&q, " FROM \"", table, "\"");
  Stmt st;
  rc = sqlite3_prepare_v2(db.db, q.c_str(), -1, &st.s, nullptr);
  if (rc != SQLITE_OK) return SqlError(path, db.db, rc, "preparing the query");
  uint64_t row = 0;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    ++row;
    bool any = false;
    for (size_t i = 0; i < cols.size(); ++i) {
      // The text in SQLite's row buffer (no copy for TEXT columns); NULL
      // gives nullptr.
      const char* text = reinterpret_cast<const char*>(
          sqlite3_column_text(st.s, static_cast<int>(i)));
      if (!text) continue;
      int n = sqlite3_column_bytes(st.s, static_cast<int>(i));
      if (n == 0) continue;
      bool ok;
      CUSTOS_RETURN_IF_ERROR(
          AddHex(sink, cols[i].second, std::string_view(text, n), "", &ok));
      if (!ok)
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": table ", table, " row ", row, ": ", cols[i].first, " \"",
            Trunc(std::string_view(text, n)), "\" is not a valid hex digest"));
      ++stats->entries;
      any = true;
    }
    ++stats->records;
    if (!any) ++stats->skipped;
    if (progress && row % (1 << 20) == 0) progress(row);
  }
  if (rc != SQLITE_DONE)
    return SqlError(path, db.db, rc, absl::StrCat("row ", row + 1));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------

absl::StatusOr<Format> DetectFormat(const std::string& path) {
  CUSTOS_ASSIGN_OR_RETURN(auto src, FileSource::Open(path));
  char head[64];
  size_t n = 0;
  while (n < sizeof(head)) {
    CUSTOS_ASSIGN_OR_RETURN(size_t got, src->Read(head + n, sizeof(head) - n));
    if (got == 0) break;
    n += got;
  }
  std::string_view h(head, n);
  if (h.substr(0, 16) == std::string_view("SQLite format 3\0", 16))
    return Format::kNsrlRds3;
  h = StripBom(h);
  if (h.substr(0, 13) == "%%%% HASHDEEP") return Format::kHashdeep;
  std::string_view t = LStrip(h);
  if (!t.empty() && t[0] == '{') return Format::kVics;
  if (h.substr(0, 7) == "\"SHA-1\"") return Format::kRds2;
  return Format::kPlain;
}

absl::Status ParseFile(const std::string& path, Format format, EntrySink& sink,
                       ParseStats* stats,
                       const std::function<void(std::string_view)>& observer,
                       const std::function<void(uint64_t)>& progress) {
  if (format == Format::kAuto) {
    CUSTOS_ASSIGN_OR_RETURN(format, DetectFormat(path));
  }
  if (format == Format::kNsrlRds3)
    return ImportRds3(path, sink, stats, progress);
  CUSTOS_ASSIGN_OR_RETURN(auto src, FileSource::Open(path));
  if (observer || progress) {
    uint64_t seen = 0;
    src->set_observer([&, seen](std::string_view b) mutable {
      if (observer) observer(b);
      seen += b.size();
      if (progress) progress(seen);
    });
  }
  switch (format) {
    case Format::kPlain:
      return ParsePlain(*src, path, sink, stats);
    case Format::kHashdeep:
      return ParseHashdeep(*src, path, sink, stats);
    case Format::kRds2:
      return ParseRds2(*src, path, sink, stats);
    case Format::kVics:
      return ParseVics(*src, path, sink, stats);
    default:
      return absl::InvalidArgumentError("unknown format");
  }
}

}  // namespace custos::hashset
