#include "src/export/case_uco.h"

#include <cctype>
#include <map>
#include <set>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "src/export/util.h"

namespace custos::export_ {
namespace {

using nlohmann::json;

json Ref(const std::string& iri) { return {{"@id", iri}}; }
json DateTime(const std::string& t) {
  return {{"@type", "xsd:dateTime"}, {"@value", t}};
}
json HexBinary(std::string_view raw) {
  return {{"@type", "xsd:hexBinary"}, {"@value", HexEncode(raw)}};
}

class GraphBuilder {
 public:
  explicit GraphBuilder(std::string origin) : origin_(std::move(origin)) {}

  // kb:<kind>-<UUIDv5 of "custos:<origin>:<kind>:<key>">
  std::string Iri(std::string_view kind, std::string_view key) const {
    std::string k(kind);
    return absl::StrCat("kb:", k, "-",
                        Uuid5Url(absl::StrCat("custos:", origin_, ":", k, ":",
                                              std::string(key))));
  }
  void Add(json node) { graph_.push_back(std::move(node)); }
  // Adds a node once per IRI; returns the IRI.
  template <typename Make>
  std::string Once(const std::string& iri, Make make) {
    if (seen_.insert(iri).second) Add(make());
    return iri;
  }
  json Take() { return std::move(graph_); }

 private:
  std::string origin_;
  json graph_ = json::array();
  std::set<std::string> seen_;
};

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::string KbBase(const std::string& origin) {
  std::string out = "https://";
  for (unsigned char c : origin) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '~' || c == '/' ||
        c == '-')
      out += static_cast<char>(c);
    else
      out += absl::StrCat("%", absl::StrFormat("%02X", c));
  }
  if (out.back() != '/') out += '/';
  return out + "custos/kb/";
}

