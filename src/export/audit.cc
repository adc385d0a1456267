#include "src/export/audit.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "src/base/bytes.h"
#include "src/base/status_macros.h"
#include "src/crypto/hash.h"

namespace custos::export_ {
namespace {

struct Found {
  std::string rel;  // raw, '/'-separated, "" for a file root
  uint64_t size = 0;
  std::string error;
};

// "dir/" and "dir" name the same directory ("/" stays "/").
std::string StripSlashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string Join(const std::string& a, const std::string& b) {
  return a.empty() ? b : absl::StrCat(a, "/", b);
}

// Depth-first, names sorted bytewise, symlinks not followed; regular files
// only. Errors below the root are recorded per entry.
void Walk(const std::string& root, const std::string& rel,
          std::vector<Found>& out) {
  std::string dir = rel.empty() ? root : absl::StrCat(root, "/", rel);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (!rel.empty())
      out.push_back(
          {rel + "/", 0,
           absl::StrCat("cannot open directory: ", std::strerror(errno))});
    return;
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string r = Join(rel, n);
    std::string full = absl::StrCat(root, "/", r);
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0) {
      out.push_back({r, 0, absl::StrCat("lstat: ", std::strerror(errno))});
      continue;
    }
    if (S_ISDIR(st.st_mode))
      Walk(root, r, out);
    else if (S_ISREG(st.st_mode))
      out.push_back({r, static_cast<uint64_t>(st.st_size), ""});
  }
}

absl::StatusOr<crypto::Digests> HashFile(
    const std::string& path, const std::function<void(uint64_t)>& advance) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return absl::PermissionDeniedError(std::strerror(errno));
  crypto::MultiHasher h(crypto::kSha256, /*parallel=*/false);
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  for (;;) {
    ssize_t n = ::read(fd, buf.get(), 1 << 20);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return absl::DataLossError(absl::StrCat("read: ", std::strerror(err)));
    }
    if (n == 0) break;
    h.Update(std::string_view(buf.get(), static_cast<size_t>(n)));
    advance(static_cast<uint64_t>(n));
  }
  ::close(fd);
  return h.Finish();
}

}  // namespace

const char* AuditStatusName(AuditStatus s) {
  switch (s) {
    case AuditStatus::kMatched:
      return "matched";
    case AuditStatus::kChanged:
      return "changed";
    case AuditStatus::kMoved:
      return "moved";
    case AuditStatus::kNew:
      return "new";
    case AuditStatus::kUnreadable:
      return "unreadable";
  }
  return "?";
}

