// match_bench: PDQ radius search, custos PdqIndex against an AVX-512
// brute-force scan and FAISS IndexBinaryMultiHash, side by side in one run
// (issue 4; results in docs/benchmarks.md).
//
// For each N: N random 256-bit codes (seeded), Q queries of which every
// second is an entry with d bits flipped (d uniform in 0..31) and the others
// random. custos: build the index file, reopen it read-only (timed), search
// all Q queries. Brute force: the AVX-512 kernel (blocks of 512 codes
// transposed to 8 lanes, two queries per pass, VPOPCNTQ) on the codes in
// memory, over the first --brute-queries queries. FAISS (if built with it):
// IndexBinaryMultiHash(256, 16 sub-hashes, 16 bits), nflip = 1, range_search
// with radius 32 (FAISS's bound is strict, so <= 31), over the first
// --faiss-queries queries. Recall of each is measured against brute force on
// the queries both ran; custos is also checked to find every planted pair.
//
// usage: match_bench [--n 1000000,10000000] [--queries 10000]
//          [--threads 1,2] [--brute-queries K] [--faiss-queries K]
//          [--dir DIR] [--no-faiss] [--seed S]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "src/match/pdq_index.h"
#include "src/match/pdq_scan.h"

#ifdef CUSTOS_HAVE_FAISS
#include <faiss/IndexBinaryHash.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <omp.h>
#endif

namespace {

using custos::match::Code;
using custos::match::PdqIndex;
namespace internal = custos::match::internal;
using Pair = std::pair<uint32_t, uint64_t>;  // query, entry

double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

long RssKb(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field, 0) == 0)
      return std::atol(line.c_str() + strlen(field));
  }
  return -1;
}
void ResetPeakRss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
}

std::vector<uint64_t> ParseList(const char* s) {
  std::vector<uint64_t> v;
  for (const char* p = s; *p;) {
    v.push_back(std::strtoull(p, nullptr, 10));
    p = std::strchr(p, ',');
    if (!p) break;
    ++p;
  }
  return v;
}

struct Row {
  std::string method;
  uint64_t n;
  int threads;
  size_t queries;
  double seconds;
  double recall;  // vs brute force on the shared queries; -1 unknown
  std::string note;
  double qps() const { return queries / seconds; }
};

