#include "src/acquire/acquire.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "src/base/bytes.h"
#include "testing/testing.h"

namespace custos::acquire {
namespace {

void WriteFile(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, data.data(), data.size()),
            static_cast<ssize_t>(data.size()));
  ::close(fd);
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

class AcquireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenPosixBlobStore(fs(), random_, store_dir_.path());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    src_ = src_dir_.path();
  }
  virtual FileSystem& fs() { return PosixFileSystem(); }

  absl::Status Run(const std::string& source, AcquireOptions opts = {}) {
    entries_.clear();
    return Acquire(source, *store_, opts, [&](const SourceEntry& e) {
      entries_.push_back(e);
      return absl::OkStatus();
    });
  }
  const SourceEntry* Find(const std::string& path) {
    for (const auto& e : entries_)
      if (e.path == path) return &e;
    return nullptr;
  }

  custos::testing::TempDir src_dir_, store_dir_;
  custos::testing::SeededRandom random_{7};
  std::unique_ptr<store::BlobStore> store_;
  std::string src_;
  std::vector<SourceEntry> entries_;
};

TEST_F(AcquireTest, SingleFileDigestsOfAbc) {
  WriteFile(src_ + "/abc.txt", "abc");
  AcquireOptions opts;
  opts.digests = crypto::kSha256 | crypto::kMd5 | crypto::kSha1;
  ASSERT_TRUE(Run(src_ + "/abc.txt", opts).ok());
  ASSERT_EQ(entries_.size(), 1u);
  const SourceEntry& e = entries_[0];
  EXPECT_EQ(e.path, "");
  EXPECT_EQ(e.kind, EntryKind::kFile);
  EXPECT_TRUE(e.stored);
  EXPECT_EQ(e.size, 3u);
  EXPECT_TRUE(e.error.empty()) << e.error;
  EXPECT_EQ(HexEncode(e.digests.sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(e.digests.md5), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(HexEncode(e.digests.sha1),
            "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_TRUE(store_->Contains(e.digests.sha256));
  EXPECT_EQ(e.mode & 0777, 0644u);
  EXPECT_EQ(e.nlink, 1u);
  EXPECT_GT(e.mtime_ns, 0);
}

TEST_F(AcquireTest, LargeFileStreamsInChunks) {
  const std::string data = Pattern((6 << 20) + 3);
  WriteFile(src_ + "/big", data);
  AcquireOptions opts;
  opts.digests = crypto::kSha256 | crypto::kMd5;
  std::vector<Progress> progress;
  opts.progress = [&](const Progress& p) { progress.push_back(p); };
  ASSERT_TRUE(Run(src_ + "/big", opts).ok());
  ASSERT_EQ(entries_.size(), 1u);
  crypto::MultiHasher ref(crypto::kSha256 | crypto::kMd5, false);
  ref.Update(data);
  crypto::Digests want = ref.Finish();
  EXPECT_EQ(entries_[0].digests.sha256, want.sha256);
  EXPECT_EQ(entries_[0].digests.md5, want.md5);
  EXPECT_EQ(entries_[0].size, data.size());
  auto verified = store_->Verify(want.sha256);
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(*verified, data.size());
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().bytes_done, data.size());
  EXPECT_EQ(progress.back().bytes_total, data.size());
}

TEST_F(AcquireTest, TreeIsWalkedInBytewiseOrderWithRawNames) {
  ASSERT_EQ(::mkdir((src_ + "/d").c_str(), 0755), 0);
  WriteFile(src_ + "/d/z", "z");
  WriteFile(src_ + "/d/a", "a");
  const std::string non_utf8 = "bad\xff\xfe";
  const std::string newline = "line\nbreak";
  WriteFile(src_ + "/" + non_utf8, "1");
  WriteFile(src_ + "/" + newline, "2");
  WriteFile(src_ + "/B", "3");
  WriteFile(src_ + "/empty", "");
  ASSERT_TRUE(Run(src_).ok());
  std::vector<std::string> paths;
  for (const auto& e : entries_) paths.push_back(e.path);
  std::vector<std::string> want = {"",    "B",   "bad\xff\xfe", "d",
                                   "d/a", "d/z", "empty",       newline};
  EXPECT_EQ(paths, want);
  EXPECT_EQ(entries_[0].kind, EntryKind::kDirectory);
  const SourceEntry* e = Find(non_utf8);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->stored);
  EXPECT_EQ(Find("d")->kind, EntryKind::kDirectory);
  EXPECT_EQ(Find("empty")->size, 0u);
  EXPECT_TRUE(Find("empty")->stored);
  // Deferred (group) commits are visible once Acquire returns.
  EXPECT_TRUE(store_->Contains(Find("d/z")->digests.sha256));
}

TEST_F(AcquireTest, SymlinkRecordedNotFollowed) {
  WriteFile(src_ + "/target", "secret");
  ASSERT_EQ(::symlink("target", (src_ + "/link").c_str()), 0);
  ASSERT_EQ(::symlink("/nonexistent\n\xff", (src_ + "/dangling").c_str()), 0);
  ASSERT_TRUE(Run(src_).ok());
  const SourceEntry* l = Find("link");
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->kind, EntryKind::kSymlink);
  EXPECT_EQ(l->symlink_target, "target");
  EXPECT_FALSE(l->stored);
  EXPECT_TRUE(l->digests.sha256.empty());
  EXPECT_EQ(Find("dangling")->symlink_target, "/nonexistent\n\xff");
  EXPECT_TRUE(Find("dangling")->error.empty());

  // The root itself being a symlink is recorded as such.
  ASSERT_TRUE(Run(src_ + "/link").ok());
  ASSERT_EQ(entries_.size(), 1u);
  EXPECT_EQ(entries_[0].kind, EntryKind::kSymlink);
}