absl::StatusOr<AuditReport> Audit(repo::Repository& repo,
                                  const AuditOptions& options) {
  AuditReport rep;
  rep.root = options.path;
  struct stat st;
  if (::stat(options.path.c_str(), &st) != 0)
    return absl::NotFoundError(absl::StrCat("cannot audit ",
                                            EscapeBytes(options.path), ": ",
                                            std::strerror(errno)));
  bool is_dir = S_ISDIR(st.st_mode);
  if (!is_dir && !S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(
        absl::StrCat(EscapeBytes(options.path),
                     " is neither a directory nor a regular file"));
  if (!options.case_id.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(auto c, repo.meta().FindCase(options.case_id));
    if (!c)
      return absl::NotFoundError(
          absl::StrCat("no case \"", options.case_id, "\""));
  }

  // The reference acquisition.
  if (!options.item.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(auto it, repo.meta().FindItem(options.item));
    if (!it)
      return absl::NotFoundError(
          absl::StrCat("no item \"", options.item, "\""));
    if (!it->parent_id.empty())
      return absl::InvalidArgumentError(absl::StrCat(
          "item ", it->id, " is inside another item; give its exhibit"));
    rep.reference = *it;
  } else {
    std::string canonical;
    if (char* rp = ::realpath(options.path.c_str(), nullptr)) {
      canonical = rp;
      std::free(rp);
    }
    std::string given = StripSlashes(options.path);
    CUSTOS_RETURN_IF_ERROR(repo.meta().ForEachItem(
        options.case_id, false, [&](const repo::ItemRecord& it) {
          std::string source = StripSlashes(it.source);
          if (source != given && source != canonical) return absl::OkStatus();
          if (!rep.reference || it.acquired_seq > rep.reference->acquired_seq)
            rep.reference = it;
          return absl::OkStatus();
        }));
  }
  std::map<std::string, repo::ItemRecord> recorded;  // rel path -> item
  std::multimap<std::string, const repo::ItemRecord*> recorded_by_hash;
  if (rep.reference) {
    if (rep.reference->kind == "directory") {
      CUSTOS_ASSIGN_OR_RETURN(auto kids,
                              repo.meta().ChildrenOf(rep.reference->id));
      for (auto& k : kids) recorded.emplace(k.rel_path, std::move(k));
    } else {
      recorded.emplace("", *rep.reference);
    }
    for (const auto& [p, it] : recorded)
      if (!it.sha256.empty()) recorded_by_hash.emplace(it.sha256, &it);
  }

  std::vector<Found> found;
  if (is_dir)
    Walk(options.path, "", found);
  else
    found.push_back({"", static_cast<uint64_t>(st.st_size), ""});
  uint64_t total = 0, done = 0;
  for (const auto& f : found) total += f.size;

  std::set<std::string> seen;
  for (const auto& f : found) {
    AuditEntry e;
    e.path = f.rel;
    e.size = f.size;
    auto rec = recorded.find(f.rel);
    if (rec != recorded.end()) {
      e.item_id = rec->second.id;
      seen.insert(f.rel);
    }
    if (!f.error.empty()) {
      e.status = AuditStatus::kUnreadable;
      e.error = f.error;
      ++rep.unreadable;
      rep.entries.push_back(std::move(e));
      continue;
    }
    std::string full =
        is_dir ? absl::StrCat(options.path, "/", f.rel) : options.path;
    auto d = HashFile(full, [&](uint64_t n) {
      done += n;
      if (options.progress) options.progress(done, total);
    });
    if (!d.ok()) {
      e.status = AuditStatus::kUnreadable;
      e.error = std::string(d.status().message());
      ++rep.unreadable;
      rep.entries.push_back(std::move(e));
      continue;
    }
    e.sha256 = d->sha256;
    e.size = d->size;
    rep.bytes += d->size;
    if (rec != recorded.end()) {
      if (rec->second.sha256 == e.sha256) {
        e.status = AuditStatus::kMatched;
        ++rep.matched;
      } else {
        e.status = AuditStatus::kChanged;
        e.recorded_sha256 = rec->second.sha256;
        ++rep.changed;
      }
    } else {
      auto [lo, hi] = recorded_by_hash.equal_range(e.sha256);
      for (auto i = lo; i != hi && e.known_as.size() < 10; ++i)
        e.known_as.push_back({i->second->id, i->second->exhibit,
                              i->second->rel_path.empty()
                                  ? i->second->source
                                  : i->second->rel_path});
      if (e.known_as.empty()) {
        CUSTOS_ASSIGN_OR_RETURN(auto same,
                                repo.meta().FindItemsBySha256(e.sha256));
        for (const auto& it : same) {
          if (!options.case_id.empty() && it.case_id != options.case_id)
            continue;
          if (e.known_as.size() >= 10) break;
          e.known_as.push_back({it.id, it.exhibit,
                                it.rel_path.empty() ? it.source : it.rel_path});
        }
      }
      if (e.known_as.empty()) {
        e.status = AuditStatus::kNew;
        ++rep.fresh;
      } else {
        e.status = AuditStatus::kMoved;
        ++rep.moved;
      }
    }
    rep.entries.push_back(std::move(e));
  }
  for (const auto& [p, it] : recorded)
    if (!seen.count(p)) rep.missing.push_back(it);
  return rep;
}

}  // namespace custos::export_
