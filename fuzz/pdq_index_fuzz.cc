// libFuzzer target for opening a PDQ match index file (src/match/pdq_index.h,
// docs/formats/pdq-index.md). The input is written to a scratch file and
// opened read-only; properties checked beyond "no crash":
//   * an index that opens can be searched, refreshed and verified;
//   * it can also be opened for writing, which drops any uncommitted tail,
//     and one appended entry is then found by an exact search.
// Seeds: fuzz/corpus/pdq_index/ (small valid indexes, with several extents
// and tombstones).
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "src/match/pdq_index.h"

namespace {

const std::string& ScratchPath() {
  static const std::string* path = [] {
    const char* tmp = std::getenv("TMPDIR");
    return new std::string(std::string(tmp ? tmp : "/tmp") +
                           "/pdq_index_fuzz." + std::to_string(::getpid()));
  }();
  return *path;
}

void Check(bool cond) {
  if (!cond) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using custos::match::Code;
  using custos::match::PdqIndex;
  const std::string& path = ScratchPath();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    ssize_t w = ::write(fd, data + done, size - done);
    if (w <= 0) break;
    done += static_cast<size_t>(w);
  }
  ::close(fd);
  Code probe{};
  for (size_t k = 0; k < 32 && k < size; ++k) probe[k] = data[size - 1 - k];
  std::vector<Code> queries = {probe, Code{}};
  {
    auto index = PdqIndex::Open(path, false);
    if (!index.ok()) return 0;
    Check((*index)->live() <= (*index)->size());
    Check((*index)->Search(queries, 31, 1).ok());
    Check((*index)->Refresh().ok());
    (void)(*index)->Verify();
  }
  custos::match::IndexOptions opt;
  opt.sync = false;
  auto w = PdqIndex::Open(path, true, opt);
  Check(w.ok());
  const uint64_t n = (*w)->size();
  Code fresh = probe;
  fresh[0] ^= 0x5a;
  Check((*w)->Add(std::vector<Code>{fresh}, std::vector<uint64_t>{~0ull}).ok());
  Check((*w)->size() == n + 1);
  auto hits = (*w)->Search(std::vector<Code>{fresh}, 0, 1);
  Check(hits.ok());
  bool found = false;
  for (const auto& m : *hits) found |= m.id == ~0ull && m.distance == 0;
  Check(found);
  ::unlink(path.c_str());
  return 0;
}
