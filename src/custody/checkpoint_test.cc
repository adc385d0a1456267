#include "src/custody/checkpoint.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/bytes.h"
#include "testing/testing.h"

namespace custos::custody {
namespace {

using crypto::CosignatureSigner;
using crypto::Ed25519PrivateKey;
using crypto::NoteSigner;
using ::testing::HasSubstr;

constexpr std::string_view kOrigin = "custody.example/ledger-1";

Ed25519PrivateKey TestKey(uint64_t seed) {
  custos::testing::SeededRandom random(seed);
  return Ed25519PrivateKey::Generate(random);
}

crypto::Vkey MustVkey(const std::string& text) {
  auto v = crypto::ParseVkey(text);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.value_or(crypto::Vkey{});
}

Hash32 TestRoot(uint8_t fill) {
  Hash32 h;
  h.fill(fill);
  return h;
}

// A log key and three witnesses, with helpers to sign checkpoints.
class CheckpointNoteTest : public ::testing::Test {
 protected:
  CheckpointNoteTest()
      : log_(std::string(kOrigin), TestKey(1)),
        w1_("witness.example/w1", TestKey(11)),
        w2_("witness.example/w2", TestKey(12)),
        w3_("witness.example/w3", TestKey(13)) {
    policy_.origin = std::string(kOrigin);
    policy_.log_keys = {MustVkey(log_.Vkey())};
    policy_.witness_keys = {MustVkey(w1_.Vkey()), MustVkey(w2_.Vkey()),
                            MustVkey(w3_.Vkey())};
  }

  // The checkpoint signed by the log and the given witnesses.
  std::string Sign(const Checkpoint& cp,
                   std::vector<const CosignatureSigner*> witnesses,
                   bool with_log = true) const {
    std::string text = FormatCheckpoint(cp);
    crypto::Note note{text, {}};
    if (with_log) note.signatures.push_back(log_.Sign(text));
    for (const CosignatureSigner* w : witnesses) {
      note.signatures.push_back(w->Sign(text, 1767225600));
    }
    return crypto::FormatNote(note);
  }

  Checkpoint Cp(uint64_t size, Hash32 root) const {
    return Checkpoint{std::string(kOrigin), size, root, {}};
  }

