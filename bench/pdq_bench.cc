// pdq_bench FILE...: decodes and PDQ-hashes every file, single thread, and
// reports images/s. Each file is read into memory first, so the figure
// covers decoding and hashing only. --reps N repeats the whole list N times
// (default 5) and reports the median pass, with the decode and hash shares
// of the time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "src/image/image.h"
#include "src/phash/pdq.h"

int main(int argc, char** argv) {
  int reps = 5;
  std::vector<std::string> data;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
      continue;
    }
    std::ifstream f(argv[i], std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    data.push_back(ss.str());
  }
  if (data.empty()) {
    std::fprintf(stderr, "usage: pdq_bench [--reps N] FILE...\n");
    return 2;
  }
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
