// Tags and the known-file lists of tagged items through the real `custos`
// binary (docs/formats/event.md "Tags", docs/formats/exports.md "Tagged
// items as known-file lists"): tag two of four acquired files, export them as
// hashdeep and VICS, import each export as a hash set and see exactly the
// tagged files' digests (computed with coreutils) and nothing else; untag
// one and see it gone from the next export while the log keeps both events;
// refusals (unknown item, bad name, unused tag) that record nothing.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
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

constexpr char kActor[] = "Anna de Vries";

// `tool FILE` (md5sum, sha1sum, sha256sum) -> the lowercase hex digest.
std::string ToolHash(const std::string& tool, const std::string& file) {
  RunResult r = Run("/usr/bin/" + tool, {file});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  return r.out.substr(0, r.out.find(' '));
}

// The digests of a hashdeep list (size,md5,sha1,sha256,filename lines).
std::set<std::string> HashdeepDigests(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '%' || line[0] == '#') continue;
    std::vector<std::string> f;
    size_t pos = 0;
    for (int i = 0; i < 4; ++i) {
      size_t comma = line.find(',', pos);
      if (comma == std::string::npos) break;
      f.push_back(line.substr(pos, comma - pos));
      pos = comma + 1;
    }
    for (size_t i = 1; i < f.size(); ++i)
      if (!f[i].empty()) out.insert(f[i]);
  }
  return out;
}

class TagExportTest : public ::testing::Test, public RepoCli {
 protected:
  void SetUp() override {
    ::unsetenv("CUSTOS_PASSPHRASE");
    ::unsetenv("CUSTOS_REPO");
    repo_ = tmp_.Join("repo");
    Ok({"init", repo_, "--origin", "example.org/test", "--authority", "A"});
    Ok({"--repo", repo_, "actor", "add", kActor, "--role", "examiner"});
    Ok({"--repo", repo_, "case", "open", "C-1", "--title", "t", "--legal-basis",
        "b"});
    ev_ = tmp_.Join("evidence");
    ASSERT_EQ(::system(("mkdir -p " + ev_ + "/sub").c_str()), 0);
    WriteFile(ev_ + "/a.txt", "alpha, tagged\n");
    WriteFile(ev_ + "/b.txt", "bravo, never tagged\n");
    WriteFile(ev_ + "/c.txt", "charlie, never tagged either\n");
    WriteFile(ev_ + "/sub/d.bin", std::string("delta\0bytes,tagged\n", 19));
    Ok({"--repo", repo_, "acquire", ev_, "--case", "C-1", "--actor", kActor,
        "--exhibit", "EXH-1", "--md5", "--sha1"});
    json items = OkJson({"items", "--all"});
    for (const auto& it : items) {
      if (it.contains("path")) ids_[it["path"]] = it["id"];
      if (it["kind"] == "directory") dir_id_ = it["id"];
    }
    ASSERT_EQ(ids_.size(), 4u) << items.dump(1);
  }
  // Every digest coreutils gives for the evidence files at `rels`.
  std::set<std::string> Digests(const std::vector<std::string>& rels) {
    std::set<std::string> out;
    for (const auto& rel : rels)
      for (const char* tool : {"md5sum", "sha1sum", "sha256sum"})
        out.insert(ToolHash(tool, ev_ + "/" + rel));
    return out;
  }
  // Imports `file` as set `name`, exports the set as hashdeep and returns
  // the digests custos now holds in it.
  std::set<std::string> ImportedDigests(const std::string& file,
                                        const std::string& format,
                                        const std::string& name) {
    Ok({"--repo", repo_, "hashset", "add", file, "--format", format, "--name",
        name, "--meaning", "known-bad", "--category", "9", "--actor", kActor});
    RunResult r = Cli({"hashset", "export", name, "--format", "hashdeep"});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    return HashdeepDigests(r.out);
  }
  std::vector<std::string> TaggedIds(const std::string& tag) {
    json j = OkJson({"items", "--property", "tag." + tag + "=tagged"});
    std::vector<std::string> out;
    for (const auto& it : j) out.push_back(it["id"]);
    std::sort(out.begin(), out.end());
    return out;
  }
  TempDir tmp_;
  std::string ev_, dir_id_;
  std::map<std::string, std::string> ids_;  // rel path -> item id
};

