// File: ewf_test_util.h
//
// Test helpers that build evidence at test time with Debian's ewf-tools:
// a deterministic raw "disk" (half pseudo-random, half runs of repeated
// bytes, so deflate has work either way) and E01 sets made from it with
// `ewfacquire` in unattended mode. Not for production use.
//
// Thread-safety: functions run external processes; call from one thread.
//
// Example:
//   std::string raw = dir.Join("disk.raw");
//   MakeRawDisk(raw, 4 << 20, 7);
//   ASSERT_TRUE(MakeE01(raw, dir.Join("img"), {.segment_size = 1 << 20}));
#ifndef CUSTOS_SRC_ACQUIRE_EWF_TEST_UTIL_H_
#define CUSTOS_SRC_ACQUIRE_EWF_TEST_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace custos::acquire::testing {

// Writes `size` bytes (a multiple of 512: ewfacquire truncates to whole
// sectors) from seed `seed`.
inline std::string RawDiskBytes(uint64_t size, uint32_t seed) {
  std::string s(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (uint64_t i = 0; i < size; ++i) {
    if ((i / 65536) % 2 == 0) {
      x = x * 1103515245u + 12345u;
      s[i] = static_cast<char>(x >> 24);
    } else {
      s[i] = static_cast<char>((i / 4096) & 0xff);
    }
  }
  return s;
}

inline bool WriteBytes(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  return static_cast<bool>(f);
}

inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

struct E01Options {
  uint64_t segment_size = 0;            // 0 = ewfacquire's default
  std::string compression = "deflate";  // -c: none, fast, best, empty-block,
                                        // or method:level
  std::string format;                   // -f: "" = encase6, "ewfx", ...
  std::string case_number = "CASE-2026-0042";
  std::string evidence_number = "EV-7";
  std::string examiner = "A. de Vries";
  std::string description = "USB stick of suspect";
  std::string notes = "seized at the scene";
  std::string extra_digest;  // -d: "sha1", "sha256" or ""
};

// Runs ewfacquire on `raw`, writing `target`.E01 (...). Returns false (and
// prints the command) if ewfacquire failed.
inline bool MakeE01(const std::string& raw, const std::string& target,
                    const E01Options& o) {
  std::string cmd = "ewfacquire -u -q";
  cmd += " -t " + ShellQuote(target);
  if (!o.compression.empty()) cmd += " -c " + ShellQuote(o.compression);
  if (o.segment_size) cmd += " -S " + std::to_string(o.segment_size);
  if (!o.format.empty()) cmd += " -f " + ShellQuote(o.format);
  if (!o.extra_digest.empty()) cmd += " -d " + ShellQuote(o.extra_digest);
  cmd += " -C " + ShellQuote(o.case_number);
  cmd += " -E " + ShellQuote(o.evidence_number);
  cmd += " -e " + ShellQuote(o.examiner);
  cmd += " -D " + ShellQuote(o.description);
  cmd += " -N " + ShellQuote(o.notes);
  cmd += " " + ShellQuote(raw) + " >/dev/null 2>&1 </dev/null";
  int rc = std::system(cmd.c_str());
  if (rc != 0) std::fprintf(stderr, "failed (%d): %s\n", rc, cmd.c_str());
  return rc == 0;
}

}  // namespace custos::acquire::testing

#endif  // CUSTOS_SRC_ACQUIRE_EWF_TEST_UTIL_H_
