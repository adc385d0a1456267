// File: pdq_scan.h
//
// The search kernels behind PdqIndex::Search, usable on any array of 32-byte
// codes (the benchmark runs them on plain memory too):
//
//  * Join: index the query batch by chunks (pigeonhole over an error budget
//    per chunk) and stream the codes once; see docs/formats/pdq-index.md.
//  * Brute force: every query against every code, AVX-512 VPOPCNTQ over
//    blocks of 512 codes transposed to 8-lane words, or portable popcount.
//
// ChoosePlan picks one from a cost model. Both are exact.
//
// Thread-safety: all functions are reentrant; Scan starts `threads` threads
// and joins them before returning.
//
// Example:
//   std::vector<internal::Run> runs = {{codes, 0, n}};
//   internal::Plan plan = internal::ChoosePlan(n, queries.size(), 31);
//   std::vector<internal::RawMatch> out;
//   internal::Scan(runs, queries, 31, 2, plan, &out);
#ifndef CUSTOS_SRC_MATCH_PDQ_SCAN_H_
#define CUSTOS_SRC_MATCH_PDQ_SCAN_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "src/match/pdq_index.h"

namespace custos::match::internal {

// `count` codes of 32 bytes at `codes`; codes[k] is entry `first + k`.
struct Run {
  const uint8_t* codes;
  uint64_t first;
  uint64_t count;
};

struct RawMatch {
  uint32_t query;
  uint16_t distance;
  uint64_t entry;
};

struct ChunkSpec {
  int offset;  // first bit (bit k = bit k%8 of byte k/8)
  int width;   // 2..32 (read as two halves)
  int err;     // -1 = unused, else the chunk's error budget, 0..3
};

struct Plan {
  bool brute = true;
  std::vector<ChunkSpec> chunks;  // join only
  uint32_t batch = 0;             // queries per join pass
  double est_ns = 0;              // the cost model's estimate
  std::string ToString() const;
};

// Kernel selection (run time): AVX-512 F + VPOPCNTDQ, else POPCNT, else
// portable code. ForceKernel lets tests and benchmarks pick a lower one.
enum class Kernel { kPortable = 0, kPopcnt = 1, kAvx512 = 2 };
Kernel BestKernel();
void ForceKernel(Kernel k);  // min(k, BestKernel()); kAvx512 restores
Kernel ActiveKernel();

// The cheapest exact plan for `num_queries` queries at `radius` over
// `num_codes` codes. `allow_join` false forces brute force.
Plan ChoosePlan(uint64_t num_codes, size_t num_queries, int radius,
                bool allow_join = true);

// A join plan with the given chunks (for tests); checks the pigeonhole
// condition sum(err + 1) >= radius + 1 and returns brute force if it fails.
Plan JoinPlan(std::vector<ChunkSpec> chunks, int radius, uint32_t batch);

// Appends to `out`, in no particular order, every (query, entry) with
// distance <= radius over all runs. threads >= 1.
void Scan(std::span<const Run> runs, std::span<const Code> queries, int radius,
          int threads, const Plan& plan, std::vector<RawMatch>* out);

}  // namespace custos::match::internal

#endif  // CUSTOS_SRC_MATCH_PDQ_SCAN_H_
