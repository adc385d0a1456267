// Bad input and hostile conditions through the real `custos` binary: every
// refusal is one clear line on stderr starting with "custos: error:", exits
// with the documented code (src/repo/repository.h ExitCode, docs/cli.md),
// and leaves everything committed as it was (`log --json` and the latest
// checkpoint are compared before and after).
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/repo/repository.h"
#include "testing/testing.h"
#include "tests/integration/harness.h"

namespace custos::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;

// `r` is a refusal: exit `code`, one line on stderr "custos: error: ..."
// containing `message`, nothing on stdout.
void ExpectError(const RunResult& r, int code, const std::string& message) {
  EXPECT_EQ(r.exit_code, code) << Describe(r);
  EXPECT_THAT(r.err, StartsWith("custos: error: ")) << Describe(r);
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.back(), '\n') << Describe(r);
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1)
      << "not one line: " << Describe(r);
  EXPECT_THAT(r.err, HasSubstr(message)) << Describe(r);
  EXPECT_EQ(r.out, "") << Describe(r);
}

// The base repository, built once and copied for each test:
//   #0 created  #1 Anna de Vries (examiner)  #2 Bram Jansen (custodian)
//   #3 case C-1  #4 acquired EXH-001 (a file)
struct Base {
  TempDir tmp;
  std::string repo, anna_id, bram_id, error;
};

Base* BuildBase() {
  ::unsetenv("CUSTOS_PASSPHRASE");
  ::unsetenv("CUSTOS_REPO");
  auto* b = new Base;
  b->repo = b->tmp.Join("repo");
  auto run = [&](std::vector<std::string> args) -> json {
    if (!b->error.empty()) return json();
    args.insert(args.begin(), {"--repo", b->repo, "--json"});
    RunResult r = RunCustos(args);
    if (r.exit_code != 0) b->error = Describe(r);
    json j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json() : j;
  };
  std::ofstream(b->tmp.Join("evidence.bin")) << "evidence bytes";
  run({"init", b->repo, "--origin", "example.org/nl-om", "--authority", "OM"});
  b->anna_id = run({"actor", "add", "Anna de Vries", "--role", "examiner"})
                   .value("id", "");
  b->bram_id = run({"actor", "add", "Bram Jansen", "--role", "custodian"})
                   .value("id", "");
  run({"case", "open", "C-1", "--title", "T", "--legal-basis", "art. 94 Sv"});
  run({"acquire", b->tmp.Join("evidence.bin"), "--case", "C-1", "--actor",
       "Anna de Vries", "--exhibit", "EXH-001"});
  if (b->error.empty() && (b->anna_id.empty() || b->bram_id.empty()))
    b->error = "no actor ids";
  return b;
}

Base& GetBase() {
  static Base* base = BuildBase();
  return *base;
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("CUSTOS_PASSPHRASE");
    ::unsetenv("CUSTOS_REPO");
    ASSERT_EQ(GetBase().error, "") << "building the base repository failed";
    repo_ = tmp_.Join("repo");
    fs::copy(GetBase().repo, repo_, fs::copy_options::recursive);
    ASSERT_NO_FATAL_FAILURE(before_ = State(repo_));
  }

  RunResult C(std::vector<std::string> args) {
    args.insert(args.begin(), {"--repo", repo_});
    return RunCustos(args);
  }

  // What is committed: every event and the latest signed checkpoint.
  std::string State(const std::string& repo,
                    const std::map<std::string, std::string>& env = {}) {
    RunResult log = RunCustos({"--repo", repo, "--json", "log"}, env);
    RunResult cp = RunCustos({"--repo", repo, "checkpoint"}, env);
    EXPECT_EQ(log.exit_code, 0) << Describe(log);
    EXPECT_EQ(cp.exit_code, 0) << Describe(cp);
    EXPECT_THAT(cp.out, StartsWith("example.org/nl-om\n"));
    return log.out + "\n--\n" + cp.out;
  }
  void ExpectUnchanged() {
    EXPECT_EQ(State(repo_), before_) << "committed state changed";
  }

  TempDir tmp_;
  std::string repo_, before_;
};

TEST_F(BadInputTest, MissingSourcePath) {
  RunResult r = C({"acquire", tmp_.Join("no-such-file"), "--case", "C-1",
                   "--actor", "Anna de Vries"});
  ExpectError(r, repo::kExitNotFound, "no-such-file");
  ExpectUnchanged();
}

