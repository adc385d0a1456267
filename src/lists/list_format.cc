#include "src/lists/list_format.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "src/base/absl_compat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"

namespace custos::lists {
namespace {

absl::Status LineError(uint64_t line, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("line ", line, ": ", Sv(what)));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  return s;
}

// Decodes `hex` as a hash of `kind`; nullopt if it is not exactly that.
std::optional<std::string> DecodeHash(HashKind kind, std::string_view hex) {
  if (hex.size() != 2 * HashKindBytes(kind)) return std::nullopt;
  return HexDecode(hex);
}

absl::StatusOr<int> SmallInt(uint64_t line, std::string_view field,
                             std::string_view what, int lo, int hi) {
  if (field.empty()) return -1;
  int v = 0;
  if (!absl::SimpleAtoi(Sv(field), &v) || v < lo || v > hi)
    return LineError(line,
                     absl::StrCat(Sv(what), " \"", Sv(field),
                                  "\" is not an integer in ", lo, "..", hi));
  return v;
}

std::string CsvField(std::string_view s) {
  // Quoted also when it starts or ends with blanks: lines are trimmed.
  bool edge_blank = !s.empty() && (s.front() == ' ' || s.front() == '\t' ||
                                   s.back() == ' ' || s.back() == '\t');
  if (!edge_blank && s.find_first_of(",\"\r\n") == std::string_view::npos)
    return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// Labels/tags are space separated; they join as "a,b".
std::string JoinWords(std::string_view words) {
  std::vector<std::string> parts =
      absl::StrSplit(Sv(words), ' ', absl::SkipEmpty());
  std::string out;
  for (const auto& p : parts) absl::StrAppend(&out, out.empty() ? "" : ",", p);
  return out;
}

}  // namespace

const char* HashKindName(HashKind k) {
  switch (k) {
    case HashKind::kPdq:
      return "pdq";
    case HashKind::kSha256:
      return "sha256";
    case HashKind::kMd5:
      return "md5";
    case HashKind::kSha1:
      return "sha1";
  }
  return "?";
}

std::optional<HashKind> ParseHashKind(std::string_view name) {
  if (name == "pdq") return HashKind::kPdq;
  if (name == "sha256") return HashKind::kSha256;
  if (name == "md5") return HashKind::kMd5;
  if (name == "sha1") return HashKind::kSha1;
  return std::nullopt;
}

size_t HashKindBytes(HashKind k) {
  switch (k) {
    case HashKind::kPdq:
    case HashKind::kSha256:
      return 32;
    case HashKind::kMd5:
      return 16;
    case HashKind::kSha1:
      return 20;
  }
  return 0;
}

const char* ListFormatName(ListFormat f) {
  switch (f) {
    case ListFormat::kTeDataset:
      return "te-dataset";
    case ListFormat::kTeState:
      return "te-state";
    case ListFormat::kPlain:
      return "plain";
    case ListFormat::kCustos:
      return "custos";
  }
  return "?";
}

absl::StatusOr<ListFormat> ParseListFormat(std::string_view name) {
  for (ListFormat f : {ListFormat::kTeDataset, ListFormat::kTeState,
                       ListFormat::kPlain, ListFormat::kCustos})
    if (name == ListFormatName(f)) return f;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown list format \"", Sv(name),
                   "\" (one of: te-dataset, te-state, plain, custos)"));
}

absl::StatusOr<std::vector<std::string>> SplitCsvLine(std::string_view line) {
  std::vector<std::string> out;
  std::string field;
  size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size())
          return absl::InvalidArgumentError("unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',')
        return absl::InvalidArgumentError("text after a closing quote");
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"')
          return absl::InvalidArgumentError("quote inside an unquoted field");
        field += line[i++];
      }
    }
    out.push_back(field);
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return out;
}

