#include "src/custody/checkpoint.h"

#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "src/base/absl_compat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"

namespace custos::custody {
namespace {

constexpr std::string_view kTlogProofHeader = "c2sp.org/tlog-proof@v1\n";
constexpr std::string_view kExtraPrefix = "extra ";
constexpr std::string_view kIndexPrefix = "index ";
constexpr size_t kMaxProofLines = 63;

// Decimal without sign or leading zeros, < 2^63.
bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) {
    return false;
  }
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');  // 19 digits cannot overflow
  }
  if (v >= kMaxTreeSize) return false;
  *out = v;
  return true;
}

// Canonical standard base64 of exactly 32 bytes.
bool DecodeHash(std::string_view b64, Hash32* out) {
  std::optional<std::string> raw = Base64Decode(b64);
  return raw.has_value() && crypto::ToHash32(*raw, out);
}

// Splits off the next '\n'-terminated line of *rest (without the '\n').
bool NextLine(std::string_view* rest, std::string_view* line) {
  size_t eol = rest->find('\n');
  if (eol == std::string_view::npos) return false;
  *line = rest->substr(0, eol);
  rest->remove_prefix(eol + 1);
  return true;
}

bool HasKey(const std::vector<crypto::Vkey>& keys,
            const crypto::VerifiedSignature& sig) {
  for (const crypto::Vkey& k : keys) {
    if (k.name == sig.name && k.key_id == sig.key_id && k.type == sig.type) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string FormatCheckpoint(const Checkpoint& cp) {
  std::string out =
      absl::StrCat(Sv(cp.origin), "\n", cp.size, "\n",
                   Sv(Base64Encode(crypto::AsView(cp.root))), "\n");
  for (const std::string& ext : cp.extensions) {
    absl::StrAppend(&out, Sv(ext), "\n");
  }
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpoint(std::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError("checkpoint: missing final newline");
  }
  std::string_view rest = text;
  std::string_view origin, size, root;
  if (!NextLine(&rest, &origin) || !NextLine(&rest, &size) ||
      !NextLine(&rest, &root)) {
    return absl::InvalidArgumentError(
        "checkpoint: needs origin, size and root lines");
  }
  Checkpoint cp;
  if (origin.empty()) {
    return absl::InvalidArgumentError("checkpoint: empty origin");
  }
  cp.origin = std::string(origin);
  if (!ParseDecimal(size, &cp.size)) {
    return absl::InvalidArgumentError(
        "checkpoint: bad tree size (decimal, no sign, no leading zeros, "
        "< 2^63)");
  }
  if (!DecodeHash(root, &cp.root)) {
    return absl::InvalidArgumentError(
        "checkpoint: root is not canonical base64 of 32 bytes");
  }
  std::string_view ext;
  while (NextLine(&rest, &ext)) {
    if (ext.empty()) {
      return absl::InvalidArgumentError("checkpoint: empty extension line");
    }
    cp.extensions.emplace_back(ext);
  }
  return cp;
}

absl::StatusOr<VerifiedCheckpoint> VerifyCheckpointNote(
    std::string_view note, const CheckpointPolicy& policy) {
  if (policy.origin.empty()) {
    return absl::InvalidArgumentError("checkpoint policy: empty origin");
  }
  if (policy.log_keys.empty()) {
    return absl::InvalidArgumentError("checkpoint policy: no log keys");
  }
  std::vector<crypto::Vkey> keys = policy.log_keys;
  keys.insert(keys.end(), policy.witness_keys.begin(),
              policy.witness_keys.end());
  VerifiedCheckpoint out;
  CUSTOS_ASSIGN_OR_RETURN(out.note, crypto::OpenNote(note, keys));
  CUSTOS_ASSIGN_OR_RETURN(out.checkpoint, ParseCheckpoint(out.note.text));
  if (out.checkpoint.origin != policy.origin) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint: origin \"", Sv(out.checkpoint.origin),
                     "\", want \"", Sv(policy.origin), "\""));
  }
  bool log_signed = false;
  std::set<std::pair<std::string, uint32_t>> witnesses;
  for (const crypto::VerifiedSignature& sig : out.note.verified) {
    if (sig.type == crypto::kSigTypeEd25519 && HasKey(policy.log_keys, sig)) {
      log_signed = true;
    } else if (HasKey(policy.witness_keys, sig)) {
      witnesses.emplace(sig.name, sig.key_id);
    }
  }
  if (!log_signed) {
    return absl::PermissionDeniedError(
        "checkpoint: no verified signature from a log key");
  }
  out.witnesses = witnesses.size();
  if (out.witnesses < policy.min_witnesses) {
    return absl::PermissionDeniedError(absl::StrCat(
        "checkpoint: ", out.witnesses, " verified witness cosignatures, need ",
        policy.min_witnesses));
  }
  if (out.checkpoint.size == 0 && out.checkpoint.root != crypto::Sha256("")) {
    return absl::InvalidArgumentError(
        "checkpoint: size 0 must carry SHA-256 of the empty string");
  }
  return out;
}

