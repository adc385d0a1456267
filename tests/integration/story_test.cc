// The user's story end to end through the real `custos` binary: a repository
// is created, people are registered, a case is opened, a directory full of
// awkward entries and a single file are acquired, custody passes from hand to
// hand, and every proof the log hands out is checked twice: by `custos
// verify-receipt` and by tlogverify, an independent verifier built on Go's
// golang.org/x/mod (path from $TLOGVERIFY).
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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

namespace custos::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr char kOrigin[] = "example.org/nl-om";
constexpr char kAbcSha256[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kAbcMd5[] = "900150983cd24fb0d6963f7d28e17f72";
constexpr char kAbcSha1[] = "a9993e364706816aba3e25717850c26c9cd0d89d";
constexpr char kEmptySha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// SHA-256 of "The quick brown fox jumps over the lazy dog".
constexpr char kFox[] = "The quick brown fox jumps over the lazy dog";
constexpr char kFoxSha256[] =
    "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592";
constexpr char kFoxMd5[] = "9e107d9d372bb6826bd81d3542a419d6";
constexpr char kFoxSha1[] = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12";

json ParseJson(const RunResult& r) {
  json j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << Describe(r);
  return j;
}

// Decodes standard base64 (with padding); enough for tests.
std::string B64Decode(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=') break;
    auto pos = kAlphabet.find(c);
    if (pos == std::string::npos) continue;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

// A repository with the whole story in it.
class StoryTest : public ::testing::Test {
 protected:
  RunResult C(std::vector<std::string> args) {
    args.insert(args.begin(), {"--repo", repo_});
    return RunCustos(args);
  }
  // Runs custos with --json, expects exit 0, returns the parsed output.
  json CJ(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    RunResult r = C(args);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    return ParseJson(r);
  }

  // Builds the story; the tests then look at it from several sides.
  void BuildStory() {
    RunResult r = RunCustos({"--json", "init", repo_, "--origin", kOrigin,
                             "--authority", "Openbaar Ministerie"});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    json init = ParseJson(r);
    EXPECT_EQ(init["origin"], kOrigin);
    vkey_ = init["vkey"].get<std::string>();
    EXPECT_EQ(vkey_.rfind(std::string(kOrigin) + "+", 0), 0u) << vkey_;

    json examiner = CJ({"actor", "add", "Anna de Vries", "--role", "examiner"});
    json custodian = CJ({"actor", "add", "Bram Jansen", "--role", "custodian"});
    ASSERT_TRUE(examiner.contains("id"));
    examiner_id_ = examiner["id"].get<std::string>();
    custodian_id_ = custodian["id"].get<std::string>();
    EXPECT_EQ(examiner["role"], "examiner");
    EXPECT_EQ(custodian["role"], "custodian");
    EXPECT_NE(examiner_id_, custodian_id_);
    EXPECT_TRUE(fs::exists(repo_ + "/keys/actors/" + examiner_id_ + ".key"));

    json kase = CJ({"case", "open", "CASE-2026-0042", "--title", "Fraude",
                    "--legal-basis", "art. 94 Sv", "--iccs", "0701"});
    EXPECT_EQ(kase["id"], "CASE-2026-0042");

    // The source directory: awkward names, nested dirs, special files.
    src_ = tmp_.Join("usb");
    fs::create_directories(src_ + "/docs/2026/q1");
    ASSERT_NO_FATAL_FAILURE(
        WriteFile(src_ + "/docs/2026/q1/report.txt", "abc"));
    ASSERT_NO_FATAL_FAILURE(
        WriteFile(src_ + "/copy-of-report.txt", "abc"));  // duplicate
    ASSERT_NO_FATAL_FAILURE(WriteFile(src_ + "/empty.bin", ""));
    ASSERT_NO_FATAL_FAILURE(
        WriteFile(src_ + "/caf\xe9.txt", "latin-1 name"));  // not UTF-8
    ASSERT_NO_FATAL_FAILURE(
        WriteFile(src_ + "/two\nlines.txt", "newline name"));
    ASSERT_EQ(::symlink("/nonexistent/secret", (src_ + "/link").c_str()), 0);
    ASSERT_EQ(::mkfifo((src_ + "/pipe").c_str(), 0600),
              0);  // would block if read
    single_ = tmp_.Join("single.txt");
    ASSERT_NO_FATAL_FAILURE(WriteFile(single_, kFox));

    json dir = CJ({"acquire", src_, "--case", "CASE-2026-0042", "--actor",
                   "Anna de Vries", "--exhibit", "EXH-001", "--description",
                   "USB stick"});
    ASSERT_EQ(dir["items"].size(), 1u) << dir.dump(2);
    dir_item_ = dir["items"][0];
    json file = CJ({"acquire", single_, "--case", "CASE-2026-0042", "--actor",
                    examiner_id_, "--exhibit", "EXH-002", "--md5", "--sha1"});
    ASSERT_EQ(file["items"].size(), 1u) << file.dump(2);
    file_item_ = file["items"][0];

    json t = CJ({"event", "add", "--type", "transferred", "--item", "EXH-001",
                 "--item", "EXH-002", "--actor", "Anna de Vries", "--to",
                 "Bram Jansen", "--purpose", "storage"});
    json rcv =
        CJ({"event", "add", "--type", "received", "--item", "EXH-001", "--item",
            "EXH-002", "--actor", "Bram Jansen", "--from", "Anna de Vries"});
    json acc = CJ({"event", "add", "--type", "accessed", "--item", "EXH-002",
                   "--actor", "Bram Jansen", "--note", "inspected seal"});
    transferred_seq_ = t["seq"].get<uint64_t>();
    received_seq_ = rcv["seq"].get<uint64_t>();
    accessed_seq_ = acc["seq"].get<uint64_t>();
  }

  // Sizes of the stored checkpoints (DIR/log/checkpoints/<size>).
  std::vector<uint64_t> CheckpointSizes() {
    std::vector<uint64_t> sizes;
    for (const auto& e : fs::directory_iterator(repo_ + "/log/checkpoints"))
      sizes.push_back(std::stoull(e.path().filename().string()));
    std::sort(sizes.begin(), sizes.end());
    return sizes;
  }

  TempDir tmp_;
  std::string repo_ = tmp_.Join("repo");
  std::string src_, single_, vkey_, examiner_id_, custodian_id_;
  json dir_item_, file_item_;
  uint64_t transferred_seq_ = 0, received_seq_ = 0, accessed_seq_ = 0;
};

TEST_F(StoryTest, AcquisitionRecordsEverythingAndStoresContentOnce) {
  ASSERT_NO_FATAL_FAILURE(BuildStory());

  // The single file with MD5 and SHA-1 from the same read.
  EXPECT_EQ(file_item_["kind"], "file");
  EXPECT_EQ(file_item_["sha256"], kFoxSha256);
  EXPECT_EQ(file_item_["md5"], kFoxMd5);
  EXPECT_EQ(file_item_["sha1"], kFoxSha1);
  EXPECT_EQ(file_item_["size"], std::string(kFox).size());
  EXPECT_EQ(file_item_["exhibit"], "EXH-002");

  // The directory: 1 root + 3 dirs + 5 files + symlink + fifo = 11 entries;
  // the symlink and the FIFO are recorded, not read.
  EXPECT_EQ(dir_item_["kind"], "directory");
  EXPECT_EQ(dir_item_["entries"], 11) << dir_item_.dump(2);
  EXPECT_EQ(dir_item_["files"], 5) << dir_item_.dump(2);
  EXPECT_EQ(dir_item_["bytes"], 3 + 3 + 0 + 12 + 12) << dir_item_.dump(2);
  EXPECT_TRUE(dir_item_["unreadable"].empty()) << dir_item_.dump(2);

  // Blobs: "abc" (twice in the tree, stored once), "", the two named files,
  // the fox and the manifest.
  size_t blobs = 0;
  std::set<std::string> names;
  for (const auto& e :
       fs::recursive_directory_iterator(repo_ + "/blobs/sha256"))
    if (e.is_regular_file())
      ++blobs, names.insert(e.path().filename().string());
  EXPECT_EQ(blobs, 6u);
  EXPECT_TRUE(names.count(kAbcSha256));
  EXPECT_TRUE(names.count(kEmptySha256));
  EXPECT_TRUE(names.count(kFoxSha256));
  std::string manifest_hex = dir_item_["sha256"].get<std::string>();
  ASSERT_TRUE(names.count(manifest_hex));
  EXPECT_EQ(ReadFile(repo_ + "/blobs/sha256/ba/78/" + kAbcSha256), "abc");
  EXPECT_EQ(ReadFile(repo_ + "/blobs/sha256/d7/a8/" + kFoxSha256), kFox);
  struct stat st;
  ASSERT_EQ(::stat((repo_ + "/blobs/sha256/ba/78/" + kAbcSha256).c_str(), &st),
            0);
  EXPECT_EQ(st.st_mode & 0222, 0u) << "blob files are read-only";

  // The manifest lists every entry with its raw name bytes.
  std::string manifest =
      ReadFile(repo_ + "/blobs/sha256/" + manifest_hex.substr(0, 2) + "/" +
               manifest_hex.substr(2, 2) + "/" + manifest_hex);
  ASSERT_FALSE(manifest.empty());
  EXPECT_EQ(manifest.back(), '\n');
  std::map<std::string, json> by_path;  // raw path -> entry
  std::istringstream lines(manifest);
  for (std::string line; std::getline(lines, line);) {
    json e = json::parse(line, nullptr, false);
    ASSERT_FALSE(e.is_discarded()) << line;
    by_path[B64Decode(e["path_b64"].get<std::string>())] = e;
  }
  EXPECT_EQ(by_path.size(), 11u);
  ASSERT_TRUE(by_path.count("caf\xe9.txt"));
  EXPECT_EQ(by_path["caf\xe9.txt"]["kind"], "file");
  EXPECT_TRUE(by_path["caf\xe9.txt"].contains("item"));
  ASSERT_TRUE(by_path.count("two\nlines.txt"));
  EXPECT_EQ(by_path["two\nlines.txt"]["path"], "two\\nlines.txt");
  ASSERT_TRUE(by_path.count("empty.bin"));
  EXPECT_EQ(by_path["empty.bin"]["size"], 0);
  EXPECT_EQ(by_path["empty.bin"]["sha256"], kEmptySha256);
  ASSERT_TRUE(by_path.count("docs/2026/q1/report.txt"));
  EXPECT_EQ(by_path["docs/2026/q1/report.txt"]["sha256"], kAbcSha256);
  EXPECT_EQ(by_path["copy-of-report.txt"]["sha256"], kAbcSha256);
  for (const char* d : {"docs", "docs/2026", "docs/2026/q1"}) {
    ASSERT_TRUE(by_path.count(d)) << d;
    EXPECT_EQ(by_path[d]["kind"], "directory");
  }
  ASSERT_TRUE(by_path.count("link"));
  EXPECT_EQ(by_path["link"]["kind"], "symlink");
  EXPECT_EQ(B64Decode(by_path["link"]["target_b64"].get<std::string>()),
            "/nonexistent/secret");
  EXPECT_FALSE(by_path["link"].contains("sha256"));
  EXPECT_FALSE(by_path["link"].contains("item"));
  ASSERT_TRUE(by_path.count("pipe"));
  EXPECT_EQ(by_path["pipe"]["kind"], "fifo");
  EXPECT_FALSE(by_path["pipe"].contains("sha256"));
  EXPECT_FALSE(by_path["pipe"].contains("item"));
  EXPECT_FALSE(by_path["pipe"].contains("error"));

  // Every file in the directory is an item of its own, child of EXH-001.
  json all = CJ({"items", "--all"});
  ASSERT_TRUE(all.is_array());
  int children = 0;
  for (const auto& it : all) {
    if (it.value("parent", "") != dir_item_["id"]) continue;
    ++children;
    EXPECT_EQ(it["exhibit"], "EXH-001");
  }
  EXPECT_EQ(children, 5);
  json top = CJ({"items"});
  EXPECT_EQ(top.size(), 2u) << top.dump(2);

  RunResult v = C({"--json", "verify"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
  json vj = ParseJson(v);
  EXPECT_EQ(vj["ok"], true);
  EXPECT_TRUE(vj["problems"].empty());
  EXPECT_EQ(vj["blobs"], 6);
}

TEST_F(StoryTest, CustodyChainIsVisibleInLogAndShow) {
  ASSERT_NO_FATAL_FAILURE(BuildStory());
  // Events: 0 created, 1-2 actors, 3 case, 4-5 acquisitions, 6-8 custody.
  json log = CJ({"log"});
  ASSERT_TRUE(log.is_array());
  ASSERT_EQ(log.size(), 9u);
  std::vector<std::string> types;
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i]["seq"], i);
    EXPECT_EQ(log[i]["event"]["seq"], i);
    EXPECT_EQ(log[i]["event"]["origin"], kOrigin);
    EXPECT_EQ(log[i]["event"]["sig"]["alg"], "ed25519");
    types.push_back(log[i]["event"]["type"].get<std::string>());
  }
  EXPECT_EQ(types, (std::vector<std::string>{
                       "repository_created", "actor_registered",
                       "actor_registered", "case_opened", "acquired",
                       "acquired", "transferred", "received", "accessed"}));
  EXPECT_EQ(transferred_seq_, 6u);
  EXPECT_EQ(received_seq_, 7u);
  EXPECT_EQ(accessed_seq_, 8u);

  // The chain of EXH-002: acquired -> transferred -> received -> accessed,
  // each event's prev the leaf hash of the one before.
  json chain = CJ({"log", "--item", "EXH-002"});
  ASSERT_EQ(chain.size(), 4u) << chain.dump(2);
  std::string prev;
  for (const auto& e : chain) {
    const json& ev = e["event"];
    json mine;
    for (const auto& it : ev["items"])
      if (it["exhibit"] == "EXH-002") mine = it;
    ASSERT_FALSE(mine.is_null()) << ev.dump();
    EXPECT_EQ(mine["prev"], prev) << "event #" << e["seq"];
    EXPECT_EQ(mine["sha256"], kFoxSha256);
    prev = e["leaf_hash"].get<std::string>();
  }
  EXPECT_EQ(chain[0]["event"]["type"], "acquired");
  EXPECT_EQ(chain[0]["event"]["details"]["md5"], kFoxMd5);
  EXPECT_EQ(chain[0]["event"]["details"]["sha1"], kFoxSha1);
  EXPECT_EQ(chain[1]["event"]["type"], "transferred");
  EXPECT_EQ(chain[1]["event"]["to"], "Bram Jansen");
  EXPECT_EQ(chain[1]["event"]["purpose"], "storage");
  EXPECT_EQ(chain[1]["event"]["actor"]["id"], examiner_id_);
  EXPECT_EQ(chain[2]["event"]["type"], "received");
  EXPECT_EQ(chain[2]["event"]["from"], "Anna de Vries");
  EXPECT_EQ(chain[2]["event"]["actor"]["id"], custodian_id_);
  EXPECT_EQ(chain[3]["event"]["type"], "accessed");
  EXPECT_EQ(chain[3]["event"]["note"], "inspected seal");

  json dir_chain = CJ({"log", "--item", "EXH-001"});
  EXPECT_EQ(dir_chain.size(), 3u) << dir_chain.dump(2);

  // The acquisition event commits to the source path as raw bytes.
  EXPECT_EQ(
      B64Decode(chain[0]["event"]["details"]["source_b64"].get<std::string>()),
      single_);

  json show = CJ({"show", "EXH-002"});
  EXPECT_EQ(show["sha256"], kFoxSha256);
  EXPECT_EQ(show["md5"], kFoxMd5);
  EXPECT_EQ(show["sha1"], kFoxSha1);
  EXPECT_EQ(show["events"], json({5, 6, 7, 8}));
  EXPECT_EQ(show["latest_event"], 8);
  EXPECT_EQ(show["children"], 0);
  json show_dir = CJ({"show", "EXH-001"});
  EXPECT_EQ(show_dir["kind"], "directory");
  EXPECT_EQ(show_dir["children"], 5);
  EXPECT_EQ(show_dir["events"], json({4, 6, 7}));

  json show_event = CJ({"show", "#6"});
  EXPECT_EQ(show_event["seq"], 6);
  EXPECT_EQ(show_event["event"]["type"], "transferred");
  EXPECT_EQ(show_event["event"]["items"].size(), 2u);

  // The human form of log names the people and the recipient.
  RunResult text = C({"log", "--item", "EXH-002"});
  ASSERT_EQ(text.exit_code, 0) << Describe(text);
  EXPECT_THAT(text.out, HasSubstr("transferred"));
  EXPECT_THAT(text.out, HasSubstr("-> Bram Jansen"));

  json cp = CJ({"checkpoint"});
  EXPECT_EQ(cp["size"], 9);
  EXPECT_EQ(cp["origin"], kOrigin);
  EXPECT_EQ(CheckpointSizes(),
            (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));

  json v = CJ({"verify"});
  EXPECT_EQ(v["ok"], true) << v.dump(2);
  EXPECT_EQ(v["events"], 9);
  EXPECT_EQ(v["checkpoints"], 9);
}

TEST_F(StoryTest, ReceiptsVerifyOfflineAndOnlyForTheRightKeyAndBytes) {
  ASSERT_NO_FATAL_FAILURE(BuildStory());
  std::string receipt = tmp_.Join("event6.tlog-proof");
  RunResult p = C({"prove", "6", "-o", receipt});
  ASSERT_EQ(p.exit_code, 0) << Describe(p);
  ASSERT_THAT(ReadFile(receipt), HasSubstr("c2sp.org/tlog-proof@v1\n"));
  std::string vkey_file = repo_ + "/keys/log.vkey";

  // No repository needed: run from anywhere, with only the vkey.
  RunResult ok =
      RunCustos({"verify-receipt", receipt, "--vkey", "@" + vkey_file});
  EXPECT_EQ(ok.exit_code, 0) << Describe(ok);
  EXPECT_THAT(ok.out, HasSubstr("OK: event #6"));
  RunResult okj =
      RunCustos({"--json", "verify-receipt", receipt, "--vkey", vkey_});
  ASSERT_EQ(okj.exit_code, 0) << Describe(okj);
  json oj = ParseJson(okj);
  EXPECT_EQ(oj["ok"], true);
  EXPECT_EQ(oj["index"], 6);
  EXPECT_EQ(oj["event"]["type"], "transferred");

  // A vkey of another repository (same origin!) does not verify it.
  std::string other = tmp_.Join("other");
  RunResult init =
      RunCustos({"init", other, "--origin", kOrigin, "--authority", "Other"});
  ASSERT_EQ(init.exit_code, 0) << Describe(init);
  RunResult wrong = RunCustos(
      {"verify-receipt", receipt, "--vkey", "@" + other + "/keys/log.vkey"});
  EXPECT_EQ(wrong.exit_code, 1) << Describe(wrong);
  EXPECT_THAT(wrong.out, HasSubstr("FAILED"));

  // The bytes of another event do not match the proof.
  json p7 = CJ({"prove", "7"});
  std::string other_bytes = tmp_.Join("event7.json");
  ASSERT_NO_FATAL_FAILURE(
      WriteFile(other_bytes, B64Decode(p7["event_bytes_b64"])));
  RunResult swapped =
      RunCustos({"verify-receipt", receipt, "--vkey", "@" + vkey_file,
                 "--event-bytes", other_bytes});
  EXPECT_EQ(swapped.exit_code, 1) << Describe(swapped);
  // ... while the event's own bytes given separately do.
  json p6 = CJ({"prove", "6"});
  std::string own_bytes = tmp_.Join("event6.json");
  ASSERT_NO_FATAL_FAILURE(
      WriteFile(own_bytes, B64Decode(p6["event_bytes_b64"])));
  RunResult own = RunCustos({"verify-receipt", receipt, "--vkey",
                             "@" + vkey_file, "--event-bytes", own_bytes});
  EXPECT_EQ(own.exit_code, 0) << Describe(own);
  // One altered byte in the event's canonical bytes.
  std::string altered = B64Decode(p6["event_bytes_b64"]);
  altered[altered.find("Bram")] = 'b';
  ASSERT_NO_FATAL_FAILURE(WriteFile(own_bytes, altered));
  RunResult alt = RunCustos({"verify-receipt", receipt, "--vkey",
                             "@" + vkey_file, "--event-bytes", own_bytes});
  EXPECT_EQ(alt.exit_code, 1) << Describe(alt);
}

// tlogverify requests and checks.
class IndependentVerification : public StoryTest {
 protected:
  void SetUp() override {
    tlv_ = TlogverifyBin();
    if (tlv_.empty()) {
      if (std::getenv("CI") != nullptr)
        FAIL() << "TLOGVERIFY is not set; CI must build "
                  "/work/shared/tools/tlogverify";
      GTEST_SKIP() << "TLOGVERIFY is not set: independent verification skipped";
    }
  }
  // Runs `tlogverify cmd` with `request` on stdin; returns the exit code.
  int Tlv(const std::string& cmd, const json& request,
          std::string* out = nullptr) {
    RunResult r = custos::testing::Run(tlv_, {cmd}, {}, request.dump());
    if (out) *out = Describe(r);
    return r.exit_code;
  }
  std::string tlv_;
};

// The proof hashes of a c2sp.org/tlog-proof@v1 text (lines after "index").
std::vector<std::string> ProofLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  bool in_proof = false;
  while (std::getline(in, line)) {
    if (line.rfind("index ", 0) == 0) {
      in_proof = true;
      continue;
    }
    if (!in_proof) continue;
    if (line.empty()) break;
    out.push_back(line);
  }
  return out;
}