absl::StatusOr<ParseStats> ParseList(
    std::istream& in, const ParseOptions& options,
    const std::function<absl::Status(const ListEntry&)>& fn) {
  ParseStats st;
  std::string raw;
  bool header_done = false;
  while (std::getline(in, raw)) {
    ++st.lines;
    std::string_view line = Trim(raw);
    if (line.find('\0') != std::string_view::npos)
      return LineError(st.lines, "NUL byte (not a text list)");
    if (line.empty()) continue;
    ListEntry e;
    switch (options.format) {
      case ListFormat::kPlain: {
        if (line[0] == '#') continue;
        std::string_view hex = line;
        std::string_view quality;
        if (size_t comma = line.find(','); comma != std::string_view::npos) {
          hex = Trim(line.substr(0, comma));
          quality = Trim(line.substr(comma + 1));
        }
        std::string lower = absl::AsciiStrToLower(Sv(hex));
        if (lower.size() == 32) {
          e.kind = HashKind::kMd5;
        } else if (lower.size() == 40) {
          e.kind = HashKind::kSha1;
        } else if (lower.size() == 64) {
          if (!options.plain_kind)
            return LineError(st.lines,
                             "a 64-digit hash is PDQ or SHA-256: say which "
                             "with --kind pdq|sha256");
          e.kind = *options.plain_kind;
        } else {
          return LineError(st.lines,
                           absl::StrCat("\"", Sv(hex),
                                        "\" is not a 32, 40 or 64 digit hash"));
        }
        auto h = DecodeHash(e.kind, lower);
        if (!h) return LineError(st.lines, "invalid hex digits");
        e.hash = *h;
        if (!quality.empty()) {
          if (e.kind != HashKind::kPdq)
            return LineError(st.lines, "only PDQ hashes have a quality");
          CUSTOS_ASSIGN_OR_RETURN(
              e.quality, SmallInt(st.lines, quality, "quality", 0, 100));
        }
        break;
      }
      case ListFormat::kTeDataset: {
        auto f = SplitCsvLine(line);
        if (!f.ok())
          return LineError(st.lines, std::string(f.status().message()));
        if (!header_done) {
          header_done = true;
          if (f->size() < 2 || (*f)[0] != "signal_type" ||
              (*f)[1] != "signal_str")
            return LineError(st.lines,
                             "expected the header "
                             "signal_type,signal_str,collab,category,tags");
          continue;
        }
        if (f->size() != 5)
          return LineError(
              st.lines, absl::StrCat("expected 5 fields, found ", f->size()));
        const std::string& type = (*f)[0];
        std::optional<HashKind> kind;
        if (type == "pdq") kind = HashKind::kPdq;
        if (type == "sha256") kind = HashKind::kSha256;
        if (type == "md5" || type == "video_md5" || type == "photo_md5")
          kind = HashKind::kMd5;
        if (!kind) {
          ++st.skipped;
          continue;
        }
        e.kind = *kind;
        auto h = DecodeHash(e.kind, absl::AsciiStrToLower((*f)[1]));
        if (!h)
          return LineError(st.lines, absl::StrCat("\"", (*f)[1], "\" is not a ",
                                                  type, " hash"));
        e.hash = *h;
        e.source = (*f)[2];
        e.category = (*f)[3];
        std::string tags = JoinWords((*f)[4]);
        if (!tags.empty()) absl::StrAppend(&e.category, ":", tags);
        break;
      }
      case ListFormat::kTeState: {
        auto f = SplitCsvLine(line);
        if (!f.ok())
          return LineError(st.lines, std::string(f.status().message()));
        if (f->size() != 4)
          return LineError(st.lines,
                           absl::StrCat("expected 4 fields "
                                        "(indicator,first_descriptor_id,"
                                        "added_on,labels), found ",
                                        f->size()));
        e.kind = HashKind::kPdq;
        auto h = DecodeHash(e.kind, absl::AsciiStrToLower((*f)[0]));
        if (!h)
          return LineError(st.lines,
                           absl::StrCat("\"", (*f)[0], "\" is not a PDQ hash"));
        e.hash = *h;
        e.source = (*f)[1];
        e.added = (*f)[2];
        e.category = JoinWords((*f)[3]);
        break;
      }
      case ListFormat::kCustos: {
        auto f = SplitCsvLine(line);
        if (!f.ok())
          return LineError(st.lines, std::string(f.status().message()));
        if (!header_done) {
          header_done = true;
          constexpr std::string_view kHeader =
              "kind,hash,quality,category,source,confidence,added";
          if (line != kHeader)
            return LineError(st.lines,
                             absl::StrCat("expected the header ", Sv(kHeader)));
          continue;
        }
        if (f->size() != 7)
          return LineError(
              st.lines, absl::StrCat("expected 7 fields, found ", f->size()));
        auto kind = ParseHashKind((*f)[0]);
        if (!kind)
          return LineError(st.lines,
                           absl::StrCat("unknown kind \"", (*f)[0], "\""));
        e.kind = *kind;
        auto h = DecodeHash(e.kind, absl::AsciiStrToLower((*f)[1]));
        if (!h)
          return LineError(st.lines, absl::StrCat("\"", (*f)[1], "\" is not a ",
                                                  (*f)[0], " hash"));
        e.hash = *h;
        CUSTOS_ASSIGN_OR_RETURN(e.quality,
                                SmallInt(st.lines, (*f)[2], "quality", 0, 100));
        if (e.quality >= 0 && e.kind != HashKind::kPdq)
          return LineError(st.lines, "only PDQ hashes have a quality");
        e.category = (*f)[3];
        e.source = (*f)[4];
        CUSTOS_ASSIGN_OR_RETURN(
            e.confidence, SmallInt(st.lines, (*f)[5], "confidence", 0, 100));
        e.added = (*f)[6];
        break;
      }
    }
    ++st.entries;
    CUSTOS_RETURN_IF_ERROR(fn(e));
  }
  if (in.bad()) return absl::DataLossError("read error");
  if ((options.format == ListFormat::kTeDataset ||
       options.format == ListFormat::kCustos) &&
      !header_done)
    return absl::InvalidArgumentError("empty list: no header line");
  return st;
}

std::string CustosCsvHeader() {
  return "kind,hash,quality,category,source,confidence,added\n";
}

std::string CustosCsvLine(const ListEntry& e) {
  return absl::StrCat(HashKindName(e.kind), ",", HexEncode(e.hash), ",",
                      e.quality >= 0 ? absl::StrCat(e.quality) : "", ",",
                      CsvField(e.category), ",", CsvField(e.source), ",",
                      e.confidence >= 0 ? absl::StrCat(e.confidence) : "", ",",
                      CsvField(e.added), "\n");
}

}  // namespace custos::lists