  NoteSigner log_;
  CosignatureSigner w1_, w2_, w3_;
  CheckpointPolicy policy_;
};

TEST(CheckpointFormatTest, RoundTrip) {
  Checkpoint cp{"example.com/log", 12345, TestRoot(7), {"ext one", "ext2"}};
  std::string text = FormatCheckpoint(cp);
  EXPECT_EQ(text, "example.com/log\n12345\n" +
                      Base64Encode(std::string(32, '\x07')) +
                      "\next one\next2\n");
  auto back = ParseCheckpoint(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->origin, cp.origin);
  EXPECT_EQ(back->size, cp.size);
  EXPECT_EQ(back->root, cp.root);
  EXPECT_EQ(back->extensions, cp.extensions);
  EXPECT_EQ(FormatCheckpoint(*back), text);
}

TEST(CheckpointFormatTest, SizeBounds) {
  const std::string root = Base64Encode(std::string(32, 'r'));
  auto zero = ParseCheckpoint("o\n0\n" + root + "\n");
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_EQ(zero->size, 0u);
  auto max = ParseCheckpoint("o\n9223372036854775807\n" + root + "\n");
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_EQ(max->size, (uint64_t{1} << 63) - 1);
  EXPECT_FALSE(ParseCheckpoint("o\n9223372036854775808\n" + root + "\n").ok());
  EXPECT_FALSE(ParseCheckpoint("o\n18446744073709551616\n" + root + "\n").ok());
  EXPECT_FALSE(ParseCheckpoint("o\n99999999999999999999\n" + root + "\n").ok());
}

TEST(CheckpointFormatTest, RejectsMalformed) {
  const std::string root = Base64Encode(std::string(32, 'r'));
  // The same root with non-zero padding bits ('=' after a char whose low
  // bits are set): decodes to the same bytes in lax decoders.
  std::string noncanonical = root;
  noncanonical[noncanonical.size() - 2] =
      static_cast<char>(noncanonical[noncanonical.size() - 2] + 1);
  struct Case {
    std::string text;
    const char* why;
  } cases[] = {
      {"o\n1\n" + root, "missing final newline"},
      {"", "empty"},
      {"o\n1\n", "no root line"},
      {"o\n", "only origin"},
      {"\n1\n" + root + "\n", "empty origin"},
      {"o\n01\n" + root + "\n", "leading zero"},
      {"o\n00\n" + root + "\n", "double zero"},
      {"o\n+1\n" + root + "\n", "plus sign"},
      {"o\n-1\n" + root + "\n", "negative"},
      {"o\n1 \n" + root + "\n", "trailing space"},
      {"o\n\n" + root + "\n", "empty size"},
      {"o\n0x10\n" + root + "\n", "hex size"},
      {"o\n1\n" + noncanonical + "\n", "non-canonical base64 root"},
      {"o\n1\n" + Base64Encode(std::string(31, 'r')) + "\n", "31-byte root"},
      {"o\n1\n" + Base64Encode(std::string(33, 'r')) + "\n", "33-byte root"},
      {"o\n1\nYmFuYW5hcw==\n", "8-byte root"},
      {"o\n1\n" + root.substr(0, root.size() - 1) + "\n", "no padding"},
      {"o\n1\n" + root + "\n\n", "empty extension line"},
      {"o\n1\n" + root + "\next\n\n", "trailing empty extension line"},
      {"o\n1\n" + root + "\next", "extension without newline"},
  };
  for (const Case& c : cases) {
    auto cp = ParseCheckpoint(c.text);
    EXPECT_FALSE(cp.ok()) << c.why;
    EXPECT_EQ(cp.status().code(), absl::StatusCode::kInvalidArgument) << c.why;
  }
}

TEST_F(CheckpointNoteTest, VerifiesLogAndWitnesses) {
  std::string note = Sign(Cp(20, TestRoot(1)), {&w1_, &w2_});
  policy_.min_witnesses = 2;
  auto vc = VerifyCheckpointNote(note, policy_);
  ASSERT_TRUE(vc.ok()) << vc.status();
  EXPECT_EQ(vc->checkpoint.size, 20u);
  EXPECT_EQ(vc->checkpoint.root, TestRoot(1));
  EXPECT_EQ(vc->witnesses, 2u);
  ASSERT_EQ(vc->note.verified.size(), 3u);
  EXPECT_EQ(vc->note.verified[1].timestamp, 1767225600u);
}

TEST_F(CheckpointNoteTest, QuorumNotMet) {
  std::string note = Sign(Cp(20, TestRoot(1)), {&w1_, &w2_});
  policy_.min_witnesses = 3;
  auto vc = VerifyCheckpointNote(note, policy_);
  ASSERT_FALSE(vc.ok());
  EXPECT_EQ(vc.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(CheckpointNoteTest, DuplicateCosignatureCountsOnce) {
  std::string note = Sign(Cp(20, TestRoot(1)), {&w1_, &w1_});
  policy_.min_witnesses = 2;
  EXPECT_EQ(VerifyCheckpointNote(note, policy_).status().code(),
            absl::StatusCode::kPermissionDenied);
  policy_.min_witnesses = 1;
  auto vc = VerifyCheckpointNote(note, policy_);
  ASSERT_TRUE(vc.ok()) << vc.status();
  EXPECT_EQ(vc->witnesses, 1u);
}

TEST_F(CheckpointNoteTest, UnknownWitnessIsIgnored) {
  CosignatureSigner stranger("witness.example/evil", TestKey(99));
  std::string note = Sign(Cp(20, TestRoot(1)), {&stranger, &w3_});
  policy_.min_witnesses = 1;
  auto vc = VerifyCheckpointNote(note, policy_);
  ASSERT_TRUE(vc.ok()) << vc.status();
  EXPECT_EQ(vc->witnesses, 1u);
  EXPECT_EQ(vc->note.unverified.size(), 1u);
  policy_.min_witnesses = 2;
  EXPECT_FALSE(VerifyCheckpointNote(note, policy_).ok());
}

TEST_F(CheckpointNoteTest, OriginMismatch) {
  std::string note = Sign(Cp(20, TestRoot(1)), {});
  policy_.origin = "custody.example/ledger-2";
  auto vc = VerifyCheckpointNote(note, policy_);
  ASSERT_FALSE(vc.ok());
  EXPECT_EQ(vc.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CheckpointNoteTest, NoLogSignature) {
  std::string note = Sign(Cp(20, TestRoot(1)), {&w1_, &w2_}, false);
  auto vc = VerifyCheckpointNote(note, policy_);
  ASSERT_FALSE(vc.ok());
  EXPECT_EQ(vc.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(vc.status().message()), HasSubstr("log key"));
}

TEST_F(CheckpointNoteTest, TamperedCheckpointIsRejected) {
  std::string note = Sign(Cp(20, TestRoot(1)), {&w1_});
  std::string tampered = note;
  tampered.replace(tampered.find("\n20\n"), 4, "\n21\n");
  auto vc = VerifyCheckpointNote(tampered, policy_);
  ASSERT_FALSE(vc.ok());
  EXPECT_EQ(vc.status().code(), absl::StatusCode::kPermissionDenied);

  // Change the root: same outcome.
  std::string root_b64 = Base64Encode(crypto::AsView(TestRoot(1)));
  tampered = note;
  tampered.replace(tampered.find(root_b64), root_b64.size(),
                   Base64Encode(crypto::AsView(TestRoot(2))));
  EXPECT_EQ(VerifyCheckpointNote(tampered, policy_).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CheckpointNoteTest, WrongLogKey) {
  std::string note = Sign(Cp(20, TestRoot(1)), {});
  NoteSigner other(std::string(kOrigin), TestKey(2));
  policy_.log_keys = {MustVkey(other.Vkey())};
  EXPECT_EQ(VerifyCheckpointNote(note, policy_).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CheckpointNoteTest, WitnessKeyCannotStandInForTheLog) {
  // A cosignature key listed as a "log key" does not make a log signature.
  std::string note = Sign(Cp(20, TestRoot(1)), {&w1_}, false);
  policy_.log_keys = {MustVkey(w1_.Vkey())};
  EXPECT_EQ(VerifyCheckpointNote(note, policy_).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CheckpointNoteTest, MalformedSignedBodyIsInvalidArgument) {
  // Correctly signed, but the size has a leading zero.
  std::string text = std::string(kOrigin) + "\n020\n" +
                     Base64Encode(crypto::AsView(TestRoot(1))) + "\n";
  std::string note = crypto::SignNote(text, {&log_});
  EXPECT_EQ(VerifyCheckpointNote(note, policy_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CheckpointNoteTest, EmptyTreeRootRule) {
  std::string good = Sign(Cp(0, crypto::Sha256("")), {});
  EXPECT_TRUE(VerifyCheckpointNote(good, policy_).ok());
  std::string bad = Sign(Cp(0, TestRoot(1)), {});
  EXPECT_EQ(VerifyCheckpointNote(bad, policy_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CheckpointNoteTest, ExtensionLinesAreSigned) {
  Checkpoint cp = Cp(3, TestRoot(4));
  cp.extensions = {"opaque ext"};
  std::string note = Sign(cp, {});
  auto vc = VerifyCheckpointNote(note, policy_);
  ASSERT_TRUE(vc.ok()) << vc.status();
  EXPECT_EQ(vc->checkpoint.extensions, cp.extensions);
  std::string tampered = note;
  tampered.replace(tampered.find("opaque"), 6, "opaquE");
  EXPECT_FALSE(VerifyCheckpointNote(tampered, policy_).ok());
}

TEST_F(CheckpointNoteTest, PolicyNeedsOriginAndLogKeys) {
  std::string note = Sign(Cp(20, TestRoot(1)), {});
  CheckpointPolicy p = policy_;
  p.origin.clear();
  EXPECT_FALSE(VerifyCheckpointNote(note, p).ok());
  p = policy_;
  p.log_keys.clear();
  EXPECT_FALSE(VerifyCheckpointNote(note, p).ok());
}

// A three-leaf tree: root = node(node(l0, l1), l2).
struct SmallTree {
  Hash32 l0 = LeafHash("event 0"), l1 = LeafHash("event 1"),
         l2 = LeafHash("event 2");
  Hash32 n01 = NodeHash(l0, l1);
  Hash32 root = NodeHash(n01, l2);
};

TEST_F(CheckpointNoteTest, TlogProofRoundTripAndVerify) {
  SmallTree t;
  TlogProof p;
  p.extra = std::string("receipt for item 1");
  p.index = 0;
  p.proof = {t.l1, t.l2};
  p.checkpoint_note = Sign(Cp(3, t.root), {&w1_, &w2_});
  std::string text = FormatTlogProof(p);
  EXPECT_EQ(text.substr(0, 23), "c2sp.org/tlog-proof@v1\n");
  EXPECT_THAT(text, HasSubstr("\nindex 0\n"));
  auto back = ParseTlogProof(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->extra, p.extra);
  EXPECT_EQ(back->index, 0u);
  EXPECT_EQ(back->proof, p.proof);
  EXPECT_EQ(back->checkpoint_note, p.checkpoint_note);
  EXPECT_EQ(FormatTlogProof(*back), text);

  policy_.min_witnesses = 2;
  auto vc = VerifyTlogProof(*back, t.l0, policy_);
  ASSERT_TRUE(vc.ok()) << vc.status();
  EXPECT_EQ(vc->checkpoint.size, 3u);

  // Wrong leaf, wrong index, tampered proof, quorum.
  EXPECT_FALSE(VerifyTlogProof(*back, t.l1, policy_).ok());
  TlogProof wrong = *back;
  wrong.index = 1;
  EXPECT_FALSE(VerifyTlogProof(wrong, t.l0, policy_).ok());
  wrong = *back;
  wrong.proof[1][5] ^= 1;
  EXPECT_FALSE(VerifyTlogProof(wrong, t.l0, policy_).ok());
  wrong = *back;
  wrong.proof.push_back(t.l2);
  EXPECT_FALSE(VerifyTlogProof(wrong, t.l0, policy_).ok());
  wrong = *back;
  wrong.index = 3;
  EXPECT_FALSE(VerifyTlogProof(wrong, t.l0, policy_).ok());
  policy_.min_witnesses = 3;
  EXPECT_EQ(VerifyTlogProof(*back, t.l0, policy_).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CheckpointNoteTest, TlogProofLastLeafWithoutExtra) {
  SmallTree t;
  TlogProof p;
  p.index = 2;
  p.proof = {t.n01};
  p.checkpoint_note = Sign(Cp(3, t.root), {});
  std::string text = FormatTlogProof(p);
  EXPECT_THAT(text, ::testing::Not(HasSubstr("extra")));
  auto back = ParseTlogProof(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_FALSE(back->extra.has_value());
  EXPECT_EQ(FormatTlogProof(*back), text);
  EXPECT_TRUE(VerifyTlogProof(*back, t.l2, policy_).ok());
}

TEST_F(CheckpointNoteTest, TlogProofRejectsMalformed) {
  SmallTree t;
  const std::string note = Sign(Cp(3, t.root), {});
  const std::string h = Base64Encode(crypto::AsView(t.l1));
  const std::string hdr = "c2sp.org/tlog-proof@v1\n";
  std::string many;
  for (int i = 0; i < 64; ++i) many += h + "\n";
  struct Case {
    std::string text;
    const char* why;
  } cases[] = {
      {"", "empty"},
      {"c2sp.org/tlog-proof@v2\nindex 0\n" + h + "\n\n" + note, "bad header"},
      {hdr + "index 00\n" + h + "\n\n" + note, "leading zero index"},
      {hdr + "index 01\n" + h + "\n\n" + note, "leading zero index 2"},
      {hdr + "index -1\n" + h + "\n\n" + note, "negative index"},
      {hdr + "index \n" + h + "\n\n" + note, "empty index"},
      {hdr + "index 9223372036854775808\n\n" + note, "index >= 2^63"},
      {hdr + "Index 0\n" + h + "\n\n" + note, "bad index keyword"},
      {hdr + "extra !!\nindex 0\n" + h + "\n\n" + note, "bad extra"},
      {hdr + "index 0\n" + h.substr(1) + "\n\n" + note, "bad proof line"},
      {hdr + "index 0\n" + h + "x\n\n" + note, "proof line too long"},
      {hdr + "index 0\n" + h + "\n", "no blank line"},
      {hdr + "index 0\n" + h + "\n\n", "no checkpoint"},
      {hdr + "index 0\n" + h + "\n\nnot a note\n", "bad checkpoint note"},
      {hdr + "index 0\n" + many + "\n" + note, "64 proof lines"},
      {hdr, "header only"},
  };
  for (const Case& c : cases) {
    auto p = ParseTlogProof(c.text);
    EXPECT_FALSE(p.ok()) << c.why;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << c.why;
  }
}

}  // namespace
}  // namespace custos::custody