TEST_F(AcquireTest, FollowedSymlinksAreReadAndLoopsStop) {
  ASSERT_EQ(::mkdir((src_ + "/d").c_str(), 0755), 0);
  WriteFile(src_ + "/d/f", "abc");
  ASSERT_EQ(::symlink("f", (src_ + "/d/lf").c_str()), 0);
  ASSERT_EQ(::symlink("..", (src_ + "/d/up").c_str()), 0);
  AcquireOptions opts;
  opts.follow_symlinks = true;
  ASSERT_TRUE(Run(src_, opts).ok());
  const SourceEntry* lf = Find("d/lf");
  ASSERT_NE(lf, nullptr);
  EXPECT_EQ(lf->kind, EntryKind::kFile);
  EXPECT_EQ(lf->symlink_target, "f");
  EXPECT_TRUE(lf->stored);
  const SourceEntry* up = Find("d/up");
  ASSERT_NE(up, nullptr);
  EXPECT_NE(up->error.find("loop"), std::string::npos) << up->error;
  EXPECT_EQ(Find("d/up/d"), nullptr);
}

TEST_F(AcquireTest, FifoAndSocketRecordedNotRead) {
  ASSERT_EQ(::mkfifo((src_ + "/fifo").c_str(), 0644), 0);
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::string sock = src_ + "/sock";
  bool have_socket = sock.size() < sizeof(addr.sun_path);
  if (have_socket) {
    std::memcpy(addr.sun_path, sock.c_str(), sock.size() + 1);
    have_socket =
        ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  // A FIFO with no writer would block a reader forever: finishing at all is
  // the test.
  ASSERT_TRUE(Run(src_).ok());
  ::close(s);
  const SourceEntry* f = Find("fifo");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, EntryKind::kFifo);
  EXPECT_FALSE(f->stored);
  EXPECT_TRUE(f->error.empty());
  if (have_socket) {
    ASSERT_NE(Find("sock"), nullptr);
    EXPECT_EQ(Find("sock")->kind, EntryKind::kSocket);
  }
  ASSERT_TRUE(Run("/dev/null").ok());
  EXPECT_EQ(entries_[0].kind, EntryKind::kCharDevice);
  EXPECT_FALSE(entries_[0].stored);
}

// Checks, in the current process, that an unreadable file is reported in
// its entry and the walk goes on; returns what went wrong, or "".
std::string CheckUnreadable(
    const std::string& src, std::vector<SourceEntry>& entries,
    const std::function<absl::Status(std::string)>& run) {
  absl::Status st = run(src);
  if (!st.ok()) return "walk failed: " + st.ToString();
  if (entries.size() != 4) return "expected 4 entries";
  const SourceEntry& l = entries[2];
  if (l.path != "locked" || l.stored) return "locked entry was read";
  if (l.error.find("Permission denied") == std::string::npos)
    return "no error recorded: '" + l.error + "'";
  if (!entries[3].stored) return "walk did not continue";
  absl::Status root = run(src + "/locked");
  if (root.code() != absl::StatusCode::kPermissionDenied)
    return "unreadable root: " + root.ToString();
  return "";
}

