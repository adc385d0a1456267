#include "src/acquire/ewf_image.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "src/acquire/ewf_segments.h"
#include "src/acquire/ewf_test_util.h"
#include "src/base/bytes.h"
#include "src/crypto/hash.h"
#include "testing/testing.h"

namespace custos::acquire {
namespace {

using testing::E01Options;
using testing::MakeE01;
using testing::RawDiskBytes;
using testing::WriteBytes;

std::string ReadAll(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

crypto::Digests DigestsOf(const std::string& data) {
  crypto::MultiHasher h(crypto::kSha256 | crypto::kMd5 | crypto::kSha1);
  h.Update(data);
  return h.Finish();
}

class EwfImageTest : public ::testing::Test {
 protected:
  // A 5 MiB disk in 1 MiB segments (6 segment files with deflate).
  void Make(E01Options o = {}, uint64_t size = 5 << 20) {
    raw_ = RawDiskBytes(size, 3);
    ASSERT_TRUE(WriteBytes(dir_.Join("disk.raw"), raw_));
    ASSERT_TRUE(MakeE01(dir_.Join("disk.raw"), dir_.Join("img"), o));
  }
  std::string Path(const std::string& name) { return dir_.Join(name); }
  std::string Corrupted(const std::string& name, uint64_t offset) {
    std::string p = Path(name);
    std::string d = ReadAll(p);
    d[offset] = static_cast<char>(d[offset] ^ 0x5a);
    EXPECT_TRUE(WriteBytes(p, d));
    return p;
  }

  ::custos::testing::TempDir dir_;
  std::string raw_;
};

TEST_F(EwfImageTest, SingleSegmentMetadataAndStoredHash) {
  E01Options o;
  o.extra_digest = "sha1";
  Make(o, 1 << 20);
  auto segs = FindEwfSegments(Path("img.E01"));
  ASSERT_TRUE(segs.ok()) << segs.status();
  ASSERT_EQ(segs->size(), 1u);
  EXPECT_EQ((*segs)[0].name, "img.E01");
  EXPECT_EQ((*segs)[0].number, 1);
  auto img = EwfImage::Open(SegmentPaths(*segs));
  ASSERT_TRUE(img.ok()) << img.status();
  const EwfInfo& info = (*img)->info();
  crypto::Digests want = DigestsOf(raw_);
  EXPECT_EQ(info.stored_md5, HexEncode(want.md5));
  EXPECT_EQ(info.stored_sha1, HexEncode(want.sha1));
  EXPECT_EQ(info.media_size, raw_.size());
  EXPECT_EQ(info.bytes_per_sector, 512u);
  EXPECT_EQ(info.sectors, raw_.size() / 512);
  EXPECT_EQ(info.format, "encase6");
  std::map<std::string, std::string> h(info.header.begin(), info.header.end());
  EXPECT_EQ(h["case_number"], "CASE-2026-0042");
  EXPECT_EQ(h["evidence_number"], "EV-7");
  EXPECT_EQ(h["examiner_name"], "A. de Vries");
  EXPECT_EQ(h["description"], "USB stick of suspect");
  EXPECT_EQ(h["notes"], "seized at the scene");
  EXPECT_EQ(h["acquiry_software_version"], LibewfVersion());
  EXPECT_FALSE(h["acquiry_date"].empty());
  EXPECT_EQ(h["acquiry_operating_system"], "Linux");
}

TEST_F(EwfImageTest, MultiSegmentStreamEqualsTheRawDisk) {
  E01Options o;
  o.segment_size = 1 << 20;
  Make(o);
  auto segs = FindEwfSegments(Path("img.E01"));
  ASSERT_TRUE(segs.ok()) << segs.status();
  ASSERT_GE(segs->size(), 3u);
  for (size_t i = 0; i < segs->size(); ++i) {
    EXPECT_EQ((*segs)[i].number, i + 1);
    struct stat st;
    ASSERT_EQ(::stat((*segs)[i].path.c_str(), &st), 0);
    EXPECT_EQ((*segs)[i].size, static_cast<uint64_t>(st.st_size));
  }
  EXPECT_EQ((*segs)[1].name, "img.E02");
  auto img = EwfImage::Open(SegmentPaths(*segs));
  ASSERT_TRUE(img.ok()) << img.status();
  std::string all;
  std::string buf(3 << 20, '\0');  // larger than a segment
  while (true) {
    auto n = (*img)->ReadNext(buf.data(), buf.size());
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    all.append(buf.data(), *n);
  }
  EXPECT_EQ(all.size(), raw_.size());
  EXPECT_TRUE(all == raw_);
  auto errs = (*img)->ChecksumErrors();
  ASSERT_TRUE(errs.ok());
  EXPECT_TRUE(errs->empty());
  // Random access across a segment boundary and at the end.
  for (uint64_t off :
       {uint64_t{0}, uint64_t{1048000}, uint64_t{3000001}, raw_.size() - 100}) {
    std::string b(70000, '\0');
    auto n = (*img)->Read(off, b.data(), b.size());
    ASSERT_TRUE(n.ok()) << n.status();
    size_t want = std::min<uint64_t>(b.size(), raw_.size() - off);
    ASSERT_EQ(*n, want);
    EXPECT_TRUE(b.substr(0, want) == raw_.substr(off, want)) << off;
  }
  std::string b(10, '\0');
  auto past = (*img)->Read(raw_.size(), b.data(), b.size());
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(*past, 0u);
}

TEST_F(EwfImageTest, EwfxStoresSha256) {
  E01Options o;
  o.format = "ewfx";
  o.extra_digest = "sha256";
  Make(o, 1 << 20);
  auto segs = FindEwfSegments(Path("img.e01"));
  ASSERT_TRUE(segs.ok()) << segs.status();
  auto img = EwfImage::Open(SegmentPaths(*segs));
  ASSERT_TRUE(img.ok()) << img.status();
  EXPECT_EQ((*img)->info().format, "ewfx");
  crypto::Digests want = DigestsOf(raw_);
  EXPECT_EQ((*img)->info().stored_md5, HexEncode(want.md5));
  EXPECT_EQ((*img)->info().stored_sha256, HexEncode(want.sha256));
}

// The whole-media pass of an acquisition computes SHA-256 always and MD5 /
// SHA-1 only where the image stores them or the caller asks.
TEST_F(EwfImageTest, MediaPassHashesOnlyWhatIsStoredOrAsked) {
  E01Options o;
  o.segment_size = 1 << 20;
  Make(o, 9 << 20);  // several 4 MiB ring buffers, several segments
  auto segs = FindEwfSegments(Path("img.E01"));
  ASSERT_TRUE(segs.ok()) << segs.status();
  auto img = EwfImage::Open(SegmentPaths(*segs));
  ASSERT_TRUE(img.ok()) << img.status();
  const EwfInfo& info = (*img)->info();
  ASSERT_FALSE(info.stored_md5.empty());
  ASSERT_TRUE(info.stored_sha1.empty());
  EXPECT_EQ(MediaDigestsFor(info, crypto::kSha256),
            unsigned{crypto::kSha256 | crypto::kMd5});
  EXPECT_EQ(MediaDigestsFor(info, crypto::kSha256 | crypto::kSha1),
            unsigned{crypto::kSha256 | crypto::kMd5 | crypto::kSha1});
  EwfInfo none;
  EXPECT_EQ(MediaDigestsFor(none, 0), unsigned{crypto::kSha256});
  EXPECT_EQ(MediaDigestsFor(none, crypto::kMd5),
            unsigned{crypto::kSha256 | crypto::kMd5});

  crypto::Digests want = DigestsOf(raw_);
  EwfMediaPassOptions opts;
  opts.digests = MediaDigestsFor(info, crypto::kSha256);
  opts.head_bytes = 1000;
  std::vector<uint64_t> seen;
  opts.progress = [&](uint64_t done) { seen.push_back(done); };
  auto pass = ReadAndHashMedia(**img, opts);
  ASSERT_TRUE(pass.ok()) << pass.status();
  EXPECT_EQ(pass->digests.size, raw_.size());
  EXPECT_EQ(pass->digests.sha256, want.sha256);
  EXPECT_EQ(pass->digests.md5, want.md5);
  EXPECT_TRUE(pass->digests.sha1.empty());  // not stored, not asked
  EXPECT_EQ(pass->head, raw_.substr(0, 1000));
  EXPECT_TRUE(pass->checksum_errors.empty());
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), raw_.size());
  EwfHashCheck check = CheckStoredHashes(info, pass->digests);
  EXPECT_EQ(check.verified, std::vector<std::string>{"md5"});
  EXPECT_TRUE(check.mismatched.empty());