TEST_F(TagExportTest, ExportOfTaggedItemsImportsBackAsExactlyThoseDigests) {
  std::string a = ids_["a.txt"], d = ids_["sub/d.bin"];
  json t = OkJson({"tag", a, d, "--tag", "relevant", "--actor", kActor,
                   "--note", "seen on the suspect's desktop"});
  ASSERT_EQ(t["events"].size(), 2u) << t.dump();
  EXPECT_EQ(t["action"], "tag");
  EXPECT_EQ(t["property"], "tag.relevant");
  EXPECT_TRUE(t["unchanged"].empty());
  std::vector<std::string> want = {a, d};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(TaggedIds("relevant"), want);

  // The signed events: one `analysed` per item, by the examiner.
  json log = OkJson({"log", "--item", d});
  int tag_events = 0;
  for (const auto& e : log) {
    const json& ev = e.contains("event") ? e["event"] : e;
    if (ev.value("type", "") != "analysed") continue;
    ++tag_events;
    EXPECT_EQ(ev["details"], (json{{"action", "tag"}, {"tag", "relevant"}}));
    EXPECT_EQ(ev["actor"]["name"], kActor);
    ASSERT_EQ(ev["items"].size(), 1u);
    EXPECT_EQ(ev["items"][0]["id"], d);
    EXPECT_EQ(ev["note"], "seen on the suspect's desktop");
  }
  EXPECT_EQ(tag_events, 1) << log.dump(1);

  // hashdeep: two lines, with size and every digest, named by exhibit/path.
  std::string hd = tmp_.Join("relevant.hashdeep");
  json x = OkJson({"export", "hashdeep", "--tag", "relevant", "-o", hd});
  EXPECT_EQ(x["records"], 2);
  EXPECT_TRUE(x["skipped"].empty());
  std::string text = ReadFile(hd);
  EXPECT_EQ(x["sha256"], ToolHash("sha256sum", hd));
  EXPECT_THAT(text, HasSubstr("%%%% size,md5,sha1,sha256,filename\n"));
  EXPECT_THAT(text, HasSubstr("14," + ToolHash("md5sum", ev_ + "/a.txt") + "," +
                              ToolHash("sha1sum", ev_ + "/a.txt") + "," +
                              ToolHash("sha256sum", ev_ + "/a.txt") +
                              ",EXH-1/a.txt\n"));
  EXPECT_THAT(text, HasSubstr(",EXH-1/sub/d.bin\n"));
  EXPECT_EQ(HashdeepDigests(text), Digests({"a.txt", "sub/d.bin"}));
  EXPECT_EQ(ImportedDigests(hd, "hashdeep", "from-hd"),
            Digests({"a.txt", "sub/d.bin"}));

  // VICS: two media objects with the chosen category; round trip.
  std::string vics = tmp_.Join("relevant.json");
  json xv = OkJson(
      {"export", "vics", "--tag", "relevant", "--category", "2", "-o", vics});
  EXPECT_EQ(xv["records"], 2);
  json doc = json::parse(ReadFile(vics), nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << ReadFile(vics);
  ASSERT_EQ(doc["value"].size(), 2u);
  EXPECT_EQ(doc["value"][0]["Category"], 2);
  EXPECT_EQ(doc["value"][0]["MediaSize"], 14);  // "alpha, tagged\n"
  EXPECT_EQ(doc["value"][0]["MediaFiles"][0]["FilePath"], "EXH-1/a.txt");
  EXPECT_EQ(ImportedDigests(vics, "vics", "from-vics"),
            Digests({"a.txt", "sub/d.bin"}));
  json lk =
      OkJson({"hashset", "lookup", ToolHash("sha256sum", ev_ + "/sub/d.bin"),
              ToolHash("sha256sum", ev_ + "/b.txt")});
  std::set<std::string> cats;
  for (const auto& m : lk[0]["matches"])
    cats.insert(m["set"].get<std::string>() + ":" +
                m["category"].get<std::string>());
  EXPECT_EQ(cats, (std::set<std::string>{"from-hd:9", "from-vics:2"}));
  EXPECT_TRUE(lk[1]["matches"].empty()) << lk.dump();

  // Untag d: its own event; d is gone from the property and the exports.
  json u =
      OkJson({"tag", d, "--tag", "relevant", "--actor", kActor, "--remove"});
  ASSERT_EQ(u["events"].size(), 1u) << u.dump();
  EXPECT_EQ(u["action"], "untag");
  EXPECT_EQ(TaggedIds("relevant"), std::vector<std::string>{a});
  std::string hd2 = tmp_.Join("relevant2.hashdeep");
  json x2 = OkJson({"export", "hashdeep", "--tag", "relevant", "-o", hd2});
  EXPECT_EQ(x2["records"], 1);
  EXPECT_EQ(ImportedDigests(hd2, "hashdeep", "from-hd2"), Digests({"a.txt"}));
  std::string vics2 = tmp_.Join("relevant2.json");
  Ok({"--repo", repo_, "export", "vics", "--tag", "relevant", "-o", vics2});
  EXPECT_EQ(ImportedDigests(vics2, "vics", "from-vics2"), Digests({"a.txt"}));

  // History is not rewritten: d's log holds the tag and the untag.
  std::vector<std::string> actions;
  for (const auto& e : OkJson({"log", "--item", d})) {
    const json& ev = e.contains("event") ? e["event"] : e;
    if (ev.value("type", "") == "analysed")
      actions.push_back(ev["details"]["action"]);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"tag", "untag"}));

  // Tag again: exported again. Then everything verifies.
  Ok({"--repo", repo_, "tag", d, "--tag", "relevant", "--actor", kActor});
  std::string hd3 = tmp_.Join("relevant3.hashdeep");
  Ok({"--repo", repo_, "export", "hashdeep", "--tag", "relevant", "-o", hd3});
  EXPECT_EQ(HashdeepDigests(ReadFile(hd3)), Digests({"a.txt", "sub/d.bin"}));
  RunResult v = Cli({"verify"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

TEST_F(TagExportTest, RefusalsRecordNothing) {
  std::string a = ids_["a.txt"];
  std::string before = Cli({"--json", "log"}).out;

  // An unknown item among known ones: exit 3, nothing recorded.
  RunResult r =
      Cli({"tag", a, "no-such-item", "--tag", "relevant", "--actor", kActor});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("no item \"no-such-item\""));
  // A malformed tag name: exit 2; an unknown actor: exit 3.
  r = Cli({"tag", a, "--tag", "has space", "--actor", kActor});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  r = Cli({"tag", a, "--tag", "ok", "--actor", "Nobody"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_EQ(Cli({"--json", "log"}).out, before);
  EXPECT_TRUE(TaggedIds("relevant").empty());

  // A tag never used: exit 3 and no file.
  std::string out = tmp_.Join("none.hashdeep");
  r = Cli({"export", "hashdeep", "--tag", "relevant", "-o", out});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("no item was ever tagged \"relevant\""));
  EXPECT_EQ(ReadFile(out), "");
  r = Cli({"export", "vics", "--tag", "x", "--category", "one", "-o", out});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);

  // Tagging twice records once; the directory is tagged but not exported.
  RunResult txt = Cli({"tag", a, "--tag", "relevant", "--actor", kActor});
  EXPECT_EQ(txt.exit_code, 0) << Describe(txt);
  EXPECT_THAT(txt.out, HasSubstr("Tagged EXH-1/a.txt (item " + a +
                                 ") relevant: event #"));
  json again =
      OkJson({"tag", a, dir_id_, "--tag", "relevant", "--actor", kActor});
  EXPECT_EQ(again["events"].size(), 1u) << again.dump();
  ASSERT_EQ(again["unchanged"].size(), 1u) << again.dump();
  EXPECT_EQ(again["unchanged"][0]["item"], a);
  RunResult un = Cli({"tag", ids_["b.txt"], "--tag", "relevant", "--actor",
                      kActor, "--remove"});
  EXPECT_EQ(un.exit_code, 0) << Describe(un);
  EXPECT_THAT(un.out, HasSubstr("was not tagged relevant: nothing recorded"));
  json x = OkJson({"export", "hashdeep", "--tag", "relevant", "-o", out});
  EXPECT_EQ(x["records"], 1);
  ASSERT_EQ(x["skipped"].size(), 1u) << x.dump();
  EXPECT_EQ(x["skipped"][0]["item"], dir_id_);
  EXPECT_THAT(x["skipped"][0]["reason"].get<std::string>(),
              HasSubstr("directory"));
  // To stdout: the list itself, the skipped item on stderr.
  RunResult so = Cli({"export", "hashdeep", "--tag", "relevant"});
  EXPECT_EQ(so.exit_code, 0) << Describe(so);
  EXPECT_EQ(so.out, ReadFile(out));
  EXPECT_THAT(so.err, HasSubstr("skipped EXH-1 (item " + dir_id_));
  RunResult v = Cli({"verify"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

}  // namespace
}  // namespace custos::testing