double Recall(const std::set<Pair>& got, const std::set<Pair>& truth,
              size_t upto, bool* exact) {
  size_t found = 0, total = 0, extra = 0;
  for (const Pair& p : truth) {
    if (p.first >= upto) continue;
    ++total;
    found += got.count(p);
  }
  for (const Pair& p : got) {
    if (p.first < upto && !truth.count(p)) ++extra;
  }
  *exact = extra == 0;
  return total == 0 ? 1.0 : double(found) / total;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::vector<uint64_t> ns = {1000000, 10000000};
  std::vector<uint64_t> threads = {1, 2};
  size_t nq = 10000;
  size_t brute_q = 0, faiss_q = 0;  // 0: automatic
  std::string dir = "/tmp";
  bool faiss = true;
  uint64_t seed = 20261123;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--n") {
      ns = ParseList(next());
    } else if (a == "--threads") {
      threads = ParseList(next());
    } else if (a == "--queries") {
      nq = std::strtoull(next(), nullptr, 10);
    } else if (a == "--brute-queries") {
      brute_q = std::strtoull(next(), nullptr, 10);
    } else if (a == "--faiss-queries") {
      faiss_q = std::strtoull(next(), nullptr, 10);
    } else if (a == "--dir") {
      dir = next();
    } else if (a == "--no-faiss") {
      faiss = false;
    } else if (a == "--seed") {
      seed = std::strtoull(next(), nullptr, 10);
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
#ifndef CUSTOS_HAVE_FAISS
  faiss = false;
#endif
  const int radius = 31;
  std::printf("kernel: %s; load average at start: ",
              internal::BestKernel() == internal::Kernel::kAvx512
                  ? "AVX-512 VPOPCNTDQ"
                  : "scalar POPCNT");
  {
    std::ifstream la("/proc/loadavg");
    std::string l;
    std::getline(la, l);
    std::printf("%s\n", l.c_str());
  }
  std::vector<Row> rows;
  for (uint64_t n : ns) {
    std::mt19937_64 rng(seed + n);
    std::vector<Code> db(n);
    for (Code& c : db) {
      for (int k = 0; k < 32; k += 8) {
        uint64_t w = rng();
        std::memcpy(&c[k], &w, 8);
      }
    }
    std::vector<Code> queries(nq);
    std::set<Pair> planted;
    for (size_t q = 0; q < nq; ++q) {
      if (q % 2 == 0) {
        const uint64_t e = rng() % n;
        Code c = db[e];
        const int d = static_cast<int>(rng() % 32);
        std::vector<int> bits(256);
        for (int k = 0; k < 256; ++k) bits[k] = k;
        for (int k = 0; k < d; ++k) {
          std::swap(bits[k], bits[k + rng() % (256 - k)]);
          c[bits[k] / 8] ^= uint8_t(1u << (bits[k] % 8));
        }
        queries[q] = c;
        planted.insert({static_cast<uint32_t>(q), e});
      } else {
        for (int k = 0; k < 32; k += 8) {
          uint64_t w = rng();
          std::memcpy(&queries[q][k], &w, 8);
        }
      }
    }
    const size_t bq =
        std::min(nq, brute_q ? brute_q : (n >= 5000000 ? 2000 : nq));
    const size_t fq =
        std::min(nq, faiss_q ? faiss_q : (n >= 5000000 ? 500 : 2000));
    std::printf(
        "\n== N = %llu codes, %zu queries (brute force on the first %zu, "
        "FAISS on the first %zu) ==\n",
        (unsigned long long)n, nq, bq, fq);

    // --- custos: build, reopen (timed), search.
    const std::string path =
        dir + "/match_bench_" + std::to_string(n) + ".pdqi";
    std::filesystem::remove(path);
    std::vector<uint64_t> ids(n);
    for (uint64_t i = 0; i < n; ++i) ids[i] = i;
    double t0 = Now();
    {
      auto w = PdqIndex::Create(path);
      if (!w.ok()) {
        std::fprintf(stderr, "%s\n", w.status().ToString().c_str());
        return 1;
      }
      auto s = (*w)->Add(db, ids);
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
    }
    const double build_s = Now() - t0;
    ids.clear();
    ids.shrink_to_fit();
    t0 = Now();
    auto index = PdqIndex::Open(path, false);
    const double open_s = Now() - t0;
    if (!index.ok()) {
      std::fprintf(stderr, "%s\n", index.status().ToString().c_str());
      return 1;
    }
    const uint64_t file_bytes = std::filesystem::file_size(path);
    std::printf(
        "custos: index file %.1f MB, built+synced in %.2f s, opened in "
        "%.3f ms; plan: %s\n",
        file_bytes / 1e6, build_s, open_s * 1e3,
        internal::ChoosePlan(n, nq, radius).ToString().c_str());
    std::set<Pair> custos_pairs;
    for (uint64_t t : threads) {
      ResetPeakRss();
      const long rss0 = RssKb("VmRSS:");
      t0 = Now();
      auto hits = (*index)->Search(queries, radius, static_cast<int>(t));
      const double s = Now() - t0;
      const long peak = RssKb("VmHWM:");
      if (!hits.ok()) {
        std::fprintf(stderr, "%s\n", hits.status().ToString().c_str());
        return 1;
      }
      std::set<Pair> got;
      for (const auto& m : *hits) got.insert({m.query, m.id});
      if (custos_pairs.empty()) custos_pairs = got;
      if (got != custos_pairs)
        std::printf("!! custos results differ by threads\n");
      size_t missing = 0;
      for (const Pair& p : planted) missing += !got.count(p);
      char note[160];
      std::snprintf(note, sizeof note,
                    "%zu matches, planted missing %zu, peak RSS +%ld MB "
                    "(mapped file pages included)",
                    hits->size(), missing, (peak - rss0) / 1024);
      rows.push_back({"custos PdqIndex", n, int(t), nq, s, -1, note});
    }

    // --- brute force (AVX-512) on the codes in memory.
    std::set<Pair> truth;
    std::vector<internal::Run> runs = {{db[0].data(), 0, n}};
    const internal::Plan brute = internal::ChoosePlan(n, bq, radius, false);
    for (uint64_t t : threads) {
      std::vector<internal::RawMatch> raw;
      t0 = Now();
      internal::Scan(runs, std::span(queries).first(bq), radius, int(t), brute,
                     &raw);
      const double s = Now() - t0;
      std::set<Pair> got;
      for (const auto& m : raw) got.insert({m.query, m.entry});
      if (truth.empty()) truth = got;
      rows.push_back({"AVX-512 brute force", n, int(t), bq, s, 1.0,
                      got == truth ? "" : "!! differs by threads"});
    }
    bool exact = false;
    const double r_custos = Recall(custos_pairs, truth, bq, &exact);
    for (Row& r : rows) {
      if (r.n == n && r.method == "custos PdqIndex") {
        r.recall = r_custos;
        if (!exact) r.note += " !! extra pairs";
      }
    }

    // --- FAISS IndexBinaryMultiHash 16 x 16, nflip = 1.
#ifdef CUSTOS_HAVE_FAISS
    if (faiss) {
      const long rss0 = RssKb("VmRSS:");
      t0 = Now();
      faiss::IndexBinaryMultiHash mih(256, 16, 16);
      mih.nflip = 1;
      mih.add(static_cast<faiss::Index::idx_t>(n), db[0].data());
      const double fb = Now() - t0;
      const long rss1 = RssKb("VmRSS:");
      std::printf("FAISS MIH: built in %.1f s, +%ld MB RSS\n", fb,
                  (rss1 - rss0) / 1024);
      for (uint64_t t : threads) {
        omp_set_num_threads(static_cast<int>(t));
        faiss::RangeSearchResult res(static_cast<faiss::Index::idx_t>(fq));
        t0 = Now();
        mih.range_search(static_cast<faiss::Index::idx_t>(fq),
                         queries[0].data(), radius + 1, &res);
        const double s = Now() - t0;
        std::set<Pair> got;
        for (size_t q = 0; q < fq; ++q) {
          for (size_t k = res.lims[q]; k < res.lims[q + 1]; ++k) {
            got.insert({static_cast<uint32_t>(q),
                        static_cast<uint64_t>(res.labels[k])});
          }
        }
        bool ex = false;
        const double rc = Recall(got, truth, std::min(fq, bq), &ex);
        rows.push_back({"FAISS IndexBinaryMultiHash", n, int(t), fq, s, rc,
                        ex ? "" : "!! extra pairs"});
      }
    }
#endif
    index->reset();
    std::filesystem::remove(path);
  }

  std::printf(
      "\n| N | threads | method | queries timed | seconds | queries/s | "
      "recall vs brute | notes |\n|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    std::printf(
        "| %llu | %d | %s | %zu | %.3f | %.0f | %s | %s |\n",
        (unsigned long long)r.n, r.threads, r.method.c_str(), r.queries,
        r.seconds, r.qps(),
        r.recall < 0
            ? "?"
            : (std::to_string(r.recall * 100).substr(0, 6) + " %").c_str(),
        r.note.c_str());
  }
  std::printf(
      "\n| N | threads | custos / FAISS MIH | custos / AVX-512 brute |\n"
      "|---|---|---|---|\n");
  for (const Row& c : rows) {
    if (c.method != "custos PdqIndex") continue;
    double f = 0, b = 0;
    for (const Row& r : rows) {
      if (r.n != c.n || r.threads != c.threads) continue;
      if (r.method == "FAISS IndexBinaryMultiHash") f = r.qps();
      if (r.method == "AVX-512 brute force") b = r.qps();
    }
    std::printf(
        "| %llu | %d | %s | %s |\n", (unsigned long long)c.n, c.threads,
        f > 0 ? (std::to_string(c.qps() / f).substr(0, 6) + "x").c_str() : "-",
        b > 0 ? (std::to_string(c.qps() / b).substr(0, 6) + "x").c_str() : "-");
  }
  return 0;
}