absl::StatusOr<json> ExportCase(repo::Repository& repo,
                                const CaseExportOptions& options,
                                CaseExportStats* stats_out) {
  CaseExportStats stats;
  CUSTOS_ASSIGN_OR_RETURN(auto kase, repo.meta().FindCase(options.case_id));
  if (!kase)
    return absl::NotFoundError(
        absl::StrCat("no case \"", options.case_id, "\""));
  GraphBuilder g(repo.origin());
  CUSTOS_ASSIGN_OR_RETURN(stats.tree_size, repo.meta().EventCount());

  // The investigation node is added last (it lists actions and records).
  const std::string investigation = g.Iri("investigation", kase->id);
  std::string authorization = g.Iri("authorization", kase->id);
  g.Add({{"@id", authorization},
         {"@type", "case-investigation:Authorization"},
         {"uco-core:name", kase->legal_basis},
         {"case-investigation:authorizationType", "legal basis"}});

  // Items of the case, children included, as observables.
  std::map<std::string, std::string> observable;  // item id -> IRI
  std::map<std::string, std::string> exhibit_of;
  std::map<uint64_t, std::vector<std::string>> created_by;  // seq -> items
  std::vector<repo::ItemRecord> items;
  CUSTOS_RETURN_IF_ERROR(
      repo.meta().ForEachItem(kase->id, true, [&](const repo::ItemRecord& it) {
        items.push_back(it);
        return absl::OkStatus();
      }));
  for (const auto& it : items) {
    bool dir = it.kind == "directory";
    std::string iri = absl::StrCat("kb:", dir ? "directory-" : "file-", it.id);
    observable[it.id] = iri;
    exhibit_of[it.id] = it.exhibit;
    created_by[it.acquired_seq].push_back(it.id);
    std::string path =
        EscapeBytes(it.rel_path.empty() ? it.source : it.rel_path);
    json file_facet = {{"@id", g.Iri("file-facet", it.id)},
                       {"@type", "uco-observable:FileFacet"},
                       {"uco-observable:fileName", std::string(BaseName(path))},
                       {"uco-observable:filePath", path},
                       {"uco-observable:isDirectory", dir}};
    if (!dir) file_facet["uco-observable:sizeInBytes"] = it.size;
    if (!it.mtime.empty())
      file_facet["uco-observable:modifiedTime"] = DateTime(it.mtime);
    if (!it.atime.empty())
      file_facet["uco-observable:accessedTime"] = DateTime(it.atime);
    if (!it.ctime.empty())
      file_facet["uco-observable:metadataChangeTime"] = DateTime(it.ctime);
    if (!it.btime.empty())
      file_facet["uco-observable:observableCreatedTime"] = DateTime(it.btime);
    CUSTOS_ASSIGN_OR_RETURN(auto props, repo.meta().ItemProperties(it.id));
    for (const auto& [k, v] : props)
      if (k == "fs.alloc") file_facet["uco-observable:allocationStatus"] = v;
    json facets = json::array({file_facet});
    if (!dir && !it.sha256.empty()) {
      json hashes = json::array();
      auto hash = [&](const char* method, const std::string& raw) {
        if (raw.empty()) return;
        hashes.push_back(
            {{"@id", g.Iri("hash", absl::StrCat(it.id, ":", method))},
             {"@type", "uco-types:Hash"},
             {"uco-types:hashMethod", method},
             {"uco-types:hashValue", HexBinary(raw)}});
      };
      hash("SHA256", it.sha256);
      hash("MD5", it.md5);
      hash("SHA1", it.sha1);
      facets.push_back({{"@id", g.Iri("content-data-facet", it.id)},
                        {"@type", "uco-observable:ContentDataFacet"},
                        {"uco-observable:sizeInBytes", it.size},
                        {"uco-observable:hash", hashes}});
    }
    std::vector<std::string> desc;
    if (!it.description.empty()) desc.push_back(it.description);
    desc.push_back(
        absl::StrCat("exhibit ", it.exhibit, ", custos item ", it.id));
    if (dir)
      desc.push_back(absl::StrCat("manifest sha256 ", HexEncode(it.sha256)));
    if (!it.error.empty()) desc.push_back(absl::StrCat("error: ", it.error));
    g.Add({{"@id", iri},
           {"@type", dir ? "uco-observable:Directory" : "uco-observable:File"},
           {"uco-core:description", absl::StrJoin(desc, "; ")},
           {"uco-core:hasFacet", facets}});
    ++stats.observables;
  }
  for (const auto& it : items) {
    if (it.parent_id.empty() || !observable.count(it.parent_id)) continue;
    g.Add({{"@id", g.Iri("relationship", absl::StrCat(it.id, ":contained"))},
           {"@type", "uco-observable:ObservableRelationship"},
           {"uco-core:source", Ref(observable[it.id])},
           {"uco-core:target", Ref(observable[it.parent_id])},
           {"uco-core:kindOfRelationship", "Contained_Within"},
           {"uco-core:isDirectional", true}});
  }

  // Events of the case, in log order.
  json actions = json::array(), records = json::array();
  std::map<std::string, std::string> current_record;  // item id -> PR IRI
  uint64_t total = stats.tree_size, done = 0;
  CUSTOS_RETURN_IF_ERROR(repo.meta().ForEachEvent(
      0, total, [&](const repo::EventRecord& ev) -> absl::Status {
        ++done;
        if (options.progress && (done % 1024 == 0 || done == total))
          options.progress(done, total);
        if (ev.case_id != kase->id) return absl::OkStatus();
        json e = json::parse(ev.leaf, nullptr, false);
        if (e.is_discarded() || !e.is_object())
          return absl::DataLossError(
              absl::StrCat("event #", ev.seq, " does not decode"));
        json details = e.value("details", json::object());
        if (!details.is_object()) details = json::object();
        std::string action = g.Iri("action", std::to_string(ev.seq));

        // Performer.
        json actor = e.value("actor", json::object());
        std::string actor_id = Str(actor, "id"), role = Str(actor, "role");
        std::string performer;
        if (actor_id == repo::kAuthorityActorId) {
          performer = g.Once(g.Iri("organization", "authority"), [&] {
            return json{{"@id", g.Iri("organization", "authority")},
                        {"@type", "uco-identity:Organization"},
                        {"uco-core:name", Str(actor, "name")}};
          });
        } else {
          performer = g.Once(absl::StrCat("kb:person-", actor_id), [&] {
            return json{{"@id", absl::StrCat("kb:person-", actor_id)},
                        {"@type", "uco-identity:Person"},
                        {"uco-core:name", Str(actor, "name")}};
          });
          std::string role_iri = g.Once(g.Iri("role", role), [&] {
            return json{{"@id", g.Iri("role", role)},
                        {"@type", "uco-role:Role"},
                        {"uco-core:name", role}};
          });
          std::string rel = g.Iri("relationship", actor_id + ":has-role");
          g.Once(rel, [&] {
            return json{{"@id", rel},
                        {"@type", "uco-core:Relationship"},
                        {"uco-core:source", Ref(performer)},
                        {"uco-core:target", Ref(role_iri)},
                        {"uco-core:kindOfRelationship", "Has_Role"},
                        {"uco-core:isDirectional", true}};
          });
        }
        // Instrument.
        std::string tool_name =
            Str(details, "tool").empty() ? "custos" : Str(details, "tool");
        std::string tool_version = Str(details, "tool_version").empty()
                                       ? options.tool_version
                                       : Str(details, "tool_version");
        std::string tool = g.Iri("tool", tool_name + " " + tool_version);
        g.Once(tool, [&] {
          return json{{"@id", tool},
                      {"@type", "uco-tool:Tool"},
                      {"uco-core:name", tool_name},
                      {"uco-tool:version", tool_version}};
        });
        // Provenance: consume each item's current record, produce a new one.
        json object = json::array(), result = json::array();
        for (const auto& item : e.value("items", json::array())) {
          std::string id = Str(item, "id");
          if (!observable.count(id)) continue;
          if (auto cur = current_record.find(id); cur != current_record.end())
            object.push_back(Ref(cur->second));
          std::string pr =
              g.Iri("provenance-record", absl::StrCat(ev.seq, ":", id));
          g.Add({{"@id", pr},
                 {"@type", "case-investigation:ProvenanceRecord"},
                 {"uco-core:description",
                  absl::StrCat(exhibit_of[id], " after event #", ev.seq, " (",
                               ev.type, ")")},
                 {"case-investigation:exhibitNumber", exhibit_of[id]},
                 {"case-investigation:rootExhibitNumber", exhibit_of[id]},
                 {"uco-core:object", json::array({Ref(observable[id])})}});
          ++stats.provenance_records;
          current_record[id] = pr;
          result.push_back(Ref(pr));
          records.push_back(Ref(pr));
        }
        if (auto created = created_by.find(ev.seq); created != created_by.end())
          for (const auto& id : created->second)
            result.push_back(Ref(observable[id]));
        if (ev.type == "case_opened") result.push_back(Ref(investigation));

        std::vector<std::string> desc;
        for (const char* k : {"purpose", "to", "from", "note"})
          if (!Str(e, k).empty())
            desc.push_back(absl::StrCat(k, ": ", Str(e, k)));
        json node = {
            {"@id", action},
            {"@type", "case-investigation:InvestigativeAction"},
            {"uco-core:name", ev.type},
            {"uco-action:startTime", DateTime(ev.time)},
            {"uco-action:endTime", DateTime(ev.time)},
            {"uco-action:performer", Ref(performer)},
            {"uco-action:instrument", Ref(tool)},
        };
        if (!desc.empty())
          node["uco-core:description"] = absl::StrJoin(desc, "; ");
        if (!object.empty()) node["uco-action:object"] = object;
        if (!result.empty()) node["uco-action:result"] = result;
        if (std::string place = Str(e, "place"); !place.empty()) {
          std::string loc = g.Iri("location", place);
          g.Once(loc, [&] {
            return json{{"@id", loc},
                        {"@type", "uco-location:Location"},
                        {"uco-core:name", place}};
          });
          node["uco-action:location"] = Ref(loc);
        }
        std::string ref_index =
            g.Iri("external-reference", absl::StrCat(ev.seq, ":index"));
        std::string ref_leaf =
            g.Iri("external-reference", absl::StrCat(ev.seq, ":leaf"));
        g.Add({{"@id", ref_index},
               {"@type", "uco-core:ExternalReference"},
               {"uco-core:definingContext",
                absl::StrCat("custos log ", repo.origin(), " leaf index")},
               {"uco-core:externalIdentifier", std::to_string(ev.seq)}});
        g.Add({{"@id", ref_leaf},
               {"@type", "uco-core:ExternalReference"},
               {"uco-core:definingContext",
                absl::StrCat("custos log ", repo.origin(),
                             " RFC 9162 leaf hash (SHA-256, hex)")},
               {"uco-core:externalIdentifier",
                HexEncode(crypto::AsView(ev.leaf_hash))}});
        node["uco-core:externalReference"] =
            json::array({Ref(ref_index), Ref(ref_leaf)});
        g.Add(std::move(node));
        actions.push_back(Ref(action));
        ++stats.actions;
        return absl::OkStatus();
      }));

  json inv_objects = actions;
  for (auto& r : records) inv_objects.push_back(r);
  json inv = {{"@id", investigation},
              {"@type", "case-investigation:Investigation"},
              {"uco-core:name", kase->id},
              {"case-investigation:investigationForm", "case"},
              {"case-investigation:relevantAuthorization", Ref(authorization)}};
  if (!kase->title.empty()) inv["uco-core:description"] = kase->title;
  if (!inv_objects.empty()) inv["uco-core:object"] = inv_objects;
  g.Add(std::move(inv));

  json context = {
      {"kb", KbBase(repo.origin())},
      {"case-investigation",
       "https://ontology.caseontology.org/case/investigation/"},
      {"uco-action", "https://ontology.unifiedcyberontology.org/uco/action/"},
      {"uco-core", "https://ontology.unifiedcyberontology.org/uco/core/"},
      {"uco-identity",
       "https://ontology.unifiedcyberontology.org/uco/identity/"},
      {"uco-location",
       "https://ontology.unifiedcyberontology.org/uco/location/"},
      {"uco-observable",
       "https://ontology.unifiedcyberontology.org/uco/observable/"},
      {"uco-role", "https://ontology.unifiedcyberontology.org/uco/role/"},
      {"uco-tool", "https://ontology.unifiedcyberontology.org/uco/tool/"},
      {"uco-types", "https://ontology.unifiedcyberontology.org/uco/types/"},
      {"xsd", "http://www.w3.org/2001/XMLSchema#"}};
  if (stats_out) *stats_out = stats;
  return json{{"@context", context}, {"@graph", g.Take()}};
}

}  // namespace custos::export_
