// File: harness.h
//
// Helpers for integration tests that run the real `custos` binary:
// RunCustos() spawns it (path from $CUSTOS_BIN) with arguments, an
// environment and optional stdin, and captures exit code, stdout and stderr.
//
// Thread-safety: each call is independent.
#ifndef CUSTOS_TESTS_INTEGRATION_HARNESS_H_
#define CUSTOS_TESTS_INTEGRATION_HARNESS_H_

#include <map>
#include <string>
#include <vector>

namespace custos::testing {

struct RunResult {
  int exit_code = -1;  // -signal if killed by a signal
  std::string out, err;
};

// Path of the custos binary ($CUSTOS_BIN).
std::string CustosBin();
// Whether an executable `name` is on $PATH (tests of optional tools skip
// when it is not).
bool OnPath(const std::string& name);
// Path of the independent verifier ($TLOGVERIFY); "" if unset.
std::string TlogverifyBin();

// Runs `program` with `args`; `env` entries are added to (and override) the
// current environment. Blocks until it exits.
RunResult Run(const std::string& program, const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env = {},
              const std::string& stdin_data = "");

// "exit N", stdout and stderr of a run, for assertion messages.
std::string Describe(const RunResult& r);
// Whole file contents ("" if unreadable); and a write that must succeed
// (a gtest failure otherwise).
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);

inline RunResult RunCustos(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env = {}) {
  return Run(CustosBin(), args, env);
}

}  // namespace custos::testing

#endif  // CUSTOS_TESTS_INTEGRATION_HARNESS_H_
