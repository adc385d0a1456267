// Hash-set benchmark (docs/benchmarks.md "Known-file hash sets"); driven by
// bench/hashset_vs_peers.sh. Synthetic, seeded data only; nothing is kept.
//
//   hashset_bench gen-set DIR N           import N random SHA-256 digests
//                                         (seed 1) as set "synthetic" into
//                                         the store DIR, through Import
//   hashset_bench lookup DIR N Q THREADS [preload]
//                                         Q lookups per thread, half hits
//                                         (digests of the generated set) and
//                                         half misses, shuffled; batched
//                                         (ContainsBatch), batched with
//                                         matches (LookupBatch: the path of
//                                         known-file matching and `custos
//                                         hashset lookup`) and one by one
//                                         (Lookup); prints VmHWM/VmRSS
//   hashset_bench gen-rds3 FILE ROWS      an RDSv3-shaped SQLite database
//                                         (table FILE: sha256, sha1, md5,
//                                         crc32, file_name, file_size,
//                                         package_id; random hex digests)
//   hashset_bench import-rds3 FILE DIR [serial] [MIB]
//                                         ImportRds3 of FILE into a new store
//                                         DIR through Import (no repository,
//                                         no source hash): the pipelined
//                                         importer, or with `serial` sort and
//                                         spill on the parsing thread; MIB of
//                                         buffers (default 512)
#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "src/hashset/hashset.h"
#include "src/hashset/parsers.h"

