#include "src/extract/test_images.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/base/status_macros.h"
#include "src/filetype/test_jpeg.h"

extern char** environ;

namespace custos::extract::testing {
namespace {

// 2021-03-04T05:06:08Z (even seconds: FAT keeps mtime in 2 s steps).
constexpr int64_t kFatTime = 1614834368;
// 2020-09-13T12:26:40.123456789Z for ext4 (nanosecond timestamps).
constexpr int64_t kExtTime = 1600000000;
constexpr long kExtNanos = 123456789;

absl::Status WriteBytes(const std::string& path, const std::string& data,
                        int64_t mtime_s, long mtime_ns = 0) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  f.close();
  if (!f) return absl::InternalError(absl::StrCat("cannot write ", path));
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = mtime_s;
  ts[0].tv_nsec = ts[1].tv_nsec = mtime_ns;
  if (::utimensat(AT_FDCWD, path.c_str(), ts, 0) != 0)
    return absl::InternalError(
        absl::StrCat("utimensat ", path, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

std::string Repeat(const std::string& unit, size_t bytes) {
  std::string s;
  while (s.size() < bytes) s += unit;
  s.resize(bytes);
  return s;
}

absl::Status CopyInto(const std::string& image, uint64_t offset,
                      const std::string& from) {
  std::ifstream in(from, std::ios::binary);
  std::fstream out(image, std::ios::binary | std::ios::in | std::ios::out);
  if (!in || !out)
    return absl::InternalError(absl::StrCat("cannot copy ", from));
  out.seekp(static_cast<std::streamoff>(offset));
  out << in.rdbuf();
  if (!out) return absl::InternalError(absl::StrCat("cannot copy ", from));
  return absl::OkStatus();
}

}  // namespace

bool HaveTool(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  p += ":/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string cand = p.substr(start, end - start) + "/" + tool;
    if (::access(cand.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

absl::Status RunTool(const std::vector<std::string>& argv) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  env["TZ"] = "UTC";
  env["LC_ALL"] = "C.UTF-8";
  env["MTOOLS_SKIP_CHECK"] = "1";
  env["PATH"] = absl::StrCat(env.count("PATH") ? env["PATH"] : "/usr/bin:/bin",
                             ":/usr/sbin:/sbin");
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0)
    return absl::InternalError("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid;
  // posix_spawnp searches the PATH of the calling process; use the one we
  // built (which includes the sbin directories) by setting it first.
  std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", env["PATH"].c_str(), 1);
  int rc =
      ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp.data());
  ::setenv("PATH", old_path.c_str(), 1);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    return absl::InternalError(
        absl::StrCat("cannot run ", argv[0], ": ", std::strerror(rc)));
  }
  std::string output;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return absl::InternalError(absl::StrCat("`", absl::StrJoin(argv, " "),
                                            "` failed (status ", status,
                                            "): ", output));
  return absl::OkStatus();
}

absl::StatusOr<BuiltImage> BuildFatImage(const std::string& dir,
                                         const std::string& name,
                                         int size_kib) {
  BuiltImage img;
  img.path = dir + "/" + name;
  std::string src = dir + "/" + name + ".src";
  ::mkdir(src.c_str(), 0755);
  ::unlink(img.path.c_str());
  CUSTOS_RETURN_IF_ERROR(
      RunTool({"mkfs.vfat", "-C", "-F", "16", "-i", "c0570500", "-n",
               "EVIDENCE", img.path, std::to_string(size_kib)}));
  img.size = uint64_t(size_kib) * 1024;
  img.dirs = {"docs", "docs/deep"};
  CUSTOS_RETURN_IF_ERROR(RunTool({"mmd", "-i", img.path, "::/docs"}));
  CUSTOS_RETURN_IF_ERROR(RunTool({"mmd", "-i", img.path, "::/docs/deep"}));
  img.files = {
      {"hello.txt", "hello, evidence\n", kFatTime, false},
      {"empty.bin", "", kFatTime + 2, false},
      {"docs/report.txt",
       Repeat("The quick brown fox jumps over the lazy dog. ", 5000),
       kFatTime + 4, false},
      {"docs/deep/nested.txt", "deep down\n", kFatTime + 6, false},
      {"caf\xc3\xa9 \xe2\x82\xac.txt", "non-ascii name\n", kFatTime + 8, false},
      {"gone.txt", Repeat("deleted but recoverable ", 100), kFatTime + 10,
       true},
  };
  int k = 0;
  for (const auto& f : img.files) {
    std::string local = absl::StrCat(src, "/f", k++);
    CUSTOS_RETURN_IF_ERROR(WriteBytes(local, f.content, f.mtime_s));
    CUSTOS_RETURN_IF_ERROR(
        RunTool({"mcopy", "-m", "-i", img.path, local, "::/" + f.path}));
  }
  for (const auto& f : img.files)
    if (f.deleted)
      CUSTOS_RETURN_IF_ERROR(RunTool({"mdel", "-i", img.path, "::/" + f.path}));
  return img;
}

absl::StatusOr<BuiltImage> BuildExt4Image(const std::string& dir,
                                          const std::string& name,
                                          int size_mib) {
  BuiltImage img;
  img.path = dir + "/" + name;
  std::string src = dir + "/" + name + ".src";
  ::unlink(img.path.c_str());
  ::mkdir(src.c_str(), 0755);
  ::mkdir((src + "/dir").c_str(), 0755);
  ::mkdir((src + "/dir/sub").c_str(), 0755);
  img.dirs = {"dir", "dir/sub"};
  img.files = {
      {"hello.txt", "hello, ext4 evidence\n", kExtTime, false},
      {"empty.bin", "", kExtTime, false},
      {"dir/sub/nested.bin", Repeat(std::string("\x00\x01\x02\xfe", 4), 65536),
       kExtTime, false},
      {"raw\xff.bin", "a name that is not UTF-8\n", kExtTime, false},
      {"doomed.txt", Repeat("to be deleted with debugfs ", 300), kExtTime,
       true},
  };
  for (const auto& f : img.files)
    CUSTOS_RETURN_IF_ERROR(
        WriteBytes(src + "/" + f.path, f.content, f.mtime_s, kExtNanos));
  CUSTOS_RETURN_IF_ERROR(
      RunTool({"mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-U",
               "6f1d3c5e-1111-4222-8333-944455556666", "-L", "evidence", "-d",
               src, img.path, absl::StrCat(size_mib, "M")}));
  img.size = uint64_t(size_mib) << 20;
  // mke2fs -d keeps whole seconds only; give hello.txt its nanoseconds
  // (the extra field holds nsec << 2).
  CUSTOS_RETURN_IF_ERROR(RunTool(
      {"debugfs", "-w", "-R",
       absl::StrCat("sif /hello.txt mtime_extra ", kExtNanos << 2), img.path}));
  for (const auto& f : img.files)
    if (f.deleted)
      CUSTOS_RETURN_IF_ERROR(
          RunTool({"debugfs", "-w", "-R", "rm /" + f.path, img.path}));
  return img;
}

absl::StatusOr<BuiltImage> BuildTypedImage(const std::string& dir,
                                           const std::string& name) {
  BuiltImage img;
  img.path = dir + "/" + name;
  std::string src = dir + "/" + name + ".src";
  ::unlink(img.path.c_str());
  ::mkdir(src.c_str(), 0755);
  filetype::testing::ExifFields exif;
  exif.make = "Canon";
  exif.model = "Canon EOS 5D Mark IV";
  exif.date_time_original = "2024:05:01 10:20:30";
  exif.lat_deg = 52, exif.lat_min = 22, exif.lat_sec = 12;
  exif.lon_deg = 4, exif.lon_min = 53, exif.lon_sec = 24;
  std::string noise(4096, '\0');
  uint32_t x = 2463534242u;  // xorshift32: fixed bytes, no libmagic match
  for (char& c : noise) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x >> 24);
  }
  img.files = {
      {"photo.jpg", filetype::testing::JpegWithExif(exif), kExtTime, false},
      {"notes.txt", Repeat("Seized at the scene; see the photographs.\n", 840),
       kExtTime, false},
      {"noise.bin", noise, kExtTime, false},
      {"empty.txt", "", kExtTime, false},
  };
  for (const auto& f : img.files)
    CUSTOS_RETURN_IF_ERROR(
        WriteBytes(src + "/" + f.path, f.content, f.mtime_s, kExtNanos));
  CUSTOS_RETURN_IF_ERROR(
      RunTool({"mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-U",
               "6f1d3c5e-2222-4222-8333-944455556666", "-L", "typed", "-d", src,
               img.path, "8M"}));
  img.size = uint64_t{8} << 20;
  return img;
}

absl::Status WriteMbr(const std::string& image,
                      const std::vector<MbrEntry>& entries) {
  std::string mbr(512, '\0');
  for (size_t i = 0; i < entries.size() && i < 4; ++i) {
    char* e = mbr.data() + 446 + 16 * i;
    e[0] = 0;  // not bootable
    // CHS fields unused by libtsk; fill the conventional "LBA" marker.
    e[1] = e[2] = e[3] = static_cast<char>(0xff);
    e[4] = static_cast<char>(entries[i].type);
    e[5] = e[6] = e[7] = static_cast<char>(0xff);
    for (int b = 0; b < 4; ++b) {
      e[8 + b] = static_cast<char>((entries[i].start_lba >> (8 * b)) & 0xff);
      e[12 + b] = static_cast<char>((entries[i].sectors >> (8 * b)) & 0xff);
    }
  }
  mbr[510] = static_cast<char>(0x55);
  mbr[511] = static_cast<char>(0xaa);
  std::fstream out(image, std::ios::binary | std::ios::in | std::ios::out);
  if (!out) return absl::InternalError(absl::StrCat("cannot open ", image));
  out.write(mbr.data(), 512);
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", image));
  return absl::OkStatus();
}

absl::StatusOr<BuiltImage> BuildPartitionedImage(const std::string& dir) {
  CUSTOS_ASSIGN_OR_RETURN(BuiltImage fat, BuildFatImage(dir, "p1.img", 16384));
  CUSTOS_ASSIGN_OR_RETURN(BuiltImage ext, BuildExt4Image(dir, "p2.img", 16));
  BuiltImage img;
  img.path = dir + "/disk.img";
  const uint32_t p1_start = 2048, p1_len = 16384 * 2;
  const uint32_t p2_start = p1_start + p1_len, p2_len = 16 * 2048;
  img.size = uint64_t{p2_start + p2_len + 2048} * 512;
  {
    std::ofstream f(img.path, std::ios::binary | std::ios::trunc);
    if (!f) return absl::InternalError("cannot create disk.img");
  }
  if (::truncate(img.path.c_str(), static_cast<off_t>(img.size)) != 0)
    return absl::InternalError("truncate disk.img");
  CUSTOS_RETURN_IF_ERROR(
      CopyInto(img.path, uint64_t{p1_start} * 512, fat.path));
  CUSTOS_RETURN_IF_ERROR(
      CopyInto(img.path, uint64_t{p2_start} * 512, ext.path));
  CUSTOS_RETURN_IF_ERROR(
      WriteMbr(img.path, {{0x06, p1_start, p1_len}, {0x83, p2_start, p2_len}}));
  for (auto f : fat.files) {
    f.path = "p1/" + f.path;
    img.files.push_back(f);
  }
  for (auto f : ext.files) {
    f.path = "p2/" + f.path;
    img.files.push_back(f);
  }
  for (const auto& d : fat.dirs) img.dirs.push_back("p1/" + d);
  for (const auto& d : ext.dirs) img.dirs.push_back("p2/" + d);
  return img;
}

}  // namespace custos::extract::testing
