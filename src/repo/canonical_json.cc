#include "src/repo/canonical_json.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/base/absl_compat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"

namespace custos::repo {
namespace {

absl::Status Encode(const nlohmann::json& j, std::string& out) {
  using T = nlohmann::json::value_t;
  switch (j.type()) {
    case T::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : j.items()) {  // std::map: sorted bytewise
        if (!first) out += ',';
        first = false;
        CUSTOS_RETURN_IF_ERROR(Encode(nlohmann::json(k), out));
        out += ':';
        CUSTOS_RETURN_IF_ERROR(Encode(v, out));
      }
      out += '}';
      return absl::OkStatus();
    }
    case T::array: {
      out += '[';
      bool first = true;
      for (const auto& v : j) {
        if (!first) out += ',';
        first = false;
        CUSTOS_RETURN_IF_ERROR(Encode(v, out));
      }
      out += ']';
      return absl::OkStatus();
    }
    case T::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (!IsValidUtf8(s))
        return absl::InvalidArgumentError(
            "canonical JSON: string is not UTF-8");
      AppendCanonicalJsonString(out, s);
      return absl::OkStatus();
    }
    case T::boolean:
      out += j.get<bool>() ? "true" : "false";
      return absl::OkStatus();
    case T::number_unsigned: {
      uint64_t v = j.get<uint64_t>();
      if (v > kMaxCanonicalInt)
        return absl::InvalidArgumentError(
            "canonical JSON: integer above 2^53-1");
      absl::StrAppend(&out, v);
      return absl::OkStatus();
    }
    case T::number_integer: {
      int64_t v = j.get<int64_t>();
      if (v < 0)
        return absl::InvalidArgumentError("canonical JSON: negative integer");
      if (static_cast<uint64_t>(v) > kMaxCanonicalInt)
        return absl::InvalidArgumentError(
            "canonical JSON: integer above 2^53-1");
      absl::StrAppend(&out, v);
      return absl::OkStatus();
    }
    case T::number_float:
      return absl::InvalidArgumentError("canonical JSON: fractional number");
    case T::null:
      return absl::InvalidArgumentError("canonical JSON: null");
    default:
      return absl::InvalidArgumentError("canonical JSON: unsupported value");
  }
}

}  // namespace

absl::StatusOr<std::string> CanonicalJson(const nlohmann::json& j) {
  std::string out;
  CUSTOS_RETURN_IF_ERROR(Encode(j, out));
  return out;
}

absl::StatusOr<nlohmann::json> ParseCanonicalJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  auto again = CanonicalJson(j);
  if (!again.ok()) return again.status();
  if (*again != text)
    return absl::InvalidArgumentError(
        "JSON is not in canonical form (docs/formats/event.md)");
  return j;
}

void AppendCanonicalJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20)
          out += absl::StrFormat("\\u%04x", c);
        else
          out += ch;
    }
  }
  out += '"';
}

}  // namespace custos::repo
