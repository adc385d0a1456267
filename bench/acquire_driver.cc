// File: acquire_driver.cc
//
// Benchmark stand-in for `custos acquire`: opens a PosixBlobStore at
// --store (created if missing) and acquires SOURCE into it with the chosen
// digests, then prints entries, bytes, seconds and throughput. Used by
// bench/acquire_vs_peers.sh.
//
// Usage: acquire_driver --store DIR [--digests sha256,md5,sha1] SOURCE
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "src/acquire/acquire.h"
#include "src/base/bytes.h"
#include "src/base/file_system.h"
#include "src/base/random.h"

int main(int argc, char** argv) {
  std::string store_dir, source;
  unsigned digests = custos::crypto::kSha256;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--store" && i + 1 < argc) {
      store_dir = argv[++i];
    } else if (a == "--digests" && i + 1 < argc) {
      std::string d = argv[++i];
      digests = custos::crypto::kSha256;
      if (d.find("md5") != std::string::npos) digests |= custos::crypto::kMd5;
      if (d.find("sha1") != std::string::npos) digests |= custos::crypto::kSha1;
    } else {
      source = a;
    }
  }
  if (store_dir.empty() || source.empty()) {
    std::fprintf(stderr,
                 "usage: acquire_driver --store DIR [--digests "
                 "sha256,md5,sha1] SOURCE\n");
    return 2;
  }
  auto store = custos::store::OpenPosixBlobStore(
      custos::PosixFileSystem(), custos::RealRandom(), store_dir);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  uint64_t bytes = 0, entries = 0, errors = 0;
  custos::acquire::AcquireOptions opts;
  opts.digests = digests;
  auto start = std::chrono::steady_clock::now();
  absl::Status st = custos::acquire::Acquire(
      source, **store, opts, [&](const custos::acquire::SourceEntry& e) {
        ++entries;
        if (e.stored) bytes += e.size;
        if (!e.error.empty()) ++errors;
        if (e.path.empty() && e.stored)
          std::printf("sha256=%s md5=%s sha1=%s\n",
                      custos::HexEncode(e.digests.sha256).c_str(),
                      custos::HexEncode(e.digests.md5).c_str(),
                      custos::HexEncode(e.digests.sha1).c_str());
        return absl::OkStatus();
      });
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (!st.ok()) {
    std::fprintf(stderr, "acquire failed: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("entries=%llu errors=%llu bytes=%llu seconds=%.3f MB/s=%.1f\n",
              static_cast<unsigned long long>(entries),
              static_cast<unsigned long long>(errors),
              static_cast<unsigned long long>(bytes), secs, bytes / secs / 1e6);
  return 0;
}
