// File: cli.h
//
// The `custos` command line as a testable function: argv in, exit code out,
// with output streams and the repository environment injected.
// Subcommands, options and exit codes are documented in docs/cli.md and in
// `custos --help` / `custos COMMAND --help`.
//
// Thread-safety: one call at a time per CliEnv.
//
// Example:
//   CliEnv env;  // std::cout / std::cerr, real clock and filesystem
//   return RunCli(argc, argv, env);
#ifndef CUSTOS_SRC_CLI_CLI_H_
#define CUSTOS_SRC_CLI_CLI_H_

#include <iostream>
#include <map>
#include <string>

#include "src/repo/repository.h"

namespace custos::cli {

struct CliEnv {
  repo::RepoEnv repo;
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
  // Environment variables consulted (CUSTOS_REPO, CUSTOS_PASSPHRASE); tests
  // inject their own.
  std::map<std::string, std::string> vars;
  bool stderr_is_tty = false;
};

// Fills vars from the process environment and stderr_is_tty from isatty(2).
CliEnv ProcessCliEnv();

int RunCli(int argc, const char* const* argv, CliEnv& env);

}  // namespace custos::cli

#endif  // CUSTOS_SRC_CLI_CLI_H_
