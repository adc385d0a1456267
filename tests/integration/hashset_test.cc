// Known-file hash sets through the real `custos` binary: import a known-bad
// set holding the SHA-256 of a test file and a known-good set holding the
// MD5 of another, acquire a directory with both, and see the WARNING, the
// item properties, the signed `analysed` event, `search`, exports that
// import back, refusals of malformed sets that change nothing, and
// `custos verify` still passing.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/testing.h"
#include "tests/integration/harness.h"
#include "tests/integration/repo_cli.h"

namespace custos::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

// Computed independently with coreutils: printf 'known bad content\n' |
// sha256sum ; printf 'good content\n' | md5sum.
constexpr char kBadSha256[] =
    "59f1e62adae1067bf2f3f625bb3f364ab82adcd82663e5e3610614f6db322140";
constexpr char kGoodMd5[] = "e3431c64831edac867849f3e204fd01a";

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(c));
  return s;
}

class HashsetCliTest : public ::testing::Test, public RepoCli {
 protected:
  void SetUp() override {
    ::unsetenv("CUSTOS_PASSPHRASE");
    ::unsetenv("CUSTOS_REPO");
    repo_ = tmp_.Join("repo");
    Ok({"init", repo_, "--origin", "example.org/test", "--authority", "A"});
    Ok({"--repo", repo_, "actor", "add", "Anna de Vries", "--role",
        "examiner"});
    Ok({"--repo", repo_, "case", "open", "C-1", "--title", "t", "--legal-basis",
        "b"});
    std::string ev = tmp_.Join("evidence");
    ASSERT_EQ(::system(("mkdir -p " + ev + "/sub").c_str()), 0);
    WriteFile(ev + "/sub/bad.bin", "known bad content\n");
    WriteFile(ev + "/good.txt", "good content\n");
    WriteFile(ev + "/other.txt", "something else\n");
  }
  TempDir tmp_;
};