std::string FormatTlogProof(const TlogProof& p) {
  std::string out(kTlogProofHeader);
  if (p.extra.has_value()) {
    absl::StrAppend(&out, Sv(kExtraPrefix), Sv(Base64Encode(*p.extra)), "\n");
  }
  absl::StrAppend(&out, Sv(kIndexPrefix), p.index, "\n");
  for (const Hash32& h : p.proof) {
    absl::StrAppend(&out, Sv(Base64Encode(crypto::AsView(h))), "\n");
  }
  absl::StrAppend(&out, "\n", Sv(p.checkpoint_note));
  return out;
}

absl::StatusOr<TlogProof> ParseTlogProof(std::string_view text) {
  if (text.substr(0, kTlogProofHeader.size()) != kTlogProofHeader) {
    return absl::InvalidArgumentError(
        "tlog-proof: missing c2sp.org/tlog-proof@v1 header");
  }
  std::string_view rest = text.substr(kTlogProofHeader.size());
  TlogProof p;
  std::string_view line;
  if (!NextLine(&rest, &line)) {
    return absl::InvalidArgumentError("tlog-proof: truncated");
  }
  if (line.substr(0, kExtraPrefix.size()) == kExtraPrefix) {
    p.extra = Base64Decode(line.substr(kExtraPrefix.size()));
    if (!p.extra.has_value()) {
      return absl::InvalidArgumentError(
          "tlog-proof: extra is not canonical base64");
    }
    if (!NextLine(&rest, &line)) {
      return absl::InvalidArgumentError("tlog-proof: truncated");
    }
  }
  if (line.substr(0, kIndexPrefix.size()) != kIndexPrefix ||
      !ParseDecimal(line.substr(kIndexPrefix.size()), &p.index)) {
    return absl::InvalidArgumentError(
        "tlog-proof: want \"index <decimal, no leading zeros>\"");
  }
  while (true) {
    if (!NextLine(&rest, &line)) {
      return absl::InvalidArgumentError("tlog-proof: truncated proof");
    }
    if (line.empty()) break;
    if (p.proof.size() >= kMaxProofLines) {
      return absl::InvalidArgumentError("tlog-proof: too many proof lines");
    }
    Hash32 h;
    if (!DecodeHash(line, &h)) {
      return absl::InvalidArgumentError(
          "tlog-proof: proof line is not canonical base64 of 32 bytes");
    }
    p.proof.push_back(h);
  }
  if (absl::Status s = crypto::ParseNote(rest).status(); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tlog-proof: checkpoint: ", s.message()));
  }
  p.checkpoint_note = std::string(rest);
  return p;
}

absl::StatusOr<VerifiedCheckpoint> VerifyTlogProof(
    const TlogProof& p, const Hash32& leaf_hash,
    const CheckpointPolicy& policy) {
  CUSTOS_ASSIGN_OR_RETURN(VerifiedCheckpoint vc,
                          VerifyCheckpointNote(p.checkpoint_note, policy));
  CUSTOS_RETURN_IF_ERROR(VerifyInclusion(p.index, vc.checkpoint.size, leaf_hash,
                                         p.proof, vc.checkpoint.root));
  return vc;
}

}  // namespace custos::custody
