#include "src/store/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "testing/testing.h"

namespace custos::store {
namespace {

constexpr char kAbcSha256[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kAbcMd5[] = "900150983cd24fb0d6963f7d28e17f72";
constexpr char kAbcSha1[] = "a9993e364706816aba3e25717850c26c9cd0d89d";

std::string Pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

// Passes everything to the real filesystem and records the address of
// every block-sized append, to check what O_DIRECT writes will be handed.
class AppendRecordingFileSystem final
    : public custos::testing::ForwardingFileSystem {
 public:
  AppendRecordingFileSystem() : ForwardingFileSystem(PosixFileSystem()) {}
  std::vector<uintptr_t> addresses;  // of appends of >= 4096 bytes
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, bool exclusive, int mode) override {
    CUSTOS_ASSIGN_OR_RETURN(auto f,
                            base_.NewWritableFile(path, exclusive, mode));
    return std::unique_ptr<WritableFile>(new File(std::move(f), this));
  }

 private:
  class File final : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> f, AppendRecordingFileSystem* fs)
        : f_(std::move(f)), fs_(fs) {}
    absl::Status Append(std::string_view data) override {
      if (data.size() >= 4096) {
        std::lock_guard<std::mutex> l(fs_->mu_);
        fs_->addresses.push_back(reinterpret_cast<uintptr_t>(data.data()));
      }
      return f_->Append(data);
    }
    absl::Status Sync() override { return f_->Sync(); }
    absl::Status Close() override { return f_->Close(); }

