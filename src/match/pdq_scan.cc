#include "src/match/pdq_scan.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "src/base/status_macros.h"

namespace custos::match::internal {
namespace {

#define CUSTOS_ALWAYS_INLINE inline __attribute__((always_inline))

// List entries pack (query:15, half distance:1, other half:16) in 32 bits.
constexpr uint32_t kMaxBatch = 32767;
constexpr int kMaxChunkWidth = 32;  // halves of at most 16 bits
constexpr int kMaxChunkErr = 3;     // so that a half's budget is at most 1

std::atomic<int> g_forced{static_cast<int>(Kernel::kAvx512)};

CUSTOS_ALWAYS_INLINE uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

CUSTOS_ALWAYS_INLINE uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

CUSTOS_ALWAYS_INLINE int Pop(uint64_t x) { return __builtin_popcountll(x); }

// A chunk as the scan reads it: value = (Load32(code + load) >> shift) & mask.
struct ChunkReader {
  uint32_t load;
  uint32_t shift;
  uint32_t mask;
  int err;
};

ChunkReader MakeReader(const ChunkSpec& c) {
  uint32_t load = std::min<uint32_t>(static_cast<uint32_t>(c.offset) / 8, 28);
  return {load, static_cast<uint32_t>(c.offset) - 8 * load,
          c.width >= 32 ? 0xffffffffu : (1u << c.width) - 1, c.err};
}

CUSTOS_ALWAYS_INLINE uint32_t ChunkValue(const ChunkReader& r,
                                         const uint8_t* code) {
  return (Load32(code + r.load) >> r.shift) & r.mask;
}

// Number of values within `err` bits of a `width`-bit value.
double Volume(int width, int err) {
  double v = 0, c = 1;
  for (int k = 0; k <= err && k <= width; ++k) {
    v += c;
    c = c * (width - k) / (k + 1);
  }
  return v;
}

// A chunk of W <= 32 bits with budget E <= 3 is read as two halves A, B of
// at most 16 bits: d(A) + d(B) <= E implies min(d(A), d(B)) <= E / 2 <= 1.
// Each half has a table over its 2^w values listing the batch queries whose
// half is within E / 2 of the value; an entry also carries the query's other
// half and this half's distance, so the chunk condition d(A) + d(B) <= E is
// checked from the entry alone, and only the (rare) survivors load the query
// for the full 256-bit distance. A pair qualifying through both halves is
// kept only from half A (half B requires d(A) > E / 2).
struct HalfTable {
  ChunkReader self;  // on a code (table building)
  ChunkReader other;
  // On the chunk's value (probing): half = (value >> shift) & mask.
  uint32_t self_shift, self_mask, other_shift, other_mask;
  int chunk;                   // index of the chunk in JoinBatch::chunks
  int err;                     // the chunk's budget E
  int half_err;                // E / 2
  bool second;                 // half B
  std::vector<uint32_t> off;   // 2^w + 1
  std::vector<uint32_t> list;  // query | half distance << 15 | other << 16
};

void BuildHalf(const uint8_t* qbytes, uint32_t nq, HalfTable* t,
               int self_width) {
  // half_err is 0 or 1 (E <= 3): the value itself, then its w neighbours.
  const int flips = t->half_err >= 1 ? self_width : 0;
  const uint32_t values = 1u << self_width;
  t->off.assign(values + 1, 0);
  uint32_t* off = t->off.data();
  std::vector<uint32_t> self(nq);
  for (uint32_t q = 0; q < nq; ++q) {
    self[q] = ChunkValue(t->self, qbytes + 32 * q);
    const uint32_t s = self[q];
    ++off[s];
    for (int i = 0; i < flips; ++i) ++off[s ^ (1u << i)];
  }
  uint32_t sum = 0;
  for (uint32_t v = 0; v <= values; ++v) {
    uint32_t c = off[v];
    off[v] = sum;
    sum += c;
  }
  t->list.resize(sum);
  uint32_t* list = t->list.data();
  for (uint32_t q = 0; q < nq; ++q) {
    const uint32_t s = self[q];
    const uint32_t base = q | ChunkValue(t->other, qbytes + 32 * q) << 16;
    list[off[s]++] = base;
    for (int i = 0; i < flips; ++i)
      list[off[s ^ (1u << i)]++] = base | 1u << 15;
  }
  // off[v] now holds the end of v, i.e. the start of v + 1.
  std::memmove(off + 1, off, sizeof(uint32_t) * values);
  off[0] = 0;
}

struct JoinChunk {
  int offset, width, err;
};

struct JoinBatch {
  std::vector<JoinChunk> chunks;  // used chunks, in plan order
  std::vector<HalfTable> halves;  // two per used chunk, A then B
  const uint8_t* qbytes;          // batch queries, 32 bytes each
  uint32_t qbase;
  int radius;
};

// True if no used chunk before `j` is within its budget for this pair, i.e.
// chunk j is the first that qualifies (each pair is reported once).
bool FirstQualifying(const JoinBatch& b, int j, const uint8_t* code,
                     const uint8_t* query) {
  uint8_t x[40] = {};
  for (int k = 0; k < 32; ++k) x[k] = code[k] ^ query[k];
  for (int k = 0; k < j; ++k) {
    const JoinChunk& c = b.chunks[k];
    const uint64_t bits = (Load64(x + c.offset / 8) >> (c.offset % 8)) &
                          ((c.width >= 64 ? 0 : uint64_t{1} << c.width) - 1);
    if (Pop(bits) <= c.err) return false;
  }
  return true;
}

// A pair that passed a half table's entry check: code `i` of the run,
// batch query `q`, found through half table `h`.
struct Cand {
  uint32_t i;
  uint16_t q;
  uint16_t h;
};

// Checks codes [b0, b1) against one half table: an entry survives if
// d(this half) + d(other half) <= E (and, for half B, d(A) > E / 2).
CUSTOS_ALWAYS_INLINE void ProbeImpl(const HalfTable& t, uint16_t h,
                                    const uint32_t* vals, uint64_t b0,
                                    uint64_t b1, std::vector<Cand>* cands) {
  const uint32_t* off = t.off.data();
  const uint32_t* list = t.list.data();
  const int err = t.err, half_err = t.half_err;
  const bool second = t.second;
  for (uint64_t i = b0; i < b1; ++i) {
    const uint32_t val = vals[i - b0];
    const uint32_t v = val >> t.self_shift & t.self_mask;
    const uint32_t other = val >> t.other_shift & t.other_mask;
    for (uint32_t p = off[v], e = off[v + 1]; p < e; ++p) {
      const uint32_t x = list[p];
      const int d_other = Pop(other ^ (x >> 16));
      if (static_cast<int>(x >> 15 & 1) + d_other > err) [[likely]] {
        continue;
      }
      if (second && d_other <= half_err) continue;  // half A has it
      cands->push_back(
          {static_cast<uint32_t>(i), static_cast<uint16_t>(x & 0x7fff), h});
    }
  }
}

__attribute__((target("popcnt"))) void ProbePopcnt(const HalfTable& t,
                                                   uint16_t h,
                                                   const uint32_t* vals,
                                                   uint64_t b0, uint64_t b1,
                                                   std::vector<Cand>* cands) {
  ProbeImpl(t, h, vals, b0, b1, cands);
}

void ProbePortable(const HalfTable& t, uint16_t h, const uint32_t* vals,
                   uint64_t b0, uint64_t b1, std::vector<Cand>* cands) {
  ProbeImpl(t, h, vals, b0, b1, cands);
}

// The same, 16 entries at a time: masked load (no read past the list),
// VPOPCNTD of the other-half XOR, compare; no data-dependent branch unless
// an entry survives.
__attribute__((target("avx512f,avx512vpopcntdq,popcnt"))) void ProbeAvx512(
    const HalfTable& t, uint16_t h, const uint32_t* vals, uint64_t b0,
    uint64_t b1, std::vector<Cand>* cands) {
  const uint32_t* off = t.off.data();
  const uint32_t* list = t.list.data();
  const __m512i lim = _mm512_set1_epi32(t.err);
  const __m512i half_lim = _mm512_set1_epi32(t.half_err);
  const __m512i one = _mm512_set1_epi32(1);
  const bool second = t.second;
  for (uint64_t i = b0; i < b1; ++i) {
    const uint32_t val = vals[i - b0];
    const uint32_t v = val >> t.self_shift & t.self_mask;
    const __m512i other = _mm512_set1_epi32(
        static_cast<int>(val >> t.other_shift & t.other_mask));
    for (uint32_t p = off[v], e = off[v + 1]; p < e; p += 16) {
      const __mmask16 valid =
          e - p >= 16 ? 0xffff : static_cast<__mmask16>((1u << (e - p)) - 1);
      const __m512i x = _mm512_maskz_loadu_epi32(valid, list + p);
      // maskz forms: GCC 12's plain _mm512_srli_epi32 trips
      // -Wmaybe-uninitialized on its own undefined pass-through operand.
      const __m512i d_other = _mm512_popcnt_epi32(
          _mm512_xor_si512(_mm512_maskz_srli_epi32(0xffff, x, 16), other));
      const __m512i d = _mm512_add_epi32(
          d_other,
          _mm512_and_si512(_mm512_maskz_srli_epi32(0xffff, x, 15), one));
      __mmask16 ok = _mm512_mask_cmple_epu32_mask(valid, d, lim);
      if (second) ok &= _mm512_cmpgt_epu32_mask(d_other, half_lim);
      if (ok != 0) [[unlikely]] {
        for (int k = 0; k < 16; ++k) {
          if (ok >> k & 1) {
            cands->push_back({static_cast<uint32_t>(i),
                              static_cast<uint16_t>(list[p + k] & 0x7fff), h});
          }
        }
      }
    }
  }
}

CUSTOS_ALWAYS_INLINE void BruteImpl(const Run& run, uint64_t lo, uint64_t hi,
                                    const uint8_t* qbytes, uint32_t qbase,
                                    uint32_t nq, int radius,
                                    std::vector<RawMatch>* out) {
  constexpr uint64_t kBlock = 256;
  for (uint64_t b0 = lo; b0 < hi; b0 += kBlock) {
    const uint64_t b1 = std::min(hi, b0 + kBlock);
    for (uint32_t q = 0; q < nq; ++q) {
      const uint8_t* qb = qbytes + 32 * static_cast<size_t>(q);
      const uint64_t a0 = Load64(qb), a1 = Load64(qb + 8), a2 = Load64(qb + 16),
                     a3 = Load64(qb + 24);
      for (uint64_t i = b0; i < b1; ++i) {
        const uint8_t* c = run.codes + 32 * i;
        const int d = Pop(a0 ^ Load64(c)) + Pop(a1 ^ Load64(c + 8)) +
                      Pop(a2 ^ Load64(c + 16)) + Pop(a3 ^ Load64(c + 24));
        if (d <= radius) [[unlikely]] {
          out->push_back({qbase + q, static_cast<uint16_t>(d), run.first + i});
        }
      }
    }
  }
}

__attribute__((target("popcnt"))) void BrutePopcnt(
    const Run& run, uint64_t lo, uint64_t hi, const uint8_t* qbytes,
    uint32_t qbase, uint32_t nq, int radius, std::vector<RawMatch>* out) {
  BruteImpl(run, lo, hi, qbytes, qbase, nq, radius, out);
}

void BrutePortable(const Run& run, uint64_t lo, uint64_t hi,
                   const uint8_t* qbytes, uint32_t qbase, uint32_t nq,
                   int radius, std::vector<RawMatch>* out) {
  BruteImpl(run, lo, hi, qbytes, qbase, nq, radius, out);
}

// Blocks of 512 codes are transposed so that one zmm holds one 64-bit word
// of 8 codes; two queries at a time are broadcast and compared against every
// 8-code group of the block (4 XOR + 4 VPOPCNTQ + 3 adds + 1 compare per
// 8 pairs), so each code is read from memory once per block of all queries.
__attribute__((target("avx512f,avx512vpopcntdq"))) void BruteAvx512(
    const Run& run, uint64_t lo, uint64_t hi, const uint8_t* qbytes,
    uint32_t qbase, uint32_t nq, int radius, std::vector<RawMatch>* out) {
  constexpr uint64_t kBlock = 512;
  alignas(64) uint64_t soa[kBlock / 8 * 32];
  const __m512i gidx = _mm512_setr_epi64(0, 4, 8, 12, 16, 20, 24, 28);
  const __m512i rad = _mm512_set1_epi64(radius);
  for (uint64_t b0 = lo; b0 < hi; b0 += kBlock) {
    const uint64_t nb = std::min(kBlock, hi - b0);
    const uint64_t groups = (nb + 7) / 8;
    const uint8_t* base = run.codes + 32 * b0;
    for (uint64_t g = 0; g < groups; ++g) {
      if (8 * g + 8 <= nb) {
        const void* p = base + 256 * g;
        for (int k = 0; k < 4; ++k) {
          _mm512_store_si512(
              soa + 32 * g + 8 * k,
              _mm512_mask_i64gather_epi64(
                  _mm512_setzero_si512(), 0xff,
                  _mm512_add_epi64(gidx, _mm512_set1_epi64(k)), p, 8));
        }
      } else {
        for (int lane = 0; lane < 8; ++lane) {
          for (int k = 0; k < 4; ++k) {
            soa[32 * g + 8 * k + lane] =
                8 * g + lane < nb ? Load64(base + 256 * g + 32 * lane + 8 * k)
                                  : 0;
          }
        }
      }
    }
    const __mmask8 last_mask =
        nb % 8 == 0 ? 0xff : static_cast<__mmask8>((1u << (nb % 8)) - 1);
    for (uint32_t q = 0; q < nq; q += 2) {
      const uint32_t q2 = q + 1 < nq ? q + 1 : q;
      const __mmask8 q2_mask = q + 1 < nq ? 0xff : 0;
      const uint8_t* qa = qbytes + 32 * static_cast<size_t>(q);
      const uint8_t* qb = qbytes + 32 * static_cast<size_t>(q2);
      const __m512i a0 = _mm512_set1_epi64(Load64(qa));
      const __m512i a1 = _mm512_set1_epi64(Load64(qa + 8));
      const __m512i a2 = _mm512_set1_epi64(Load64(qa + 16));
      const __m512i a3 = _mm512_set1_epi64(Load64(qa + 24));
      const __m512i b0v = _mm512_set1_epi64(Load64(qb));
      const __m512i b1v = _mm512_set1_epi64(Load64(qb + 8));
      const __m512i b2v = _mm512_set1_epi64(Load64(qb + 16));
      const __m512i b3v = _mm512_set1_epi64(Load64(qb + 24));
      for (uint64_t g = 0; g < groups; ++g) {
        const uint64_t* s = soa + 32 * g;
        const __m512i c0 = _mm512_load_si512(s);
        const __m512i c1 = _mm512_load_si512(s + 8);
        const __m512i c2 = _mm512_load_si512(s + 16);
        const __m512i c3 = _mm512_load_si512(s + 24);
        const __m512i da = _mm512_add_epi64(
            _mm512_add_epi64(_mm512_popcnt_epi64(_mm512_xor_si512(c0, a0)),
                             _mm512_popcnt_epi64(_mm512_xor_si512(c1, a1))),
            _mm512_add_epi64(_mm512_popcnt_epi64(_mm512_xor_si512(c2, a2)),
                             _mm512_popcnt_epi64(_mm512_xor_si512(c3, a3))));
        const __m512i db = _mm512_add_epi64(
            _mm512_add_epi64(_mm512_popcnt_epi64(_mm512_xor_si512(c0, b0v)),
                             _mm512_popcnt_epi64(_mm512_xor_si512(c1, b1v))),
            _mm512_add_epi64(_mm512_popcnt_epi64(_mm512_xor_si512(c2, b2v)),
                             _mm512_popcnt_epi64(_mm512_xor_si512(c3, b3v))));
        __mmask8 ma = _mm512_cmple_epu64_mask(da, rad);
        __mmask8 mb = _mm512_cmple_epu64_mask(db, rad) & q2_mask;
        if ((ma | mb) == 0) [[likely]] {
          continue;
        }
        if (g + 1 == groups) {
          ma &= last_mask;
          mb &= last_mask;
        }
        alignas(64) uint64_t dist[2][8];
        _mm512_store_si512(dist[0], da);
        _mm512_store_si512(dist[1], db);
        for (int lane = 0; lane < 8; ++lane) {
          const uint64_t entry = run.first + b0 + 8 * g + lane;
          if (ma >> lane & 1) {
            out->push_back(
                {qbase + q, static_cast<uint16_t>(dist[0][lane]), entry});
          }
          if (mb >> lane & 1) {
            out->push_back(
                {qbase + q2, static_cast<uint16_t>(dist[1][lane]), entry});
          }
        }
      }
    }
  }
}

// A thread's share: pieces of runs.
struct Piece {
  size_t run;
  uint64_t lo, hi;
};

// Streams a thread's codes against the batch tables, table by table over
// blocks of up to 256 Ki codes (gathered across runs): each chunk's bits of
// the block are first copied out (4 bytes per code), then each half table
// (256 KB of offsets plus its list, 680 KB for 10,000 queries) is probed by
// the whole block, so its lines are reused from L2 instead of every code
// touching every table. Survivors are verified with the full distance.
void Join(Kernel kernel, const JoinBatch& b, std::span<const Run> runs,
          std::span<const Piece> pieces, std::vector<RawMatch>* out) {
  uint64_t total = 0;
  for (const Piece& p : pieces) total += p.hi - p.lo;
  const uint64_t block = std::min<uint64_t>(262144, total);
  const size_t nc = b.chunks.size();
  std::vector<uint32_t> vals(block * nc);
  std::vector<const uint8_t*> code_at(block);
  std::vector<uint64_t> entry_at(block);
  std::vector<Cand> cands;
  size_t piece = 0;
  uint64_t pos = pieces.empty() ? 0 : pieces[0].lo;
  while (piece < pieces.size()) {
    uint64_t n = 0;  // gather the next block
    while (n < block && piece < pieces.size()) {
      const Piece& p = pieces[piece];
      const Run& r = runs[p.run];
      const uint64_t take = std::min(block - n, p.hi - pos);
      for (uint64_t k = 0; k < take; ++k) {
        code_at[n + k] = r.codes + 32 * (pos + k);
        entry_at[n + k] = r.first + pos + k;
      }
      n += take;
      pos += take;
      if (pos == p.hi && ++piece < pieces.size()) pos = pieces[piece].lo;
    }
    // Each chunk's bits: 8 bytes from byte min(offset / 8, 24) stay inside
    // the code, and shift + width <= 64 (offset + width <= 256).
    for (size_t j = 0; j < nc; ++j) {
      const JoinChunk& c = b.chunks[j];
      const int load = std::min(c.offset / 8, 24);
      const int shift = c.offset - 8 * load;
      const uint64_t mask = (uint64_t{1} << c.width) - 1;
      uint32_t* v = vals.data() + block * j;
      for (uint64_t k = 0; k < n; ++k) {
        v[k] = static_cast<uint32_t>(Load64(code_at[k] + load) >> shift & mask);
      }
    }
    cands.clear();
    for (size_t h = 0; h < b.halves.size(); ++h) {
      const HalfTable& t = b.halves[h];
      const uint32_t* v = vals.data() + block * t.chunk;
      const uint16_t hh = static_cast<uint16_t>(h);
      if (kernel == Kernel::kAvx512) {
        ProbeAvx512(t, hh, v, 0, n, &cands);
      } else if (kernel == Kernel::kPopcnt) {
        ProbePopcnt(t, hh, v, 0, n, &cands);
      } else {
        ProbePortable(t, hh, v, 0, n, &cands);
      }
    }
    for (const Cand& c : cands) {
      const uint8_t* code = code_at[c.i];
      const uint8_t* qb = b.qbytes + 32 * static_cast<size_t>(c.q);
      int d = 0;
      for (int k = 0; k < 32; k += 8)
        d += Pop(Load64(code + k) ^ Load64(qb + k));
      if (d <= b.radius && FirstQualifying(b, b.halves[c.h].chunk, code, qb)) {
        out->push_back(
            {b.qbase + c.q, static_cast<uint16_t>(d), entry_at[c.i]});
      }
    }
  }
}

std::vector<std::vector<Piece>> Split(std::span<const Run> runs, int threads) {
  uint64_t total = 0;
  for (const Run& r : runs) total += r.count;
  std::vector<std::vector<Piece>> shares(threads);
  // Thread t takes global positions [t * per, (t + 1) * per), in multiples
  // of 8 so that brute-force blocks stay whole.
  const uint64_t per = ((total + threads - 1) / threads + 7) / 8 * 8;
  uint64_t start = 0;  // global position of runs[i].codes[0]
  for (size_t i = 0; i < runs.size(); ++i) {
    const uint64_t end = start + runs[i].count;
    for (int t = 0; t < threads; ++t) {
      const uint64_t lo = std::max(start, per * t);
      const uint64_t hi = std::min(end, per * (t + 1));
      if (lo < hi) shares[t].push_back({i, lo - start, hi - start});
    }
    start = end;
  }
  return shares;
}

template <typename F>
void Parallel(int threads, F&& f) {
  if (threads == 1) {
    f(0);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (int t = 1; t < threads; ++t) pool.emplace_back([&f, t] { f(t); });
  f(0);
  for (std::thread& th : pool) th.join();
}

}  // namespace

Kernel BestKernel() {
  static const Kernel best = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512vpopcntdq")) {
      return Kernel::kAvx512;
    }
    if (__builtin_cpu_supports("popcnt")) return Kernel::kPopcnt;
    return Kernel::kPortable;
  }();
  return best;
}

