#include "src/export/dfxml.h"

#include <sys/utsname.h>

#include <optional>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "src/export/util.h"

namespace custos::export_ {
namespace {

using nlohmann::json;

// Text content for an element whose value is UTF-8 already.
std::string Text(std::string_view s) { return XmlNameOf(s).text; }

// <tag>escaped value</tag>, or <tag custos:raw_b64="..">shown</tag>.
void Name(std::ostream& o, const char* tag, std::string_view raw,
          const char* indent) {
  XmlName n = XmlNameOf(raw);
  o << indent << "<" << tag;
  if (!n.raw_b64.empty()) o << " custos:raw_b64=\"" << n.raw_b64 << "\"";
  o << ">" << n.text << "</" << tag << ">\n";
}

void Elem(std::ostream& o, const char* tag, std::string_view value,
          const char* indent) {
  o << indent << "<" << tag << ">" << Text(value) << "</" << tag << ">\n";
}

char NameType(std::string_view kind) {
  if (kind == "file") return 'r';
  if (kind == "directory") return 'd';
  if (kind == "symlink") return 'l';
  if (kind == "block_device") return 'b';
  if (kind == "char_device") return 'c';
  if (kind == "fifo") return 'p';
  if (kind == "socket") return 's';
  return '-';
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
std::optional<uint64_t> Num(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  int64_t v = it->get<int64_t>();
  if (v < 0) return std::nullopt;
  return static_cast<uint64_t>(v);
}

// One file-system entry, from a manifest line or an item record.
struct Entry {
  std::string name;  // raw bytes
  std::string error, item_id, exhibit, kind;
  std::optional<uint64_t> size, inode, mode, nlink, uid, gid;
  std::string alloc;  // "", "allocated", "deleted", "orphan"
  std::optional<bool> meta_alloc;
  bool logical = false;  // a live file system copied file by file
  std::string mtime, ctime, atime, btime;
  std::optional<std::string> link_target;  // raw bytes
  json byte_runs;                          // array or null
  std::string md5, sha1, sha256;           // lowercase hex
};

void WriteFileObject(std::ostream& o, const Entry& e, const char* in) {
  std::string in2 = std::string(in) + "  ";
  const char* i2 = in2.c_str();
  o << in << "<fileobject";
  if (!e.item_id.empty()) o << " custos:item=\"" << Text(e.item_id) << "\"";
  if (!e.exhibit.empty()) o << " custos:exhibit=\"" << Text(e.exhibit) << "\"";
  o << ">\n";
  Name(o, "filename", e.name, i2);
  if (!e.error.empty()) Elem(o, "error", e.error, i2);
  if (!e.item_id.empty()) Elem(o, "id", e.item_id, i2);
  o << i2 << "<name_type>" << NameType(e.kind) << "</name_type>\n";
  if (e.size) o << i2 << "<filesize>" << *e.size << "</filesize>\n";
  bool unalloc = e.alloc == "deleted" || e.alloc == "orphan";
  if (unalloc) o << i2 << "<unalloc>1</unalloc>\n";
  if (e.logical) o << i2 << "<alloc>1</alloc>\n";
  if (e.meta_alloc)
    o << i2 << "<alloc_inode>" << (*e.meta_alloc ? 1 : 0) << "</alloc_inode>\n";
  if (!e.alloc.empty())
    o << i2 << "<alloc_name>" << (e.alloc == "allocated" ? 1 : 0)
      << "</alloc_name>\n";
  if (e.alloc == "orphan") o << i2 << "<orphan>1</orphan>\n";
  if (e.inode) o << i2 << "<inode>" << *e.inode << "</inode>\n";
  if (e.mode) o << i2 << "<mode>" << (*e.mode & 07777) << "</mode>\n";
  if (e.nlink) o << i2 << "<nlink>" << *e.nlink << "</nlink>\n";
  if (e.uid) o << i2 << "<uid>" << *e.uid << "</uid>\n";
  if (e.gid) o << i2 << "<gid>" << *e.gid << "</gid>\n";
  if (!e.mtime.empty()) Elem(o, "mtime", e.mtime, i2);
  if (!e.ctime.empty()) Elem(o, "ctime", e.ctime, i2);
  if (!e.atime.empty()) Elem(o, "atime", e.atime, i2);
  if (!e.btime.empty()) Elem(o, "crtime", e.btime, i2);
  if (e.link_target) Name(o, "link_target", *e.link_target, i2);
  if (e.byte_runs.is_array() && !e.byte_runs.empty()) {
    o << i2 << "<byte_runs>\n";
    for (const auto& r : e.byte_runs) {
      if (!r.is_object()) continue;
      o << i2 << "  <byte_run";
      for (const char* k : {"file_offset", "fs_offset", "img_offset", "len"})
        if (auto v = Num(r, k)) o << " " << k << "=\"" << *v << "\"";
      if (r.value("sparse", false)) o << " type=\"sparse\"";
      if (r.value("resident", false)) o << " type=\"resident\"";
      o << "/>\n";
    }
    o << i2 << "</byte_runs>\n";
  }
  if (!e.md5.empty())
    o << i2 << "<hashdigest type=\"md5\">" << e.md5 << "</hashdigest>\n";
  if (!e.sha1.empty())
    o << i2 << "<hashdigest type=\"sha1\">" << e.sha1 << "</hashdigest>\n";
  if (!e.sha256.empty())
    o << i2 << "<hashdigest type=\"sha256\">" << e.sha256 << "</hashdigest>\n";
  o << in << "</fileobject>\n";
}

// A manifest line (directory acquisition or extraction) as an Entry.
absl::StatusOr<Entry> EntryFromLine(std::string_view line,
                                    const std::string& exhibit) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return absl::DataLossError("manifest line is not a JSON object");
  Entry e;
  auto raw = Base64Decode(Str(j, "path_b64"));
  if (!raw) return absl::DataLossError("manifest line without valid path_b64");
  e.name = *raw;
  e.kind = Str(j, "kind");
  e.error = Str(j, "error");
  e.item_id = Str(j, "item");
  e.exhibit = exhibit;
  e.size = Num(j, "size");
  e.inode = Num(j, "inode");
  e.mode = Num(j, "mode");
  e.nlink = Num(j, "nlink");
  e.uid = Num(j, "uid");
  e.gid = Num(j, "gid");
  e.alloc = Str(j, "alloc");
  if (auto it = j.find("meta_alloc"); it != j.end() && it->is_boolean())
    e.meta_alloc = it->get<bool>();
  e.logical = e.alloc.empty();
  e.mtime = Str(j, "mtime");
  e.ctime = Str(j, "ctime");
  e.atime = Str(j, "atime");
  e.btime = Str(j, "btime");
  if (j.contains("target_b64")) {
    auto t = Base64Decode(Str(j, "target_b64"));
    if (!t) return absl::DataLossError("manifest line with bad target_b64");
    e.link_target = *t;
  }
  if (j.contains("byte_runs")) e.byte_runs = j["byte_runs"];
  e.md5 = Str(j, "md5");
  e.sha1 = Str(j, "sha1");
  e.sha256 = Str(j, "sha256");
  return e;
}

Entry EntryFromItem(const repo::ItemRecord& it) {
  Entry e;
  e.name = it.rel_path.empty() ? it.source : it.rel_path;
  e.kind = it.kind;
  e.error = it.error;
  e.item_id = it.id;
  e.exhibit = it.exhibit;
  e.size = it.size;
  e.mode = it.mode;
  e.uid = it.uid;
  e.gid = it.gid;
  e.logical = true;
  e.mtime = it.mtime;
  e.ctime = it.ctime;
  e.atime = it.atime;
  e.btime = it.btime;
  if (!it.md5.empty()) e.md5 = HexEncode(it.md5);
  if (!it.sha1.empty()) e.sha1 = HexEncode(it.sha1);
  if (!it.sha256.empty()) e.sha256 = HexEncode(it.sha256);
  return e;
}

// A manifest blob (hex SHA-256), verified against its name.
absl::StatusOr<std::string> ReadManifest(repo::Repository& repo,
                                         const std::string& sha256_hex) {
  auto raw = HexDecode(sha256_hex);
  if (!raw || raw->size() != 32)
    return absl::DataLossError(
        absl::StrCat("bad manifest digest \"", sha256_hex, "\""));
  return repo.blobs().ReadVerified(*raw);
}

// Calls fn for each non-empty line of `text`.
absl::Status ForEachLine(
    std::string_view text,
    const std::function<absl::Status(std::string_view)>& fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    if (!line.empty()) CUSTOS_RETURN_IF_ERROR(fn(line));
    pos = nl + 1;
  }
  return absl::OkStatus();
}

// The latest `extracted` event of an item, decoded; nullopt if none.
absl::StatusOr<std::optional<json>> LatestExtraction(repo::Repository& repo,
                                                     const std::string& id) {
  CUSTOS_ASSIGN_OR_RETURN(auto seqs, repo.meta().EventsOfItem(id));
  for (auto it = seqs.rbegin(); it != seqs.rend(); ++it) {
    CUSTOS_ASSIGN_OR_RETURN(auto ev, repo.meta().GetEvent(*it));
    if (ev.type != "extracted") continue;
    json j = json::parse(ev.leaf, nullptr, false);
    if (j.is_discarded() || !j.contains("details"))
      return absl::DataLossError(
          absl::StrCat("event #", ev.seq, " does not decode"));
    return std::optional<json>(j["details"]);
  }
  return std::optional<json>();
}

void HashRun(std::ostream& o, const repo::ItemRecord& it, const char* in) {
  o << in << "<byte_runs>\n"
    << in << "  <byte_run img_offset=\"0\" len=\"" << it.size << "\">\n";
  if (!it.md5.empty())
    o << in << "    <hashdigest type=\"md5\">" << HexEncode(it.md5)
      << "</hashdigest>\n";
  if (!it.sha1.empty())
    o << in << "    <hashdigest type=\"sha1\">" << HexEncode(it.sha1)
      << "</hashdigest>\n";
  o << in << "    <hashdigest type=\"sha256\">" << HexEncode(it.sha256)
    << "</hashdigest>\n"
    << in << "  </byte_run>\n"
    << in << "</byte_runs>\n";
}

}  // namespace