  // Asked for SHA-1 (a fresh handle: the pass reads from the start).
  auto again = EwfImage::Open(SegmentPaths(*segs));
  ASSERT_TRUE(again.ok());
  opts.digests = crypto::kSha256 | crypto::kSha1;
  opts.progress = nullptr;
  pass = ReadAndHashMedia(**again, opts);
  ASSERT_TRUE(pass.ok()) << pass.status();
  EXPECT_EQ(pass->digests.sha1, want.sha1);
  EXPECT_EQ(pass->digests.sha256, want.sha256);
  EXPECT_TRUE(pass->digests.md5.empty());
  // A stored MD5 that was not computed cannot count as verified.
  check = CheckStoredHashes(info, pass->digests);
  EXPECT_TRUE(check.verified.empty());
  EXPECT_EQ(check.mismatched, std::vector<std::string>{"md5"});
}

// ewfacquire hashes every byte of a source that is not a whole number of
// sectors but stores only whole sectors: a genuine stored-MD5 mismatch
// without any damaged chunk. The pass must report it as a mismatch.
TEST_F(EwfImageTest, MediaPassFindsAStoredMd5Mismatch) {
  Make({}, (1 << 20) + 100);
  auto segs = FindEwfSegments(Path("img.E01"));
  ASSERT_TRUE(segs.ok()) << segs.status();
  auto img = EwfImage::Open(SegmentPaths(*segs));
  ASSERT_TRUE(img.ok()) << img.status();
  const EwfInfo& info = (*img)->info();
  ASSERT_EQ(info.media_size, uint64_t{1} << 20);
  EXPECT_EQ(info.stored_md5, HexEncode(DigestsOf(raw_).md5));
  EwfMediaPassOptions opts;
  opts.digests = MediaDigestsFor(info, 0);
  auto pass = ReadAndHashMedia(**img, opts);
  ASSERT_TRUE(pass.ok()) << pass.status();
  EXPECT_TRUE(pass->checksum_errors.empty());
  EXPECT_EQ(pass->digests.md5, DigestsOf(raw_.substr(0, 1 << 20)).md5);
  EwfHashCheck check = CheckStoredHashes(info, pass->digests);
  EXPECT_TRUE(check.verified.empty());
  EXPECT_EQ(check.mismatched, std::vector<std::string>{"md5"});
}

// A stored SHA-256 (ewfx) is always verified: SHA-256 is always computed.
TEST_F(EwfImageTest, MediaPassVerifiesAStoredSha256) {
  E01Options o;
  o.format = "ewfx";
  o.extra_digest = "sha256";
  Make(o, 1 << 20);
  auto segs = FindEwfSegments(Path("img.e01"));
  ASSERT_TRUE(segs.ok()) << segs.status();
  auto img = EwfImage::Open(SegmentPaths(*segs));
  ASSERT_TRUE(img.ok()) << img.status();
  auto pass =
      ReadAndHashMedia(**img, {MediaDigestsFor((*img)->info(), 0), 0, {}});
  ASSERT_TRUE(pass.ok()) << pass.status();
  EwfHashCheck check = CheckStoredHashes((*img)->info(), pass->digests);
  EXPECT_EQ(check.verified, (std::vector<std::string>{"md5", "sha256"}));
  EXPECT_TRUE(check.mismatched.empty());
  EXPECT_TRUE(pass->digests.sha1.empty());
}

TEST_F(EwfImageTest, MissingMiddleSegmentIsNamed) {
  E01Options o;
  o.segment_size = 1 << 20;
  Make(o);
  ASSERT_EQ(::unlink(Path("img.E03").c_str()), 0);
  auto segs = FindEwfSegments(Path("img.E01"));
  ASSERT_FALSE(segs.ok());
  EXPECT_EQ(segs.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(segs.status().message().find("img.E03) is missing"),
            std::string::npos)
      << segs.status();
}

TEST_F(EwfImageTest, MissingLastSegmentIsNamed) {
  E01Options o;
  o.segment_size = 1 << 20;
  Make(o);
  auto all = FindEwfSegments(Path("img.E01"));
  ASSERT_TRUE(all.ok());
  std::string last = all->back().name;
  ASSERT_EQ(::unlink(all->back().path.c_str()), 0);
  auto segs = FindEwfSegments(Path("img.E01"));
  ASSERT_FALSE(segs.ok());
  EXPECT_EQ(segs.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(segs.status().message().find(last + ") is missing"),
            std::string::npos)
      << segs.status();
}

TEST_F(EwfImageTest, TruncatedSegmentIsDataLoss) {
  E01Options o;
  o.segment_size = 1 << 20;
  Make(o);
  ASSERT_EQ(::truncate(Path("img.E02").c_str(), 500000), 0);
  auto segs = FindEwfSegments(Path("img.E01"));
  ASSERT_FALSE(segs.ok());
  EXPECT_EQ(segs.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(segs.status().message().find("img.E02"), std::string::npos);
  EXPECT_NE(segs.status().message().find("truncated"), std::string::npos)
      << segs.status();
}

TEST_F(EwfImageTest, CorruptChunkIsReportedNotHidden) {
  E01Options o;
  o.segment_size = 1 << 20;
  o.compression = "none";
  Make(o);
  // Segment 2 holds chunk data from early on; flip a byte in the middle.
  Corrupted("img.E02", 400000);
  auto segs = FindEwfSegments(Path("img.E01"));
  ASSERT_TRUE(segs.ok()) << segs.status();  // structure is intact
  auto img = EwfImage::Open(SegmentPaths(*segs));
  ASSERT_TRUE(img.ok()) << img.status();
  std::string buf(1 << 20, '\0');
  crypto::MultiHasher h(crypto::kMd5);
  while (true) {
    auto n = (*img)->ReadNext(buf.data(), buf.size());
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    h.Update(std::string_view(buf.data(), *n));
  }
  auto errs = (*img)->ChecksumErrors();
  ASSERT_TRUE(errs.ok());
  ASSERT_EQ(errs->size(), 1u);
  EXPECT_EQ((*errs)[0].sectors, 64u);  // one chunk of 64 sectors
  EXPECT_NE(HexEncode(h.Finish().md5), (*img)->info().stored_md5);
  // Random access to the damaged chunk is an error, never silent zeros.
  auto img2 = EwfImage::Open(SegmentPaths(*segs));
  ASSERT_TRUE(img2.ok());
  uint64_t off = (*errs)[0].first_sector * 512;
  std::string b(4096, '\0');
  auto r = (*img2)->Read(off, b.data(), b.size());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  // Elsewhere reads still work.
  auto ok = (*img2)->Read(0, b.data(), b.size());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(b == raw_.substr(0, 4096));
}

TEST_F(EwfImageTest, NotEwfAndLogicalAreRefused) {
  ASSERT_TRUE(WriteBytes(Path("plain.E01"), "just text, no signature"));
  auto s = FindEwfSegments(Path("plain.E01"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(WriteBytes(
      Path("l.L01"),
      std::string("LVF\x09\x0d\x0a\xff\x00\x01\x01\x00\x00\x00", 13)));
  s = FindEwfSegments(Path("l.L01"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("logical"), std::string::npos);
  s = FindEwfSegments(Path("absent.E01"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
}

TEST(EwfSegments, NextExtension) {
  EXPECT_EQ(NextEwfExtension("E01"), "E02");
  EXPECT_EQ(NextEwfExtension("E09"), "E10");
  EXPECT_EQ(NextEwfExtension("E99"), "EAA");
  EXPECT_EQ(NextEwfExtension("EAZ"), "EBA");
  EXPECT_EQ(NextEwfExtension("EZZ"), "FAA");
  EXPECT_EQ(NextEwfExtension("e01"), "e02");
  EXPECT_EQ(NextEwfExtension("e99"), "eaa");
  EXPECT_EQ(NextEwfExtension("s05"), "s06");
  EXPECT_EQ(NextEwfExtension("ZZZ"), "");
  EXPECT_EQ(NextEwfExtension("raw"), "rax");  // letters advance alike
  EXPECT_EQ(NextEwfExtension("E1"), "");
}

TEST(EwfSegments, Signatures) {
  EXPECT_EQ(EwfSignatureOf(std::string("EVF\x09\x0d\x0a\xff\x00", 8)),
            EwfSignature::kEwf1);
  EXPECT_EQ(EwfSignatureOf(std::string("EVF2\x0d\x0a\x81\x00", 8)),
            EwfSignature::kEwf2);
  EXPECT_EQ(EwfSignatureOf(std::string("LVF\x09\x0d\x0a\xff\x00", 8)),
            EwfSignature::kLogical);
  EXPECT_EQ(EwfSignatureOf("EVF"), EwfSignature::kNone);
  EXPECT_EQ(EwfSignatureOf("\x7f"
                           "ELF\x02\x01\x01\x00"),
            EwfSignature::kNone);
}

TEST(EwfSegments, DamagedInputGivesErrorsNotCrashes) {
  std::string h("EVF\x09\x0d\x0a\xff\x00\x01\x01\x00\x00\x00", 13);
  EXPECT_EQ(ScanEwfSegment(h).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ScanEwfSegment(h.substr(0, 5)).status().code(),
            absl::StatusCode::kDataLoss);
  std::string junk = h + std::string(76, '\x01');
  EXPECT_EQ(ScanEwfSegment(junk).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(EwfImageTest, EveryTruncationOfARealSegmentIsCaught) {
  E01Options o;
  o.segment_size = 1 << 20;
  Make(o, 2 << 20);
  std::string seg = ReadAll(Path("img.E01"));
  auto full = ScanEwfSegment(seg);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->number, 1);
  EXPECT_EQ(full->last_section, "next");
  for (size_t n = 0; n < seg.size(); n += 9973) {
    auto cut = ScanEwfSegment(std::string_view(seg).substr(0, n));
    EXPECT_FALSE(cut.ok()) << n;
  }
}

}  // namespace
}  // namespace custos::acquire
