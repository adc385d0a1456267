#include "src/cli/commands.h"

#include <sstream>

#include "src/base/bytes.h"

namespace custos::cli {

using nlohmann::json;

std::string Hex(std::string_view raw) { return HexEncode(raw); }
std::string HexH(const crypto::Hash32& h) {
  return HexEncode(crypto::AsView(h));
}

std::string HumanBytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  if (u == 0) return absl::StrFormat("%.0f %s", b, units[u]);
  return absl::StrFormat("%.1f %s", b, units[u]);
}

json ItemJson(const repo::ItemRecord& it) {
  json j = {{"id", it.id},
            {"exhibit", it.exhibit},
            {"case", it.case_id},
            {"kind", it.kind},
            {"source", EscapeBytes(it.source)},
            {"size", it.size},
            {"sha256", Hex(it.sha256)},
            {"acquired_event", it.acquired_seq},
            {"latest_event", it.head_seq}};
  if (!it.parent_id.empty()) j["parent"] = it.parent_id;
  if (!it.rel_path.empty()) j["path"] = EscapeBytes(it.rel_path);
  if (!it.md5.empty()) j["md5"] = Hex(it.md5);
  if (!it.sha1.empty()) j["sha1"] = Hex(it.sha1);
  if (!it.description.empty()) j["description"] = it.description;
  if (!it.media_type.empty()) j["media_type"] = it.media_type;
  j["method"] = it.method;
  j["tool"] = absl::StrCat(it.tool, " ", it.tool_version);
  j["host"] = it.host;
  j["mode"] = absl::StrFormat("%o", it.mode);
  j["uid"] = it.uid;
  j["gid"] = it.gid;
  j["mtime"] = it.mtime;
  j["atime"] = it.atime;
  j["ctime"] = it.ctime;
  if (!it.btime.empty()) j["btime"] = it.btime;
  if (!it.symlink_target.empty())
    j["symlink_target"] = EscapeBytes(it.symlink_target);
  if (!it.error.empty()) j["error"] = it.error;
  return j;
}

json EventJson(const repo::EventRecord& r) {
  json j = {{"seq", r.seq}, {"leaf_hash", HexH(r.leaf_hash)}};
  auto e = json::parse(r.leaf, nullptr, false);
  if (!e.is_discarded()) j["event"] = e;
  return j;
}

std::string EventLine(const repo::EventRecord& r) {
  auto e = json::parse(r.leaf, nullptr, false);
  if (e.is_discarded()) return absl::StrCat("#", r.seq, " <undecodable event>");
  std::string items;
  for (const auto& it : e.value("items", json::array()))
    items += absl::StrCat(items.empty() ? "" : ",", it.value("exhibit", "?"));
  std::string line = absl::StrFormat("#%-5d %s  %-13s %-22s", r.seq, r.time,
                                     r.type, e["actor"].value("name", "?"));
  if (!items.empty()) absl::StrAppend(&line, " ", items);
  if (e.contains("to")) absl::StrAppend(&line, " -> ", e.value("to", ""));
  if (e.contains("note"))
    absl::StrAppend(&line, "  \"", e.value("note", ""), "\"");
  return line;
}

absl::StatusOr<std::string> ReadFileArg(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

absl::StatusOr<crypto::Vkey> VkeyArg(const std::string& arg) {
  std::string text = arg;
  if (!arg.empty() && arg[0] == '@') {
    CUSTOS_ASSIGN_OR_RETURN(text, ReadFileArg(arg.substr(1)));
  } else if (arg.find('+') == std::string::npos) {
    CUSTOS_ASSIGN_OR_RETURN(text, ReadFileArg(arg));
  }
  text = std::string(absl::StripTrailingAsciiWhitespace(text));
  return crypto::ParseVkey(text);
}

}  // namespace custos::cli
