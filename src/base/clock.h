// File: clock.h
//
// The injected source of time. Production code takes a `Clock&`; only
// RealClock (clock.cc) reads the system clock. Tests use
// custos::testing::SimulatedClock (testing/simulated_clock.h).
//
// Thread-safety: implementations must be safe to call from several threads.
//
// Example:
//   absl::Time t = options.clock->Now();
#ifndef CUSTOS_SRC_BASE_CLOCK_H_
#define CUSTOS_SRC_BASE_CLOCK_H_

#include "absl/time/time.h"

namespace custos {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
};

// The system's wall clock. Returns a process-wide instance.
Clock& RealClock();

}  // namespace custos

#endif  // CUSTOS_SRC_BASE_CLOCK_H_
