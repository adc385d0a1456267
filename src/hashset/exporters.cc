#include "src/hashset/exporters.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "src/base/absl_compat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"

namespace custos::hashset {

using nlohmann::json;

namespace {
absl::Status StreamOk(std::ostream& out) {
  if (!out)
    return absl::ResourceExhaustedError("cannot write the export (disk full?)");
  return absl::OkStatus();
}
}  // namespace

absl::Status WriteHashdeep(const RecordGenerator& gen,
                           const std::vector<std::string>& comments,
                           std::ostream& out) {
  out << "%%%% HASHDEEP-1.0\n%%%% size,md5,sha1,sha256,filename\n";
  for (const auto& c : comments) {
    std::string line = c;
    for (char& ch : line)
      if (ch == '\n' || ch == '\r') ch = ' ';
    out << "## " << line << "\n";
  }
  out << "##\n";
  CUSTOS_RETURN_IF_ERROR(gen([&](const ExportRecord& r) -> absl::Status {
    std::string name = r.name;
    for (char& ch : name)
      if (ch == '\n' || ch == '\r') ch = '?';
    out << (r.size ? std::to_string(*r.size) : "") << "," << HexEncode(r.md5)
        << "," << HexEncode(r.sha1) << "," << HexEncode(r.sha256) << "," << name
        << "\n";
    return StreamOk(out);
  }));
  out.flush();
  return StreamOk(out);
}

absl::Status WriteVics(const RecordGenerator& gen, std::ostream& out) {
  out << "{\"@odata.context\":\"http://github.jparrowsec.cn/VICSDATAMODEL/"
         "ProjectVic/"
         "DataModels/2.0.xml/CUSTOM/$metadata#Media\",\"value\":[";
  uint64_t id = 0;
  CUSTOS_RETURN_IF_ERROR(gen([&](const ExportRecord& r) -> absl::Status {
    std::string cat = r.category.empty() ? "0" : r.category;
    if (cat.size() > 9 ||
        cat.find_first_not_of("0123456789") != std::string::npos)
      return absl::InvalidArgumentError(absl::StrCat(
          "category \"", cat,
          "\" is not a VICS category number; VICS needs whole numbers"));
    json m = {{"MediaID", ++id}, {"Category", std::stoul(cat)}};
    if (!r.md5.empty()) m["MD5"] = absl::AsciiStrToUpper(HexEncode(r.md5));
    if (!r.sha1.empty()) m["SHA1"] = absl::AsciiStrToUpper(HexEncode(r.sha1));
    if (!r.sha256.empty())
      m["SHA256"] = absl::AsciiStrToUpper(HexEncode(r.sha256));
    if (r.size) m["MediaSize"] = *r.size;
    if (!r.file_path.empty()) {
      size_t slash = r.file_path.rfind('/');
      json file = json::object();
      file["FileName"] = slash == std::string::npos
                             ? r.file_path
                             : r.file_path.substr(slash + 1);
      file["FilePath"] = r.file_path;
      json files = json::array();
      files.push_back(std::move(file));
      m["MediaFiles"] = std::move(files);
    }
    for (const auto& f : r.flags) m[f] = true;
    out << (id > 1 ? ",\n" : "\n")
        << m.dump(-1, ' ', false, json::error_handler_t::replace);
    return StreamOk(out);
  }));
  out << "\n]}\n";
  out.flush();
  return StreamOk(out);
}

absl::Status ExportSet(const Store& store, const std::string& name,
                       ExportFormat format, std::ostream& out) {
  const SetInfo* set = store.FindSet(name);
  if (!set)
    return absl::NotFoundError(absl::StrCat("no hash set \"", name, "\""));
  RecordGenerator gen =
      [&](const std::function<absl::Status(const ExportRecord&)>& emit)
      -> absl::Status {
    for (Algorithm a : kAlgorithms) {
      CUSTOS_RETURN_IF_ERROR(store.ForEachEntry(
          name, a,
          [&](std::string_view digest, std::string_view tag) -> absl::Status {
            ExportRecord r;
            std::string flags;
            SplitTag(tag, &r.category, &flags);
            if (set->meaning == Meaning::kKnownGood)
              r.category.assign(1, '0');
            else if (r.category.empty())
              r.category.assign(set->category);
            if (!flags.empty()) r.flags = absl::StrSplit(Sv(flags), ',');
            std::string d(digest);
            if (a == Algorithm::kMd5) r.md5 = d;
            if (a == Algorithm::kSha1) r.sha1 = d;
            if (a == Algorithm::kSha256) r.sha256 = d;
            r.name = absl::StrCat(name, ":", r.category);
            return emit(r);
          }));
    }
    return absl::OkStatus();
  };
  if (format == ExportFormat::kHashdeep)
    return WriteHashdeep(
        gen,
        {absl::StrCat("custos hash set ", name, " (",
                      Sv(MeaningName(set->meaning)), ")"),
         absl::StrCat("source: ", set->source, "; version: ", set->version)},
        out);
  return WriteVics(gen, out);
}

}  // namespace custos::hashset
