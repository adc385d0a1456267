// Known-image matching through the real `custos` binary (issue 4): hash
// lists imported in the ThreatExchange forms, `custos match` over a case with
// findings recorded as signed 'analysed' events, a person's review, removal
// of an entry (recorded), export/import round trip, and blurred thumbnails.
// Expected PDQ hashes come from the reference implementation's output in
// ../shared/vectors/pdq/public_pdq.csv, not from custos.
#include <unistd.h>

#include <filesystem>
#include <fstream>
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
using json = nlohmann::json;
using ::testing::HasSubstr;

constexpr char kBridgePdq[] =
    "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

class MatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("CUSTOS_PASSPHRASE");
    ::unsetenv("CUSTOS_REPO");
    images_ = SharedDir() + "/vectors/pdq/images";
    if (!fs::exists(images_)) GTEST_SKIP() << "no " << images_;
    repo_ = tmp_.Join("repo");
    Ok({"init", repo_, "--origin", "example.org/hotline", "--authority",
        "Hotline"});
    Ok({"actor", "add", "Anna de Vries", "--role", "examiner"});
    Ok({"actor", "add", "Bram Jansen", "--role", "investigator"});
    Ok({"case", "open", "C-1", "--title", "T", "--legal-basis", "art. 1"});
    std::string ev = tmp_.Join("evidence");
    fs::create_directories(ev);
    std::string dih = images_ + "/reg-test-input/dih/";
    fs::copy_file(dih + "bridge-1-original.jpg", ev + "/a-original.jpg");
    fs::copy_file(dih + "bridge-2-rotate-90.jpg", ev + "/b-rotated.jpg");
    fs::copy_file(images_ + "/misc-images/c.png", ev + "/c.png");
    WriteFile(ev + "/d-notes.txt", "not an image\n");
    WriteFile(ev + "/e-truncated.jpg",
              ReadFile(dih + "bridge-1-original.jpg").substr(0, 600));
    Ok({"acquire", ev, "--case", "C-1", "--actor", "Anna de Vries", "--exhibit",
        "EXH-1"});
    c_png_sha256_ = Sha256Hex(ev + "/c.png");
  }

  static std::string Sha256Hex(const std::string& path) {
    RunResult r = custos::testing::Run("/usr/bin/sha256sum", {path});
    return r.out.substr(0, 64);
  }

  json Ok(std::vector<std::string> args) {
    args.insert(args.begin(), {"--repo", repo_, "--json"});
    RunResult r = RunCustos(args);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << Describe(r);
    return j;
  }
  RunResult Raw(std::vector<std::string> args) {
    args.insert(args.begin(), {"--repo", repo_});
    return RunCustos(args);
  }
  void ImportLists() {
    WriteFile(tmp_.Join("state.csv"),
              std::string(kBridgePdq) + ",4711,2026-01-05,csam a1\n");
    Ok({"list", "import", tmp_.Join("state.csv"), "--format", "te-state",
        "--name", "baseline", "--meaning", "illegal-international", "--source",
        "NCMEC", "--actor", "Anna de Vries"});
    WriteFile(tmp_.Join("dataset.csv"),
              "signal_type,signal_str,collab,category,tags\n"
              "sha256," +
                  c_png_sha256_ +
                  ",national-unit,B,\n"
                  "url,https://example.org/x,national-unit,B,\n");
    Ok({"list", "import", tmp_.Join("dataset.csv"), "--format", "te-dataset",
        "--name", "national", "--meaning", "illegal-national", "--actor",
        "Anna de Vries"});
  }
  // Result for the file whose label ends in `name`.
  static json ResultFor(const json& out, const std::string& name) {
    for (const auto& r : out["results"])
      if (r["label"].get<std::string>().ends_with(name)) return r;
    ADD_FAILURE() << "no result for " << name << " in " << out.dump(1);
    return json();
  }

  TempDir tmp_;
  std::string repo_, images_, c_png_sha256_;
};