void ForceKernel(Kernel k) { g_forced.store(static_cast<int>(k)); }

Kernel ActiveKernel() {
  return static_cast<Kernel>(
      std::min(g_forced.load(), static_cast<int>(BestKernel())));
}

std::string Plan::ToString() const {
  if (brute) return absl::StrCat("brute force (est ", est_ns / 1e6, " ms)");
  std::string s = absl::StrCat("join, batch ", batch, ", chunks");
  for (const ChunkSpec& c : chunks) {
    absl::StrAppend(&s, " ", c.width, c.err < 0 ? "" : "/",
                    c.err < 0 ? "-" : absl::StrCat(c.err));
  }
  absl::StrAppend(&s, " (est ", est_ns / 1e6, " ms)");
  return s;
}

namespace {

// Cost model constants (ns per operation, one thread), measured on the
// development VM (AMD EPYC, AVX-512) under load: brute force ~0.12 ns per
// pair; a join probe ~17 ns per half-table lookup with 1 MB tables.
double PairNs(Kernel k) {
  switch (k) {
    case Kernel::kAvx512:
      return 0.12;
    case Kernel::kPopcnt:
      return 0.6;
    default:
      return 3.0;
  }
}
double VerifyNs(Kernel k) { return k == Kernel::kPortable ? 12.0 : 6.0; }
double FpNs(Kernel k) { return k == Kernel::kAvx512 ? 0.3 : 1.5; }
double LookupNs(double table_bytes) {
  if (table_bytes <= 160e3) return 4.0;
  if (table_bytes <= 1.2e6) return 15.0;
  return 30.0;
}
constexpr double kBuildNs = 4.0;  // per neighbour value, two passes
constexpr double kZeroNs = 0.6;   // per table slot

}  // namespace