TEST_F(HashsetCliTest, KnownBadFileIsToldRecordedAndSearchable) {
  std::string bad_list = tmp_.Join("bad.txt");
  WriteFile(bad_list, Upper(kBadSha256) + "  sub/bad.bin\n# end\n");
  json add = OkJson({"hashset", "add", bad_list, "--name", "lab-bad",
                     "--meaning", "known-bad", "--category", "1", "--source",
                     "lab", "--actor", "Anna de Vries"});
  EXPECT_EQ(add["counts"]["sha256"], 1);
  EXPECT_EQ(add["format"], "plain");
  std::string good_list = tmp_.Join("good.hashdeep");
  WriteFile(good_list, std::string("%%%% HASHDEEP-1.0\n"
                                   "%%%% size,md5,filename\n"
                                   "## test\n13,") +
                           kGoodMd5 + ",good.txt\n");
  json add2 = OkJson({"hashset", "add", good_list, "--name", "os-good",
                      "--meaning", "known-good"});
  EXPECT_EQ(add2["format"], "hashdeep");
  EXPECT_EQ(add2["counts"]["md5"], 1);

  // Acquire: a WARNING on stderr naming the file, and the hit in --json.
  RunResult acq =
      Cli({"--json", "acquire", tmp_.Join("evidence"), "--case", "C-1",
           "--actor", "Anna de Vries", "--exhibit", "EXH-1", "--md5"});
  ASSERT_EQ(acq.exit_code, 0) << Describe(acq);
  EXPECT_THAT(acq.err,
              HasSubstr("WARNING: KNOWN-BAD FILE in EXH-1: sub/bad.bin "
                        "matches hash set lab-bad (category 1, sha256 " +
                        std::string(kBadSha256)));
  json aj = json::parse(acq.out, nullptr, false);
  ASSERT_FALSE(aj.is_discarded()) << acq.out;
  ASSERT_EQ(aj["items"][0]["known_bad"].size(), 1u);
  json hit = aj["items"][0]["known_bad"][0];
  EXPECT_EQ(hit["set"], "lab-bad");
  EXPECT_EQ(hit["path"], "sub/bad.bin");
  EXPECT_EQ(hit["hash"], kBadSha256);
  EXPECT_EQ(aj["items"][0]["known_good"], 1);
  uint64_t seq = hit["event"];
  EXPECT_GT(seq, 0u);

  // The signed `analysed` event names set, category, algorithm and hash.
  json log = OkJson({"log"});
  bool found = false;
  for (const auto& e : log) {
    const json& ev = e.contains("event") ? e["event"] : e;
    if (ev.value("type", "") != "analysed") continue;
    found = true;
    EXPECT_EQ(ev["details"]["hashset"], "lab-bad");
    EXPECT_EQ(ev["details"]["category"], "1");
    EXPECT_EQ(ev["details"]["algorithm"], "sha256");
    EXPECT_EQ(ev["details"]["hash"], kBadSha256);
    EXPECT_EQ(ev["actor"]["name"], "Anna de Vries");
    EXPECT_EQ(ev["items"][0]["sha256"], kBadSha256);
  }
  EXPECT_TRUE(found) << log.dump();

  // search --known-bad: exactly the bad file; --not-known-good: all but
  // good.txt.
  json kb = OkJson({"search", "--known-bad"});
  ASSERT_EQ(kb.size(), 1u) << kb.dump();
  EXPECT_EQ(kb[0]["path"], "sub/bad.bin");
  EXPECT_EQ(kb[0]["known_bad"], "lab-bad:1");
  json ng = OkJson({"search", "--not-known-good", "--case", "C-1"});
  std::vector<std::string> paths;
  for (const auto& it : ng) paths.push_back(it.value("path", ""));
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{"other.txt", "sub/bad.bin"}));

  // lookup; VICS export imports back as an equal set.
  json lk = OkJson({"hashset", "lookup", kBadSha256, kGoodMd5});
  EXPECT_EQ(lk[0]["matches"][0]["set"], "lab-bad");
  EXPECT_EQ(lk[1]["matches"][0]["meaning"], "known-good");
  std::string vics = tmp_.Join("export.json");
  Ok({"--repo", repo_, "hashset", "export", "lab-bad", "--format", "vics", "-o",
      vics});
  EXPECT_THAT(ReadFile(vics), HasSubstr("\"@odata.context\""));
  Ok({"--repo", repo_, "hashset", "add", vics, "--name", "lab-bad-2",
      "--meaning", "known-bad"});
  lk = OkJson({"hashset", "lookup", kBadSha256});
  ASSERT_EQ(lk[0]["matches"].size(), 2u);
  EXPECT_EQ(lk[0]["matches"][1]["category"], "1");

  // Everything above verifies.
  RunResult v = Cli({"verify"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

TEST_F(HashsetCliTest, MalformedSetIsRefusedAndChangesNothing) {
  std::string bad = tmp_.Join("bad.json");
  WriteFile(
      bad,
      "{\"@odata.context\":\"x\",\"value\":[{\"MediaID\":1,\"MD5\":\"zz\"}");
  std::string before = Cli({"--json", "log"}).out;
  RunResult r =
      Cli({"hashset", "add", bad, "--name", "v", "--meaning", "known-bad"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("bad.json: media #1 (MediaID 1): MD5"));
  EXPECT_EQ(Cli({"--json", "log"}).out, before);
  json list = OkJson({"hashset", "list"});
  EXPECT_TRUE(list.empty()) << list.dump();
  // A set that exists needs --delta; a delta of an absent set is not found.
  std::string plain = tmp_.Join("p.txt");
  WriteFile(plain, std::string(kGoodMd5) + "\n");
  Ok({"--repo", repo_, "hashset", "add", plain, "--name", "p", "--meaning",
      "known-good"});
  EXPECT_EQ(
      Cli({"hashset", "add", plain, "--name", "p", "--meaning", "known-good"})
          .exit_code,
      6);
  EXPECT_EQ(Cli({"hashset", "add", plain, "--name", "q", "--meaning",
                 "known-good", "--delta"})
                .exit_code,
            3);
  // Delta with a removal list, then compact and remove: each is an event.
  Ok({"--repo", repo_, "hashset", "add", plain, "--name", "p", "--meaning",
      "known-good", "--delta", "--remove-list", plain});
  json l = OkJson({"hashset", "list"});
  EXPECT_EQ(l[0]["counts"]["md5"], 1);  // removed, then re-added
  json c = OkJson({"hashset", "compact"});
  EXPECT_EQ(c["compacted"][0], "p");
  Ok({"--repo", repo_, "hashset", "remove", "p"});
  EXPECT_TRUE(OkJson({"hashset", "list"}).empty());
  RunResult v = Cli({"verify"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

}  // namespace
}  // namespace custos::testing
