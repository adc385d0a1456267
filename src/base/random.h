// File: random.h
//
// The injected source of randomness (identifiers, key generation seeds).
// RealRandom reads the kernel's CSPRNG with getrandom(2). Tests use
// custos::testing::SeededRandom for reproducible runs.
//
// Thread-safety: implementations must be safe to call from several threads.
#ifndef CUSTOS_SRC_BASE_RANDOM_H_
#define CUSTOS_SRC_BASE_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace custos {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out[0..n)` with random bytes. Never fails (aborts if the kernel
  // CSPRNG is unavailable, which is an unrecoverable environment fault).
  virtual void Fill(uint8_t* out, size_t n) = 0;

  // A random RFC 9562 version-4 UUID in lowercase text form.
  std::string Uuid4();
};

Random& RealRandom();

}  // namespace custos

#endif  // CUSTOS_SRC_BASE_RANDOM_H_