TEST_F(BadInputTest, UnknownActor) {
  ExpectError(C({"acquire", GetBase().tmp.Join("evidence.bin"), "--case", "C-1",
                 "--actor", "Nobody"}),
              repo::kExitNotFound, "unknown actor \"Nobody\"");
  ExpectError(C({"event", "add", "--type", "accessed", "--item", "EXH-001",
                 "--actor", "Nobody"}),
              repo::kExitNotFound, "unknown actor \"Nobody\"");
  ExpectUnchanged();
}

TEST_F(BadInputTest, UnknownCaseAndItem) {
  ExpectError(C({"acquire", GetBase().tmp.Join("evidence.bin"), "--case",
                 "C-404", "--actor", "Anna de Vries"}),
              repo::kExitNotFound, "unknown case \"C-404\"");
  ExpectError(C({"event", "add", "--type", "accessed", "--item", "EXH-001",
                 "--case", "C-404", "--actor", "Anna de Vries"}),
              repo::kExitNotFound, "unknown case \"C-404\"");
  ExpectError(C({"event", "add", "--type", "accessed", "--item", "EXH-404",
                 "--actor", "Anna de Vries"}),
              repo::kExitNotFound, "EXH-404");
  ExpectUnchanged();
}

TEST_F(BadInputTest, RevokedActorCannotSign) {
  RunResult rev =
      C({"actor", "revoke", "Bram Jansen", "--reason", "left the service"});
  ASSERT_EQ(rev.exit_code, 0) << Describe(rev);
  before_ = State(repo_);
  ExpectError(C({"event", "add", "--type", "accessed", "--item", "EXH-001",
                 "--actor", "Bram Jansen"}),
              repo::kExitPermission, "revoked");
  ExpectError(C({"acquire", GetBase().tmp.Join("evidence.bin"), "--case", "C-1",
                 "--actor", GetBase().bram_id}),
              repo::kExitPermission, "revoked");
  ExpectUnchanged();
  // The others still can.
  RunResult ok = C({"event", "add", "--type", "accessed", "--item", "EXH-001",
                    "--actor", "Anna de Vries"});
  EXPECT_EQ(ok.exit_code, 0) << Describe(ok);
}

TEST_F(BadInputTest, WrongOrMissingPassphrase) {
  std::string repo = tmp_.Join("encrypted");
  RunResult init = RunCustos(
      {"init", repo, "--origin", "example.org/nl-om", "--authority", "OM"},
      {{"CUSTOS_PASSPHRASE", "a"}});
  ASSERT_EQ(init.exit_code, 0) << Describe(init);
  EXPECT_THAT(ReadFile(repo + "/keys/log.key"), HasSubstr("ENCRYPTED"));
  std::string state = State(repo);  // reading needs no key
  std::vector<std::string> add = {"--repo", repo,     "actor",   "add",
                                  "Anna",   "--role", "examiner"};
  ExpectError(RunCustos(add, {{"CUSTOS_PASSPHRASE", "b"}}),
              repo::kExitPermission, "wrong passphrase");
  ExpectError(RunCustos(add), repo::kExitPermission, "CUSTOS_PASSPHRASE");
  std::string pf = tmp_.Join("pass");
  ASSERT_NO_FATAL_FAILURE(WriteFile(pf, "b\n"));
  std::vector<std::string> add_pf = add;
  add_pf.insert(add_pf.begin(), {"--passphrase-file", pf});
  ExpectError(RunCustos(add_pf), repo::kExitPermission, "wrong passphrase");
  EXPECT_EQ(State(repo), state) << "committed state changed";
  EXPECT_FALSE(fs::exists(repo + "/keys/actors") &&
               !fs::is_empty(repo + "/keys/actors"))
      << "a key file was left behind by a refused registration";
  // Control: the right passphrase works.
  RunResult ok = RunCustos(add, {{"CUSTOS_PASSPHRASE", "a"}});
  EXPECT_EQ(ok.exit_code, 0) << Describe(ok);
}

