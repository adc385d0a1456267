#include "src/repo/event.h"

#include "gtest/gtest.h"
#include "src/base/random.h"
#include "src/crypto/ed25519.h"
#include "testing/testing.h"

namespace custos::repo {
namespace {

Event Sample() {
  Event e;
  e.origin = "example.org/log";
  e.authority = "Authority";
  e.seq = 7;
  e.type = "transferred";
  e.time = absl::FromUnixMicros(1767225600123456);
  e.actor = {"a1", "A. de Vries", "examiner"};
  e.case_id = "CASE-1";
  e.items = {{"id-b", "EXH-2", std::string(64, 'b'), 5, ""},
             {"id-a", "EXH-1", std::string(64, 'a'), 9, std::string(64, 'c')}};
  e.to = "Prosecutor";
  e.note = "line1\nline2";
  e.sig_key = std::string(32, 'k');
  e.sig_value = std::string(64, 's');
  return e;
}

TEST(Event, EncodeDecodeRoundTripsAndSortsItems) {
  Event e = Sample();
  auto bytes = EncodeEvent(e);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_NE(bytes->find("\"time\":\"2026-01-01T00:00:00.123456Z\""),
            std::string::npos);
  EXPECT_LT(bytes->find("id-a"), bytes->find("id-b"));
  auto back = DecodeEvent(*bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->items[0].id, "id-a");
  EXPECT_EQ(back->note, e.note);
  EXPECT_EQ(back->time, e.time);
  EXPECT_EQ(*EncodeEvent(*back), *bytes);
}

TEST(Event, SigningMessageExcludesSignatureAndHasPrefix) {
  Event e = Sample();
  auto msg = SigningMessage(e);
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(msg->rfind(kSignaturePrefix, 0), 0u);
  EXPECT_EQ(msg->find("\"sig\""), std::string::npos);
  e.sig_value = std::string(64, 't');
  EXPECT_EQ(*SigningMessage(e), *msg);
  e.note = "changed";
  EXPECT_NE(*SigningMessage(e), *msg);
}

TEST(Event, RealSignatureVerifies) {
  testing::SeededRandom rnd(1);
  auto key = crypto::Ed25519PrivateKey::Generate(rnd);
  Event e = Sample();
  e.sig_key = key.PublicKey();
  e.sig_value = key.Sign(*SigningMessage(e));
  auto back = DecodeEvent(*EncodeEvent(e));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(crypto::Ed25519Verify(back->sig_key, *SigningMessage(*back),
                                    back->sig_value));
  back->purpose = "forged";
  EXPECT_FALSE(crypto::Ed25519Verify(back->sig_key, *SigningMessage(*back),
                                     back->sig_value));
}

TEST(Event, DecodeRejectsMalformed) {
  std::string good = *EncodeEvent(Sample());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  EXPECT_FALSE(DecodeEvent(replace("\"v\":1", "\"v\":2")).ok());
  EXPECT_FALSE(DecodeEvent(replace("\"type\":\"transferred\"",
                                   "\"type\":\"teleported\""))
                   .ok());
  EXPECT_FALSE(DecodeEvent(replace(".123456Z", ".123Z")).ok());
  EXPECT_FALSE(
      DecodeEvent(replace("\"alg\":\"ed25519\"", "\"alg\":\"rsa\"")).ok());
  EXPECT_FALSE(
      DecodeEvent(replace("\"to\":\"Prosecutor\"", "\"to\":\"\"")).ok());
  EXPECT_FALSE(DecodeEvent(replace("\"authority\"", "\"zuthority\"")).ok());
  EXPECT_FALSE(DecodeEvent(good.substr(0, good.size() - 1)).ok());
  EXPECT_FALSE(DecodeEvent(good + " ").ok());
  EXPECT_FALSE(DecodeEvent("").ok());
}

TEST(Event, TooLargeIsRefused) {
  Event e = Sample();
  e.note = std::string(70000, 'x');
  auto bytes = EncodeEvent(e);
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Event, NonUtf8TextIsRefused) {
  Event e = Sample();
  e.note = "\xff\xfe";
  EXPECT_FALSE(EncodeEvent(e).ok());
}

}  // namespace
}  // namespace custos::repo
