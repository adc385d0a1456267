#include <sys/random.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_format.h"
#include "src/base/clock.h"
#include "src/base/random.h"
#include "src/base/status_macros.h"

namespace custos {
namespace internal {
void CheckFailed(const char* file, int line, const char* cond) {
  std::fprintf(stderr, "custos: internal check failed at %s:%d: %s\n", file,
               line, cond);
  std::abort();
}
}  // namespace internal

namespace {
class SystemClock final : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
};

class KernelRandom final : public Random {
 public:
  void Fill(uint8_t* out, size_t n) override {
    while (n > 0) {
      ssize_t got = getrandom(out, n, 0);
      if (got < 0) {
        if (errno == EINTR) continue;
        internal::CheckFailed(__FILE__, __LINE__, "getrandom");
      }
      out += got;
      n -= static_cast<size_t>(got);
    }
  }
};
}  // namespace

Clock& RealClock() {
  static SystemClock clock;
  return clock;
}

Random& RealRandom() {
  static KernelRandom random;
  return random;
}

std::string Random::Uuid4() {
  uint8_t b[16];
  Fill(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return absl::StrFormat(
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
      b[12], b[13], b[14], b[15]);
}

}  // namespace custos
