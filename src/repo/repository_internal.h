// File: repository_internal.h
//
// Internal to src/repo: the pieces of the commit pipeline that Repository
// member functions defined in other files of this directory share
// (repository.cc, extract.cc, ...). A mutating step builds a Batch of
// Pending events and passes it to Repository::Commit(), which links, signs,
// verifies and appends them in one durable transaction
// (docs/formats/repository.md "Commit protocol").
//
// Thread-safety: plain structs, used by one Repository call at a time.
#ifndef CUSTOS_SRC_REPO_REPOSITORY_INTERNAL_H_
#define CUSTOS_SRC_REPO_REPOSITORY_INTERNAL_H_

#include <unistd.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "src/crypto/ed25519.h"
#include "src/repo/event.h"
#include "src/repo/meta_store.h"
#include "src/repo/repository.h"

namespace custos::repo {

// Recorded as the tool of acquisitions and extractions.
inline constexpr char kToolName[] = "custos";
inline constexpr char kToolVersion[] = "0.1.0";

// This machine's name, recorded as the host of acquisitions and extractions.
inline std::string HostName() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// One event waiting to be appended.
struct Repository::Pending {
  Event event;  // seq, time, origin, authority, prevs and sig filled at commit
  std::set<std::string> new_items;            // created by this event
  std::vector<std::string> covered_children;  // children created (manifest)
  const crypto::Ed25519PrivateKey* signer = nullptr;
  std::string registered_key;  // the key the log checks the signature against
};

struct Repository::Batch {
  std::vector<Pending> events;
  std::vector<std::unique_ptr<crypto::Ed25519PrivateKey>> keys;
  // Domain-table changes, run inside the transaction with the assigned seqs.
  std::function<absl::Status(MetaStore&, const std::vector<uint64_t>&)> apply;
};

}  // namespace custos::repo

#endif  // CUSTOS_SRC_REPO_REPOSITORY_INTERNAL_H_