   private:
    std::unique_ptr<WritableFile> f_;
    AppendRecordingFileSystem* fs_;
  };
  std::mutex mu_;
};

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(PosixFileSystem()); }
  void Open(FileSystem& fs) {
    auto s = OpenPosixBlobStore(fs, random_, dir_.Join("store"));
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  std::string BlobPath(const std::string& hex) {
    return dir_.Join("store/sha256/" + hex.substr(0, 2) + "/" +
                     hex.substr(2, 2) + "/" + hex);
  }
  std::vector<std::string> TmpFiles() {
    auto names = PosixFileSystem().ListDir(dir_.Join("store/tmp"));
    EXPECT_TRUE(names.ok());
    return names.ok() ? *names : std::vector<std::string>{};
  }
  std::vector<std::string> AllBlobs() {
    std::vector<std::string> out;
    EXPECT_TRUE(store_
                    ->ForEach([&](std::string_view d) {
                      out.push_back(HexEncode(d));
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  }

  custos::testing::TempDir dir_;
  custos::testing::SeededRandom random_{42};
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreTest, PutStoresReadOnlyBlobUnderDigestPath) {
  auto info = store_->Put("abc");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(HexEncode(info->digests.sha256), kAbcSha256);
  EXPECT_EQ(info->digests.size, 3u);
  EXPECT_FALSE(info->already_present);
  EXPECT_TRUE(store_->Contains(info->digests.sha256));
  EXPECT_TRUE(store_->Contains(kAbcSha256));  // hex accepted too

  struct stat st;
  ASSERT_EQ(::stat(BlobPath(kAbcSha256).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  EXPECT_EQ(st.st_size, 3);

  auto data = store_->ReadVerified(info->digests.sha256);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(*data, "abc");
  auto f = store_->Open(info->digests.sha256);
  ASSERT_TRUE(f.ok());
  char buf[8];
  auto n = (*f)->Read(1, 8, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "bc");
  EXPECT_TRUE(TmpFiles().empty());
}

TEST_F(BlobStoreTest, ComputesRequestedDigestsOfAbc) {
  auto w = store_->NewWriter(crypto::kSha256 | crypto::kMd5 | crypto::kSha1);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("a").ok());
  ASSERT_TRUE((*w)->Append("bc").ok());
  auto info = (*w)->Commit();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(HexEncode(info->digests.sha256), kAbcSha256);
  EXPECT_EQ(HexEncode(info->digests.md5), kAbcMd5);
  EXPECT_EQ(HexEncode(info->digests.sha1), kAbcSha1);
}

TEST_F(BlobStoreTest, LargeStreamMatchesOneShotDigests) {
  // Several pipeline chunks (1 MiB each), odd-sized appends, both APIs.
  const std::string data = Pattern((9 << 20) + 12345, 7);
  unsigned all = crypto::kSha256 | crypto::kMd5 | crypto::kSha1;
  crypto::MultiHasher ref(all, /*parallel=*/false);
  ref.Update(data);
  crypto::Digests want = ref.Finish();

  auto w1 = store_->NewWriter(all);
  ASSERT_TRUE(w1.ok());
  for (size_t off = 0; off < data.size(); off += 777777)
    ASSERT_TRUE((*w1)->Append(std::string_view(data).substr(off, 777777)).ok());
  auto i1 = (*w1)->Commit();
  ASSERT_TRUE(i1.ok()) << i1.status();
  EXPECT_EQ(i1->digests.sha256, want.sha256);
  EXPECT_EQ(i1->digests.md5, want.md5);
  EXPECT_EQ(i1->digests.sha1, want.sha1);
  EXPECT_EQ(i1->digests.size, data.size());

  auto w2 = store_->NewWriter(all);
  ASSERT_TRUE(w2.ok());
  size_t off = 0;
  while (off < data.size()) {
    auto buf = (*w2)->NextBuffer();
    ASSERT_TRUE(buf.ok());
    size_t n = std::min(buf->size(), data.size() - off);
    std::memcpy(buf->data(), data.data() + off, n);
    ASSERT_TRUE((*w2)->AppendBuffer(n).ok());
    off += n;
  }
  auto i2 = (*w2)->Commit();
  ASSERT_TRUE(i2.ok()) << i2.status();
  EXPECT_EQ(i2->digests.sha256, want.sha256);
  EXPECT_EQ(i2->digests.md5, want.md5);
  EXPECT_TRUE(i2->already_present);

  auto size = store_->Verify(want.sha256);
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, data.size());
  EXPECT_EQ(AllBlobs().size(), 1u);
  EXPECT_TRUE(TmpFiles().empty());
}

TEST_F(BlobStoreTest, DeduplicatesIdenticalContent) {
  auto a = store_->Put("same bytes");
  auto b = store_->Put("same bytes");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(a->already_present);
  EXPECT_TRUE(b->already_present);
  EXPECT_EQ(a->digests.sha256, b->digests.sha256);
  EXPECT_EQ(AllBlobs().size(), 1u);
  EXPECT_TRUE(TmpFiles().empty());
}

TEST_F(BlobStoreTest, VerifyDetectsFlippedByte) {
  const std::string data = Pattern(3 << 20, 1);
  auto info = store_->Put(data);
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(store_->Verify(info->digests.sha256).ok());

  std::string hex = HexEncode(info->digests.sha256);
  std::string path = BlobPath(hex);
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char c;
  ASSERT_EQ(::pread(fd, &c, 1, 2 << 20), 1);
  c ^= 1;
  ASSERT_EQ(::pwrite(fd, &c, 1, 2 << 20), 1);
  ::close(fd);

  auto v = store_->Verify(info->digests.sha256);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(v.status().message().find("expected sha256 " + hex),
            std::string::npos)
      << v.status();
  EXPECT_NE(v.status().message().find("found "), std::string::npos);
  EXPECT_EQ(store_->ReadVerified(info->digests.sha256).status().code(),
            absl::StatusCode::kDataLoss);
  // A re-put of the original must not silently "repair" it either: the blob
  // is never overwritten.
  auto again = store_->Put(data);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_present);
  EXPECT_EQ(store_->Verify(info->digests.sha256).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(BlobStoreTest, MissingAndMalformedDigests) {
  std::string absent(32, '\x01');
  EXPECT_EQ(store_->Verify(absent).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Open(absent).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(store_->Contains(absent));
  EXPECT_EQ(store_->Verify("abc").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Open(std::string(64, 'G')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(BlobStoreTest, CleanupRemovesLeftoversButNotLiveWriters) {
  ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(),
                                  dir_.Join("store/tmp/crashed.tmp"), "junk")
                  .ok());
  auto live = store_->NewWriter();
  ASSERT_TRUE(live.ok());
  ASSERT_TRUE((*live)->Append("in progress").ok());
  EXPECT_EQ(TmpFiles().size(), 2u);
  ASSERT_TRUE(store_->CleanupTemporaryFiles().ok());
  EXPECT_EQ(TmpFiles().size(), 1u);
  auto info = (*live)->Commit();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(TmpFiles().empty());
}

TEST_F(BlobStoreTest, AbortAndDestructorRemoveTemporaryFile) {
  {
    auto w = store_->NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(Pattern(5 << 20, 3)).ok());
    (*w)->Abort();
    EXPECT_FALSE((*w)->Append("x").ok());
  }
  {
    auto w = store_->NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(Pattern(5 << 20, 4)).ok());
  }
  EXPECT_TRUE(TmpFiles().empty());
  EXPECT_TRUE(AllBlobs().empty());
}

TEST_F(BlobStoreTest, DiskFullLeavesNoBlobAndNoTemporaryFile) {
  custos::testing::FaultInjectionFileSystem faulty(PosixFileSystem());
  Open(faulty);
  faulty.SetWriteBudget(2 << 20);
  auto w = store_->NewWriter(crypto::kSha256 | crypto::kMd5);
  ASSERT_TRUE(w.ok());
  const std::string data = Pattern(1 << 20, 5);
  absl::Status st;
  for (int i = 0; i < 8 && st.ok(); ++i) st = (*w)->Append(data);
  absl::StatusOr<BlobInfo> info =
      st.ok() ? (*w)->Commit() : absl::StatusOr<BlobInfo>(st);
  if (!st.ok()) (*w)->Abort();
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(info.status().message().find("disk full"), std::string::npos)
      << info.status();
  EXPECT_TRUE(TmpFiles().empty());
  EXPECT_TRUE(AllBlobs().empty());

  // Small blobs (written inline at Commit) fail the same way.
  faulty.SetWriteBudget(2);
  auto small = store_->Put("abc");
  EXPECT_EQ(small.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(TmpFiles().empty());
  EXPECT_TRUE(AllBlobs().empty());
}

TEST_F(BlobStoreTest, FailedSyncLeavesNoBlob) {
  custos::testing::FaultInjectionFileSystem faulty(PosixFileSystem());
  Open(faulty);
  faulty.FailSyncs(true);
  auto info = store_->Put("abc");
  EXPECT_FALSE(info.ok());
  EXPECT_TRUE(TmpFiles().empty());
  EXPECT_TRUE(AllBlobs().empty());
  faulty.FailSyncs(false);
  EXPECT_TRUE(store_->Put("abc").ok());
}

TEST_F(BlobStoreTest, DeferredCommitsBecomeVisibleAtFlush) {
  std::vector<std::string> digests;
  for (int i = 0; i < 3; ++i) {
    auto w = store_->NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(Pattern(4096, i % 2)).ok());
    auto info = (*w)->CommitDeferred();
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->already_present, i == 2);  // i=2 repeats i=0
    digests.push_back(info->digests.sha256);
  }
  EXPECT_FALSE(store_->Contains(digests[0]));
  ASSERT_TRUE(store_->FlushDeferred().ok());
  EXPECT_TRUE(store_->Contains(digests[0]));
  EXPECT_TRUE(store_->Contains(digests[1]));
  EXPECT_EQ(AllBlobs().size(), 2u);
  EXPECT_TRUE(TmpFiles().empty());
}

TEST_F(BlobStoreTest, ForEachListsSortedDigests) {
  std::vector<std::string> want;
  for (int i = 0; i < 20; ++i) {
    auto info = store_->Put(Pattern(100, i));
    ASSERT_TRUE(info.ok());
    want.push_back(HexEncode(info->digests.sha256));
  }
  std::sort(want.begin(), want.end());
  ASSERT_TRUE(WriteFileAtomically(PosixFileSystem(),
                                  dir_.Join("store/sha256/README"), "x")
                  .ok());
  EXPECT_EQ(AllBlobs(), want);
}

// Large blobs are written with O_DIRECT past their first 8 MiB: the chunks
// handed to the file must be page-aligned, or every byte is copied once
// more into an aligned bounce buffer (src/base/file_system.cc).
TEST_F(BlobStoreTest, ChunksHandedToTheFileArePageAligned) {
  AppendRecordingFileSystem fs;
  Open(fs);
  const std::string data = Pattern((12 << 20) + 100, 3);
  for (bool zero_copy : {false, true}) {
    fs.addresses.clear();
    auto w = store_->NewWriter(crypto::kSha256);
    ASSERT_TRUE(w.ok());
    for (size_t off = 0; off < data.size();) {
      size_t n = std::min<size_t>(data.size() - off, 1 << 20);
      if (zero_copy) {
        auto buf = (*w)->NextBuffer();
        ASSERT_TRUE(buf.ok());
        n = std::min(n, buf->size());
        std::memcpy(buf->data(), data.data() + off, n);
        ASSERT_TRUE((*w)->AppendBuffer(n).ok());
      } else {
        ASSERT_TRUE((*w)->Append(std::string_view(data).substr(off, n)).ok());
      }
      off += n;
    }
    auto info = (*w)->Commit();
    ASSERT_TRUE(info.ok()) << info.status();
    ASSERT_GE(fs.addresses.size(), 12u);
    for (uintptr_t a : fs.addresses) EXPECT_EQ(a % 4096, 0u) << zero_copy;
  }
}

}  // namespace
}  // namespace custos::store
