// File: commands.h
//
// Internal to src/cli: what every group of `custos` subcommands shares —
// global options, the command context (output streams, repository opening),
// the progress bar, and the JSON/text renderings of items and events.
// A group of subcommands lives in its own file (e.g. hashset_cmd.cc) and is
// added to the app by one Add*Commands(app, cmd) call in cli.cc.
//
// Thread-safety: used by one RunCli call at a time.
#ifndef CUSTOS_SRC_CLI_COMMANDS_H_
#define CUSTOS_SRC_CLI_COMMANDS_H_

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "src/base/status_macros.h"
#include "src/cli/cli.h"
#include "src/crypto/note.h"
#include "src/repo/repository.h"

namespace custos::cli {

std::string HumanBytes(double b);

struct Globals {
  std::string repo_dir;
  bool json = false;
  bool quiet = false;
  std::string passphrase_file;
  std::string place;
};

class Ctx {
 public:
  Ctx(CliEnv& env, Globals& g) : env_(env), g_(g) {}
  std::ostream& out() { return *env_.out; }
  std::ostream& err() { return *env_.err; }
  bool json_mode() const { return g_.json; }

  absl::Status SetupEnv() {
    if (!g_.passphrase_file.empty()) {
      std::ifstream f(g_.passphrase_file);
      if (!f)
        return absl::NotFoundError(
            absl::StrCat("cannot read passphrase file ", g_.passphrase_file));
      std::string line;
      std::getline(f, line);
      env_.repo.passphrase = std::string(absl::StripSuffix(line, "\r"));
    } else if (auto it = env_.vars.find("CUSTOS_PASSPHRASE");
               it != env_.vars.end()) {
      env_.repo.passphrase = it->second;
    }
    if (!g_.place.empty()) env_.repo.place = g_.place;
    return absl::OkStatus();
  }
  std::string RepoDir() const {
    if (!g_.repo_dir.empty()) return g_.repo_dir;
    if (auto it = env_.vars.find("CUSTOS_REPO");
        it != env_.vars.end() && !it->second.empty())
      return it->second;
    return ".";
  }
  absl::StatusOr<std::unique_ptr<repo::Repository>> Open() {
    CUSTOS_RETURN_IF_ERROR(SetupEnv());
    return repo::Repository::Open(RepoDir(), env_.repo);
  }
  void Emit(const nlohmann::json& j) { out() << j.dump(2) << "\n"; }
  bool ShowProgress() const {
    return env_.stderr_is_tty && !g_.json && !g_.quiet;
  }
  CliEnv& env() { return env_; }

 private:
  CliEnv& env_;
  Globals& g_;
};

// A one-line progress bar on stderr, redrawn at most 10 times a second.
class ProgressBar {
 public:
  ProgressBar(std::ostream& err, bool enabled) : err_(err), enabled_(enabled) {
    start_ = last_ = std::chrono::steady_clock::now();
  }
  ~ProgressBar() { Done(); }
  void Update(const std::string& label, uint64_t done, uint64_t total,
              bool bytes) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100) && done != total) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    std::string amount =
        bytes ? HumanBytes(static_cast<double>(done)) : std::to_string(done);
    std::string rate = bytes && secs > 0
                           ? absl::StrCat(" ", HumanBytes(done / secs), "/s")
                           : "";
    std::string bar;
    if (total > 0) {
      int width = 30;
      int fill = static_cast<int>(static_cast<double>(done) /
                                  static_cast<double>(total) * width);
      bar = absl::StrCat("[", std::string(std::min(fill, width), '#'),
                         std::string(width - std::min(fill, width), ' '), "] ",
                         absl::StrFormat("%3.0f%% ", 100.0 * done / total));
      amount += " / " + (bytes ? HumanBytes(static_cast<double>(total))
                               : std::to_string(total));
    }
    err_ << "\r" << label << " " << bar << amount << rate << "\033[K"
         << std::flush;
    drawn_ = true;
  }
  void Done() {
    if (drawn_) err_ << "\r\033[K" << std::flush;
    drawn_ = false;
  }

 private:
  std::ostream& err_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

std::string Hex(std::string_view raw);
std::string HexH(const crypto::Hash32& h);
std::string HumanBytes(double b);
nlohmann::json ItemJson(const repo::ItemRecord& it);
nlohmann::json EventJson(const repo::EventRecord& r);
std::string EventLine(const repo::EventRecord& r);
absl::StatusOr<std::string> ReadFileArg(const std::string& path);
// A vkey given literally or as @FILE / a path to a file holding it.
absl::StatusOr<crypto::Vkey> VkeyArg(const std::string& arg);

// What a command group needs to register subcommands. Action() wraps a
// command body so that its status becomes RunCli's exit code; a body that
// must exit with a code of its own (like verify's 1) sets *exit_code.
struct Commands {
  Ctx& ctx;
  std::function<std::function<void()>(std::function<absl::Status()>)> Action;
  int* exit_code;
};

// Command groups defined in their own files.
// (Each: void AddXxxCommands(CLI::App& app, Commands& cmd);)
void AddHashsetCommands(CLI::App& app, Commands& cmd);  // hashset_cmd.cc
void AddExtractCommands(CLI::App& app, Commands& cmd);  // extract_cmd.cc
void AddExportCommands(CLI::App& app, Commands& cmd);   // export_cmd.cc
void AddListCommands(CLI::App& app, Commands& cmd);     // list_cmd.cc
void AddTagCommands(CLI::App& app, Commands& cmd);      // tag_cmd.cc

}  // namespace custos::cli

#endif  // CUSTOS_SRC_CLI_COMMANDS_H_