TEST_F(MatchTest, FindingsAreRecordedReviewedAndRemovable) {
  ImportLists();
  json lists = Ok({"list", "show"});
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0]["name"], "baseline");
  EXPECT_EQ(lists[0]["pdq"], 1);
  EXPECT_EQ(lists[1]["exact"], 1);

  json out = Ok({"match", "--case", "C-1", "--actor", "Bram Jansen"});
  json a = ResultFor(out, "a-original.jpg");
  EXPECT_EQ(a["pdq"], kBridgePdq);  // bit-exact with the reference
  ASSERT_EQ(a["findings"].size(), 1u);
  EXPECT_EQ(a["findings"][0]["list"], "baseline");
  EXPECT_EQ(a["findings"][0]["distance"], 0);
  EXPECT_EQ(a["findings"][0]["category"], "csam,a1");
  EXPECT_EQ(a["findings"][0]["source"], "4711");
  // Rotated: far from the original without --dihedral.
  EXPECT_TRUE(ResultFor(out, "b-rotated.jpg")["findings"].empty());
  json c = ResultFor(out, "c.png");
  ASSERT_EQ(c["findings"].size(), 1u);
  EXPECT_EQ(c["findings"][0]["match"], "exact");
  EXPECT_EQ(c["findings"][0]["list"], "national");
  EXPECT_EQ(ResultFor(out, "d-notes.txt")["status"], "not_image");
  EXPECT_EQ(ResultFor(out, "e-truncated.jpg")["status"], "error");
  EXPECT_EQ(out["summary"]["matched"], 2);
  EXPECT_EQ(out["summary"]["errors"], 1);
  ASSERT_EQ(out["summary"]["events"].size(), 2u);
  uint64_t finding_event = a["event"].get<uint64_t>();

  // The finding is a signed 'analysed' event naming list, entry, distance,
  // quality, algorithm and version.
  json log = Ok({"log"});
  json ev;
  for (const auto& e : log)
    if (e["seq"] == finding_event) ev = e["event"];
  ASSERT_FALSE(ev.is_null());
  EXPECT_EQ(ev["type"], "analysed");
  EXPECT_EQ(ev["actor"]["name"], "Bram Jansen");
  EXPECT_EQ(ev["details"]["algorithm"], "pdq");
  EXPECT_EQ(ev["details"]["query"]["pdq"], kBridgePdq);
  EXPECT_EQ(ev["details"]["query"]["quality"], 100);
  EXPECT_EQ(ev["details"]["findings"][0]["entry"], a["findings"][0]["entry"]);

  // --dihedral finds the rotated copy; --no-record leaves the log alone.
  size_t events_before = Ok({"log"}).size();
  json dih = Ok({"match", "--case", "C-1", "--dihedral", "--no-record"});
  json b = ResultFor(dih, "b-rotated.jpg");
  ASSERT_EQ(b["findings"].size(), 1u);
  // public_pdq_dihedral.csv: the reference's rot270 hash of the rotated
  // file is 12 bits from the original's (its plain hash is 118 away).
  EXPECT_EQ(b["findings"][0]["distance"], 12);
  EXPECT_EQ(b["findings"][0]["transform"], "rot270");
  EXPECT_EQ(Ok({"log"}).size(), events_before);

  // A person confirms the finding: its own signed event.
  std::string item = a["item"];
  json review =
      Ok({"finding", "confirm", item, "--event", std::to_string(finding_event),
          "--actor", "Anna de Vries", "--note", "seen; matches the series"});
  EXPECT_EQ(review["decision"], "confirmed");
  RunResult wrong = Raw(
      {"finding", "reject", item, "--event", "0", "--actor", "Anna de Vries"});
  EXPECT_EQ(wrong.exit_code, 2) << Describe(wrong);

  // Removal is recorded and takes effect.
  json rm = Ok({"list", "remove", "baseline", kBridgePdq, "--actor",
                "Anna de Vries", "--reason", "entry was a false positive"});
  ASSERT_EQ(rm["events"].size(), 1u);
  json after = Ok({"match", "--case", "C-1", "--no-record"});
  EXPECT_TRUE(ResultFor(after, "a-original.jpg")["findings"].empty());
  json shown = Ok({"list", "show", "baseline"});
  EXPECT_EQ(shown[0]["live"], 0);
  EXPECT_EQ(shown[0]["removed_entries"], 1);

  EXPECT_EQ(Raw({"verify"}).exit_code, 0);
}

