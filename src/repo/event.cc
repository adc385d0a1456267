#include "src/repo/event.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/base/absl_compat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "src/repo/canonical_json.h"

namespace custos::repo {
namespace {

using nlohmann::json;

const std::set<std::string, std::less<>>& CustodyTypes() {
  static const auto* t = new std::set<std::string, std::less<>>{
      "acquired", "accessed", "analysed", "transferred", "received", "exported",
      "returned", "disposed", "note",
      // file-system extraction (docs/formats/extraction.md)
      "extracted",
      // hash lists (docs/formats/hash-lists.md)
      "list_imported", "list_entries_removed"};
  return *t;
}
const std::set<std::string, std::less<>>& AuthorityTypes() {
  static const auto* t = new std::set<std::string, std::less<>>{
      "repository_created", "actor_registered", "actor_revoked"};
  return *t;
}

json ToJson(const Event& e, bool with_sig) {
  json j = json::object();
  j["v"] = kEventVersion;
  j["origin"] = e.origin;
  j["authority"] = e.authority;
  j["seq"] = e.seq;
  j["type"] = e.type;
  j["time"] = FormatEventTime(e.time);
  j["actor"] = {
      {"id", e.actor.id}, {"name", e.actor.name}, {"role", e.actor.role}};
  if (!e.case_id.empty()) j["case"] = e.case_id;
  std::vector<EventItem> items = e.items;
  std::sort(items.begin(), items.end(),
            [](const EventItem& a, const EventItem& b) { return a.id < b.id; });
  json arr = json::array();
  for (const auto& it : items) {
    arr.push_back({{"id", it.id},
                   {"exhibit", it.exhibit},
                   {"sha256", it.sha256_hex},
                   {"size", it.size},
                   {"prev", it.prev_hex}});
  }
  j["items"] = std::move(arr);
  if (!e.place.empty()) j["place"] = e.place;
  if (!e.purpose.empty()) j["purpose"] = e.purpose;
  if (!e.to.empty()) j["to"] = e.to;
  if (!e.from.empty()) j["from"] = e.from;
  if (!e.note.empty()) j["note"] = e.note;
  if (e.details.is_object() && !e.details.empty()) j["details"] = e.details;
  if (with_sig) {
    j["sig"] = {{"alg", "ed25519"},
                {"key", Base64Encode(e.sig_key)},
                {"value", Base64Encode(e.sig_value)}};
  }
  return j;
}

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed event: ", Sv(what)));
}

absl::StatusOr<std::string> Str(const json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return Bad(absl::StrCat("missing \"", key, "\""));
    return std::string();
  }
  if (!it->is_string())
    return Bad(absl::StrCat("\"", key, "\" is not a string"));
  std::string s = it->get<std::string>();
  if (!required && s.empty())
    return Bad(absl::StrCat("optional \"", key, "\" present but empty"));
  return s;
}

absl::StatusOr<uint64_t> Uint(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return Bad(absl::StrCat("missing \"", key, "\""));
  if (!it->is_number_unsigned() && !it->is_number_integer())
    return Bad(absl::StrCat("\"", key, "\" is not an integer"));
  return it->get<uint64_t>();
}

bool IsHex64OrEmpty(const std::string& s, bool allow_empty) {
  if (s.empty()) return allow_empty;
  return s.size() == 64 && HexDecode(s).has_value();
}

}  // namespace

bool IsKnownEventType(std::string_view type) {
  return CustodyTypes().count(type) > 0 || AuthorityTypes().count(type) > 0 ||
         type == "case_opened";
}
bool IsAuthorityOnlyType(std::string_view type) {
  return AuthorityTypes().count(type) > 0;
}
bool IsCustodyEventType(std::string_view type) {
  return CustodyTypes().count(type) > 0;
}
bool EventTypeMayHaveNoItems(std::string_view type) {
  return type == "note" || type == "list_imported" ||
         type == "list_entries_removed";
}
bool IsKnownRole(std::string_view role) {
  return role == "examiner" || role == "custodian" || role == "investigator" ||
         role == "prosecutor" || role == "auditor";
}

std::string FormatEventTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseEventTime(std::string_view s) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E6SZ", Sv(s), absl::UTCTimeZone(), &t,
                       &err))
    return Bad(absl::StrCat("bad time \"", Sv(s), "\""));
  if (FormatEventTime(t) != s)
    return Bad(absl::StrCat("non-canonical time \"", Sv(s), "\""));
  return t;
}

std::string FormatNanoTime(int64_t unix_ns) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", absl::FromUnixNanos(unix_ns),
                          absl::UTCTimeZone());
}

absl::StatusOr<std::string> SigningMessage(const Event& e) {
  CUSTOS_ASSIGN_OR_RETURN(std::string body, CanonicalJson(ToJson(e, false)));
  return absl::StrCat(kSignaturePrefix, body);
}

absl::StatusOr<std::string> EncodeEvent(const Event& e) {
  CUSTOS_ASSIGN_OR_RETURN(std::string out, CanonicalJson(ToJson(e, true)));
  if (out.size() > kMaxEventBytes)
    return absl::InvalidArgumentError(
        absl::StrCat("event too large: ", out.size(), " bytes (limit ",
                     kMaxEventBytes, ")"));
  return out;
}

