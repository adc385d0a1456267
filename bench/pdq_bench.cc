// pdq_bench [--reps N] [--threads T] [--print] FILE...
//
// Default: reads every file into memory, then decodes and PDQ-hashes the
// list N times (default 5) on one thread and reports the median images/s
// with the decode and hash shares of the time.
//
// --print: the whole-process mode used side by side with the reference's
// pdq-photo-hasher (bench/pdq_vs_reference.sh): reads, decodes and hashes
// each file once, on T threads (default 1), and prints one line per file in
// the reference's output format, "hash,quality,filename", in input order.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "src/image/image.h"
#include "src/phash/pdq.h"

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int PrintMode(const std::vector<std::string>& files, int threads) {
  std::vector<std::string> lines(files.size());
  std::atomic<size_t> next{0};
  std::atomic<int> errors{0};
  auto worker = [&] {
    custos::phash::PdqHasher hasher;
    while (true) {
      size_t i = next.fetch_add(1);
      if (i >= files.size()) break;
      auto img = custos::image::DecodeImage(ReadAll(files[i]));
      if (!img.ok()) {
        ++errors;
        lines[i] =
            "error," + std::string(img.status().message()) + "," + files[i];
        continue;
      }
      auto r = hasher.Hash(*img);
      lines[i] =
          r.hash.ToHex() + "," + std::to_string(r.quality) + "," + files[i];
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (const auto& l : lines) std::printf("%s\n", l.c_str());
  return errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 5, threads = 1;
  bool print = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--print") == 0) {
      print = true;
    } else {
      files.push_back(argv[i]);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr,
                 "usage: pdq_bench [--reps N] [--threads T] [--print] "
                 "FILE...\n");
    return 2;
  }
  if (print) return PrintMode(files, threads);
  std::vector<std::string> data;
  for (const auto& f : files) data.push_back(ReadAll(f));
  custos::phash::PdqHasher hasher;
  using Clock = std::chrono::steady_clock;
  std::vector<double> rates;
  double decode_s = 0, hash_s = 0;
  int errors = 0;
  unsigned checksum = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    for (const std::string& bytes : data) {
      const auto d0 = Clock::now();
      auto img = custos::image::DecodeImage(bytes);
      const auto d1 = Clock::now();
      decode_s += std::chrono::duration<double>(d1 - d0).count();
      if (!img.ok()) {
        ++errors;
        continue;
      }
      checksum += hasher.Hash(*img).hash.words[0];
      hash_s += std::chrono::duration<double>(Clock::now() - d1).count();
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    rates.push_back(data.size() / s);
  }
  std::sort(rates.begin(), rates.end());
  const double n = static_cast<double>(data.size()) * reps;
  std::printf(
      "%zu images x %d passes, %d errors: median %.1f img/s (min %.1f, max "
      "%.1f); per image: decode %.2f ms, hash %.2f ms [%u]\n",
      data.size(), reps, errors / reps, rates[rates.size() / 2], rates.front(),
      rates.back(), 1e3 * decode_s / n, 1e3 * hash_s / n, checksum);
  return errors == 0 ? 0 : 1;
}