TEST_F(MatchTest, HotlineTriageOfAPlainDirectoryRecordsNothing) {
  ImportLists();
  size_t events_before = Ok({"log"}).size();
  json out = Ok({"match", "--dir", tmp_.Join("evidence"), "--dihedral"});
  EXPECT_EQ(out["summary"]["subjects"], 5);
  EXPECT_EQ(out["summary"]["matched"], 3);
  EXPECT_EQ(ResultFor(out, "a-original.jpg")["findings"][0]["distance"], 0);
  EXPECT_EQ(ResultFor(out, "c.png")["sha256"], c_png_sha256_);
  EXPECT_TRUE(out["summary"]["events"].empty());
  EXPECT_EQ(Ok({"log"}).size(), events_before);
  RunResult missing = Raw({"match", "--dir", tmp_.Join("nowhere")});
  EXPECT_EQ(missing.exit_code, 3) << Describe(missing);
}

TEST_F(MatchTest, ExportThenImportGivesTheSameList) {
  ImportLists();
  RunResult exp = Raw({"list", "export", "national"});
  ASSERT_EQ(exp.exit_code, 0) << Describe(exp);
  EXPECT_EQ(exp.out,
            "kind,hash,quality,category,source,confidence,added\n"
            "sha256," +
                c_png_sha256_ + ",,B,national-unit,,2026-" +
                exp.out.substr(exp.out.rfind(",2026-") + 6));
  WriteFile(tmp_.Join("national.csv"), exp.out);
  Ok({"list", "import", tmp_.Join("national.csv"), "--name", "copy",
      "--meaning", "watch", "--actor", "Anna de Vries"});
  RunResult again = Raw({"list", "export", "copy"});
  EXPECT_EQ(again.out, exp.out);
}

TEST_F(MatchTest, BadListsAreRefusedWholeAndNamed) {
  WriteFile(tmp_.Join("bad.csv"),
            std::string(kBridgePdq) + ",1,2026-01-01,a\nnot-a-hash,2,x,y\n");
  RunResult r =
      Raw({"list", "import", tmp_.Join("bad.csv"), "--format", "te-state",
           "--name", "bad", "--meaning", "watch", "--actor", "Anna de Vries"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("bad.csv: line 2"));
  // Nothing of the bad list is visible or recorded.
  json lists = Ok({"list", "show"});
  for (const auto& l : lists) EXPECT_EQ(l["live"], 0) << l.dump();
  for (const auto& e : Ok({"log"}))
    EXPECT_NE(e["event"]["type"], "list_imported");
  EXPECT_EQ(Raw({"verify"}).exit_code, 0);
}

TEST_F(MatchTest, ThumbnailsAreBlurredGreyUnlessTheOriginalIsRecorded) {
  json items = Ok({"items", "--case", "C-1", "--all"});
  std::string item;
  for (const auto& it : items)
    if (it.value("path", "").ends_with("a-original.jpg")) item = it["id"];
  ASSERT_FALSE(item.empty()) << items.dump(1);
  std::string png = tmp_.Join("t.png");
  json t = Ok({"thumbnail", item, "-o", png});
  EXPECT_EQ(t["blurred"], true);
  std::string bytes = ReadFile(png);
  ASSERT_GT(bytes.size(), 26u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  EXPECT_EQ(bytes[25], 0) << "IHDR colour type must be greyscale";
  size_t events_before = Ok({"log"}).size();
  RunResult refused = Raw({"thumbnail", item, "-o", png, "--original"});
  EXPECT_EQ(refused.exit_code, 2) << Describe(refused);
  json orig = Ok({"thumbnail", item, "-o", png, "--original", "--actor",
                  "Anna de Vries", "--purpose", "victim identification"});
  EXPECT_EQ(ReadFile(png)[25], 2) << "the original is in colour (RGB)";
  json log = Ok({"log"});
  ASSERT_EQ(log.size(), events_before + 1);
  EXPECT_EQ(log.back()["event"]["type"], "accessed");
  EXPECT_EQ(log.back()["event"]["purpose"], "victim identification");
  EXPECT_EQ(log.back()["seq"], orig["event"]);
}

}  // namespace
}  // namespace custos::testing