absl::StatusOr<Event> DecodeEvent(std::string_view leaf) {
  if (leaf.size() > kMaxEventBytes) return Bad("larger than 65535 bytes");
  CUSTOS_ASSIGN_OR_RETURN(json j, ParseCanonicalJson(leaf));
  if (!j.is_object()) return Bad("not an object");
  static const std::set<std::string> kKnown = {
      "v",     "origin", "authority", "seq", "type", "time", "actor",   "case",
      "items", "place",  "purpose",   "to",  "from", "note", "details", "sig"};
  for (const auto& [k, v] : j.items())
    if (!kKnown.count(k))
      return Bad(absl::StrCat("unknown member \"", k, "\""));
  Event e;
  CUSTOS_ASSIGN_OR_RETURN(uint64_t v, Uint(j, "v"));
  if (v != kEventVersion)
    return absl::FailedPreconditionError(absl::StrCat(
        "event format version ", v, " is not supported (this custos reads ",
        kEventVersion, ")"));
  CUSTOS_ASSIGN_OR_RETURN(e.origin, Str(j, "origin", true));
  CUSTOS_ASSIGN_OR_RETURN(e.authority, Str(j, "authority", true));
  CUSTOS_ASSIGN_OR_RETURN(e.seq, Uint(j, "seq"));
  CUSTOS_ASSIGN_OR_RETURN(e.type, Str(j, "type", true));
  if (!IsKnownEventType(e.type))
    return Bad(absl::StrCat("unknown type \"", e.type, "\""));
  CUSTOS_ASSIGN_OR_RETURN(std::string time, Str(j, "time", true));
  CUSTOS_ASSIGN_OR_RETURN(e.time, ParseEventTime(time));
  auto actor = j.find("actor");
  if (actor == j.end() || !actor->is_object() || actor->size() != 3)
    return Bad("\"actor\" must be {id,name,role}");
  CUSTOS_ASSIGN_OR_RETURN(e.actor.id, Str(*actor, "id", true));
  CUSTOS_ASSIGN_OR_RETURN(e.actor.name, Str(*actor, "name", true));
  CUSTOS_ASSIGN_OR_RETURN(e.actor.role, Str(*actor, "role", true));
  CUSTOS_ASSIGN_OR_RETURN(e.case_id, Str(j, "case", false));
  auto items = j.find("items");
  if (items == j.end() || !items->is_array())
    return Bad("\"items\" must be an array");
  std::string last_id;
  for (const auto& it : *items) {
    if (!it.is_object() || it.size() != 5)
      return Bad("item must have 5 members");
    EventItem item;
    CUSTOS_ASSIGN_OR_RETURN(item.id, Str(it, "id", true));
    CUSTOS_ASSIGN_OR_RETURN(item.exhibit, Str(it, "exhibit", true));
    CUSTOS_ASSIGN_OR_RETURN(item.sha256_hex, Str(it, "sha256", true));
    CUSTOS_ASSIGN_OR_RETURN(item.size, Uint(it, "size"));
    CUSTOS_ASSIGN_OR_RETURN(item.prev_hex, Str(it, "prev", true));
    if (!IsHex64OrEmpty(item.sha256_hex, false))
      return Bad("item sha256 is not 64 hex");
    if (!IsHex64OrEmpty(item.prev_hex, true))
      return Bad("item prev is not 64 hex");
    if (!e.items.empty() && item.id <= last_id)
      return Bad("items not sorted by id or duplicated");
    last_id = item.id;
    e.items.push_back(std::move(item));
  }
  CUSTOS_ASSIGN_OR_RETURN(e.place, Str(j, "place", false));
  CUSTOS_ASSIGN_OR_RETURN(e.purpose, Str(j, "purpose", false));
  CUSTOS_ASSIGN_OR_RETURN(e.to, Str(j, "to", false));
  CUSTOS_ASSIGN_OR_RETURN(e.from, Str(j, "from", false));
  CUSTOS_ASSIGN_OR_RETURN(e.note, Str(j, "note", false));
  if (auto d = j.find("details"); d != j.end()) {
    if (!d->is_object() || d->empty())
      return Bad("\"details\" must be a non-empty object");
    e.details = *d;
  }
  auto sig = j.find("sig");
  if (sig == j.end() || !sig->is_object() || sig->size() != 3)
    return Bad("\"sig\" must be {alg,key,value}");
  CUSTOS_ASSIGN_OR_RETURN(std::string alg, Str(*sig, "alg", true));
  if (alg != "ed25519")
    return Bad(absl::StrCat("unsupported signature algorithm \"", alg, "\""));
  CUSTOS_ASSIGN_OR_RETURN(std::string key, Str(*sig, "key", true));
  CUSTOS_ASSIGN_OR_RETURN(std::string value, Str(*sig, "value", true));
  auto k = Base64Decode(key);
  auto s = Base64Decode(value);
  if (!k || k->size() != 32) return Bad("sig.key is not a base64 32-byte key");
  if (!s || s->size() != 64)
    return Bad("sig.value is not a base64 64-byte signature");
  e.sig_key = *k;
  e.sig_value = *s;
  return e;
}

}  // namespace custos::repo