namespace internal {

absl::Status WriteImageObject(const repo::ItemRecord& it,
                              const nlohmann::json& details,
                              std::string_view manifest, DfxmlStats& stats,
                              std::ostream& o) {
  o << "  <diskimageobject custos:item=\"" << Text(it.id)
    << "\" custos:exhibit=\"" << Text(it.exhibit) << "\">\n";
  HashRun(o, it, "    ");
  json volumes = details.value("volumes", json::array());
  if (!volumes.is_array()) volumes = json::array();
  // Manifest lines are grouped by volume, in volume order.
  std::vector<Entry> pending;
  std::string current;
  bool open = false;
  auto close_volume = [&](const json* v) {
    if (!open) return;
    if (v && Str(*v, "status") == "error" && !Str(*v, "error").empty())
      Elem(o, "error", Str(*v, "error"), "      ");
    o << "    </volume>\n";
    open = false;
  };
  auto open_volume = [&](const json& v) {
    o << "    <volume";
    if (auto off = Num(v, "offset")) o << " offset=\"" << *off << "\"";
    o << " custos:label=\"" << Text(Str(v, "label")) << "\">\n";
    if (auto bs = Num(v, "block_size"); bs && *bs > 0)
      o << "      <block_size>" << *bs << "</block_size>\n";
    if (!Str(v, "fs_type").empty())
      Elem(o, "ftype_str", Str(v, "fs_type"), "      ");
    if (auto bc = Num(v, "blocks"))
      o << "      <block_count>" << *bc << "</block_count>\n";
    open = true;
    ++stats.volumes;
  };
  size_t vi = 0;
  const json* open_json = nullptr;
  CUSTOS_RETURN_IF_ERROR(
      ForEachLine(manifest, [&](std::string_view line) -> absl::Status {
        json j = json::parse(line, nullptr, false);
        std::string label = j.is_object() ? Str(j, "volume") : "";
        if (!open || label != current) {
          // Advance to this line's volume, writing empty ones on the way.
          close_volume(open_json);
          while (vi < volumes.size() && Str(volumes[vi], "label") != label) {
            open_volume(volumes[vi]);
            close_volume(&volumes[vi]);
            ++vi;
          }
          if (vi < volumes.size()) {
            open_json = &volumes[vi++];
            open_volume(*open_json);
          } else {
            open_json = nullptr;
            open_volume(json{{"label", label}});
          }
          current = label;
        }
        CUSTOS_ASSIGN_OR_RETURN(Entry e, EntryFromLine(line, it.exhibit));
        WriteFileObject(o, e, "      ");
        ++stats.fileobjects;
        return absl::OkStatus();
      }));
  close_volume(open_json);
  for (; vi < volumes.size(); ++vi) {
    open_volume(volumes[vi]);
    close_volume(&volumes[vi]);
  }
  if (!it.error.empty()) Elem(o, "error", it.error, "    ");
  o << "  </diskimageobject>\n";
  return absl::OkStatus();
}

}  // namespace internal