Plan ChoosePlan(uint64_t num_codes, size_t num_queries, int radius,
                bool allow_join) {
  const Kernel kernel = ActiveKernel();
  const double n = static_cast<double>(num_codes);
  const double nq = static_cast<double>(num_queries);
  Plan best;
  best.brute = true;
  best.est_ns = n * nq * PairNs(kernel) + n * 0.5;
  if (!allow_join || num_codes == 0 || num_queries == 0 || radius < 0 ||
      radius >= 256) {
    return best;
  }
  const uint32_t batch =
      static_cast<uint32_t>(std::min<size_t>(num_queries, kMaxBatch));
  const double passes = std::ceil(nq / batch);
  const int units = radius + 1;
  for (int m = 256 / kMaxChunkWidth; m <= 64; ++m) {
    std::vector<int> width(m);
    for (int j = 0; j < m; ++j) width[j] = 256 / m + (j < 256 % m ? 1 : 0);
    std::vector<int> err(m, -1);
    // Cost of one chunk of width w with budget e: two half lookups per code
    // and pass, entry checks, full verifications, table building.
    auto chunk_cost = [&](int w, int e) {
      if (e < 0) return 0.0;
      double cost =
          n * nq * Volume(w, e) * std::ldexp(1.0, -w) * VerifyNs(kernel);
      for (int hw : {w / 2, w - w / 2}) {
        const double vol = Volume(hw, e / 2);
        const double bytes = 4.0 * std::ldexp(1.0, hw) + 4.0 * batch * vol;
        cost +=
            passes * n * LookupNs(bytes) +
            n * nq * vol * std::ldexp(1.0, -hw) * FpNs(kernel) +
            passes * (batch * vol * kBuildNs + std::ldexp(1.0, hw) * kZeroNs);
      }
      return cost;
    };
    // Greedy: give each budget unit to the chunk where it costs least.
    double total = 0;
    bool feasible = true;
    for (int u = 0; u < units && feasible; ++u) {
      int pick = -1;
      double pick_delta = 0;
      for (int j = 0; j < m; ++j) {
        if (err[j] >= std::min(width[j] - 1, kMaxChunkErr)) continue;
        double delta =
            chunk_cost(width[j], err[j] + 1) - chunk_cost(width[j], err[j]);
        if (pick < 0 || delta < pick_delta) {
          pick = j;
          pick_delta = delta;
        }
      }
      if (pick < 0) {
        feasible = false;
        break;
      }
      ++err[pick];
      total += pick_delta;
      if (total >= best.est_ns) feasible = false;
    }
    if (!feasible) continue;
    double list_bytes = 0;
    for (int j = 0; j < m; ++j) {
      if (err[j] < 0) continue;
      list_bytes += 4.0 * batch *
                    (Volume(width[j] / 2, err[j] / 2) +
                     Volume(width[j] - width[j] / 2, err[j] / 2));
    }
    if (list_bytes > 512e6) continue;
    Plan p;
    p.brute = false;
    p.batch = batch;
    p.est_ns = total;
    int offset = 0;
    for (int j = 0; j < m; ++j) {
      p.chunks.push_back({offset, width[j], err[j]});
      offset += width[j];
    }
    best = std::move(p);
  }
  return best;
}