TEST_F(BadInputTest, MalformedReceipts) {
  RunResult p = C({"prove", "4", "-o", tmp_.Join("good")});
  ASSERT_EQ(p.exit_code, 0) << Describe(p);
  std::string good = ReadFile(tmp_.Join("good"));
  std::string vkey = "@" + repo_ + "/keys/log.vkey";
  RunResult ok =
      RunCustos({"verify-receipt", tmp_.Join("good"), "--vkey", vkey});
  ASSERT_EQ(ok.exit_code, 0) << Describe(ok);

  std::string bad = tmp_.Join("bad");
  ASSERT_NO_FATAL_FAILURE(
      WriteFile(bad, "this is not a receipt\n\x01\x02\xff"));
  ExpectError(RunCustos({"verify-receipt", bad, "--vkey", vkey}),
              repo::kExitUsage, "malformed receipt");
  ASSERT_NO_FATAL_FAILURE(WriteFile(bad, ""));
  ExpectError(RunCustos({"verify-receipt", bad, "--vkey", vkey}),
              repo::kExitUsage, "malformed receipt");
  // Every truncation of a good receipt is refused as malformed.
  // (Every byte near the start and the end, where the header and the
  // checkpoint's signature line are; a sample in between.)
  for (size_t n = 1; n < good.size();
       n += (n < 24 || n + 24 > good.size()) ? 1 : 97) {
    SCOPED_TRACE("receipt truncated to " + std::to_string(n) + " of " +
                 std::to_string(good.size()) + " bytes");
    ASSERT_NO_FATAL_FAILURE(WriteFile(bad, good.substr(0, n)));
    RunResult r = RunCustos({"verify-receipt", bad, "--vkey", vkey});
    ExpectError(r, repo::kExitUsage, "malformed");
    if (r.exit_code != repo::kExitUsage) break;
  }
  // A receipt that does not exist at all is "not found".
  ExpectError(
      RunCustos({"verify-receipt", tmp_.Join("absent"), "--vkey", vkey}),
      repo::kExitNotFound, "absent");
  ExpectUnchanged();
}

TEST_F(BadInputTest, NewerRepositoryFormat) {
  std::string format = ReadFile(repo_ + "/FORMAT");
  ASSERT_EQ(format, "custos-repository 1\n");
  ASSERT_NO_FATAL_FAILURE(
      WriteFile(repo_ + "/FORMAT", "custos-repository 99\n"));
  ExpectError(C({"log"}), repo::kExitConflict, "format 99");
  ExpectError(C({"event", "add", "--type", "accessed", "--item", "EXH-001",
                 "--actor", "Anna de Vries"}),
              repo::kExitConflict, "upgrade custos");
  ExpectError(C({"verify"}), repo::kExitConflict, "newer");
  ASSERT_NO_FATAL_FAILURE(WriteFile(repo_ + "/FORMAT", format));
  ExpectUnchanged();
}