TEST_F(AcquireTest, UnreadableEntryIsReportedAndWalkContinues) {
  WriteFile(src_ + "/a", "a");
  WriteFile(src_ + "/locked", "x");
  WriteFile(src_ + "/z", "z");
  ASSERT_EQ(::chmod((src_ + "/locked").c_str(), 0), 0);
  auto run = [&](std::string s) { return Run(s); };
  if (::geteuid() != 0) {
    EXPECT_EQ(CheckUnreadable(src_, entries_, run), "");
    return;
  }
  // Root reads everything: check in a child process that has dropped to
  // uid/gid 65534 (nobody), with the directories opened up for it.
  for (const std::string& d :
       {src_dir_.path(), store_dir_.path(), store_dir_.Join("sha256"),
        store_dir_.Join("tmp")})
    ASSERT_EQ(::chmod(d.c_str(), 0777), 0);
  EXPECT_EXIT(
      {
        if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 ||
            ::setuid(65534) != 0) {
          std::fprintf(stderr, "cannot drop privileges\n");
          std::_Exit(1);
        }
        std::string why = CheckUnreadable(src_, entries_, run);
        std::fprintf(stderr, "%s\n", why.c_str());
        std::_Exit(why.empty() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(AcquireTest, MissingSourceIsNotFound) {
  EXPECT_EQ(Run(src_ + "/nope").code(), absl::StatusCode::kNotFound);
}

TEST_F(AcquireTest, SinkErrorAbortsWalk) {
  WriteFile(src_ + "/a", "a");
  WriteFile(src_ + "/b", "b");
  int calls = 0;
  absl::Status st = Acquire(src_, *store_, {}, [&](const SourceEntry&) {
    return ++calls == 2 ? absl::CancelledError("stop") : absl::OkStatus();
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 2);
}

// Typing runs on a worker thread; entries must still reach the sink in walk
// order, each with its own type. More files than the pending-queue bound,
// mixed with directories and symlinks (which need no typing).
TEST_F(AcquireTest, TypedEntriesKeepWalkOrderAndTypes) {
  const std::string png(
      "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0"
      "\x90\x91\x68\x36",
      33);
  const char* kinds[3] = {"text/plain", "image/png",
                          "application/octet-stream"};
  std::vector<std::string> want_paths = {""};
  std::vector<std::string> want_types = {""};
  for (int d = 0; d < 3; ++d) {
    std::string dir = absl::StrCat("d", d);
    ASSERT_EQ(::mkdir((src_ + "/" + dir).c_str(), 0755), 0);
    want_paths.push_back(dir);
    want_types.push_back("");
    for (int i = 0; i < 300; ++i) {
      std::string name = absl::StrCat(dir, "/f", 1000 + i);
      int k = (i * 7 + d) % 4;
      if (k == 3) {
        ASSERT_EQ(::symlink("nowhere", (src_ + "/" + name).c_str()), 0);
        want_types.push_back("");
      } else {
        std::string body = k == 0   ? absl::StrCat("plain text line ", i, "\n")
                           : k == 1 ? png + Pattern(100 + i)
                                    : Pattern(4096 + i);
        WriteFile(src_ + "/" + name, body);
        want_types.push_back(kinds[k]);
      }
      want_paths.push_back(name);
    }
  }
  ASSERT_TRUE(Run(src_).ok());
  ASSERT_EQ(entries_.size(), want_paths.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    EXPECT_EQ(entries_[i].path, want_paths[i]) << i;
    EXPECT_EQ(entries_[i].media_type, want_types[i]) << entries_[i].path;
  }
  // Without identification: same order, no types.
  AcquireOptions plain;
  plain.identify = false;
  ASSERT_TRUE(Run(src_, plain).ok());
  ASSERT_EQ(entries_.size(), want_paths.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    EXPECT_EQ(entries_[i].path, want_paths[i]);
    EXPECT_EQ(entries_[i].media_type, "");
  }
}

// A sink error stops the sink calls at once, even with entries queued behind
// the typing worker.
TEST_F(AcquireTest, SinkErrorWithManyFilesStopsSinkCalls) {
  for (int i = 0; i < 600; ++i)
    WriteFile(absl::StrCat(src_, "/f", 1000 + i), Pattern(64 + i));
  int calls = 0;
  absl::Status st = Acquire(src_, *store_, {}, [&](const SourceEntry&) {
    return ++calls == 300 ? absl::CancelledError("stop") : absl::OkStatus();
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 300);
}

class AcquireDiskFullTest : public AcquireTest {
 protected:
  FileSystem& fs() override { return faulty_; }
  custos::testing::FaultInjectionFileSystem faulty_{PosixFileSystem()};
};

TEST_F(AcquireDiskFullTest, StoreErrorAbortsWithResourceExhausted) {
  WriteFile(src_ + "/big", Pattern(5 << 20));
  faulty_.SetWriteBudget(1 << 20);
  absl::Status st = Run(src_);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_NE(st.message().find("disk full"), std::string::npos);
  auto tmp = PosixFileSystem().ListDir(store_dir_.Join("tmp"));
  ASSERT_TRUE(tmp.ok());
  EXPECT_TRUE(tmp->empty());
}

}  // namespace
}  // namespace custos::acquire
