// `custos export case` through the real binary, checked by
// ../shared/tools/case-validate (the CASE/UCO 1.4.0 ontology's own SHACL
// shapes, run offline with Apache Jena): a case that went through acquire ->
// analysed -> transferred -> received must conform, and a deliberately
// broken copy (a hash without its hashMethod) must not. About 10-40 s per
// validation, hence the `slow` label. Skips when java is not installed.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/testing.h"
#include "tests/integration/harness.h"

namespace custos::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

std::string Unique(const std::string& stem) {
  return stem + "-" + std::to_string(::getpid()) + ".json";
}

class CaseExportTest : public ::testing::Test {
 protected:
  RunResult C(std::vector<std::string> args) {
    args.insert(args.begin(), {"--repo", repo_});
    return RunCustos(args);
  }
  void Ok(std::vector<std::string> args) {
    RunResult r = C(args);
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }
  // validate.sh on one file (its cache of the converted ontology is shared;
  // report files are named after the file, so names carry the pid).
  RunResult Validate(const std::string& file) {
    return custos::testing::Run(validator_, {file});
  }
  TempDir tmp_;
  std::string repo_ = tmp_.Join("repo");
  std::string validator_ = SharedDir() + "/tools/case-validate/validate.sh";
};

TEST_F(CaseExportTest, CustodyChainConformsToCaseUco) {
  if (!OnPath("java"))
    GTEST_SKIP() << "java not found (default-jre-headless): cannot run "
                    "case-validate";
  if (!fs::exists(validator_)) GTEST_SKIP() << "no " << validator_;
  std::string src = tmp_.Join("usb");
  fs::create_directories(src + "/sub");
  WriteFile(src + "/a.txt", "abc");
  WriteFile(src + "/sub/caf\xc3\xa9.txt", "non-ascii");
  WriteFile(src + "/empty", "");
  WriteFile(tmp_.Join("disk.raw"), std::string(4096, '\0'));
  RunResult init = RunCustos({"init", repo_, "--origin", "example.org/nl-om",
                              "--authority", "Public Prosecution Service"});
  ASSERT_EQ(init.exit_code, 0) << Describe(init);
  Ok({"actor", "add", "A. Examiner", "--role", "examiner"});
  Ok({"actor", "add", "C. Custodian", "--role", "custodian"});
  Ok({"case", "open", "CASE-2026-0042", "--title", "Fraud <&>", "--legal-basis",
      "Art. 94 Sv"});
  Ok({"acquire", src, tmp_.Join("disk.raw"), "--case", "CASE-2026-0042",
      "--actor", "A. Examiner", "--exhibit", "EXH-001", "--exhibit", "EXH-002",
      "--md5", "--sha1"});
  Ok({"event", "add", "--type", "analysed", "--item", "EXH-001", "--actor",
      "A. Examiner", "--note", "triage"});
  Ok({"event", "add", "--type", "transferred", "--item", "EXH-001", "--item",
      "EXH-002", "--actor", "A. Examiner", "--to", "C. Custodian", "--purpose",
      "storage"});
  Ok({"--place", "Evidence room 2", "event", "add", "--type", "received",
      "--item", "EXH-001", "--item", "EXH-002", "--actor", "C. Custodian",
      "--from", "A. Examiner"});

  std::string out = tmp_.Join(Unique("custos-case"));
  RunResult r = C({"export", "case", "--case", "CASE-2026-0042", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json doc = json::parse(ReadFile(out), nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  int actions = 0, records = 0;
  for (const auto& n : doc["@graph"]) {
    if (n["@type"] == "case-investigation:InvestigativeAction") ++actions;
    if (n["@type"] == "case-investigation:ProvenanceRecord") ++records;
  }
  EXPECT_EQ(actions,
            6);  // opened, acquired x2, analysed, transferred, received
  // EXH-001: acquired, analysed, transferred, received; EXH-002: 3.
  EXPECT_EQ(records, 7);

  RunResult v = Validate(out);
  ASSERT_NE(v.exit_code, 2) << "case-validate could not run: " << Describe(v);
  EXPECT_THAT(v.out, HasSubstr("conforms=true")) << Describe(v);
  EXPECT_EQ(v.exit_code, 0) << Describe(v);

  // Negative control: the first hash loses its hashMethod.
  bool broke = false;
  for (auto& n : doc["@graph"]) {
    if (!n.contains("uco-core:hasFacet")) continue;
    for (auto& f : n["uco-core:hasFacet"])
      if (f.contains("uco-observable:hash") && !broke) {
        f["uco-observable:hash"][0].erase("uco-types:hashMethod");
        broke = true;
      }
  }
  ASSERT_TRUE(broke);
  std::string bad = tmp_.Join(Unique("custos-case-broken"));
  WriteFile(bad, doc.dump(1));
  v = Validate(bad);
  EXPECT_THAT(v.out, HasSubstr("conforms=false")) << Describe(v);
  EXPECT_EQ(v.exit_code, 1) << Describe(v);
}

}  // namespace
}  // namespace custos::testing