TEST_F(BadInputTest, InitIntoNonEmptyDirectory) {
  std::string dir = tmp_.Join("occupied");
  fs::create_directories(dir);
  ASSERT_NO_FATAL_FAILURE(WriteFile(dir + "/notes.txt", "mine"));
  ExpectError(RunCustos({"init", dir, "--origin", "example.org/nl-om",
                         "--authority", "OM"}),
              repo::kExitConflict, "not empty");
  EXPECT_EQ(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  EXPECT_EQ(ReadFile(dir + "/notes.txt"), "mine");
  // Nor over an existing repository.
  ExpectError(RunCustos({"init", repo_, "--origin", "example.org/nl-om",
                         "--authority", "OM"}),
              repo::kExitConflict, "not empty");
  ExpectUnchanged();
}

TEST_F(BadInputTest, NotARepository) {
  std::string empty = tmp_.Join("empty");
  fs::create_directories(empty);
  ExpectError(RunCustos({"--repo", empty, "log"}), repo::kExitNotFound,
              "is not a custos repository");
  ExpectError(RunCustos({"--repo", tmp_.Join("absent"), "verify"}),
              repo::kExitNotFound, "is not a custos repository");
  ExpectError(RunCustos({"log"}, {{"CUSTOS_REPO", empty}}), repo::kExitNotFound,
              "is not a custos repository");
  EXPECT_TRUE(fs::is_empty(empty)) << "a failed open created files";
}

TEST_F(BadInputTest, UnknownEventType) {
  ExpectError(C({"event", "add", "--type", "stolen", "--item", "EXH-001",
                 "--actor", "Anna de Vries"}),
              repo::kExitUsage, "unknown event type \"stolen\"");
  // Acquisitions and authority events cannot be forged through `event add`.
  for (const char* type :
       {"acquired", "actor_registered", "repository_created"})
    ExpectError(C({"event", "add", "--type", type, "--item", "EXH-001",
                   "--actor", "Anna de Vries"}),
                repo::kExitUsage, "unknown event type");
  ExpectUnchanged();
}

TEST_F(BadInputTest, TransferWithoutRecipient) {
  ExpectError(C({"event", "add", "--type", "transferred", "--item", "EXH-001",
                 "--actor", "Anna de Vries"}),
              repo::kExitUsage, "--to");
  ExpectError(C({"event", "add", "--type", "received", "--item", "EXH-001",
                 "--actor", "Bram Jansen"}),
              repo::kExitUsage, "--from");
  ExpectError(
      C({"event", "add", "--type", "accessed", "--actor", "Bram Jansen"}),
      repo::kExitUsage, "--item");
  ExpectUnchanged();
}

TEST_F(BadInputTest, SwappedActorKeyFile) {
  // Anna's key file now holds Bram's private key: her events would be signed
  // by Bram. The log refuses to append them.
  std::string keys = repo_ + "/keys/actors/";
  fs::copy_file(keys + GetBase().bram_id + ".key",
                keys + GetBase().anna_id + ".key",
                fs::copy_options::overwrite_existing);
  ExpectError(C({"event", "add", "--type", "accessed", "--item", "EXH-001",
                 "--actor", "Anna de Vries"}),
              repo::kExitPermission,
              "does not verify under the key registered");
  ExpectError(C({"acquire", GetBase().tmp.Join("evidence.bin"), "--case", "C-1",
                 "--actor", "Anna de Vries"}),
              repo::kExitPermission,
              "does not verify under the key registered");
  ExpectUnchanged();
  RunResult v = C({"verify"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

// Unmounts a tmpfs when the test ends, however it ends.
struct Mount {
  std::string path;
  bool mounted = false;
  ~Mount() {
    if (mounted && ::umount2(path.c_str(), MNT_DETACH) != 0)
      ADD_FAILURE() << "umount " << path << ": " << std::strerror(errno);
  }
};

TEST_F(BadInputTest, FullDisk) {
  Mount mnt{tmp_.Join("small")};
  fs::create_directories(mnt.path);
  if (::mount("tmpfs", mnt.path.c_str(), "tmpfs", 0, "size=2m") != 0)
    GTEST_SKIP() << "cannot mount a 2 MiB tmpfs (" << std::strerror(errno)
                 << "); run as root to test a full disk";
  mnt.mounted = true;
  std::string repo = mnt.path + "/repo";
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--repo", repo});
    return RunCustos(args);
  };
  RunResult init = RunCustos(
      {"init", repo, "--origin", "example.org/nl-om", "--authority", "OM"});
  ASSERT_EQ(init.exit_code, 0) << Describe(init);
  ASSERT_EQ(run({"actor", "add", "Anna", "--role", "examiner"}).exit_code, 0);
  ASSERT_EQ(run({"case", "open", "C-1", "--title", "T", "--legal-basis", "L"})
                .exit_code,
            0);
  std::string state = State(repo);
  std::string big = tmp_.Join("big.bin");
  {
    std::ofstream f(big, std::ios::binary);
    std::string chunk(1 << 16, '\0');
    for (int i = 0; i < 64; ++i) {
      for (size_t k = 0; k < chunk.size(); ++k)
        chunk[k] = static_cast<char>((k * 31 + i) & 0xff);
      f << chunk;
    }
  }
  ASSERT_EQ(fs::file_size(big), 4u << 20);
  ExpectError(run({"acquire", big, "--case", "C-1", "--actor", "Anna"}),
              repo::kExitDiskFull, "disk full");
  EXPECT_EQ(State(repo), state) << "committed state changed";
  RunResult v = run({"--json", "verify"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
  json vj = json::parse(v.out, nullptr, false);
  ASSERT_FALSE(vj.is_discarded()) << Describe(v);
  EXPECT_EQ(vj["ok"], true);
  EXPECT_EQ(vj["events"], 3);
  // The space is given back: a small acquisition works afterwards.
  RunResult small = run({"acquire", GetBase().tmp.Join("evidence.bin"),
                         "--case", "C-1", "--actor", "Anna"});
  EXPECT_EQ(small.exit_code, 0) << Describe(small);
}

}  // namespace
}  // namespace custos::testing
