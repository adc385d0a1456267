// File: checkpoint.h
//
// C2SP tlog-checkpoint v1.0.0 bodies and c2sp.org/tlog-proof@v1 receipts.
// See ../shared/specs/tlog-formats.md sections 5 and 8.
//
// Thread-safety: pure functions.
//
// Example:
//   Checkpoint cp{origin, size, root, {}};
//   std::string text = FormatCheckpoint(cp);
//   CUSTOS_ASSIGN_OR_RETURN(Checkpoint back, ParseCheckpoint(text));
#ifndef CUSTOS_SRC_CUSTODY_CHECKPOINT_H_
#define CUSTOS_SRC_CUSTODY_CHECKPOINT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "src/crypto/note.h"
#include "src/custody/merkle.h"

namespace custos::custody {

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash32 root{};
  std::vector<std::string> extensions;  // each without its '\n'
};

// "<origin>\n<size>\n<base64 root>\n[<ext>\n]*"
std::string FormatCheckpoint(const Checkpoint& cp);
// Strict: non-empty origin, decimal size without sign or leading zeros and
// < 2^63, canonical base64 of exactly 32 bytes, final newline, non-empty
// extension lines. kInvalidArgument naming the problem otherwise.
absl::StatusOr<Checkpoint> ParseCheckpoint(std::string_view text);

struct CheckpointPolicy {
  std::string origin;                  // required origin
  std::vector<crypto::Vkey> log_keys;  // at least one must sign
  std::vector<crypto::Vkey> witness_keys;
  size_t min_witnesses = 0;
};

struct VerifiedCheckpoint {
  Checkpoint checkpoint;
  crypto::OpenedNote note;
  size_t witnesses = 0;  // distinct witness keys that verified
};

// Opens a signed checkpoint note: signatures, origin match, a log signature
// (type 0x01 by a log key), witness quorum, and size-0 root rule.
// kPermissionDenied for signature/policy failures, kInvalidArgument for
// malformed text, kFailedPrecondition for an origin mismatch.
absl::StatusOr<VerifiedCheckpoint> VerifyCheckpointNote(
    std::string_view note, const CheckpointPolicy& policy);

// A c2sp.org/tlog-proof@v1 receipt.
struct TlogProof {
  std::optional<std::string> extra;  // decoded bytes of the "extra" line
  uint64_t index = 0;
  std::vector<Hash32> proof;
  std::string checkpoint_note;  // the signed note, verbatim
};

std::string FormatTlogProof(const TlogProof& p);
// Strict parse; kInvalidArgument naming the problem.
absl::StatusOr<TlogProof> ParseTlogProof(std::string_view text);

// Full offline verification: checkpoint per `policy`, then inclusion of
// `leaf_hash` at p.index. Returns the verified checkpoint.
absl::StatusOr<VerifiedCheckpoint> VerifyTlogProof(
    const TlogProof& p, const Hash32& leaf_hash,
    const CheckpointPolicy& policy);

}  // namespace custos::custody

#endif  // CUSTOS_SRC_CUSTODY_CHECKPOINT_H_