namespace {

using custos::hashset::Algorithm;
using Clock = std::chrono::steady_clock;

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Digest i of the stream `seed` (counter based, so any i can be re-made).
void MakeDigest(uint64_t seed, uint64_t i, uint8_t* out, size_t len) {
  for (size_t w = 0; w * 8 < len; ++w) {
    uint64_t v = SplitMix(seed * 0x100000001b3ull + i * 4 + w);
    std::memcpy(out + w * 8, &v, std::min<size_t>(8, len - w * 8));
  }
}

std::string Status(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return line;
  return "";
}

// CPU seconds (user + system) of the whole process so far.
double CpuSecs() {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

double Secs(Clock::time_point a) {
  return std::chrono::duration<double>(Clock::now() - a).count();
}

int GenSet(const std::string& dir, uint64_t n) {
  auto store = custos::hashset::Store::Open(dir);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  custos::hashset::ImportOptions o;
  o.name = "synthetic";
  o.now = "2026-11-23T00:00:00.000000Z";
  o.memory_budget = size_t{512} << 20;
  auto t0 = Clock::now();
  auto imp = (*store)->BeginImport(o);
  if (!imp.ok()) return 1;
  uint8_t d[32];
  for (uint64_t i = 0; i < n; ++i) {
    MakeDigest(1, i, d, 32);
    auto st = (*imp)->Add(Algorithm::kSha256,
                          std::string_view(reinterpret_cast<char*>(d), 32), "");
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
  }
  double t_add = Secs(t0);
  auto r = (*imp)->Prepare();
  if (!r.ok() || !(*imp)->Publish().ok()) return 1;
  double total = Secs(t0);
  std::printf(
      "gen-set entries=%llu added=%llu add_s=%.1f total_s=%.1f "
      "entries_per_s=%.0f run_bytes=%llu %s\n",
      static_cast<unsigned long long>(n),
      static_cast<unsigned long long>(r->added), t_add, total, n / total,
      static_cast<unsigned long long>(r->set.runs.at(0).bytes),
      Status("VmHWM").c_str());
  return 0;
}

int Lookup(const std::string& dir, uint64_t n, uint64_t q, int threads,
           bool preload) {
  auto t_open = Clock::now();
  auto store = custos::hashset::Store::Open(dir, false, preload);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  double open_s = Secs(t_open);
  const custos::hashset::Store& s = **store;
  // Queries per thread: half hits, half misses, shuffled (seeded).
  std::vector<std::vector<uint8_t>> queries(threads);
  std::vector<uint64_t> expect_hits(threads);
  for (int t = 0; t < threads; ++t) {
    auto& qv = queries[t];
    qv.resize(q * 32);
    uint64_t hits = 0;
    for (uint64_t i = 0; i < q; ++i) {
      uint64_t r = SplitMix(1000 + t * q + i);
      if (r & 1) {
        MakeDigest(1, (r >> 1) % n, &qv[i * 32], 32);
        ++hits;
      } else {
        MakeDigest(2, r >> 1, &qv[i * 32], 32);
      }
    }
    expect_hits[t] = hits;
  }
  // mode 0: ContainsBatch (hit or not); 1: Lookup() one at a time;
  // 2: LookupBatch, the path of known-file matching and `custos hashset
  // lookup` (Match objects for the hits).
  auto run = [&](int mode, const char* label) {
    std::atomic<uint64_t> found{0};
    double cpu0 = CpuSecs();
    auto t0 = Clock::now();
    std::vector<std::thread> th;
    for (int t = 0; t < threads; ++t)
      th.emplace_back([&, t] {
        const uint8_t* qs = queries[t].data();
        uint64_t f = 0;
        if (mode == 0) {
          std::vector<uint8_t> hit(4096);
          for (uint64_t i = 0; i < q; i += 4096) {
            size_t k = std::min<uint64_t>(4096, q - i);
            f +=
                s.ContainsBatch(Algorithm::kSha256, qs + i * 32, k, hit.data());
          }
        } else if (mode == 2) {
          // In slices of 64K digests, as a caller with many items would.
          std::vector<std::pair<size_t, custos::hashset::Match>> m;
          for (uint64_t i = 0; i < q; i += 65536) {
            size_t k = std::min<uint64_t>(65536, q - i);
            m.clear();
            s.LookupBatch(Algorithm::kSha256, qs + i * 32, k, &m);
            f += m.size();
          }
        } else {
          std::vector<custos::hashset::Match> m;
          for (uint64_t i = 0; i < q; ++i) {
            m.clear();
            s.Lookup(Algorithm::kSha256,
                     std::string_view(
                         reinterpret_cast<const char*>(qs + i * 32), 32),
                     &m);
            f += !m.empty();
          }
        }
        found += f;
      });
    for (auto& x : th) x.join();
    double secs = Secs(t0);
    double cpu = CpuSecs() - cpu0;
    uint64_t want = 0;
    for (auto h : expect_hits) want += h;
    std::printf(
        "lookup %-11s threads=%d lookups=%llu secs=%.2f lookups_per_s=%.0f "
        "cpu_s=%.2f lookups_per_cpu_s=%.0f hits=%llu expected_hits=%llu %s\n",
        label, threads, static_cast<unsigned long long>(q * threads), secs,
        q * threads / secs, cpu, q * threads / cpu,
        static_cast<unsigned long long>(found.load()),
        static_cast<unsigned long long>(want),
        found.load() == want ? "ok" : "MISMATCH");
    return found.load() == want;
  };
  std::printf("open_s=%.3f preload=%d\n", open_s, preload ? 1 : 0);
  std::fflush(stdout);
  bool ok = run(0, "warmup") && run(0, "batch") && run(2, "lookupbatch") &&
            run(1, "single");
  std::printf("%s %s\n", Status("VmHWM").c_str(), Status("VmRSS").c_str());
  return ok ? 0 : 1;
}

int GenRds3(const std::string& path, uint64_t rows) {
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return 1;
  sqlite3_exec(db,
               "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
               "CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT "
               "NULL, md5 VARCHAR NOT NULL, crc32 VARCHAR, file_name VARCHAR "
               "NOT NULL, file_size INTEGER NOT NULL, package_id INTEGER NOT "
               "NULL);"
               "CREATE TABLE VERSION (version VARCHAR UNIQUE NOT NULL, "
               "build_set VARCHAR, build_date TIMESTAMP, release_date "
               "TIMESTAMP, description VARCHAR);"
               "INSERT INTO VERSION VALUES ('synthetic.1','modern',"
               "'2026-01-01','2026-01-01','synthetic benchmark data');"
               "BEGIN;",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO FILE VALUES (?,?,?,NULL,?,?,?)", -1, &st,
                     nullptr);
  const char* hex = "0123456789ABCDEF";
  auto to_hex = [&](const uint8_t* d, size_t n, char* out) {
    for (size_t i = 0; i < n; ++i) {
      out[2 * i] = hex[d[i] >> 4];
      out[2 * i + 1] = hex[d[i] & 15];
    }
  };
  uint8_t d[32];
  char h256[64], h1[40], h5[32], name[32];
  for (uint64_t i = 0; i < rows; ++i) {
    MakeDigest(3, i, d, 32);
    to_hex(d, 32, h256);
    MakeDigest(4, i, d, 20);
    to_hex(d, 20, h1);
    MakeDigest(5, i, d, 16);
    to_hex(d, 16, h5);
    int nl = std::snprintf(name, sizeof name, "file%llu.dll",
                           static_cast<unsigned long long>(i));
    sqlite3_bind_text(st, 1, h256, 64, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, h1, 40, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, h5, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, name, nl, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, static_cast<int64_t>(i % 100000));
    sqlite3_bind_int64(st, 6, static_cast<int64_t>(i % 5000));
    if (sqlite3_step(st) != SQLITE_DONE) return 1;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  sqlite3_exec(db, "COMMIT;", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return 0;
}

int ImportRds3File(const std::string& path, const std::string& dir, bool serial,
                   size_t mib) {
  auto store = custos::hashset::Store::Open(dir);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  custos::hashset::ImportOptions o;
  o.name = "rds";
  o.now = "2026-11-23T00:00:00.000000Z";
  o.format = "nsrl-rds3";
  o.memory_budget = mib << 20;
  o.parallel = !serial;
  double cpu0 = CpuSecs();
  auto t0 = Clock::now();
  auto imp = (*store)->BeginImport(o);
  if (!imp.ok()) return 1;
  custos::hashset::ParseStats stats;
  absl::Status st = custos::hashset::ImportRds3(path, **imp, &stats);
  double t_parse = Secs(t0);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  auto r = (*imp)->Prepare();
  if (!r.ok() || !(*imp)->Publish().ok()) return 1;
  double total = Secs(t0);
  double cpu = CpuSecs() - cpu0;
  std::printf(
      "import-rds3 %s rows=%llu entries=%llu parse_s=%.2f total_s=%.2f "
      "cpu_s=%.2f rows_per_s=%.0f budget_mib=%zu %s\n",
      serial ? "serial" : "pipelined",
      static_cast<unsigned long long>(stats.records),
      static_cast<unsigned long long>(stats.entries), t_parse, total, cpu,
      stats.records / total, mib, Status("VmHWM").c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "gen-set" && argc == 4)
    return GenSet(argv[2], std::strtoull(argv[3], nullptr, 10));
  if (mode == "lookup" && (argc == 6 || argc == 7))
    return Lookup(argv[2], std::strtoull(argv[3], nullptr, 10),
                  std::strtoull(argv[4], nullptr, 10), std::atoi(argv[5]),
                  argc == 7 && std::string(argv[6]) == "preload");
  if (mode == "import-rds3" && argc >= 4 && argc <= 6) {
    bool serial = argc >= 5 && std::string(argv[4]) == "serial";
    size_t mib = argc == 6 ? std::strtoull(argv[5], nullptr, 10) : 512;
    return ImportRds3File(argv[2], argv[3], serial, mib);
  }
  if (mode == "gen-rds3" && argc == 4)
    return GenRds3(argv[2], std::strtoull(argv[3], nullptr, 10));
  std::fprintf(stderr,
               "usage: hashset_bench gen-set DIR N | lookup DIR N Q THREADS "
               "[preload] "
               "| gen-rds3 FILE ROWS | import-rds3 FILE DIR [serial] [MIB]\n");
  return 2;
}