TEST_F(IndependentVerification,
       TlogverifyAcceptsEveryCheckpointReceiptAndProof) {
  ASSERT_NO_FATAL_FAILURE(BuildStory());
  std::string detail;

  // The latest checkpoint, as printed by `custos checkpoint`.
  RunResult cp = C({"checkpoint"});
  ASSERT_EQ(cp.exit_code, 0) << Describe(cp);
  json creq = {
      {"checkpoint", cp.out}, {"log_vkeys", {vkey_}}, {"origin", kOrigin}};
  EXPECT_EQ(Tlv("checkpoint", creq, &detail), 0) << detail;
  // Control: the wrong origin is rejected, so a pass above means something.
  creq["origin"] = "example.org/other";
  EXPECT_EQ(Tlv("checkpoint", creq, &detail), 1) << detail;

  json latest = CJ({"checkpoint"});
  uint64_t n = latest["size"].get<uint64_t>();
  ASSERT_EQ(n, 9u);
  std::vector<json> proofs;
  for (uint64_t i = 0; i < n; ++i)
    proofs.push_back(CJ({"prove", std::to_string(i)}));
  for (uint64_t i = 0; i < n; ++i) {
    SCOPED_TRACE("event #" + std::to_string(i));
    const json& p = proofs[i];
    ASSERT_EQ(p["index"], i);
    EXPECT_EQ(p["tree_size"], n);
    std::string b64 = p["event_bytes_b64"].get<std::string>();
    std::string receipt = p["receipt"].get<std::string>();
    json treq = {{"proof_text", receipt},
                 {"log_vkeys", {vkey_}},
                 {"origin", kOrigin},
                 {"leaf_data_b64", b64}};
    EXPECT_EQ(Tlv("tlog-proof", treq, &detail), 0) << detail;

    // The same inclusion proof checked against the latest checkpoint.
    json ireq = {{"checkpoint", latest["note"]},
                 {"log_vkeys", {vkey_}},
                 {"origin", kOrigin},
                 {"index", i},
                 {"leaf_data_b64", b64},
                 {"proof", ProofLines(receipt)}};
    EXPECT_EQ(Tlv("inclusion", ireq, &detail), 0) << detail;

    // Control: the bytes of a neighbouring event are refused.
    treq["leaf_data_b64"] = proofs[(i + 1) % n]["event_bytes_b64"];
    EXPECT_EQ(Tlv("tlog-proof", treq, &detail), 1) << detail;
  }
  // The receipt file written by -o is the same text, and tlogverify takes it.
  std::string file = tmp_.Join("r4");
  RunResult o = C({"prove", "4", "-o", file});
  ASSERT_EQ(o.exit_code, 0) << Describe(o);
  EXPECT_EQ(ReadFile(file), proofs[4]["receipt"].get<std::string>());
  json freq = {{"proof_text", ReadFile(file)},
               {"log_vkeys", {vkey_}},
               {"leaf_data_b64", proofs[4]["event_bytes_b64"]}};
  EXPECT_EQ(Tlv("tlog-proof", freq, &detail), 0) << detail;

  // Consistency between every pair of stored checkpoints.
  std::vector<uint64_t> sizes = CheckpointSizes();
  ASSERT_GE(sizes.size(), 9u);
  int pairs = 0;
  for (size_t a = 0; a < sizes.size(); ++a) {
    for (size_t b = a + 1; b < sizes.size(); ++b) {
      SCOPED_TRACE("consistency " + std::to_string(sizes[a]) + " -> " +
                   std::to_string(sizes[b]));
      json c = CJ({"prove", "--consistency", std::to_string(sizes[a]),
                   std::to_string(sizes[b])});
      ASSERT_EQ(c["old_size"], sizes[a]);
      ASSERT_EQ(c["new_size"], sizes[b]);
      ASSERT_FALSE(c["old_checkpoint"].get<std::string>().empty());
      ASSERT_FALSE(c["new_checkpoint"].get<std::string>().empty());
      json req = {{"old",
                   {{"checkpoint", c["old_checkpoint"]},
                    {"log_vkeys", {vkey_}},
                    {"origin", kOrigin}}},
                  {"new",
                   {{"checkpoint", c["new_checkpoint"]},
                    {"log_vkeys", {vkey_}},
                    {"origin", kOrigin}}},
                  {"proof", c["proof"]}};
      EXPECT_EQ(Tlv("consistency", req, &detail), 0) << detail;
      ++pairs;
    }
  }
  EXPECT_EQ(pairs, static_cast<int>(sizes.size() * (sizes.size() - 1) / 2));

  // Control: a consistency proof between two checkpoints, swapped, fails.
  json c = CJ({"prove", "--consistency", "3", "7"});
  json bad = {
      {"old", {{"checkpoint", c["old_checkpoint"]}, {"log_vkeys", {vkey_}}}},
      {"new",
       {{"checkpoint", CJ({"checkpoint", "--size", "8"})["note"]},
        {"log_vkeys", {vkey_}}}},
      {"proof", c["proof"]}};
  EXPECT_EQ(Tlv("consistency", bad, &detail), 1) << detail;

  RunResult v = C({"--json", "verify"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
  EXPECT_EQ(ParseJson(v)["ok"], true);
}

}  // namespace
}  // namespace custos::testing
