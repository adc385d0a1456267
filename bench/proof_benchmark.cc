// File: proof_benchmark.cc
//
// Inclusion and consistency proof generation from an on-disk TreeStore of
// 10,000,000 leaves, and proof verification. The leaves are SYNTHETIC: leaf
// i is LeafHash(big-endian uint64 i), not real custody events. The store is
// built once and reused from $CUSTOS_BENCH_DIR (default
// /tmp/custos-bench-tree); a store of another size there is repaired to
// 10,000,000 leaves. Reads come from the OS page cache after the build.
//
// Besides Google Benchmark's mean time per iteration, each benchmark reports
// the per-operation latency percentiles p50_us and p99_us as counters.
//
// Run: build/bench/proof_benchmark [--benchmark_filter=...]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "src/base/file_system.h"
#include "src/custody/merkle.h"
#include "src/custody/tree_store.h"

namespace custos::custody {
namespace {

constexpr uint64_t kLeaves = 10'000'000;

Hash32 SyntheticLeaf(uint64_t i) {
  char be[8];
  for (int b = 0; b < 8; ++b) be[b] = static_cast<char>(i >> (56 - 8 * b));
  return LeafHash(std::string_view(be, sizeof(be)));
}

std::string BenchDir() {
  const char* d = std::getenv("CUSTOS_BENCH_DIR");
  return d != nullptr && *d != '\0' ? d : "/tmp/custos-bench-tree";
}

TreeStore& Store() {
  static TreeStore* store = [] {
    std::string dir = BenchDir();
    auto opened = TreeStore::Open(PosixFileSystem(), dir);
    if (!opened.ok()) {
      std::fprintf(stderr, "open %s: %s\n", dir.c_str(),
                   opened.status().ToString().c_str());
      std::exit(1);
    }
    TreeStore* s = opened->release();
    std::fprintf(stderr,
                 "tree store %s: %llu leaves present; leaves are SYNTHETIC "
                 "hashes LeafHash(uint64 BE i), %llu wanted\n",
                 dir.c_str(), static_cast<unsigned long long>(s->size()),
                 static_cast<unsigned long long>(kLeaves));
    if (s->size() != kLeaves) {
      auto t0 = std::chrono::steady_clock::now();
      absl::Status st =
          s->Repair(kLeaves,
                    [](uint64_t begin,
                       uint64_t end) -> absl::StatusOr<std::vector<Hash32>> {
                      std::vector<Hash32> out;
                      out.reserve(end - begin);
                      for (uint64_t i = begin; i < end; ++i)
                        out.push_back(SyntheticLeaf(i));
                      return out;
                    });
      if (st.ok()) st = s->Sync();
      if (!st.ok()) {
        std::fprintf(stderr, "build: %s\n", st.ToString().c_str());
        std::exit(1);
      }
      double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      std::fprintf(stderr, "built %llu synthetic leaves in %.1f s\n",
                   static_cast<unsigned long long>(kLeaves), secs);
    }
    return s;
  }();
  return *store;
}

// Times each call of `op` and reports per-operation percentiles.
template <typename Op>
void RunTimed(benchmark::State& state, Op op) {
  std::vector<double> us;
  us.reserve(1 << 16);
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    op();
    auto t1 = std::chrono::steady_clock::now();
    if (us.size() < (1u << 20)) {
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
  }
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[us.size() * 99 / 100];
}

void BM_InclusionProof(benchmark::State& state) {
  TreeStore& store = Store();
  std::mt19937_64 rng(1);
  RunTimed(state, [&] {
    uint64_t size = 1 + rng() % store.size();
    uint64_t index = rng() % size;
    auto proof = InclusionProof(store, index, size);
    if (!proof.ok()) state.SkipWithError("InclusionProof failed");
    benchmark::DoNotOptimize(proof);
  });
}
BENCHMARK(BM_InclusionProof);

void BM_InclusionProofLatestSize(benchmark::State& state) {
  TreeStore& store = Store();
  std::mt19937_64 rng(2);
  RunTimed(state, [&] {
    auto proof = InclusionProof(store, rng() % store.size(), store.size());
    if (!proof.ok()) state.SkipWithError("InclusionProof failed");
    benchmark::DoNotOptimize(proof);
  });
}
BENCHMARK(BM_InclusionProofLatestSize);

void BM_ConsistencyProof(benchmark::State& state) {
  TreeStore& store = Store();
  std::mt19937_64 rng(3);
  RunTimed(state, [&] {
    uint64_t n = 2 + rng() % (store.size() - 1);
    uint64_t m = 1 + rng() % (n - 1);
    auto proof = ConsistencyProof(store, m, n);
    if (!proof.ok()) state.SkipWithError("ConsistencyProof failed");
    benchmark::DoNotOptimize(proof);
  });
}
BENCHMARK(BM_ConsistencyProof);

void BM_RootAt(benchmark::State& state) {
  TreeStore& store = Store();
  std::mt19937_64 rng(4);
  RunTimed(state, [&] {
    auto root = RootAt(store, 1 + rng() % store.size());
    benchmark::DoNotOptimize(root);
  });
}
BENCHMARK(BM_RootAt);

struct InclusionCase {
  uint64_t index, size;
  Hash32 leaf, root;
  std::vector<Hash32> proof;
};

struct ConsistencyCase {
  uint64_t m, n;
  Hash32 root1, root2;
  std::vector<Hash32> proof;
};

void BM_VerifyInclusion(benchmark::State& state) {
  TreeStore& store = Store();
  std::mt19937_64 rng(5);
  std::vector<InclusionCase> cases;
  for (int i = 0; i < 256; ++i) {
    InclusionCase c;
    c.size = 1 + rng() % store.size();
    c.index = rng() % c.size;
    c.leaf = SyntheticLeaf(c.index);
    c.root = *RootAt(store, c.size);
    c.proof = *InclusionProof(store, c.index, c.size);
    cases.push_back(std::move(c));
  }
  size_t i = 0;
  RunTimed(state, [&] {
    const InclusionCase& c = cases[i++ % cases.size()];
    absl::Status s = VerifyInclusion(c.index, c.size, c.leaf, c.proof, c.root);
    if (!s.ok()) state.SkipWithError("VerifyInclusion failed");
  });
}
BENCHMARK(BM_VerifyInclusion);

void BM_VerifyConsistency(benchmark::State& state) {
  TreeStore& store = Store();
  std::mt19937_64 rng(6);
  std::vector<ConsistencyCase> cases;
  for (int i = 0; i < 256; ++i) {
    ConsistencyCase c;
    c.n = 2 + rng() % (store.size() - 1);
    c.m = 1 + rng() % (c.n - 1);
    c.root1 = *RootAt(store, c.m);
    c.root2 = *RootAt(store, c.n);
    c.proof = *ConsistencyProof(store, c.m, c.n);
    cases.push_back(std::move(c));
  }
  size_t i = 0;
  RunTimed(state, [&] {
    const ConsistencyCase& c = cases[i++ % cases.size()];
    absl::Status s = VerifyConsistency(c.m, c.n, c.root1, c.root2, c.proof);
    if (!s.ok()) state.SkipWithError("VerifyConsistency failed");
  });
}
BENCHMARK(BM_VerifyConsistency);

}  // namespace
}  // namespace custos::custody

BENCHMARK_MAIN();