Plan JoinPlan(std::vector<ChunkSpec> chunks, int radius, uint32_t batch) {
  Plan p;
  p.brute = true;
  int units = 0, offset = 0, used = 0;
  for (const ChunkSpec& c : chunks) {
    if (c.width < 2 || c.width > kMaxChunkWidth || c.offset < 0 ||
        c.offset + c.width > 256 || c.err < -1 || c.err > kMaxChunkErr ||
        c.err >= c.width) {
      return p;
    }
    if (c.offset < offset) return p;  // chunks must not overlap
    offset = c.offset + c.width;
    units += c.err + 1;
    if (c.err >= 0) ++used;
  }
  if (units < radius + 1 || used > 64 || batch == 0 || batch > kMaxBatch) {
    return p;
  }
  p.brute = false;
  p.chunks = std::move(chunks);
  p.batch = batch;
  return p;
}

void Scan(std::span<const Run> runs, std::span<const Code> queries, int radius,
          int threads, const Plan& plan, std::vector<RawMatch>* out) {
  if (queries.empty() || runs.empty() || radius < 0) return;
  threads = std::max(1, threads);
  const Kernel kernel = ActiveKernel();
  const auto shares = Split(runs, threads);
  std::vector<std::vector<RawMatch>> found(threads);
  // Queries copied with 4 bytes of padding after the last (chunk loads).
  std::vector<uint8_t> qbytes(32 * queries.size() + 8, 0);
  for (size_t q = 0; q < queries.size(); ++q) {
    std::memcpy(&qbytes[32 * q], queries[q].data(), 32);
  }
  if (plan.brute) {
    const uint32_t nq = static_cast<uint32_t>(queries.size());
    Parallel(threads, [&](int t) {
      for (const Piece& p : shares[t]) {
        const Run& r = runs[p.run];
        if (kernel == Kernel::kAvx512) {
          BruteAvx512(r, p.lo, p.hi, qbytes.data(), 0, nq, radius, &found[t]);
        } else if (kernel == Kernel::kPopcnt) {
          BrutePopcnt(r, p.lo, p.hi, qbytes.data(), 0, nq, radius, &found[t]);
        } else {
          BrutePortable(r, p.lo, p.hi, qbytes.data(), 0, nq, radius, &found[t]);
        }
      }
    });
  } else {
    JoinBatch batch;
    batch.radius = radius;
    for (const ChunkSpec& c : plan.chunks) {
      if (c.err < 0) continue;
      const int j = static_cast<int>(batch.chunks.size());
      batch.chunks.push_back({c.offset, c.width, c.err});
      const ChunkSpec a = {c.offset, c.width / 2, c.err};
      const ChunkSpec b = {c.offset + c.width / 2, c.width - c.width / 2,
                           c.err};
      for (int second = 0; second < 2; ++second) {
        HalfTable t;
        t.self = MakeReader(second ? b : a);
        t.other = MakeReader(second ? a : b);
        const uint32_t wa = static_cast<uint32_t>(a.width);
        const uint32_t wb = static_cast<uint32_t>(b.width);
        t.self_shift = second ? wa : 0;
        t.self_mask = (1u << (second ? wb : wa)) - 1;
        t.other_shift = second ? 0 : wa;
        t.other_mask = (1u << (second ? wa : wb)) - 1;
        t.chunk = j;
        t.err = c.err;
        t.half_err = c.err / 2;
        t.second = second;
        batch.halves.push_back(std::move(t));
      }
    }
    std::vector<int> self_width;
    for (const JoinChunk& c : batch.chunks) {
      self_width.push_back(c.width / 2);
      self_width.push_back(c.width - c.width / 2);
    }
    for (size_t q0 = 0; q0 < queries.size(); q0 += plan.batch) {
      const uint32_t nq = static_cast<uint32_t>(
          std::min<size_t>(plan.batch, queries.size() - q0));
      batch.qbytes = qbytes.data() + 32 * q0;
      batch.qbase = static_cast<uint32_t>(q0);
      Parallel(threads, [&](int t) {
        for (size_t h = t; h < batch.halves.size(); h += threads) {
          BuildHalf(batch.qbytes, nq, &batch.halves[h], self_width[h]);
        }
      });
      Parallel(threads,
               [&](int t) { Join(kernel, batch, runs, shares[t], &found[t]); });
    }
  }
  for (auto& f : found) out->insert(out->end(), f.begin(), f.end());
}

}  // namespace custos::match::internal
