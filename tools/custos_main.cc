// The `custos` command. All logic lives in src/cli (testable as a function).
#include "src/cli/cli.h"

int main(int argc, char** argv) {
  custos::cli::CliEnv env = custos::cli::ProcessCliEnv();
  return custos::cli::RunCli(argc, argv, env);
}
