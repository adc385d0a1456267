// File: repo_cli.h
//
// RepoCli: a mixin for integration-test fixtures that drive one repository
// through the real binary. Ok() runs custos and expects exit 0, OkJson()
// runs it with `--repo repo_ --json` and parses stdout, Cli() runs it with
// `--repo repo_` and returns whatever happened (for refusals).
//
// Example:
//   class MyTest : public ::testing::Test, public RepoCli { ... };
//   json j = OkJson({"items", "--all"});
#ifndef CUSTOS_TESTS_INTEGRATION_REPO_CLI_H_
#define CUSTOS_TESTS_INTEGRATION_REPO_CLI_H_

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/harness.h"

namespace custos::testing {

class RepoCli {
 protected:
  RunResult Ok(std::vector<std::string> args) {
    RunResult r = RunCustos(args);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    return r;
  }
  nlohmann::json OkJson(std::vector<std::string> args) {
    args.insert(args.begin(), {"--repo", repo_, "--json"});
    RunResult r = Ok(args);
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << Describe(r);
    return j;
  }
  RunResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--repo", repo_});
    return RunCustos(args);
  }

  std::string repo_;  // set by the fixture's SetUp
};

}  // namespace custos::testing

#endif  // CUSTOS_TESTS_INTEGRATION_REPO_CLI_H_
