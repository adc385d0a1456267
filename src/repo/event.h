// File: event.h
//
// Custody events and their canonical encoding (docs/formats/event.md): the
// bytes that become Merkle leaves. `Event` is the in-memory form;
// `EncodeEvent` / `DecodeEvent` are the one codec for it.
//
// Thread-safety: pure functions and plain structs.
//
// Example:
//   Event e;  ... fill ...
//   std::string msg = *SigningMessage(e);
//   e.sig_key = key.PublicKey(); e.sig_value = key.Sign(msg);
//   std::string leaf = *EncodeEvent(e);
//   Event back = *DecodeEvent(leaf);
#ifndef CUSTOS_SRC_REPO_EVENT_H_
#define CUSTOS_SRC_REPO_EVENT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace custos::repo {

inline constexpr int kEventVersion = 1;
inline constexpr size_t kMaxEventBytes = 65535;
inline constexpr char kAuthorityActorId[] = "authority";
inline constexpr char kSignaturePrefix[] = "custos/event-signature/v1\n";

// True for the types of docs/formats/event.md.
bool IsKnownEventType(std::string_view type);
// Types that only the authority (log key) may sign.
bool IsAuthorityOnlyType(std::string_view type);
// Types a person records with `custos event add`.
bool IsCustodyEventType(std::string_view type);
// Types whose events may concern no item (notes, hash-list changes).
bool EventTypeMayHaveNoItems(std::string_view type);
bool IsKnownRole(std::string_view role);

struct EventItem {
  std::string id;
  std::string exhibit;
  std::string sha256_hex;
  uint64_t size = 0;
  std::string prev_hex;  // leaf hash of the item's previous event, or ""
};

struct EventActor {
  std::string id;
  std::string name;
  std::string role;
};

struct Event {
  std::string origin;
  std::string authority;
  uint64_t seq = 0;
  std::string type;
  absl::Time time;
  EventActor actor;
  std::string case_id;
  std::vector<EventItem> items;  // encoded sorted by id
  std::string place, purpose, to, from, note;
  nlohmann::json details = nlohmann::json::object();
  std::string sig_key;    // raw 32-byte Ed25519 public key
  std::string sig_value;  // raw 64-byte signature
};

// RFC 3339 UTC with 6 fractional digits; and its strict parser.
std::string FormatEventTime(absl::Time t);
absl::StatusOr<absl::Time> ParseEventTime(std::string_view s);
// RFC 3339 UTC with 9 fractional digits (manifests).
std::string FormatNanoTime(int64_t unix_ns);

// The bytes the actor signs (kSignaturePrefix || canonical JSON w/o "sig").
absl::StatusOr<std::string> SigningMessage(const Event& e);
// The leaf bytes. kInvalidArgument if a string is not UTF-8 or the result
// exceeds kMaxEventBytes.
absl::StatusOr<std::string> EncodeEvent(const Event& e);
// Strict: canonical JSON, known version, all required members with the right
// types, no unknown members. kInvalidArgument naming the problem.
absl::StatusOr<Event> DecodeEvent(std::string_view leaf);

}  // namespace custos::repo

#endif  // CUSTOS_SRC_REPO_EVENT_H_