namespace {

// An image item with an extraction: <diskimageobject> with its volumes.
absl::Status WriteImage(repo::Repository& repo, const repo::ItemRecord& it,
                        const json& details, DfxmlStats& stats,
                        std::ostream& o) {
  CUSTOS_ASSIGN_OR_RETURN(std::string manifest,
                          ReadManifest(repo, Str(details, "manifest")));
  return internal::WriteImageObject(it, details, manifest, stats, o);
}

}  // namespace

absl::StatusOr<DfxmlStats> WriteDfxml(repo::Repository& repo,
                                      const DfxmlOptions& options,
                                      std::ostream& o) {
  if (options.item.empty() == options.case_id.empty())
    return absl::InvalidArgumentError("give one ITEM or --case");
  std::vector<repo::ItemRecord> items;
  if (!options.item.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(auto it, repo.meta().FindItem(options.item));
    if (!it)
      return absl::NotFoundError(
          absl::StrCat("no item \"", options.item, "\""));
    if (!it->parent_id.empty())
      return absl::InvalidArgumentError(
          absl::StrCat("item ", it->id, " is inside exhibit ", it->exhibit,
                       "; export the exhibit (its top-level item)"));
    items.push_back(*it);
  } else {
    CUSTOS_ASSIGN_OR_RETURN(auto c, repo.meta().FindCase(options.case_id));
    if (!c)
      return absl::NotFoundError(
          absl::StrCat("no case \"", options.case_id, "\""));
    CUSTOS_RETURN_IF_ERROR(repo.meta().ForEachItem(
        options.case_id, false, [&](const repo::ItemRecord& it) {
          items.push_back(it);
          return absl::OkStatus();
        }));
  }
  DfxmlStats stats;
  CUSTOS_ASSIGN_OR_RETURN(stats.tree_size, repo.meta().EventCount());
  // Which items are images with an extraction.
  std::vector<std::optional<json>> extraction;
  bool any_image = false;
  for (const auto& it : items) {
    CUSTOS_ASSIGN_OR_RETURN(auto x, LatestExtraction(repo, it.id));
    any_image |= x.has_value();
    extraction.push_back(std::move(x));
  }

  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<dfxml xmlns=\"" << kDfxmlNamespace
    << "\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:custos=\""
    << kCustosXmlNamespace << "\" version=\"" << kDfxmlVersion << "\">\n"
    << "  <metadata>\n"
    << "    <dc:type>" << (any_image ? "Disk Image" : "File List")
    << "</dc:type>\n";
  std::string case_id =
      !options.case_id.empty()
          ? options.case_id
          : (items.empty() ? std::string() : items[0].case_id);
  if (!case_id.empty())
    o << "    <dc:identifier>" << Text(case_id) << "</dc:identifier>\n";
  o << "    <custos:log origin=\"" << Text(repo.origin()) << "\" authority=\""
    << Text(repo.authority()) << "\" tree_size=\"" << stats.tree_size
    << "\"/>\n"
    << "  </metadata>\n"
    << "  <creator version=\"1.0\">\n"
    << "    <program>custos</program>\n";
  Elem(o, "version", options.program_version, "    ");
  o << "    <execution_environment>\n";
  struct utsname u;
  if (::uname(&u) == 0) {
    Elem(o, "os_sysname", u.sysname, "      ");
    Elem(o, "os_release", u.release, "      ");
    Elem(o, "os_version", u.version, "      ");
    Elem(o, "host", u.nodename, "      ");
    Elem(o, "arch", u.machine, "      ");
  }
  if (!options.command_line.empty())
    Elem(o, "command_line", options.command_line, "      ");
  if (!options.start_time.empty())
    Elem(o, "start_time", options.start_time, "      ");
  o << "    </execution_environment>\n"
    << "  </creator>\n";
  if (any_image) {
    o << "  <source>\n";
    for (size_t i = 0; i < items.size(); ++i)
      if (extraction[i]) Name(o, "image_filename", items[i].source, "    ");
    o << "  </source>\n";
  }
  uint64_t done = 0;
  auto tick = [&] {
    ++stats.items;
    if (options.progress) options.progress(++done, items.size());
  };
  for (size_t i = 0; i < items.size(); ++i) {
    if (!extraction[i]) continue;
    CUSTOS_RETURN_IF_ERROR(
        WriteImage(repo, items[i], *extraction[i], stats, o));
    tick();
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (extraction[i]) continue;
    const auto& it = items[i];
    if (it.kind == "directory") {
      CUSTOS_ASSIGN_OR_RETURN(std::string manifest,
                              ReadManifest(repo, HexEncode(it.sha256)));
      CUSTOS_RETURN_IF_ERROR(
          ForEachLine(manifest, [&](std::string_view line) -> absl::Status {
            CUSTOS_ASSIGN_OR_RETURN(Entry e, EntryFromLine(line, it.exhibit));
            if (e.name.empty()) return absl::OkStatus();  // the root
            WriteFileObject(o, e, "  ");
            ++stats.fileobjects;
            return absl::OkStatus();
          }));
    } else {
      WriteFileObject(o, EntryFromItem(it), "  ");
      ++stats.fileobjects;
    }
    tick();
  }
  o << "</dfxml>\n";
  if (!o) return absl::InternalError("cannot write the DFXML output");
  return stats;
}

}  // namespace custos::export_
